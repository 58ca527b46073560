"""API Gateway and function URL events to ASGI requests, and ASGI responses back.

Three shapes come in (AWS's "payload format versions"):

- **2.0**: HTTP APIs and Lambda function URLs. ``rawPath``, ``rawQueryString``, ``headers`` (lower
  case, repeated headers joined with commas), ``cookies`` (a list), ``requestContext.http`` with
  ``method`` and ``sourceIp``, ``requestContext.stage``. Answered with ``statusCode``, ``headers``,
  ``cookies`` (every ``Set-Cookie``), ``body``, ``isBase64Encoded``.
- **1.0**: REST APIs (and HTTP APIs set to 1.0). ``httpMethod``, ``path``, ``headers`` and
  ``multiValueHeaders``, ``queryStringParameters`` and ``multiValueQueryStringParameters``,
  ``requestContext.identity.sourceIp``. Answered with ``multiValueHeaders``.

The client address: API Gateway is the proxy, and ``sourceIp`` is the address it saw, so that
becomes the ASGI peer (``scope["client"]``). ``X-Forwarded-For`` goes to the gateway as sent, minus
the hop API Gateway appended itself (the same ``sourceIp``), and the gateway reads it as it reads
any proxy's: believed only when ``sourceIp`` is in ``COGNITO_GATE_TRUSTED_PROXIES`` (a CDN in
front of API Gateway, say), never a client's own claim.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlencode

Headers = list[tuple[bytes, bytes]]

_TEXT_TYPES = ("text/", "json", "javascript", "xml", "x-www-form-urlencoded")


class NotAnHttpEvent(ValueError):
    """The event is not one of API Gateway's (or a function URL's)."""


@dataclass(frozen=True)
class HttpRequest:
    """One HTTP request, as an ASGI server hands it to an application."""

    version: str  # the event's payload format: "2.0" or "1.0"
    method: str
    path: str
    query: bytes = b""
    headers: Headers = field(default_factory=list)
    body: bytes = b""
    source_ip: str | None = None

    def scope(self) -> dict[str, Any]:
        """The ASGI ``http`` scope."""
        host = next((v.decode("latin-1") for k, v in self.headers if k == b"host"), "lambda")
        scheme = next(
            (v.decode("latin-1") for k, v in self.headers if k == b"x-forwarded-proto"), "https"
        )
        return {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.3"},
            "http_version": "1.1",
            "method": self.method,
            "scheme": scheme if scheme in ("http", "https") else "https",
            "path": self.path,
            "raw_path": quote(self.path, safe="/%:@!$&'()*+,;=").encode(),
            "root_path": "",
            "query_string": self.query,
            "headers": list(self.headers),
            "client": (self.source_ip, 0) if self.source_ip else None,
            "server": (host.split(":", 1)[0], 443 if scheme == "https" else 80),
        }


def _encode(text: str) -> bytes:
    try:
        return text.encode("latin-1")
    except UnicodeEncodeError:
        return text.encode("utf-8")


def _body(event: Mapping[str, Any]) -> bytes:
    body = event.get("body")
    if not body:
        return b""
    if event.get("isBase64Encoded"):
        try:
            return base64.b64decode(str(body), validate=True)
        except (binascii.Error, ValueError):
            raise NotAnHttpEvent("the body is marked base64 but is not") from None
    return str(body).encode("utf-8")


def _forwarded(headers: Headers, source_ip: str | None) -> Headers:
    """Every ``X-Forwarded-For`` line as one, without the last hop when it is ``source_ip``
    (API Gateway's own note of the peer it saw)."""
    hops = [
        hop.strip()
        for name, value in headers
        if name == b"x-forwarded-for"
        for hop in value.decode("latin-1").split(",")
        if hop.strip()
    ]
    if not hops:
        return headers
    if source_ip and hops[-1] == source_ip:
        hops.pop()
    rest = [(k, v) for k, v in headers if k != b"x-forwarded-for"]
    return [*rest, (b"x-forwarded-for", ", ".join(hops).encode())] if hops else rest


def _v2(event: Mapping[str, Any]) -> HttpRequest:
    context = event.get("requestContext") or {}
    http = context.get("http") or {}
    path = str(event.get("rawPath") or http.get("path") or "/")
    stage = context.get("stage")
    if stage and stage != "$default":
        prefix = f"/{stage}"
        if path == prefix or path.startswith(prefix + "/"):
            path = path[len(prefix) :] or "/"
    headers: Headers = [
        (str(k).lower().encode("latin-1"), _encode(str(v)))
        for k, v in (event.get("headers") or {}).items()
    ]
    cookies = event.get("cookies") or []
    if cookies:
        headers = [(k, v) for k, v in headers if k != b"cookie"]
        headers.append((b"cookie", _encode("; ".join(str(c) for c in cookies))))
    source_ip = http.get("sourceIp")
    return HttpRequest(
        version="2.0",
        method=str(http.get("method") or "GET").upper(),
        path=path,
        query=_encode(str(event.get("rawQueryString") or "")),
        headers=_forwarded(headers, source_ip),
        body=_body(event),
        source_ip=source_ip,
    )


def _v1(event: Mapping[str, Any]) -> HttpRequest:
    context = event.get("requestContext") or {}
    identity = context.get("identity") or {}
    multi = event.get("multiValueHeaders") or {}
    headers: Headers
    if multi:
        headers = [
            (str(k).lower().encode("latin-1"), _encode(str(v)))
            for k, values in multi.items()
            for v in values or ()
        ]
    else:
        headers = [
            (str(k).lower().encode("latin-1"), _encode(str(v)))
            for k, v in (event.get("headers") or {}).items()
        ]
    multi_query = event.get("multiValueQueryStringParameters") or {}
    if multi_query:
        pairs = [(k, v) for k, values in multi_query.items() for v in values or ()]
    else:
        pairs = list((event.get("queryStringParameters") or {}).items())
    source_ip = identity.get("sourceIp")
    return HttpRequest(
        version="1.0",
        method=str(event.get("httpMethod") or "GET").upper(),
        path=str(event.get("path") or "/"),
        query=urlencode(pairs).encode(),
        headers=_forwarded(headers, source_ip),
        body=_body(event),
        source_ip=source_ip,
    )


def parse(event: object) -> HttpRequest:
    """The request an API Gateway or function URL event carries; NotAnHttpEvent otherwise."""
    if not isinstance(event, Mapping):
        raise NotAnHttpEvent("the event is not an object")
    if event.get("version") == "2.0" and "rawPath" in event:
        return _v2(event)
    if "httpMethod" in event:
        return _v1(event)
    raise NotAnHttpEvent("not an API Gateway (REST or HTTP API) or function URL event")


def is_text(headers: Headers) -> bool:
    """Whether a response body of these headers goes back as text (else base64)."""
    encoding = next((v for k, v in headers if k.lower() == b"content-encoding"), b"")
    if encoding and encoding.lower() != b"identity":
        return False
    kind = next((v for k, v in headers if k.lower() == b"content-type"), b"").decode("latin-1")
    return any(t in kind.lower() for t in _TEXT_TYPES)


def response(version: str, status: int, headers: Headers, body: bytes) -> dict[str, Any]:
    """The Lambda result API Gateway (``version``'s format) turns into the HTTP response."""
    text: str | None = None
    if is_text(headers):
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            text = None
    payload = text if text is not None else base64.b64encode(body).decode("ascii")
    result: dict[str, Any] = {
        "statusCode": status,
        "body": payload,
        "isBase64Encoded": text is None,
    }
    pairs = [(k.decode("latin-1").lower(), v.decode("latin-1")) for k, v in headers]
    if version == "2.0":
        joined: dict[str, str] = {}
        for name, value in pairs:
            if name != "set-cookie":
                joined[name] = f"{joined[name]}, {value}" if name in joined else value
        result["headers"] = joined
        cookies = [value for name, value in pairs if name == "set-cookie"]
        if cookies:
            result["cookies"] = cookies
    else:
        multi: dict[str, list[str]] = {}
        for name, value in pairs:
            multi.setdefault(name, []).append(value)
        result["multiValueHeaders"] = multi
    return result
