// A localStorage look-alike over a plain object, loadable from and dumpable to JSON.
'use strict';

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

function readStdin() {
	return require('fs').readFileSync(0, 'utf8');
}

module.exports = { DictStorage, readStdin };
