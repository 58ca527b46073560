/**
 * The demo page: log in through the gateway, hand the tokens to Amplify, and from then on show
 * only what Amplify itself reports. Element ids are stable: the browser tests use them.
 */
import type { AmplifyAdapter, GateConfig, GateTokens, SessionView } from "./types";

type State = "loading" | "signed-out" | "signed-in" | "error";

interface ErrorBody {
  error?: string;
  message?: string;
  retryAfter?: number;
}

const $ = <T extends HTMLElement = HTMLElement>(id: string): T => {
  const el = document.getElementById(id);
  if (!el) throw new Error(`#${id} is missing from the page`);
  return el as T;
};

function setState(state: State, who = ""): void {
  const el = $("auth-state");
  el.dataset.state = state;
  el.textContent = {
    loading: "Loading…",
    "signed-out": "Signed out",
    "signed-in": `Signed in as ${who}`,
    error: "The page could not start",
  }[state];
  $("login-section").hidden = state !== "signed-out";
  $("session-section").hidden = state !== "signed-in";
}

function say(id: string, text: string, kind: "info" | "error" | "ok" = "info"): void {
  const el = $(id);
  el.setAttribute("aria-live", "polite");
  el.textContent = text;
  el.dataset.kind = kind;
}

function log(text: string): void {
  const list = $("event-log");
  const item = document.createElement("li");
  const time = document.createElement("time");
  const now = new Date();
  time.dateTime = now.toISOString();
  time.textContent = now.toLocaleTimeString();
  item.append(time, " ", text);
  list.prepend(item);
  while (list.children.length > 8) list.lastElementChild?.remove();
}

/** "15 min", "1 h 2 min", "42 s": how long a wait is, for people. */
export function humanSeconds(total: number): string {
  const s = Math.max(0, Math.ceil(total));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const rest = s % 60;
  const parts: string[] = [];
  if (h) parts.push(`${h} h`);
  if (m) parts.push(`${m} min`);
  if (rest || parts.length === 0) parts.push(`${rest} s`);
  return parts.join(" ");
}

function formatTime(epochSeconds: number): string {
  return new Date(epochSeconds * 1000).toLocaleString(undefined, {
    dateStyle: "medium",
    timeStyle: "medium",
  });
}

let countdown: ReturnType<typeof setInterval> | undefined;

/** Show a lockout with its wait, counting down. */
function showWait(prefix: string, seconds: number | null, suffix = ""): void {
  clearInterval(countdown);
  const el = $("login-message");
  el.dataset.kind = "error";
  el.setAttribute("aria-live", "polite");
  if (seconds === null) {
    delete el.dataset.retryAfter;
    el.textContent = `${prefix}${suffix}`;
    return;
  }
  const until = Date.now() + seconds * 1000;
  const render = () => {
    const left = Math.max(0, Math.ceil((until - Date.now()) / 1000));
    el.dataset.retryAfter = String(left);
    if (left === 0) {
      clearInterval(countdown);
      el.setAttribute("aria-live", "polite");
      el.textContent = "You can try again now.";
      return;
    }
    el.textContent = `${prefix} Try again in ${left} seconds (${humanSeconds(left)}).${suffix}`;
  };
  render();
  // Screen readers hear the wait once; the countdown then ticks silently.
  countdown = setInterval(() => {
    el.setAttribute("aria-live", "off");
    render();
  }, 1000);
}

function retryAfterOf(body: ErrorBody, response: Response): number | null {
  if (typeof body.retryAfter === "number") return body.retryAfter;
  const header = response.headers.get("Retry-After");
  return header && /^\d+$/.test(header) ? Number(header) : null;
}

async function readJson<T>(response: Response): Promise<T | null> {
  try {
    return (await response.json()) as T;
  } catch {
    return null;
  }
}

function explainLoginError(response: Response, body: ErrorBody): void {
  clearInterval(countdown);
  const code = body.error ?? "";
  switch (code) {
    case "invalid_credentials":
      say("login-message", "Wrong username or password.", "error");
      return;
    case "account_locked": {
      const wait = retryAfterOf(body, response);
      if (wait === null) {
        showWait("This account is locked.", null, " An administrator must unlock it.");
      } else {
        showWait("This account is locked after too many failed attempts.", wait);
      }
      return;
    }
    case "too_many_requests":
      showWait(
        "Too many failed logins from this address: it is throttled.",
        retryAfterOf(body, response),
      );
      return;
    case "user_not_confirmed":
      say("login-message", "This account is not confirmed yet.", "error");
      return;
    case "password_reset_required":
      say("login-message", "This account must reset its password first.", "error");
      return;
    case "invalid_request":
      say("login-message", "Enter a username and a password.", "error");
      return;
    case "unavailable":
      say("login-message", "The gateway cannot reach Cognito or its store. Try again shortly.", "error");
      return;
    default:
      say("login-message", `Login failed (${response.status}${code ? ` ${code}` : ""}).`, "error");
  }
}

export function startDemo(adapter: AmplifyAdapter): void {
  let busy = false;
  const buttons = () =>
    Array.from(document.querySelectorAll<HTMLButtonElement>("button[data-action]"));

  async function act(work: () => Promise<void>): Promise<void> {
    if (busy) return;
    busy = true;
    document.body.setAttribute("aria-busy", "true");
    for (const b of buttons()) b.disabled = true;
    try {
      await work();
    } finally {
      busy = false;
      document.body.removeAttribute("aria-busy");
      for (const b of buttons()) b.disabled = false;
    }
  }

  function showSession(session: SessionView): void {
    const claims = session.idClaims;
    const who = [session.username, claims.email].filter(Boolean).join(" · ");
    say("session-user", who);
    const expires = $("session-expires");
    expires.textContent = formatTime(session.expiresAt);
    expires.dataset.exp = String(session.expiresAt);
    $("session-token").textContent = `…${session.accessToken.slice(-16)}`;
    setState("signed-in", session.username);
  }

  function showSignedOut(reason?: string): void {
    $("me-claims").textContent = "";
    say("me-status", "");
    setState("signed-out");
    if (reason) say("login-message", reason, "info");
  }

  /** Render whatever Amplify reports now; an error keeps the page as it was and says why. */
  async function render(how: "session" | "refresh" = "session"): Promise<SessionView | null> {
    try {
      const session = how === "refresh" ? await adapter.refresh() : await adapter.session();
      if (session) {
        showSession(session);
      } else if ($("auth-state").dataset.state === "signed-in") {
        showSignedOut("Your session ended: the gateway refused to refresh it. Log in again.");
      } else {
        showSignedOut();
      }
      return session;
    } catch (err) {
      say("session-message", `Amplify could not get a session: ${describe(err)}`, "error");
      return null;
    }
  }

  async function callMe(): Promise<void> {
    const session = await render();
    if (!session) return;
    const response = await fetch("/auth/me", {
      headers: { Authorization: `Bearer ${session.accessToken}` },
    });
    const body = await readJson<unknown>(response);
    say("me-status", `GET /auth/me → ${response.status}`, response.ok ? "ok" : "error");
    $("me-status").dataset.status = String(response.status);
    $("me-claims").textContent = JSON.stringify(body, null, 2);
  }

  async function login(event: SubmitEvent): Promise<void> {
    event.preventDefault();
    const username = $<HTMLInputElement>("username").value;
    const password = $<HTMLInputElement>("password").value;
    say("login-message", "Logging in…");
    let response: Response;
    try {
      response = await fetch("/auth/login", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ username, password }),
      });
    } catch (err) {
      say("login-message", `The gateway cannot be reached: ${describe(err)}`, "error");
      return;
    }
    const body = (await readJson<Record<string, unknown>>(response)) ?? {};
    if (!response.ok) {
      explainLoginError(response, body as ErrorBody);
      log(`POST /auth/login → ${response.status} ${String(body.error ?? "")}`);
      return;
    }
    if (typeof body.challengeName === "string") {
      say(
        "login-message",
        `Cognito asks for the ${body.challengeName} challenge; this demo does not answer challenges.`,
        "error",
      );
      return;
    }
    clearInterval(countdown);
    log("POST /auth/login → 200: tokens handed to Amplify");
    $<HTMLInputElement>("password").value = "";
    await adapter.setup(body as unknown as GateTokens, username);
    say("login-message", "");
    say("session-message", "");
    const session = await render();
    if (session) await callMe();
  }

  async function logout(): Promise<void> {
    const refreshToken = await adapter.refreshToken();
    let note = "You are logged out.";
    if (refreshToken) {
      try {
        const response = await fetch("/auth/logout", {
          method: "POST",
          headers: { "Content-Type": "application/json" },
          body: JSON.stringify({ refreshToken }),
        });
        log(`POST /auth/logout → ${response.status}`);
        if (!response.ok) note = `Logged out in this browser; the gateway answered ${response.status}.`;
      } catch (err) {
        note = `Logged out in this browser; the gateway could not be reached (${describe(err)}).`;
      }
    }
    await adapter.signOut();
    showSignedOut(note);
  }

  async function start(): Promise<void> {
    setState("loading");
    for (const a of document.querySelectorAll<HTMLAnchorElement>("[data-amplify-version]")) {
      if (a.dataset.amplifyVersion === adapter.version) a.setAttribute("aria-current", "page");
      else a.removeAttribute("aria-current");
    }
    $("amplify-call").textContent = adapter.sessionCall;
    const response = await fetch("/auth/config");
    if (!response.ok) throw new Error(`GET /auth/config answered ${response.status}`);
    const config = (await response.json()) as GateConfig;
    showWarnings(config);
    $("pool-id").textContent = config.userPoolId;
    adapter.configure(config);
    adapter.onAuthEvent((event) => {
      log(`Amplify ${adapter.version} Hub: ${event}`);
    });
    $("login-form").addEventListener("submit", (e) => void act(() => login(e as SubmitEvent)));
    $("refresh-button").addEventListener("click", () =>
      void act(async () => {
        const session = await render("refresh");
        if (session) say("session-message", "Amplify refreshed the tokens through /cognito/.", "ok");
      }),
    );
    $("me-button").addEventListener("click", () => void act(callMe));
    $("logout-button").addEventListener("click", () => void act(logout));
    await render();
  }

  const hook = {
    version: adapter.version,
    ready: start().then(
      () => true,
      (err: unknown) => {
        setState("error");
        say("start-error", `The demo could not start: ${describe(err)}`, "error");
        return false;
      },
    ),
    /** Calls Amplify's own session function (it refreshes when expired). */
    amplifySession: () => adapter.session(),
    refresh: () => adapter.refresh(),
    refreshToken: () => adapter.refreshToken(),
  };
  (window as unknown as { cognitoGate: typeof hook }).cognitoGate = hook;
}

function showWarnings(config: GateConfig): void {
  const box = $("warnings");
  const list = $("warning-list");
  list.replaceChildren();
  if (config.deviceRemembering) {
    const item = document.createElement("li");
    item.id = "device-warning";
    item.dataset.testid = "device-warning";
    item.innerHTML =
      "<strong>Refresh will fail: this user pool remembers devices.</strong> " +
      "When the gateway logged you in, Cognito tied the refresh token to the device that " +
      "authenticated, and that device was the gateway's backend, not this browser. Amplify " +
      "cannot present that device's key, so Cognito refuses its refresh and the session ends " +
      "when the access token expires. <em>Fix:</em> in the Cognito console set the pool's " +
      "device tracking (\u201cRemember user devices\u201d) to \u201cDon't remember\u201d, or " +
      "remove <code>DeviceConfiguration</code> from the pool's definition " +
      "(CloudFormation, CDK, Terraform). <code>cognito-gate doctor</code> checks the pool.";
    list.append(item);
  }
  for (const text of config.warnings ?? []) {
    // The page explains device remembering itself, in more words; don't say it twice.
    if (config.deviceRemembering && /remember(s|ing)? (user )?devices?/i.test(text)) continue;
    const item = document.createElement("li");
    item.textContent = text;
    list.append(item);
  }
  box.hidden = list.children.length === 0;
}

function describe(err: unknown): string {
  if (err instanceof Error) return err.name && err.name !== "Error" ? `${err.name}: ${err.message}` : err.message;
  return String(err);
}
