/** What the demo page needs from one Amplify major version. */

/** `GET /auth/config`. */
export interface GateConfig {
  userPoolId: string;
  clientId: string;
  region: string;
  cognitoEndpoint?: string | null;
  deviceRemembering?: boolean;
  warnings?: string[];
}

/** The tokens object of `POST /auth/login`. */
export interface GateTokens {
  idToken: string;
  accessToken: string;
  refreshToken: string;
  expiresIn: number;
  tokenType: string;
  username: string;
  userPoolId: string;
  clientId: string;
  region: string;
}

/** A session as Amplify itself reports it. */
export interface SessionView {
  username: string;
  accessToken: string;
  idToken: string;
  /** The access token's `exp` (epoch seconds, the server's clock). */
  expiresAt: number;
  idClaims: Record<string, unknown>;
}

export interface AmplifyAdapter {
  version: "v5" | "v6";
  /** The Amplify call that `session()` makes, for the page to name. */
  sessionCall: string;
  configure(config: GateConfig): void;
  setup(tokens: GateTokens, loginId: string): Promise<void>;
  /** Amplify's own session (refreshing it when expired); null when signed out. */
  session(): Promise<SessionView | null>;
  /** Refresh now, whether expired or not; null when the refresh signed the user out. */
  refresh(): Promise<SessionView | null>;
  /** The stored refresh token, for `POST /auth/logout`. */
  refreshToken(): Promise<string | null>;
  /** Forget the session in this browser. */
  signOut(): Promise<void>;
  /** Amplify's Hub auth events, by name. */
  onAuthEvent(listener: (event: string) => void): void;
}
