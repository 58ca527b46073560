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
 */
import { Amplify } from "aws-amplify";
import { decodeJWT, fetchAuthSession, signOut, type AuthSession } from "aws-amplify/auth";
import { cognitoUserPoolsTokenProvider } from "aws-amplify/auth/cognito";

/** What `GET /auth/config` answers. */
export interface GateConfig {
  userPoolId: string;
  clientId: string;
  region: string;
  cognitoEndpoint?: string | null;
  deviceRemembering?: boolean;
  warnings?: string[];
}

/** The `/cognito/` endpoint of a gateway at `gatewayUrl` (default: this page's origin). */
export function gatewayCognitoEndpoint(gatewayUrl: string = location.origin): string {
  return new URL("/cognito/", gatewayUrl).toString();
}

/** Configure Amplify v6 for a pool behind cognito-gate: refreshes go to the gateway. */
export function configureAmplifyV6(
  config: Pick<GateConfig, "userPoolId" | "clientId">,
  options: { gatewayUrl?: string; ssr?: boolean } = {},
): void {
  Amplify.configure(
    {
      Auth: {
        Cognito: {
          userPoolId: config.userPoolId,
          userPoolClientId: config.clientId,
          userPoolEndpoint: gatewayCognitoEndpoint(options.gatewayUrl),
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
  options: { loginId?: string } = {},
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
    },
  });
  return fetchAuthSession();
}

/**
 * Forget the session in this browser. Amplify's `signOut()` clears the tokens; it also sends
 * `RevokeToken` to `userPoolEndpoint` and ignores a failure of that call.
 */
export async function clearAmplifySession(): Promise<void> {
  await signOut();
}
