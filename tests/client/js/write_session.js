// Sets a session up from tokens with the real amazon-cognito-identity-js, as the Amplify recipe
// does (CognitoUserSession + setSignInUserSession, which caches the tokens), into a dict-backed
// Storage, and prints that storage as JSON.
//
//   echo '{"username", "idToken", "accessToken", "refreshToken", "userPoolId", "clientId"}' |
//     node write_session.js
'use strict';

const {
	CognitoAccessToken,
	CognitoIdToken,
	CognitoRefreshToken,
	CognitoUser,
	CognitoUserPool,
	CognitoUserSession,
} = require('amazon-cognito-identity-js');
const { DictStorage, readStdin } = require('./storage');

const input = JSON.parse(readStdin());
const storage = new DictStorage();
const session = new CognitoUserSession({
	AccessToken: new CognitoAccessToken({ AccessToken: input.accessToken }),
	IdToken: new CognitoIdToken({ IdToken: input.idToken }),
	RefreshToken: new CognitoRefreshToken({ RefreshToken: input.refreshToken }),
});
const pool = new CognitoUserPool({
	UserPoolId: input.userPoolId,
	ClientId: input.clientId,
	Storage: storage,
});
const user = new CognitoUser({ Username: input.username, Pool: pool, Storage: storage });
user.setSignInUserSession(session);
console.log(JSON.stringify(storage.data));
