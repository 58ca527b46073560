import type { CognitoUser, CognitoUserSession } from "amazon-cognito-identity-js";
import { Auth, Hub } from "aws-amplify";

import {
  clearAmplifySession,
  configureAmplifyV5,
  deviceStore,
  setupAmplifySession,
  userPool,
} from "../v5";
import type { AmplifyAdapter, GateConfig, SessionView } from "./types";

function view(session: CognitoUserSession): SessionView {
  const idClaims = session.getIdToken().decodePayload();
  return {
    username: String(idClaims["cognito:username"] ?? session.getAccessToken().decodePayload().username),
    accessToken: session.getAccessToken().getJwtToken(),
    idToken: session.getIdToken().getJwtToken(),
    expiresAt: session.getAccessToken().getExpiration(),
    idClaims,
  };
}

/** True while the storage holds a user for Amplify to find (v5 drops it when refresh is refused). */
function hasStoredUser(): boolean {
  const { userPoolId, userPoolWebClientId } = Auth.configure() as Record<string, string>;
  return userPool(userPoolId, userPoolWebClientId).getCurrentUser() !== null;
}

async function currentSessionOrNull(): Promise<SessionView | null> {
  try {
    return view(await Auth.currentSession());
  } catch (err) {
    if (!hasStoredUser()) return null; // "No current user", or the refresh was refused
    throw err;
  }
}

export const v5Adapter: AmplifyAdapter = {
  version: "v5",
  sessionCall: "Auth.currentSession()",
  configure(config: GateConfig, endpoint?: string) {
    configureAmplifyV5(config, { endpoint });
  },
  async setup(tokens, loginId) {
    await setupAmplifySession(
      tokens.username,
      tokens.accessToken,
      tokens.idToken,
      tokens.refreshToken,
      tokens.userPoolId,
      tokens.clientId,
      { device: tokens.newDevice, loginId },
    );
  },
  devices: () => deviceStore(),
  session: currentSessionOrNull,
  async refresh() {
    // Amplify v5 has no "force refresh": its documented way is the user's refreshSession.
    let user: CognitoUser;
    let session: CognitoUserSession;
    try {
      user = (await Auth.currentAuthenticatedUser()) as CognitoUser;
      session = await Auth.currentSession();
    } catch (err) {
      if (!hasStoredUser()) return null;
      throw err;
    }
    try {
      await new Promise<void>((resolve, reject) => {
        user.refreshSession(session.getRefreshToken(), (err: unknown) =>
          err ? reject(err) : resolve(),
        );
      });
    } catch (err) {
      if (!hasStoredUser()) return null;
      throw err;
    }
    return currentSessionOrNull();
  },
  async refreshToken() {
    try {
      return (await Auth.currentSession()).getRefreshToken().getToken() || null;
    } catch {
      return null;
    }
  },
  async signOut() {
    clearAmplifySession();
  },
  onAuthEvent(listener) {
    Hub.listen("auth", (capsule) => listener(String(capsule.payload.event)));
  },
};
