/**
 * Device SRP in the browser: the two answers a remembered device gives at sign-in
 * (`DEVICE_SRP_AUTH`, then `DEVICE_PASSWORD_VERIFIER`), computed here so that the device password
 * never leaves the browser. SRP-6a over RFC 5054's 3072-bit group with SHA-256, as Amplify (v5
 * and v6) computes it, with `BigInt` and Web Crypto (a secure context: https, or localhost).
 *
 *     k     = H(padHex(N) | padHex(g))
 *     x     = H(padHex(salt) | H(deviceGroupKey + deviceKey + ":" + password))
 *     A     = g^a mod N;  u = H(padHex(A) | padHex(B))
 *     S     = (B - k·g^x)^(a + u·x) mod N
 *     key   = HMAC(HMAC(padHex(u), padHex(S)), "Caldera Derived Key" | 0x01)[0..16]
 *     claim = base64(HMAC(key, deviceGroupKey | deviceKey | secretBlock | TIMESTAMP))
 */

/** RFC 5054's 3072-bit prime (RFC 3526 group 15). */
const N_HEX =
  "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B139B22514A08798E3404DD" +
  "EF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7ED" +
  "EE386BFB5A899FA5AE9F24117C4B1FE649286651ECE45B3DC2007CB8A163BF0598DA48361C55D39A69163FA8FD24CF5F" +
  "83655D23DCA3AD961C62F356208552BB9ED529077096966D670C354E4ABC9804F1746C08CA18217C32905E462E36CE3B" +
  "E39E772C180E86039B2783A2EC07A28FB5C55DF06F4C52C9DE2BCBF6955817183995497CEA956AE515D2261898FA0510" +
  "15728E5A8AAAC42DAD33170D04507A33A85521ABDF1CBA64ECFB850458DBEF0A8AEA71575D060C7DB3970F85A6E1E4C7" +
  "ABF5AE8CDB0933D71E8C94E04A25619DCEE3D2261AD2EE6BF12FFA06D98A0864D87602733EC86A64521F2B18177B200C" +
  "BBE117577A615D6C770988C0BAD946E208E24FA074E5AB3143DB5BFCE0FD108E4B82D120A93AD2CAFFFFFFFFFFFFFFFF";
const N = BigInt(`0x${N_HEX}`);
const G = BigInt(2);
const ZERO = BigInt(0);
const ONE = BigInt(1);
const DAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const encoder = new TextEncoder();

/** Even-length hex, with `00` in front when the first nibble is 8-f (never read as negative). */
export function padHex(value: bigint): string {
  let text = value.toString(16);
  if (text.length % 2) text = `0${text}`;
  return /^[89a-f]/.test(text) ? `00${text}` : text;
}

function hexToBytes(hex: string): Uint8Array {
  const bytes = new Uint8Array(hex.length / 2);
  for (let i = 0; i < bytes.length; i++) bytes[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return bytes;
}

function bytesToHex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

function fromBase64(text: string): Uint8Array {
  return Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
}

function toBase64(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes));
}

function subtle(): SubtleCrypto {
  if (!globalThis.crypto?.subtle) {
    throw new Error("device sign-in needs Web Crypto: serve the page over https (or localhost)");
  }
  return globalThis.crypto.subtle;
}

async function sha256Hex(bytes: Uint8Array): Promise<string> {
  return bytesToHex(new Uint8Array(await subtle().digest("SHA-256", bytes as BufferSource)));
}

async function hmac(key: Uint8Array, data: Uint8Array): Promise<Uint8Array> {
  const imported = await subtle().importKey(
    "raw",
    key as BufferSource,
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  return new Uint8Array(await subtle().sign("HMAC", imported, data as BufferSource));
}

function modPow(base: bigint, exponent: bigint, modulus: bigint): bigint {
  let result = ONE;
  let b = ((base % modulus) + modulus) % modulus;
  let e = exponent;
  while (e > ZERO) {
    if (e & ONE) result = (result * b) % modulus;
    b = (b * b) % modulus;
    e >>= ONE;
  }
  return result;
}

let kValue: Promise<bigint> | undefined;
function k(): Promise<bigint> {
  kValue ??= sha256Hex(hexToBytes(padHex(N) + padHex(G))).then((h) => BigInt(`0x${h}`));
  return kValue;
}

/** `TIMESTAMP` as Cognito wants it: `Tue Mar 3 09:05:07 UTC 2026` (English, day not padded). */
export function cognitoTimestamp(now: Date = new Date()): string {
  const two = (n: number) => String(n).padStart(2, "0");
  const time = `${two(now.getUTCHours())}:${two(now.getUTCMinutes())}:${two(now.getUTCSeconds())}`;
  return `${DAYS[now.getUTCDay()]} ${MONTHS[now.getUTCMonth()]} ${now.getUTCDate()} ${time} UTC ${now.getUTCFullYear()}`;
}

/** What `DEVICE_PASSWORD_VERIFIER` is answered with. */
export interface DeviceClaim {
  TIMESTAMP: string;
  PASSWORD_CLAIM_SECRET_BLOCK: string;
  PASSWORD_CLAIM_SIGNATURE: string;
}

/** One sign-in of a remembered device: a fresh secret `a` each time. */
export class DeviceSrp {
  private readonly a: bigint;
  readonly largeA: bigint;

  constructor(
    readonly deviceKey: string,
    readonly deviceGroupKey: string,
    private readonly password: string,
  ) {
    const random = globalThis.crypto.getRandomValues(new Uint8Array(128));
    this.a = BigInt(`0x${bytesToHex(random)}`) % N;
    this.largeA = modPow(G, this.a, N);
    if (this.largeA % N === ZERO) throw new Error("A is 0 mod N");
  }

  /** `SRP_A` for `DEVICE_SRP_AUTH`. */
  srpA(): string {
    return this.largeA.toString(16);
  }

  /** The answer to `DEVICE_PASSWORD_VERIFIER`, from its `SRP_B`, `SALT` and `SECRET_BLOCK`. */
  async claim(srpB: string, salt: string, secretBlock: string, now?: Date): Promise<DeviceClaim> {
    const B = BigInt(`0x${srpB}`);
    if (B % N === ZERO) throw new Error("B is 0 mod N");
    const u = BigInt(`0x${await sha256Hex(hexToBytes(padHex(this.largeA) + padHex(B)))}`);
    if (u === ZERO) throw new Error("u is 0");
    const inner = await sha256Hex(encoder.encode(`${this.deviceGroupKey}${this.deviceKey}:${this.password}`));
    const x = BigInt(`0x${await sha256Hex(hexToBytes(padHex(BigInt(`0x${salt}`)) + inner))}`);
    const S = modPow(B - (await k()) * modPow(G, x, N), this.a + u * x, N);
    const prk = await hmac(hexToBytes(padHex(u)), hexToBytes(padHex(S)));
    const key = (await hmac(prk, concat(encoder.encode("Caldera Derived Key"), Uint8Array.of(1)))).slice(0, 16);
    const timestamp = cognitoTimestamp(now);
    const message = concat(
      encoder.encode(this.deviceGroupKey),
      encoder.encode(this.deviceKey),
      fromBase64(secretBlock),
      encoder.encode(timestamp),
    );
    return {
      TIMESTAMP: timestamp,
      PASSWORD_CLAIM_SECRET_BLOCK: secretBlock,
      PASSWORD_CLAIM_SIGNATURE: toBase64(await hmac(key, message)),
    };
  }
}
