"""Access-token verification: cognito-gate against the RSA floor, Python JOSE libraries and
aws-jwt-verify on Node, in one run on the same 1,000 distinct Cognito-shaped RS256 tokens.

    .venv/bin/python benchmarks/verify.py [--rounds 50] [--reuse-rounds 5]

Distinct: every verification is of a token not seen before. cognito-gate runs three ways: its
verified-token cache on, with its default size, and full (it cycles through 10,000 more tokens of
the same shape, so each call is a miss that pays for caching the token and evicting another); the
cache emptied before each pass (each token cached, none evicted); and the cache off. Reuse: each token verified 100 times (100 passes over the 1,000 tokens
on a fresh cache). Every round runs one timed pass of each candidate in turn, aws-jwt-verify
included (a Node process that times a pass on command), so the drift of a shared machine hits
all alike; ratios are the medians of per-round ratios. Prints the tables and the machine, and
writes benchmarks/results/verify.json.
"""

from __future__ import annotations

import argparse
import base64
import itertools
import json
import os
import statistics
import subprocess
import tempfile
import time
import uuid
import warnings
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from _machine import describe, machine
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from cognito_gate.verify import CognitoJwtVerifier
from cognito_gate.verify.cache import DEFAULT_CACHE_SIZE

HERE = Path(__file__).resolve().parent
NODE_DIR = HERE / "node"
RESULTS = HERE / "results" / "verify.json"
POOL_ID = "us-east-1_BenchPool1"
ISSUER = f"https://cognito-idp.us-east-1.amazonaws.com/{POOL_ID}"
CLIENT_ID = "4bench5client6id7abcdefghij"
TOKENS = 1000
MORE_TOKENS = DEFAULT_CACHE_SIZE  # only for cognito-gate's cache in its steady state
REUSE = 100


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def make_tokens(count: int) -> tuple[rsa.RSAPrivateKey, dict[str, Any], list[str]]:
    """A key, its JWKS, and ``count`` access tokens shaped like Cognito's (no typ, event_id...)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    kid = base64.b64encode(os.urandom(32)).decode()
    numbers = key.public_key().public_numbers()
    jwk = {
        "alg": "RS256",
        "e": b64url(numbers.e.to_bytes(3, "big")),
        "kid": kid,
        "kty": "RSA",
        "n": b64url(numbers.n.to_bytes(256, "big")),
        "use": "sig",
    }
    header = b64url(json.dumps({"kid": kid, "alg": "RS256"}, separators=(",", ":")).encode())
    now = int(time.time())
    tokens = []
    for i in range(count):
        claims = {
            "sub": str(uuid.uuid4()),
            "iss": ISSUER,
            "client_id": CLIENT_ID,
            "origin_jti": str(uuid.uuid4()),
            "event_id": str(uuid.uuid4()),
            "token_use": "access",
            "scope": "aws.cognito.signin.user.admin",
            "auth_time": now,
            "iat": now,
            "exp": now + 3600,
            "jti": str(uuid.uuid4()),
            "username": f"user{i:04d}",
        }
        payload = b64url(json.dumps(claims, separators=(",", ":")).encode())
        signing_input = f"{header}.{payload}"
        signature = key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
        tokens.append(f"{signing_input}.{b64url(signature)}")
    return key, {"keys": [jwk]}, tokens


Verify = Callable[[str], Any]
Pass = Callable[[], tuple[float, int]]  # one timed pass: (seconds, verifications)
# CPU time by default: on a shared machine, waiting for a core is not the code's cost.
timer = SimpleNamespace(name="cpu", now=time.process_time)
AWS = "aws-jwt-verify (Node, verifySync)"
FLOOR = "raw cryptography RSA verify (floor)"


def candidates(
    key: rsa.RSAPrivateKey, jwks: dict[str, Any], tokens: list[str], more: list[str]
) -> dict[str, Any]:
    """name -> (checks, verify one token, or a callable timing one pass itself)."""
    public = key.public_key()
    pkcs1, sha256 = padding.PKCS1v15(), hashes.SHA256()
    split = []
    for token in tokens:
        signing_input, _, signature = token.rpartition(".")
        split.append((base64.urlsafe_b64decode(signature + "=="), signing_input.encode()))

    def floor_pass() -> tuple[float, int]:
        started = timer.now()
        for signature, signing_input in split:
            public.verify(signature, signing_input, pkcs1, sha256)
        return timer.now() - started, len(split)

    # The default cache (10,000 tokens) in its steady state: full, every call a miss that evicts
    # the least recently used. It cycles through the shared tokens and `more` of them, 1,000 per
    # pass, so no token is still cached when it comes round again.
    ours = CognitoJwtVerifier(POOL_ID, client_id=CLIENT_ID, token_use="access")
    ours.load_jwks(jwks)
    rotation = tokens + more
    for token in rotation:
        ours.verify(token)
    passes = itertools.cycle(range(0, len(rotation), len(tokens)))

    def ours_pass() -> tuple[float, int]:
        start = next(passes)
        batch = rotation[start : start + len(tokens)]
        verify = ours.verify
        started = timer.now()
        for token in batch:
            verify(token)
        return timer.now() - started, len(batch)

    uncached = CognitoJwtVerifier(POOL_ID, client_id=CLIENT_ID, token_use="access", cache_size=0)
    uncached.load_jwks(jwks)

    # The default cache, emptied before each (timed) pass: the 1,000 tokens are new to it, and
    # each is cached without evicting another, as in a service that has not yet filled it.
    fresh = CognitoJwtVerifier(POOL_ID, client_id=CLIENT_ID, token_use="access")
    fresh.load_jwks(jwks)

    def fresh_pass() -> tuple[float, int]:
        fresh.clear_cache()
        verify = fresh.verify
        started = timer.now()
        for token in tokens:
            verify(token)
        return timer.now() - started, len(tokens)

    import jwt as pyjwt

    def pyjwt_verify(token: str) -> Any:
        claims = pyjwt.decode(
            token,
            public,
            algorithms=["RS256"],
            issuer=ISSUER,
            options={"require": ["exp", "iat", "iss"]},
        )
        if claims.get("token_use") != "access" or claims.get("client_id") != CLIENT_ID:
            raise ValueError("harness check failed")
        return claims

    from joserfc import jwt as joserfc_jwt
    from joserfc.jwk import KeySet

    key_set = KeySet.import_key_set(jwks)
    essentials = {
        "iss": {"essential": True, "value": ISSUER},
        "token_use": {"essential": True, "value": "access"},
        "client_id": {"essential": True, "value": CLIENT_ID},
        "exp": {"essential": True},
    }
    registry = joserfc_jwt.JWTClaimsRegistry(**essentials)

    def joserfc_verify(token: str) -> Any:
        decoded = joserfc_jwt.decode(token, key_set, algorithms=["RS256"])
        registry.validate(decoded.claims)
        return decoded.claims

    import authlib.deprecate  # forces its own warnings to "always" when imported

    warnings.filterwarnings("ignore", category=authlib.deprecate.AuthlibDeprecationWarning)
    from authlib.jose import JsonWebKey, JsonWebToken  # "moving to joserfc"

    authlib_jwt = JsonWebToken(["RS256"])
    authlib_keys = JsonWebKey.import_key_set(jwks)

    def authlib_verify(token: str) -> Any:
        claims = authlib_jwt.decode(token, authlib_keys, claims_options=essentials)
        claims.validate()
        return claims

    return {
        FLOOR: ("signature only", None, floor_pass),
        "cognito-gate CognitoJwtVerifier": ("all, cache on (full)", ours.verify, ours_pass),
        "cognito-gate, cache emptied per pass": ("all, cache on (fresh)", fresh.verify, fresh_pass),
        "cognito-gate, cache_size=0": ("all, cache off", uncached.verify, None),
        "PyJWT, preloaded key": ("+2-line harness", pyjwt_verify, None),
        "joserfc, KeySet + registry": ("its registry", joserfc_verify, None),
        "Authlib jose, KeySet": ("its registry", authlib_verify, None),
    }


def plain_pass(verify: Verify, tokens: list[str]) -> Pass:
    def run() -> tuple[float, int]:
        started = timer.now()
        for token in tokens:
            verify(token)
        return timer.now() - started, len(tokens)

    return run


def reuse_pass(jwks: dict[str, Any], tokens: list[str]) -> Pass:
    def run() -> tuple[float, int]:
        verifier = CognitoJwtVerifier(POOL_ID, client_id=CLIENT_ID, token_use="access")
        verifier.load_jwks(jwks)  # untimed: a fresh cache, so the first pass is all misses
        verify = verifier.verify
        started = timer.now()
        for _ in range(REUSE):
            for token in tokens:
                verify(token)
        return timer.now() - started, REUSE * len(tokens)

    return run


class NodeBench:
    """aws-jwt-verify in a Node process that times one pass whenever asked."""

    def __init__(self, input_file: str) -> None:
        if not (NODE_DIR / "node_modules" / "aws-jwt-verify").is_dir():
            print("installing aws-jwt-verify (npm ci)...", flush=True)
            subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=NODE_DIR, check=True)
        self._process = subprocess.Popen(
            ["node", str(NODE_DIR / "bench.mjs"), input_file],
            cwd=NODE_DIR,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.info: dict[str, Any] = self._answer()

    def _answer(self) -> dict[str, Any]:
        assert self._process.stdout is not None
        line = self._process.stdout.readline()
        if not line:
            raise RuntimeError("the Node benchmark stopped; see its error above")
        answer: dict[str, Any] = json.loads(line)
        return answer

    def timed(self, command: str) -> Pass:
        def run() -> tuple[float, int]:
            assert self._process.stdin is not None
            self._process.stdin.write(command + "\n")
            self._process.stdin.flush()
            answer = self._answer()
            return answer[timer.name], answer["verifications"]

        return run

    def close(self) -> None:
        if self._process.stdin is not None:
            self._process.stdin.close()
        self._process.wait(10)


def interleaved(passes: dict[str, Pass], rounds: int, label: str) -> dict[str, list[float]]:
    """Per-pass rates of each candidate, one pass of each per round, in turn."""
    rates: dict[str, list[float]] = {name: [] for name in passes}
    for round_ in range(rounds):
        for name, one_pass in passes.items():
            spent, done = one_pass()
            rates[name].append(done / spent)
        if (round_ + 1) % 10 == 0 or round_ + 1 == rounds:
            print(f"{label}: round {round_ + 1}/{rounds}", flush=True)
    return rates


def summary(rates: dict[str, list[float]], checks: dict[str, str]) -> dict[str, dict[str, Any]]:
    """Median rate, quartiles, and the median of per-round ratios to aws-jwt-verify and floor."""
    aws, floor = rates[AWS], rates.get(FLOOR)
    rows = {}
    for name, series in rates.items():
        quartiles = statistics.quantiles(series, n=4)
        rows[name] = {
            "checks": checks[name],
            "median": statistics.median(series),
            "p25": quartiles[0],
            "p75": quartiles[2],
            "vs_aws": statistics.median(r / a for r, a in zip(series, aws, strict=True)),
            "vs_floor": None
            if floor is None
            else statistics.median(r / f for r, f in zip(series, floor, strict=True)),
            "rates": series,
        }
    return rows


def table(rows: dict[str, dict[str, Any]]) -> str:
    lines = [
        "| candidate | checks | median verif/s | p25-p75 | us/verif | vs aws-jwt-verify | vs floor |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for name, row in rows.items():
        vs_floor = "-" if row["vs_floor"] is None else f"{row['vs_floor']:.2f}"
        lines.append(
            f"| {name} | {row['checks']} | {row['median']:,.0f} | {row['p25']:,.0f}-"
            f"{row['p75']:,.0f} | {1e6 / row['median']:.1f} | {row['vs_aws']:.2f} | {vs_floor} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=50, help="passes of each candidate")
    parser.add_argument("--reuse-rounds", type=int, default=5, help="reuse scenario runs")
    parser.add_argument(
        "--clock",
        choices=["cpu", "wall"],
        default="cpu",
        help="time passes by CPU time of the process (default) or by elapsed time",
    )
    args = parser.parse_args()
    if args.clock == "wall":
        timer.name, timer.now = "wall", time.perf_counter

    print(f"signing {TOKENS + MORE_TOKENS:,} tokens...", flush=True)
    key, jwks, all_tokens = make_tokens(TOKENS + MORE_TOKENS)
    tokens, more = all_tokens[:TOKENS], all_tokens[TOKENS:]
    found = candidates(key, jwks, tokens, more)
    for name, (_, verify, _) in found.items():  # warm-up, and every candidate must accept all
        if verify is not None:
            assert all(verify(t)["token_use"] == "access" for t in tokens), name
    before = machine("cryptography", "pyjwt", "joserfc", "authlib")
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as node_input:
        json.dump(
            {
                "userPoolId": POOL_ID,
                "clientId": CLIENT_ID,
                "jwks": jwks,
                "tokens": tokens,
                "reuse": REUSE,
            },
            node_input,
        )
    node = NodeBench(node_input.name)
    try:
        passes = {
            name: timed or plain_pass(verify, tokens) for name, (_, verify, timed) in found.items()
        }
        passes[AWS] = node.timed("distinct")
        distinct = interleaved(passes, args.rounds, "distinct")
        ours = "cognito-gate CognitoJwtVerifier"
        reused = interleaved(
            {ours: reuse_pass(jwks, tokens), AWS: node.timed("reuse")}, args.reuse_rounds, "reuse"
        )
    finally:
        node.close()
        os.unlink(node_input.name)

    checks = {name: checks for name, (checks, _, _) in found.items()} | {AWS: "its own"}
    info = machine("cryptography", "pyjwt", "joserfc", "authlib")
    info["load_average_before"] = before["load_average"]
    info["aws-jwt-verify"] = node.info["version"]
    info["node_openssl"] = node.info["openssl"]
    reuse_checks = {ours: "all, cache on (fresh)", AWS: "its own"}
    distinct_rows, reuse_rows = summary(distinct, checks), summary(reused, reuse_checks)
    print(
        f"\nMachine: {describe(info)}; aws-jwt-verify {node.info['version']} "
        f"(Node OpenSSL {node.info['openssl']}); cryptography's {info['cryptography_openssl']}"
    )
    print(
        f"{TOKENS:,} distinct Cognito-shaped RS256 access tokens; {args.rounds} interleaved "
        f"rounds (one pass over all tokens per candidate per round), timed by {timer.name} "
        f"time; ratios are medians of per-round ratios.\n"
    )
    print("Distinct tokens (every verification a miss):\n")
    print(table(distinct_rows))
    print(f"\nReuse (each token verified {REUSE} times, {args.reuse_rounds} rounds):\n")
    print(table(reuse_rows))
    RESULTS.parent.mkdir(exist_ok=True)
    report = {
        "machine": info,
        "tokens": TOKENS,
        "rounds": args.rounds,
        "clock": timer.name,
        "reuse_rounds": args.reuse_rounds,
        "distinct": distinct_rows,
        "reuse": reuse_rows,
    }
    RESULTS.write_text(json.dumps(report, indent=2))
    print(f"\nwrote {RESULTS.relative_to(HERE.parent)}")


if __name__ == "__main__":
    main()
