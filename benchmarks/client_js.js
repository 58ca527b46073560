// amazon-cognito-identity-js getSession() on valid stored tokens: the baseline for client.py.
//
//   echo '{"username", "idToken", "accessToken", "refreshToken", "userPoolId", "clientId",
//          "iterations", "repeats"}' | NODE_PATH=web/node_modules node benchmarks/client_js.js
//
// Prints JSON: for each case, the nanoseconds per call of every repeat.
'use strict';

const {
	CognitoAccessToken,
	CognitoIdToken,
	CognitoRefreshToken,
	CognitoUser,
	CognitoUserPool,
	CognitoUserSession,
} = require('amazon-cognito-identity-js');

const input = JSON.parse(require('fs').readFileSync(0, 'utf8'));

// A Map-backed Storage, as a browser's localStorage would be.
class MapStorage {
	constructor() {
		this.map = new Map();
	}
	getItem(key) {
		return this.map.has(key) ? this.map.get(key) : null;
	}
	setItem(key, value) {
		this.map.set(key, String(value));
	}
	removeItem(key) {
		this.map.delete(key);
	}
	clear() {
		this.map.clear();
	}
}

function setup(storage) {
	const options = { UserPoolId: input.userPoolId, ClientId: input.clientId };
	if (storage) options.Storage = storage;
	const pool = new CognitoUserPool(options);
	const user = new CognitoUser({ Username: input.username, Pool: pool, Storage: pool.storage });
	user.setSignInUserSession(
		new CognitoUserSession({
			IdToken: new CognitoIdToken({ IdToken: input.idToken }),
			AccessToken: new CognitoAccessToken({ AccessToken: input.accessToken }),
			RefreshToken: new CognitoRefreshToken({ RefreshToken: input.refreshToken }),
		})
	);
	return { pool, user };
}

// getSession() answers through a callback: one made beforehand keeps the last session.
let last = null;
function keep(err, session) {
	if (err) throw err;
	last = session;
}

function check(fn) {
	last = null;
	fn();
	if (!last || !last.isValid()) throw new Error('no valid session');
	return fn;
}

function measure(fn) {
	const n = input.iterations;
	for (let i = 0; i < Math.min(n, 20000); i++) fn(); // warm the JIT up
	const perCall = [];
	for (let r = 0; r < input.repeats; r++) {
		const start = process.hrtime.bigint();
		for (let i = 0; i < n; i++) fn();
		perCall.push(Number(process.hrtime.bigint() - start) / n);
	}
	return perCall;
}

const memory = setup(null); // no Storage: the library's own MemoryStorage (no localStorage in Node)
const mapped = setup(new MapStorage());

console.log(
	JSON.stringify({
		node: process.version,
		library: require('amazon-cognito-identity-js/package.json').version,
		cases: {
			'memory, same user': measure(check(() => memory.user.getSession(keep))),
			'memory, getCurrentUser()': measure(
				check(() => memory.pool.getCurrentUser().getSession(keep))
			),
			'Map storage, getCurrentUser()': measure(
				check(() => mapped.pool.getCurrentUser().getSession(keep))
			),
		},
	})
);
