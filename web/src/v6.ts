/**
 * Amplify v6: make the gateway's tokens the session that `fetchAuthSession()` returns.
 *
 * v6 has no `setSignInUserSession`. Its default token provider, `cognitoUserPoolsTokenProvider`
 * (exported by `aws-amplify/auth/cognito`), keeps the tokens through a `TokenOrchestrator` whose
 * `setTokens` is the very call Amplify's own `signIn` ends with. Handing the tokens to it, rather
 * than writing `CognitoIdentityServiceProvider.*` keys into localStorage by hand, means:
 *
 * - they land in whatever storage the provider uses (localStorage, the cookies of
 *   `Amplify.configure(config, { ssr: true })`, or a store set with `setKeyValueStorage`);
 * - Amplify names the keys and encodes `clockDrift` (milliseconds, `iat*1000 - now`) itself, so
 *   nothing here depends on v6's storage layout;
 * - `fetchAuthSession()` reads them on its next call and refreshes them when they expire, through
 *   `userPoolEndpoint` (the gateway's `/cognito/`) with `GetTokensFromRefreshToken`.
 *
 * Remembered devices: pass the answer's `newDevice` to `setupAmplifySession(..., { device })`;
 * it goes to `setTokens` as `deviceMetadata`, which stores `deviceKey`, `deviceGroupKey` and
 * `randomPasswordKey` (v6 sends `DeviceKey` on refresh only when all three are there).
 * `gatewayLogin(..., { devices: deviceStore() })` sends it at the next login and answers the
 * device challenges in the browser.
 */
import { Amplify } from "aws-amplify";
import { decodeJWT, fetchAuthSession, signOut, type AuthSession } from "aws-amplify/auth";
import { cognitoUserPoolsTokenProvider } from "aws-amplify/auth/cognito";

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

/** The `/cognito/` endpoint of a gateway at `gatewayUrl` (default: this page's origin). */
export function gatewayCognitoEndpoint(gatewayUrl: string = location.origin): string {
  return new URL("/cognito/", gatewayUrl).toString();
}

/** Configure Amplify v6 for a pool behind cognito-gate: refreshes go to the gateway. */
export function configureAmplifyV6(
  config: Pick<GateConfig, "userPoolId" | "clientId">,
  options: { gatewayUrl?: string; ssr?: boolean; endpoint?: string } = {},
): void {
  Amplify.configure(
    {
      Auth: {
        Cognito: {
          userPoolId: config.userPoolId,
          userPoolClientId: config.clientId,
          // `endpoint` overrides where refresh goes (Cognito itself, skipping the gateway).
          userPoolEndpoint: options.endpoint ?? gatewayCognitoEndpoint(options.gatewayUrl),
        },
      },
    },
    options.ssr ? { ssr: true } : undefined,
  );
}

/**
 * Store the tokens so that `fetchAuthSession()` returns them and refreshes them (through
 * `userPoolEndpoint`) when they expire. Same argument order as the v5 `setupAmplifySession`.
 *
 * `username` must be the `cognito:username` (the tokens object's `username`); `loginId` (what the
 * user typed) is kept as `signInDetails.loginId`, as Amplify's own `signIn` does.
 */
export async function setupAmplifySession(
  username: string,
  accessToken: string,
  idToken: string,
  refreshToken: string,
  userPoolId: string,
  appClientId: string,
  options: { loginId?: string; device?: NewDevice } = {},
): Promise<AuthSession> {
  const cognito = Amplify.getConfig().Auth?.Cognito;
  if (cognito?.userPoolId !== userPoolId || cognito?.userPoolClientId !== appClientId) {
    throw new Error(
      `Amplify is configured for pool ${cognito?.userPoolId ?? "(none)"} / client ` +
        `${cognito?.userPoolClientId ?? "(none)"}, but the tokens are for ${userPoolId} / ` +
        `${appClientId}: call Amplify.configure (or configureAmplifyV6) with the gateway's config first`,
    );
  }
  const access = decodeJWT(accessToken);
  // Amplify's own refresh computes clockDrift this way (ms; positive when the server is ahead).
  const clockDrift = (access.payload.iat ?? Math.floor(Date.now() / 1000)) * 1000 - Date.now();
  await cognitoUserPoolsTokenProvider.tokenOrchestrator.setTokens({
    tokens: {
      accessToken: access,
      idToken: decodeJWT(idToken),
      refreshToken,
      clockDrift,
      username,
      ...(options.loginId ? { signInDetails: { loginId: options.loginId } } : {}),
      // All three, always: v6 reads a device only when deviceKey, deviceGroupKey and
      // randomPasswordKey are all stored.
      ...(options.device
        ? {
            deviceMetadata: {
              deviceKey: options.device.deviceKey,
              deviceGroupKey: options.device.deviceGroupKey,
              randomPassword: options.device.devicePassword,
            },
          }
        : {}),
    },
  });
  if (options.device && options.loginId && options.loginId !== username) {
    hints()?.setItem(hintKey(appClientId, options.loginId), username);
  }
  return fetchAuthSession();
}

function hintKey(clientId: string, loginId: string): string {
  return `cognito-gate.deviceUser.${clientId}.${loginId}`;
}

/** Which username a login name's device is filed under, where the page has localStorage. */
function hints(): Storage | null {
  try {
    return globalThis.localStorage ?? null;
  } catch {
    return null;
  }
}

/**
 * The devices Amplify v6 keeps (through its token provider, whatever its storage), for
 * `gatewayLogin`: under the name typed, the username a login with that name was answered for, or
 * the name in lower case; complete ones only, as v6 itself reads them.
 */
export function deviceStore(): DeviceStore {
  const orchestrator = cognitoUserPoolsTokenProvider.tokenOrchestrator;
  const clientId = () => {
    const id = Amplify.getConfig().Auth?.Cognito?.userPoolClientId;
    if (!id) throw new Error("configure Amplify (configureAmplifyV6) first");
    return id;
  };
  return {
    async find(loginName: string): Promise<StoredDevice | null> {
      const names = [loginName, hints()?.getItem(hintKey(clientId(), loginName)), loginName.toLowerCase()];
      for (const name of names) {
        if (!name) continue;
        const found = await orchestrator.getDeviceMetadata(name);
        if (found?.deviceKey && found.deviceGroupKey && found.randomPassword) {
          return {
            username: name,
            deviceKey: found.deviceKey,
            deviceGroupKey: found.deviceGroupKey,
            randomPassword: found.randomPassword,
          };
        }
      }
      return null;
    },
    async forget(username: string, loginName?: string): Promise<void> {
      await orchestrator.clearDeviceMetadata(username);
      if (loginName) hints()?.removeItem(hintKey(clientId(), loginName));
    },
  };
}

/**
 * Forget the session in this browser. Amplify's `signOut()` clears the tokens; it also sends
 * `RevokeToken` to `userPoolEndpoint` and ignores a failure of that call.
 */
export async function clearAmplifySession(): Promise<void> {
  await signOut();
}
