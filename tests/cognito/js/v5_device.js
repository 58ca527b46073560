// Amplify v5's own device handling (the real amazon-cognito-identity-js) against the emulator.
//
//   echo '{"endpoint", "userPoolId", "clientId", "username", "password", "storage", "action"}' |
//     node v5_device.js
//
// action "signIn": authenticateUser with USER_PASSWORD_AUTH. The library sends DEVICE_KEY when
// its storage holds a device and answers DEVICE_SRP_AUTH / DEVICE_PASSWORD_VERIFIER itself; on a
// new device it confirms it with its own verifier (ConfirmDevice) and stores the three keys.
// action "refresh": getCurrentUser() + refreshSession() (sends DEVICE_KEY from storage).
// Prints JSON: ok or error, the Cognito calls it made, and its storage afterwards.
'use strict';

const fs = require('fs');
const calls = [];
const realFetch = globalThis.fetch;
globalThis.fetch = async (url, options) => {
	const target = (options.headers['X-Amz-Target'] || '').split('.').pop();
	const body = JSON.parse(options.body || '{}');
	calls.push({ target, challenge: body.ChallengeName || null, auth: body.AuthParameters || null });
	return realFetch(url, options);
};
const {
	AuthenticationDetails,
	CognitoUser,
	CognitoUserPool,
} = require('amazon-cognito-identity-js');

class DictStorage {
	constructor(data) {
		this.data = Object.assign({}, data || {});
	}
	getItem(key) {
		return Object.prototype.hasOwnProperty.call(this.data, key) ? this.data[key] : null;
	}
	setItem(key, value) {
		this.data[key] = String(value);
	}
	removeItem(key) {
		delete this.data[key];
	}
	clear() {
		this.data = {};
	}
}

const input = JSON.parse(fs.readFileSync(0, 'utf8'));
const storage = new DictStorage(input.storage);
const pool = new CognitoUserPool({
	UserPoolId: input.userPoolId,
	ClientId: input.clientId,
	Storage: storage,
	endpoint: input.endpoint,
});

function done(result) {
	console.log(JSON.stringify({ ...result, calls, storage: storage.data }));
}

if (input.action === 'refresh') {
	const user = pool.getCurrentUser();
	user.getSession((err, session) => {
		if (err) return done({ error: err.code || err.name });
		user.refreshSession(session.getRefreshToken(), (err2, refreshed) => {
			if (err2) return done({ error: err2.code || err2.name });
			done({ ok: true, accessToken: refreshed.getAccessToken().getJwtToken() });
		});
	});
} else {
	const user = new CognitoUser({ Username: input.username, Pool: pool, Storage: storage });
	user.setAuthenticationFlowType('USER_PASSWORD_AUTH');
	const details = new AuthenticationDetails({ Username: input.username, Password: input.password });
	user.authenticateUser(details, {
		onSuccess(session, userConfirmationNecessary) {
			done({
				ok: true,
				accessToken: session.getAccessToken().getJwtToken(),
				refreshToken: session.getRefreshToken().getToken(),
				userConfirmationNecessary: userConfirmationNecessary === true,
			});
		},
		onFailure(err) {
			done({ error: `${err.code || err.name}: ${err.message}` });
		},
	});
}
