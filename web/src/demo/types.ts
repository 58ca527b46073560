/** What the demo page needs from one Amplify major version. */
import type { DeviceStore, NewDevice } from "../gateway-login";

/** `GET /auth/config`. */
export interface GateConfig {
  userPoolId: string;
  clientId: string;
  region: string;
  cognitoEndpoint?: string | null;
  deviceRemembering?: boolean;
  deviceRememberingMode?: "off" | "always" | "opt-in";
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
  /** A device the gateway confirmed for this browser (pools that remember devices). */
  newDevice?: NewDevice;
  /** The device this browser sent is unknown to Cognito: its keys were dropped. */
  forgetDevice?: boolean;
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
  /** `endpoint`: where Amplify refreshes (default: the gateway's `/cognito/`). */
  configure(config: GateConfig, endpoint?: string): void;
  /** Hand the tokens (and `newDevice`) to Amplify. */
  setup(tokens: GateTokens, loginId: string): Promise<void>;
  /** The devices Amplify keeps, for the login's device challenges. */
  devices(): DeviceStore;
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
