/**
 * Amplify v5: turn the gateway's tokens into the session that `Auth.currentSession()` reads.
 *
 * The shape is the one from "Manually Configuring an AWS Amplify Session": build a
 * `CognitoUserSession` from the three tokens, attach it to a `CognitoUser` of a `CognitoUserPool`,
 * and let `Auth.currentSession()` pick it up. Two things make it work in practice:
 *
 * - the pool must use the same storage as Amplify's Auth (Auth finds the user through the
 *   `CognitoIdentityServiceProvider.<clientId>.LastAuthUser` key of that storage), and
 * - Auth must be configured with `endpoint` = the gateway's `/cognito/`, so that the refresh
 *   Amplify makes when the access token expires goes through the gateway (which adds SECRET_HASH
 *   for clients with a secret, and refuses admin-locked accounts).
 *
 * `amazon-cognito-identity-js` and the copy inside `@aws-amplify/auth@5` may be two different
 * module instances (aws-amplify 5.3.x pins its own version); they agree through the storage keys,
 * which is why storage and endpoint are taken from Auth's own configuration by default.
 *
 * Remembered devices: where the pool remembers devices, pass the answer's `newDevice` to
 * `setupAmplifySession(..., { device })`; it is stored under the keys the library reads
 * (`deviceKey`, `deviceGroupKey`, `randomPasswordKey` of the user), so `refreshSession` sends
 * `DEVICE_KEY`. `gatewayLogin(..., { devices: deviceStore() })` sends it at the next login and
 * answers the device challenges in the browser.
 */
import {
  CognitoAccessToken,
  CognitoIdToken,
  CognitoRefreshToken,
  CognitoUser,
  CognitoUserPool,
  CognitoUserSession,
  CookieStorage,
  type ICognitoStorage,
} from "amazon-cognito-identity-js";
import { Auth } from "aws-amplify";

import type { DeviceStore, NewDevice, StoredDevice } from "./gateway-login";

export { gatewayLogin } from "./gateway-login";
export type { DeviceStore, GatewayAnswer, GatewayLoginOptions, NewDevice, StoredDevice } from "./gateway-login";

/** What `GET /auth/config` answers. */
export interface GateConfig {
  userPoolId: string;
  clientId: string;
  region: string;
  cognitoEndpoint?: string | null;
  deviceRemembering?: boolean;
  /** `off`, `always`, or `opt-in` (devices are remembered when the login asks). */
  deviceRememberingMode?: "off" | "always" | "opt-in";
  warnings?: string[];
}

export interface SessionOptions {
  /** Cognito API endpoint; defaults to the `endpoint` Auth was configured with. */
  endpoint?: string;
  /** Token storage; defaults to the storage Auth was configured with (localStorage if none). */
  storage?: ICognitoStorage;
}

/** `setupAmplifySession`'s options: where, plus the login's new device (`newDevice`). */
export interface SetupOptions extends SessionOptions {
  /** The answer's `newDevice`: stored under Amplify's device keys for `username`. */
  device?: NewDevice;
  /** What the user typed, when it is not `username` (an email): the next login finds the device. */
  loginId?: string;
}

/** The `/cognito/` endpoint of a gateway at `gatewayUrl` (default: this page's origin). */
export function gatewayCognitoEndpoint(gatewayUrl: string = location.origin): string {
  return new URL("/cognito/", gatewayUrl).toString();
}

/**
 * Configure Amplify v5 Auth for a pool behind cognito-gate: refreshes go to the gateway.
 * Pass your own `storage` here and to `setupAmplifySession` if you don't use localStorage.
 */
export function configureAmplifyV5(
  config: Pick<GateConfig, "userPoolId" | "clientId" | "region">,
  options: { gatewayUrl?: string; storage?: ICognitoStorage; endpoint?: string } = {},
): void {
  Auth.configure({
    region: config.region,
    userPoolId: config.userPoolId,
    userPoolWebClientId: config.clientId,
    // `endpoint` overrides where refresh goes (Cognito itself, skipping the gateway's lock check).
    endpoint: options.endpoint ?? gatewayCognitoEndpoint(options.gatewayUrl),
    ...(options.storage ? { storage: options.storage } : {}),
  });
}

interface AuthConfigView {
  userPoolId?: string;
  userPoolWebClientId?: string;
  endpoint?: string;
  storage?: ICognitoStorage;
  cookieStorage?: ConstructorParameters<typeof CookieStorage>[0];
}

function authConfig(): AuthConfigView {
  // Auth.configure() without arguments returns the configuration in force.
  return (Auth.configure() ?? {}) as AuthConfigView;
}

/**
 * Store the tokens as the session of `username` so that `Auth.currentSession()` returns them,
 * and refreshes them (through `endpoint`) when they expire.
 *
 * `username` must be the `cognito:username` (the tokens object's `username`), which is what
 * Amplify's storage keys use: it differs from what the user typed when they log in with an alias.
 */
export async function setupAmplifySession(
  username: string,
  accessToken: string,
  idToken: string,
  refreshToken: string,
  userPoolId: string,
  appClientId: string,
  options: SetupOptions = {},
): Promise<CognitoUserSession> {
  const auth = authConfig();
  if (auth.userPoolId !== userPoolId || auth.userPoolWebClientId !== appClientId) {
    throw new Error(
      `Amplify Auth is configured for pool ${auth.userPoolId ?? "(none)"} / client ` +
        `${auth.userPoolWebClientId ?? "(none)"}, but the tokens are for ${userPoolId} / ` +
        `${appClientId}: call Auth.configure (or configureAmplifyV5) with the gateway's config first`,
    );
  }
  const session = new CognitoUserSession({
    AccessToken: new CognitoAccessToken({ AccessToken: accessToken }),
    IdToken: new CognitoIdToken({ IdToken: idToken }),
    RefreshToken: new CognitoRefreshToken({ RefreshToken: refreshToken }),
  });
  const pool = userPool(userPoolId, appClientId, options);
  const user = new CognitoUser({ Username: username, Pool: pool });
  user.setSignInUserSession(session); // writes the tokens, clockDrift and LastAuthUser
  if (options.device) storeDevice(appClientId, username, options.device, options);
  return Auth.currentSession();
}

const DEVICE_KEYS = ["deviceKey", "deviceGroupKey", "randomPasswordKey"] as const;

function deviceKeys(clientId: string, username: string): string[] {
  return DEVICE_KEYS.map((name) => `CognitoIdentityServiceProvider.${clientId}.${username}.${name}`);
}

function hintKey(clientId: string, loginId: string): string {
  return `cognito-gate.deviceUser.${clientId}.${loginId}`;
}

/** The storage the pool writes through (the library's default is localStorage). */
function storageOf(options: SessionOptions): ICognitoStorage {
  const auth = authConfig();
  return (
    options.storage ??
    auth.storage ??
    (auth.cookieStorage ? new CookieStorage(auth.cookieStorage) : undefined) ??
    window.localStorage
  );
}

function storeDevice(
  clientId: string,
  username: string,
  device: NewDevice,
  options: SetupOptions,
): void {
  const storage = storageOf(options);
  const [key, group, password] = deviceKeys(clientId, username);
  storage.setItem(key, device.deviceKey);
  storage.setItem(group, device.deviceGroupKey);
  storage.setItem(password, device.devicePassword);
  if (options.loginId && options.loginId !== username) {
    storage.setItem(hintKey(clientId, options.loginId), username);
  }
}

/**
 * The devices Amplify v5 keeps, for `gatewayLogin`: found under the name typed, the username a
 * login with that name was answered for, or the name in lower case; complete ones only.
 */
export function deviceStore(options: SessionOptions = {}): DeviceStore {
  const clientId = () => {
    const id = authConfig().userPoolWebClientId;
    if (!id) throw new Error("configure Amplify Auth (configureAmplifyV5) first");
    return id;
  };
  return {
    async find(loginName: string): Promise<StoredDevice | null> {
      const storage = storageOf(options);
      const id = clientId();
      const names = [loginName, storage.getItem(hintKey(id, loginName)), loginName.toLowerCase()];
      for (const name of names) {
        if (!name) continue;
        const [deviceKey, deviceGroupKey, randomPassword] = deviceKeys(id, name).map((k) =>
          storage.getItem(k),
        );
        if (deviceKey && deviceGroupKey && randomPassword) {
          return { username: name, deviceKey, deviceGroupKey, randomPassword };
        }
      }
      return null;
    },
    async forget(username: string, loginName?: string): Promise<void> {
      const storage = storageOf(options);
      for (const key of deviceKeys(clientId(), username)) storage.removeItem(key);
      if (loginName) storage.removeItem(hintKey(clientId(), loginName));
    },
  };
}

/** The pool `setupAmplifySession` writes through: Auth's endpoint and storage unless overridden. */
export function userPool(
  userPoolId: string,
  appClientId: string,
  options: SessionOptions = {},
): CognitoUserPool {
  const auth = authConfig();
  const storage =
    options.storage ??
    auth.storage ??
    (auth.cookieStorage ? new CookieStorage(auth.cookieStorage) : undefined);
  return new CognitoUserPool({
    UserPoolId: userPoolId,
    ClientId: appClientId,
    endpoint: options.endpoint ?? auth.endpoint,
    ...(storage ? { Storage: storage } : {}),
  });
}

/**
 * Forget the session in this browser without calling Cognito (the gateway's `POST /auth/logout`
 * has already revoked the refresh token). `Auth.signOut()` would also work, but it sends
 * `RevokeToken` to the configured endpoint first.
 */
export function clearAmplifySession(options: SessionOptions = {}): void {
  const auth = authConfig();
  if (!auth.userPoolId || !auth.userPoolWebClientId) return;
  userPool(auth.userPoolId, auth.userPoolWebClientId, options).getCurrentUser()?.signOut();
}
