"""The HTTP side of the forge clients: one JSON call with retries, rate-limit waits and pagination.

Built on httpx (connection pooling, timeouts, connect retries) so the forge classes only describe
each forge's API shapes. What this layer adds, because forges need it and httpx leaves it to the
caller:

- **Rate limits.** A 429, a 403 that is GitHub's secondary rate limit (``Retry-After`` or the
  "secondary rate limit" message) or a primary limit (``x-ratelimit-remaining: 0`` with
  ``x-ratelimit-reset``; GitLab's ``RateLimit-Reset``), and 502/503/504, are waited out and retried:
  the wait is what the forge asked for, else an exponential backoff. A wait longer than
  ``max_wait`` is not slept here: ``RateLimited`` carries it so a scheduler can put the job back.
- **Writes gated.** ``write_gate`` is called before every request that creates or changes
  something, so a campaign-wide limiter can keep content-creating calls under the forge's budget.
- **Credentials on the same origin only.** Redirects are followed by hand; the token headers go
  to the API's own scheme/host/port and nowhere else.
- **Pagination** by the ``Link: <...>; rel="next"`` header all three forges send, falling back
  to counting pages when a server leaves it out.

The token never goes into a URL, a message, a repr or a log line; text coming back from a forge
is scrubbed of it before anybody sees it.
"""

from __future__ import annotations

import email.utils
import ipaddress
import json
import logging
import random
import time
import urllib.parse
from typing import Any, Callable, Iterator, Mapping

import httpx

__all__ = ["ApiClient", "ForgeError", "RateLimited", "retry_delay", "redact", "MIN_TOKEN_LENGTH"]

log = logging.getLogger(__name__)

_REDACTED = "[REDACTED]"
MIN_TOKEN_LENGTH = 8  # forge tokens are 20-90 characters; replacing a shorter "token" would garble text
_WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_RETRY_STATUSES = frozenset({429, 502, 503, 504})
_MAX_REDIRECTS = 5
#: GitHub: "If you exceed a secondary rate limit and no retry-after header is sent, wait at least one minute."
_SECONDARY_DEFAULT_WAIT = 60.0


def redact(text: str, secret: str | None) -> str:
    """``text`` with ``secret`` (and its URL-quoted form) replaced; a secret too short to be a real token
    is left alone (a one-character "token" would turn "exists" into "e[REDACTED]ists")."""
    if not secret or len(secret) < MIN_TOKEN_LENGTH:
        return text
    text = text.replace(secret, _REDACTED)
    quoted = urllib.parse.quote(secret, safe="")
    return text.replace(quoted, _REDACTED) if quoted != secret else text


class ForgeError(Exception):
    """A forge call failed; the message is safe to show (it never holds the token)."""

    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.status = status

    def __repr__(self) -> str:  # keep reprs as scrubbed as str()
        return f"{type(self).__name__}({str(self)!r}, status={self.status!r})"


class RateLimited(ForgeError):
    """The forge asked kfix to wait longer than it is willing to sleep in one call.

    ``retry_after`` is the number of seconds the forge asked for: a job scheduler can put the work
    back with that delay instead of holding a worker.
    """

    def __init__(self, message: str, status: int | None, retry_after: float):
        super().__init__(message, status)
        self.retry_after = retry_after


def _parse_retry_after(value: str | None, now: float) -> float | None:
    """Seconds from a Retry-After header: delta-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - now)


def retry_delay(status: int, headers: Mapping[str, str], body: Any, attempt: int,
                now: float | None = None) -> float | None:
    """How long to wait before retrying a response, or None when it must not be retried.

    Honours, in order: ``Retry-After``; ``x-ratelimit-reset`` / ``RateLimit-Reset`` (an epoch time)
    when the remaining budget is 0; GitHub's secondary limit (a 403 whose message says so: at least
    a minute); else an exponential backoff with jitter for 429/502/503/504.
    """
    now = time.time() if now is None else now
    h = {k.lower(): v for k, v in headers.items()}
    message = ""
    if isinstance(body, dict) and isinstance(body.get("message"), str):
        message = body["message"].lower()
    secondary = status == 403 and "secondary rate limit" in message
    primary = status in (403, 429) and (h.get("x-ratelimit-remaining") == "0" or h.get("ratelimit-remaining") == "0")
    if status not in _RETRY_STATUSES and not secondary and not primary and not (status == 403 and "retry-after" in h):
        return None
    wait = _parse_retry_after(h.get("retry-after"), now)
    if wait is None and primary:
        reset = h.get("x-ratelimit-reset") or h.get("ratelimit-reset")
        if reset and reset.strip().isdigit():
            wait = max(0.0, float(reset) - now) + 1.0  # the reset second itself must have passed
    if wait is None and secondary:
        wait = _SECONDARY_DEFAULT_WAIT * (2 ** attempt)
    if wait is None:
        wait = min(2.0 ** attempt, 30.0) * (0.5 + random.random() / 2)
    return wait


def _is_loopback(host: str | None) -> bool:
    if not host:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class ApiClient:
    """JSON over HTTP to one forge API root, carrying one token."""

    def __init__(self, kind: str, api_url: str, token: str | None, *, headers: Mapping[str, str],
                 auth_headers: Mapping[str, str], timeout: float = 30.0, allow_http: bool = False,
                 retries: int = 5, max_wait: float = 300.0, write_gate: Callable[[], None] | None = None,
                 sleep: Callable[[float], None] = time.sleep):
        self.kind = kind
        self._token = token or None
        self.api_url = api_url.rstrip("/")
        parts = urllib.parse.urlsplit(self.api_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ForgeError(f"{kind}: not an http(s) API URL: {self.scrub(self.api_url)}")
        if parts.username or parts.password:
            raise ForgeError(f"{kind}: put the token in the environment, not in the API URL")
        if parts.scheme == "http" and self._token and not allow_http and not _is_loopback(parts.hostname):
            raise ForgeError(f"{kind}: refusing to send the token over plain http to {parts.hostname}; use https")
        self._origin = (parts.scheme, parts.netloc.lower())
        self._headers = dict(headers)
        self._auth = dict(auth_headers) if self._token else {}
        self.retries = retries
        self.max_wait = max_wait
        self.write_gate = write_gate
        self.sleep = sleep
        # httpx retries connection failures itself (nothing reached the server, so any method is safe).
        self._client = httpx.Client(timeout=timeout, follow_redirects=False,
                                    transport=httpx.HTTPTransport(retries=2))

    def __repr__(self) -> str:
        return f"ApiClient(kind={self.kind!r}, api_url={self.api_url!r}, token={'set' if self._token else 'none'})"

    def close(self) -> None:
        self._client.close()

    def scrub(self, text: str) -> str:
        """Remove the token from text that may have echoed it (URLs, error bodies)."""
        return redact(str(text), self._token)

    # -- one call ----------------------------------------------------------------------------

    def request(self, method: str, path: str, *, query: Mapping[str, Any] | None = None,
                body: Any = None) -> tuple[Any, httpx.Headers]:
        """Send one JSON request (``path`` under the API root, or an absolute URL on the same origin);
        return (decoded body, response headers). Raises ForgeError / RateLimited."""
        url = path if path.startswith(("http://", "https://")) else self.api_url + path
        params = {k: v for k, v in (query or {}).items() if v is not None}
        where = f"{self.kind} {method} {self.scrub(urllib.parse.urlsplit(url).path)}"
        for attempt in range(self.retries + 1):
            if method in _WRITES and self.write_gate is not None:
                self.write_gate()
            response = self._send(method, url, params, body, where)
            raw = response.content
            payload = _decode_json(raw)
            if response.is_success:
                if not raw.strip():
                    return None, response.headers
                if payload is _NOT_JSON:
                    raise ForgeError(self.scrub(f"{where}: the forge answered with something that is not JSON"))
                return payload, response.headers
            wait = retry_delay(response.status_code, response.headers, payload, attempt)
            message = self._failure(where, response, payload, raw)
            if wait is None:
                raise ForgeError(message, status=response.status_code)
            if wait > self.max_wait:
                raise RateLimited(f"{message} (the forge asks to wait {wait:.0f}s)", response.status_code, wait)
            if attempt == self.retries:
                raise RateLimited(f"{message} (still limited after {self.retries} retries)", response.status_code,
                                  wait)
            log.info("%s: HTTP %s, waiting %.1fs before retrying", where, response.status_code, wait)
            self.sleep(wait)
        raise AssertionError("unreachable")  # pragma: no cover

    def _send(self, method: str, url: str, params: Mapping[str, Any], body: Any, where: str) -> httpx.Response:
        content = None if body is None else json.dumps(body).encode("utf-8")
        for _ in range(_MAX_REDIRECTS + 1):
            headers = dict(self._headers)
            if content is not None:
                headers["Content-Type"] = "application/json"
            target = urllib.parse.urlsplit(url)
            if (target.scheme, target.netloc.lower()) == self._origin:
                headers.update(self._auth)
            log.debug("%s", where)
            try:
                response = self._client.request(method, url, params=params or None, content=content, headers=headers)
            except httpx.HTTPError as exc:
                reason = type(exc).__name__ if not str(exc) else str(exc)
                raise ForgeError(self.scrub(f"{where} failed: cannot reach {self.api_url}: {reason}")) from None
            if not response.is_redirect or "location" not in response.headers:
                return response
            url = str(response.url.join(response.headers["location"]))
            params = {}  # the Location carries its own query
            if response.status_code in (301, 302, 303) and method not in ("GET", "HEAD"):
                method, content = "GET", None
        raise ForgeError(self.scrub(f"{where} failed: too many redirects"))

    def _failure(self, where: str, response: httpx.Response, payload: Any, raw: bytes) -> str:
        detail = (" ".join(raw.decode("utf-8", "replace").split())[:300] if payload is _NOT_JSON
                  else flatten_error(payload))
        message = f"{where} failed: HTTP {response.status_code} {response.reason_phrase or ''}".rstrip()
        if detail:
            message += f": {detail}"
        return self.scrub(message)

    # -- many pages --------------------------------------------------------------------------

    def paginate(self, path: str, query: Mapping[str, Any], *, page_size: int, size_param: str,
                 max_pages: int = 1000) -> Iterator[dict]:
        """Every item of a paginated list: follows ``Link: rel="next"`` (on the API's own origin), or
        asks for the next page number while full pages keep coming when a server sends no Link."""
        params = {**query, size_param: page_size, "page": 1}
        url = path
        for _ in range(max_pages):
            data, headers = self.request("GET", url, query=params)
            if not isinstance(data, list):
                raise ForgeError(f"{self.kind}: the forge answered with an unexpected shape (expected a list)")
            yield from (x for x in data if isinstance(x, dict))
            link = _next_link(headers.get("link"))
            if link is not None:
                parts = urllib.parse.urlsplit(link)
                if (parts.scheme, parts.netloc.lower()) != self._origin:
                    raise ForgeError(f"{self.kind}: the next page is on another host; not following it")
                url, params = link, {}
                continue
            if "link" in headers or len(data) < page_size:
                return
            params = {**params, "page": int(params.get("page", 1)) + 1}
            url = path


_NOT_JSON = object()


def _decode_json(raw: bytes) -> Any:
    if not raw.strip():
        return None
    try:
        return json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return _NOT_JSON


def _next_link(header: str | None) -> str | None:
    """The ``rel="next"`` target of an RFC 8288 Link header."""
    if not header:
        return None
    for part in header.split(","):
        section = part.split(";")
        target = section[0].strip()
        if not (target.startswith("<") and target.endswith(">")):
            continue
        for param in section[1:]:
            name, _, value = param.strip().partition("=")
            if name.strip().lower() == "rel" and "next" in value.strip().strip('"').lower().split():
                return target[1:-1]
    return None


def flatten_error(payload: Any) -> str:
    """One line from the forges' error shapes.

    GitHub: {"message", "errors": [{"field","code","message"}]}; GitLab:
    {"message": str | [..] | {field: [..]}} or {"error": str}; Gitea: {"message", "url"}.
    """
    if isinstance(payload, str):
        return payload.strip()
    if isinstance(payload, list):
        return "; ".join(filter(None, (flatten_error(x) for x in payload)))
    if not isinstance(payload, dict):
        return ""
    parts: list[str] = []
    for key in ("message", "error"):
        value = payload.get(key)
        if isinstance(value, dict):
            parts += [f"{k}: {flatten_error(v)}" for k, v in value.items()]
        elif value:
            parts.append(flatten_error(value))
    for err in payload.get("errors") or []:
        if isinstance(err, dict):
            text = err.get("message") or " ".join(str(err[k]) for k in ("resource", "field", "code") if err.get(k))
            if text:
                parts.append(str(text))
        elif err:
            parts.append(str(err))
    return "; ".join(p for p in parts if p)[:1000]
