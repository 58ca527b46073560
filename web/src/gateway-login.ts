/**
 * Log in through cognito-gate with remembered devices, for Amplify v5 and v6 alike.
 *
 * Where the pool remembers devices, the gateway confirms a new device for the browser and its
 * answer carries `newDevice: {deviceKey, deviceGroupKey, devicePassword}` once; the session setup
 * (`setupAmplifySession(..., {device})` of `v5.ts` / `v6.ts`) stores them under Amplify's keys
 * (`deviceKey`, `deviceGroupKey`, `randomPasswordKey`), so Amplify's refresh sends the device key.
 * The next login sends `deviceKey` only; the gateway relays Cognito's `DEVICE_SRP_AUTH` and
 * `DEVICE_PASSWORD_VERIFIER` through `POST /auth/challenge`, and this module answers them in the
 * browser (`device-srp.ts`): the device password never reaches the gateway again.
 *
 * An answer with `forgetDevice: true` (Cognito no longer knows the device) makes it drop the
 * stored keys; a refused device proof does too, and the login is then made once more without
 * the device (as Amplify does when Cognito says "Device does not exist.").
 */
import { DeviceSrp } from "./device-srp";

/** A device Amplify keeps for `username`. */
export interface StoredDevice {
  username: string;
  deviceKey: string;
  deviceGroupKey: string;
  randomPassword: string;
}

/** `newDevice` of the gateway's tokens object. */
export interface NewDevice {
  deviceKey: string;
  deviceGroupKey: string;
  devicePassword: string;
  remembered?: boolean;
}

/** Where the devices are kept: Amplify's storage (see `deviceStore` in `v5.ts` and `v6.ts`). */
export interface DeviceStore {
  /** The complete device (all three keys) of the user `loginName` names, if any. */
  find(loginName: string): Promise<StoredDevice | null>;
  /** Drop the three keys of `username`. */
  forget(username: string, loginName?: string): Promise<void>;
}

export interface GatewayLoginOptions {
  /** The gateway's base URL (default: this page's origin). */
  gatewayUrl?: string;
  /** On a pool that remembers devices on the user's choice: remember a new one. */
  rememberDevice?: boolean;
  /** Amplify's device keys; without it no device is sent or answered. */
  devices?: DeviceStore;
  /** Called for each request made, e.g. to log it. */
  onRequest?: (path: string, status: number) => void;
}

/** The gateway's last answer: tokens, a challenge for the app, or an error body. */
export interface GatewayAnswer {
  response: Response;
  body: Record<string, unknown>;
}

const DEVICE_SRP_AUTH = "DEVICE_SRP_AUTH";
const DEVICE_PASSWORD_VERIFIER = "DEVICE_PASSWORD_VERIFIER";

async function post(
  path: string,
  payload: unknown,
  options: GatewayLoginOptions,
): Promise<GatewayAnswer> {
  const url = new URL(path, options.gatewayUrl ?? location.origin).toString();
  const response = await fetch(url, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(payload),
  });
  let body: Record<string, unknown> = {};
  try {
    body = ((await response.json()) as Record<string, unknown>) ?? {};
  } catch {
    body = {};
  }
  options.onRequest?.(path, response.status);
  return { response, body };
}

function isChallenge(body: Record<string, unknown>, name: string): boolean {
  return body.challengeName === name && typeof body.idToken !== "string";
}

/** `DEVICE_SRP_AUTH`, then `DEVICE_PASSWORD_VERIFIER`, answered here and relayed by the gateway. */
async function deviceSignIn(
  answer: GatewayAnswer,
  device: StoredDevice,
  username: string,
  options: GatewayLoginOptions,
): Promise<GatewayAnswer> {
  const srp = new DeviceSrp(device.deviceKey, device.deviceGroupKey, device.randomPassword);
  const first = (answer.body.challengeParameters ?? {}) as Record<string, string>;
  let name = first.USERNAME || username;
  const step = await post(
    "/auth/challenge",
    {
      username: name,
      challengeName: DEVICE_SRP_AUTH,
      session: answer.body.session,
      responses: { USERNAME: name, DEVICE_KEY: device.deviceKey, SRP_A: srp.srpA() },
    },
    options,
  );
  if (!step.response.ok || !isChallenge(step.body, DEVICE_PASSWORD_VERIFIER)) return step;
  const params = (step.body.challengeParameters ?? {}) as Record<string, string>;
  name = params.USERNAME || name;
  const claim = await srp.claim(params.SRP_B, params.SALT, params.SECRET_BLOCK);
  return post(
    "/auth/challenge",
    {
      username: name,
      challengeName: DEVICE_PASSWORD_VERIFIER,
      session: step.body.session,
      responses: { USERNAME: name, DEVICE_KEY: device.deviceKey, ...claim },
    },
    options,
  );
}

/**
 * `POST /auth/login`, with the stored device when there is one, answering the device challenges.
 * Returns the last answer: hand its tokens (and `newDevice`) to `setupAmplifySession`.
 */
export async function gatewayLogin(
  username: string,
  password: string,
  options: GatewayLoginOptions = {},
): Promise<GatewayAnswer> {
  let device = options.devices ? await options.devices.find(username) : null;
  const body: Record<string, unknown> = { username, password };
  if (options.rememberDevice !== undefined) body.rememberDevice = options.rememberDevice;
  let answer = await post("/auth/login", device ? { ...body, deviceKey: device.deviceKey } : body, options);
  if (answer.response.ok && answer.body.forgetDevice === true && device) {
    await options.devices?.forget(device.username, username);
    device = null;
  }
  if (answer.response.ok && device && isChallenge(answer.body, DEVICE_SRP_AUTH)) {
    const proved = await deviceSignIn(answer, device, username, options);
    if (proved.response.status !== 401) return proved;
    // Cognito refused the device's proof: its keys are stale. Drop them, log in without it.
    await options.devices?.forget(device.username, username);
    answer = await post("/auth/login", body, options);
  }
  return answer;
}
