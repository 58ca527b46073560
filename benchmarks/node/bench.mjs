// aws-jwt-verify timing itself, on command, on the tokens benchmarks/verify.py wrote to a file.
//
// Usage: node bench.mjs INPUT.json    INPUT: {userPoolId, clientId, jwks, tokens, reuse}
// After loading and warming up it prints {library, version, node, openssl} as one JSON line, then
// answers each line on stdin: "distinct" times one pass over all tokens, "reuse" times `reuse`
// passes on a fresh verifier (each token verified `reuse` times); each answer is one JSON line
// {"wall": S, "cpu": S, "verifications": N} (elapsed and CPU seconds). The caller interleaves these with its own timed passes, so
// a busy shared machine slows every candidate alike. EOF ends the process.
import { readFileSync } from "node:fs";
import { createInterface } from "node:readline";
import { CognitoJwtVerifier } from "aws-jwt-verify";

const input = JSON.parse(readFileSync(process.argv[2], "utf8"));
const { userPoolId, clientId, jwks, tokens, reuse } = input;
const pkgUrl = new URL("./node_modules/aws-jwt-verify/package.json", import.meta.url);
const version = JSON.parse(readFileSync(pkgUrl, "utf8")).version;

function newVerifier() {
  const verifier = CognitoJwtVerifier.create({ userPoolId, tokenUse: "access", clientId });
  verifier.cacheJwks(jwks);
  return verifier;
}

const seconds = () => Number(process.hrtime.bigint()) / 1e9;
const cpuSeconds = () => {
  const { user, system } = process.cpuUsage(); // this process, all its threads (JIT, GC too)
  return (user + system) / 1e6;
};

function timePasses(verifier, passes) {
  const started = seconds();
  const cpuStarted = cpuSeconds();
  for (let pass = 0; pass < passes; pass++) {
    for (const token of tokens) verifier.verifySync(token);
  }
  return {
    wall: seconds() - started,
    cpu: cpuSeconds() - cpuStarted,
    verifications: passes * tokens.length,
  };
}

const verifier = newVerifier();
for (const token of tokens) {
  if (verifier.verifySync(token).token_use !== "access") throw new Error("warm-up failed");
}
const warmUntil = seconds() + 1; // let the JIT settle
while (seconds() < warmUntil) timePasses(verifier, 1);

console.log(JSON.stringify({ library: "aws-jwt-verify", version, node: process.version,
  openssl: process.versions.openssl }));
for await (const line of createInterface({ input: process.stdin })) {
  const command = line.trim();
  if (command === "distinct") console.log(JSON.stringify(timePasses(verifier, 1)));
  else if (command === "reuse") console.log(JSON.stringify(timePasses(newVerifier(), reuse)));
  else console.log(JSON.stringify({ error: `unknown command ${command}` }));
}
