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

/** What `GET /auth/config` answers. */
export interface GateConfig {
  userPoolId: string;
  clientId: string;
  region: string;
  cognitoEndpoint?: string | null;
  deviceRemembering?: boolean;
  warnings?: string[];
}

export interface SessionOptions {
  /** Cognito API endpoint; defaults to the `endpoint` Auth was configured with. */
  endpoint?: string;
  /** Token storage; defaults to the storage Auth was configured with (localStorage if none). */
  storage?: ICognitoStorage;
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
  options: { gatewayUrl?: string; storage?: ICognitoStorage } = {},
): void {
  Auth.configure({
    region: config.region,
    userPoolId: config.userPoolId,
    userPoolWebClientId: config.clientId,
    endpoint: gatewayCognitoEndpoint(options.gatewayUrl),
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
  options: SessionOptions = {},
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
  return Auth.currentSession();
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
