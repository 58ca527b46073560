import { fetchAuthSession } from "aws-amplify/auth";
import { cognitoUserPoolsTokenProvider } from "aws-amplify/auth/cognito";
import { Hub } from "aws-amplify/utils";

import { clearAmplifySession, configureAmplifyV6, deviceStore, setupAmplifySession } from "../v6";
import type { AmplifyAdapter, GateConfig, SessionView } from "./types";

async function sessionView(forceRefresh: boolean): Promise<SessionView | null> {
  const { tokens } = await fetchAuthSession({ forceRefresh });
  if (!tokens?.accessToken) return null;
  const idClaims = (tokens.idToken?.payload ?? {}) as Record<string, unknown>;
  return {
    username: String(idClaims["cognito:username"] ?? tokens.accessToken.payload.username),
    accessToken: tokens.accessToken.toString(),
    idToken: tokens.idToken?.toString() ?? "",
    expiresAt: Number(tokens.accessToken.payload.exp),
    idClaims,
  };
}

export const v6Adapter: AmplifyAdapter = {
  version: "v6",
  sessionCall: "fetchAuthSession()",
  configure(config: GateConfig, endpoint?: string) {
    configureAmplifyV6(config, { endpoint });
  },
  async setup(tokens, loginId) {
    await setupAmplifySession(
      tokens.username,
      tokens.accessToken,
      tokens.idToken,
      tokens.refreshToken,
      tokens.userPoolId,
      tokens.clientId,
      { loginId, device: tokens.newDevice },
    );
  },
  devices: () => deviceStore(),
  session: () => sessionView(false),
  refresh: () => sessionView(true),
  async refreshToken() {
    const stored = await cognitoUserPoolsTokenProvider.tokenOrchestrator.getTokenStore().loadTokens();
    return stored?.refreshToken ?? null;
  },
  signOut: clearAmplifySession,
  onAuthEvent(listener) {
    Hub.listen("auth", (capsule) => listener(String(capsule.payload.event)));
  },
};
