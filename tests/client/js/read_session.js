// Reads a session file written by the Python FileStorage with the real amazon-cognito-identity-js.
//
//   node read_session.js SESSION.json USER_POOL_ID CLIENT_ID [ENDPOINT]
//
// getCurrentUser() + getSession(); with ENDPOINT also refreshSession() there. Prints JSON:
// what the JS library saw, and its storage afterwards.
'use strict';

const fs = require('fs');
const { CognitoUserPool } = require('amazon-cognito-identity-js');
const { DictStorage } = require('./storage');

const [file, userPoolId, clientId, endpoint] = process.argv.slice(2);
const storage = new DictStorage(JSON.parse(fs.readFileSync(file, 'utf8')));
const pool = new CognitoUserPool({
	UserPoolId: userPoolId,
	ClientId: clientId,
	Storage: storage,
	endpoint: endpoint || undefined,
});

function describe(session) {
	return {
		valid: session.isValid(),
		idToken: session.getIdToken().getJwtToken(),
		accessToken: session.getAccessToken().getJwtToken(),
		refreshToken: session.getRefreshToken().getToken(),
		clockDrift: session.getClockDrift(),
	};
}

function fail(stage, err) {
	console.log(JSON.stringify({ error: `${stage}: ${err.code || err.name}: ${err.message}` }));
	process.exit(1);
}

const user = pool.getCurrentUser();
if (!user) fail('getCurrentUser', { name: 'null', message: 'no LastAuthUser' });
user.getSession((err, session) => {
	if (err) return fail('getSession', err);
	const out = { username: user.getUsername(), session: describe(session) };
	if (!endpoint) {
		out.storage = storage.data;
		return console.log(JSON.stringify(out));
	}
	user.refreshSession(session.getRefreshToken(), (err2, refreshed) => {
		if (err2) return fail('refreshSession', err2);
		out.refreshed = describe(refreshed);
		out.storage = storage.data;
		console.log(JSON.stringify(out));
	});
});
