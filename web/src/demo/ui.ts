/**
 * The demo page: log in through the gateway, hand the tokens to Amplify, and from then on show
 * only what Amplify itself reports. Element ids are stable: the browser tests use them.
 */
import { gatewayLogin } from "../gateway-login";
import type { AmplifyAdapter, GateConfig, GateTokens, SessionView } from "./types";

type State = "loading" | "signed-out" | "signed-in" | "error";
/** What a signed-out visitor sees: the login form, sign-up, or password reset. */
type View = "login" | "signup" | "reset";

let view: View = "login";

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
  showSections(state);
}

function showSections(state: string | undefined): void {
  const out = state === "signed-out";
  $("login-section").hidden = !out || view !== "login";
  $("signup-section").hidden = !out || view !== "signup";
  $("reset-section").hidden = !out || view !== "reset";
  $("session-section").hidden = state !== "signed-in";
}

function showView(next: View): void {
  view = next;
  showSections($("auth-state").dataset.state);
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

/** Show a lockout with its wait, counting down (in `target`, the login's message by default). */
function showWait(prefix: string, seconds: number | null, suffix = "", target = "login-message"): void {
  clearInterval(countdown);
  const el = $(target);
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

/** Explain a refusal of the account flows (sign-up, confirmation, reset) in `target`. */
function explainFlowError(target: string, response: Response, body: ErrorBody): void {
  clearInterval(countdown);
  const code = body.error ?? "";
  switch (code) {
    case "username_exists":
      say(target, "That username is taken.", "error");
      return;
    case "invalid_password":
      // The pool's own rule, as Cognito words it: what to fix.
      say(target, body.message || "The password does not meet the pool's rules.", "error");
      return;
    case "code_mismatch":
      say(target, "That code is wrong. Check it and try again.", "error");
      return;
    case "expired_code":
      say(target, "That code has expired or was used already. Ask for a new one.", "error");
      return;
    case "account_locked": {
      const wait = retryAfterOf(body, response);
      if (wait === null) showWait("This account is locked.", null, " An administrator must unlock it.", target);
      else showWait("Too many wrong codes: this account's codes are locked.", wait, "", target);
      return;
    }
    case "too_many_requests":
      showWait("Too many requests.", retryAfterOf(body, response), "", target);
      return;
    case "invalid_request":
      say(target, "Fill in every field (a code has no spaces).", "error");
      return;
    case "unavailable":
      say(target, "The gateway cannot reach Cognito or its store. Try again shortly.", "error");
      return;
    default:
      say(target, `That did not work (${response.status}${code ? ` ${code}` : ""}).`, "error");
  }
}

interface Answer {
  response: Response;
  body: Record<string, unknown>;
}

/** POST JSON to the gateway; null (and the reason said in `target`) when it cannot be reached. */
async function postJson(path: string, payload: unknown, target: string): Promise<Answer | null> {
  let response: Response;
  try {
    response = await fetch(path, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(payload),
    });
  } catch (err) {
    say(target, `The gateway cannot be reached: ${describe(err)}`, "error");
    return null;
  }
  const body = (await readJson<Record<string, unknown>>(response)) ?? {};
  log(`POST ${path} → ${response.status}${typeof body.error === "string" ? ` ${body.error}` : ""}`);
  if (!response.ok) {
    explainFlowError(target, response, body as ErrorBody);
    return null;
  }
  return { response, body };
}

let devCodes: Promise<boolean> | undefined;

/** On the embedded default (its emulator lists the codes it sent), say where the code is. */
function showDevHint(): void {
  devCodes ??= fetch("/dev/codes?limit=1").then(
    (r) => r.ok,
    () => false,
  );
  void devCodes.then((shown) => {
    for (const el of document.querySelectorAll<HTMLElement>(".dev-hint")) el.hidden = !shown;
  });
}

const value = (id: string): string => $<HTMLInputElement>(id).value;

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
    const remember = $<HTMLInputElement>("remember-device");
    let response: Response;
    let body: Record<string, unknown>;
    try {
      // Sends this browser's remembered device, if any, and answers its challenges here.
      ({ response, body } = await gatewayLogin(username, password, {
        devices: adapter.devices(),
        rememberDevice: remember.closest("[hidden]") ? undefined : remember.checked,
        onRequest: (path, status) => {
          if (path === "/auth/challenge") log(`POST ${path} → ${status} (device sign-in)`);
        },
      }));
    } catch (err) {
      say("login-message", `The gateway cannot be reached: ${describe(err)}`, "error");
      return;
    }
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
    const tokens = body as unknown as GateTokens;
    log(
      "POST /auth/login → 200: tokens handed to Amplify" +
        (tokens.newDevice ? "; a new device, kept under Amplify's device keys" : "") +
        (tokens.forgetDevice ? "; the old device was unknown and is forgotten" : ""),
    );
    $<HTMLInputElement>("password").value = "";
    await adapter.setup(tokens, username);
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

  // -- sign-up and its confirmation, password reset: through the gateway, under its lock ------

  let signingUp = "";
  let resetting = "";

  function backToLogin(username = "", note = ""): void {
    $<HTMLFormElement>("signup-form").hidden = false;
    $<HTMLFormElement>("confirm-form").hidden = true;
    $<HTMLFormElement>("forgot-form").hidden = false;
    $<HTMLFormElement>("reset-form").hidden = true;
    for (const id of ["signup-message", "reset-message"]) say(id, "");
    if (username) $<HTMLInputElement>("username").value = username;
    showView("login");
    if (note) say("login-message", note, "ok");
    $<HTMLInputElement>(username ? "password" : "username").focus();
  }

  async function signUp(event: SubmitEvent): Promise<void> {
    event.preventDefault();
    const username = value("signup-username");
    say("signup-message", "Signing up…");
    const answer = await postJson(
      "/auth/signup",
      { username, password: value("signup-password"), attributes: { email: value("signup-email") } },
      "signup-message",
    );
    if (!answer) return;
    $<HTMLInputElement>("signup-password").value = "";
    if (answer.body.userConfirmed === true) {
      backToLogin(username, "Your account is ready. Log in.");
      return;
    }
    signingUp = username;
    const where = answer.body.codeDeliveryDetails as { destination?: string; deliveryMedium?: string } | null;
    $<HTMLFormElement>("signup-form").hidden = true;
    $<HTMLFormElement>("confirm-form").hidden = false;
    say(
      "signup-message",
      where
        ? `A confirmation code was sent to ${where.destination} (${where.deliveryMedium?.toLowerCase()}).`
        : "No code was sent: an administrator must confirm this account.",
      "ok",
    );
    showDevHint();
    $<HTMLInputElement>("confirm-code").focus();
  }

  async function confirmSignUp(event: SubmitEvent): Promise<void> {
    event.preventDefault();
    const answer = await postJson(
      "/auth/confirm-signup",
      { username: signingUp, code: value("confirm-code").trim() },
      "signup-message",
    );
    if (!answer) return;
    $<HTMLInputElement>("confirm-code").value = "";
    backToLogin(signingUp, "Your account is confirmed. Log in.");
  }

  async function resendCode(): Promise<void> {
    const answer = await postJson("/auth/resend-code", { username: signingUp }, "signup-message");
    if (answer) say("signup-message", "A new code is on its way; the previous one no longer works.", "ok");
  }

  async function forgotPassword(event: SubmitEvent): Promise<void> {
    event.preventDefault();
    const username = value("forgot-username");
    const answer = await postJson("/auth/forgot-password", { username }, "reset-message");
    if (!answer) return;
    resetting = username;
    $<HTMLFormElement>("forgot-form").hidden = true;
    $<HTMLFormElement>("reset-form").hidden = false;
    say("reset-message", "If an account with that name can receive a code, a reset code is on its way.", "ok");
    showDevHint();
    $<HTMLInputElement>("reset-code").focus();
  }

  async function resetPassword(event: SubmitEvent): Promise<void> {
    event.preventDefault();
    const answer = await postJson(
      "/auth/confirm-forgot-password",
      { username: resetting, code: value("reset-code").trim(), newPassword: value("reset-password") },
      "reset-message",
    );
    $<HTMLInputElement>("reset-password").value = "";
    if (!answer) return;
    $<HTMLInputElement>("reset-code").value = "";
    backToLogin(resetting, "Your password is changed. Log in with the new one.");
  }

  function onSubmit(id: string, handler: (e: SubmitEvent) => Promise<void>): void {
    $(id).addEventListener("submit", (e) => void act(() => handler(e as SubmitEvent)));
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
    showDevices(config);
    $("pool-id").textContent = config.userPoolId;
    // ?refresh=cognito: Amplify refreshes straight at Cognito instead of the gateway's /cognito/.
    const direct = new URLSearchParams(location.search).get("refresh") === "cognito";
    adapter.configure(config, direct && config.cognitoEndpoint ? config.cognitoEndpoint : undefined);
    adapter.onAuthEvent((event) => {
      log(`Amplify ${adapter.version} Hub: ${event}`);
    });
    $("login-form").addEventListener("submit", (e) => void act(() => login(e as SubmitEvent)));
    onSubmit("signup-form", signUp);
    onSubmit("confirm-form", confirmSignUp);
    onSubmit("forgot-form", forgotPassword);
    onSubmit("reset-form", resetPassword);
    $("resend-button").addEventListener("click", () => void act(resendCode));
    $("show-signup").addEventListener("click", () => {
      clearInterval(countdown);
      say("login-message", "");
      showView("signup");
      $<HTMLInputElement>("signup-username").focus();
    });
    $("show-reset").addEventListener("click", () => {
      clearInterval(countdown);
      say("login-message", "");
      $<HTMLInputElement>("forgot-username").value = value("username");
      showView("reset");
      $<HTMLInputElement>("forgot-username").focus();
    });
    for (const back of document.querySelectorAll<HTMLButtonElement>("button[data-action=back]")) {
      back.addEventListener("click", () => backToLogin());
    }
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

/** On a pool that remembers devices: say what this browser keeps, and offer the opt-in. */
function showDevices(config: GateConfig): void {
  const note = $("device-note");
  const optIn = config.deviceRememberingMode === "opt-in";
  note.hidden = !config.deviceRemembering;
  note.textContent = optIn
    ? "This pool remembers a device when you ask it to. Either way the gateway confirms this " +
      "browser as the device that logged in: Amplify keeps its key, so refresh works."
    : "This pool remembers devices: the gateway confirms this browser as the device that " +
      "logged in, Amplify keeps its key (so refresh works), and the next login proves the " +
      "device without sending its password.";
  $("remember-device-row").hidden = !optIn;
}

function showWarnings(config: GateConfig): void {
  const box = $("warnings");
  const list = $("warning-list");
  list.replaceChildren();
  for (const text of config.warnings ?? []) {
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
