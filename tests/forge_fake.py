"""A local stand-in for GitHub, GitLab and Gitea, checked against their API descriptions.

Tests of the pull-request bot must not talk to real forges, but a hand-written
mock only proves that the client agrees with the mock.  This fake instead
checks every request against excerpts of the forges' own published API
descriptions (tests/forge_specs/*.json): the method and path must be a known
operation, query parameters must be declared, JSON bodies must validate (types,
required fields, and no field the description does not define), and the auth
header must carry the token.  Responses are built from in-memory state and are
validated against the same descriptions, so the client is exercised with the
shapes the forges document.

One server serves all three forges under /github, /gitlab/api/v4 and
/gitea/api/v1.  Use the ``forge_server`` fixture (importable into conftest.py)
or ``with FakeForge() as fake:``.

Organisations: ``add_repo`` registers a repository (its clone URL can be a local
bare repository); the org listings page with the Link headers each forge sends.
Rate limits: ``limit_writes`` makes the forge answer content-creating requests
beyond a budget per window the way it does when its limit is hit (GitHub: 403
"secondary rate limit" + Retry-After; GitLab and Gitea: 429 + Retry-After).
"""

from __future__ import annotations

import json
import re
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Callable

import jsonschema
import pytest
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7

try:
    from forge_fake_orgs import FakeRepo, OrgListings
except ImportError:  # pragma: no cover - when tests/ becomes a package
    from tests.forge_fake_orgs import FakeRepo, OrgListings

SPEC_DIR = Path(__file__).with_name("forge_specs")
KINDS = ("github", "gitlab", "gitea")
DEFAULT_TOKEN = "kfix-test-token-7f3a9c"  # fake credential: only ever sent to 127.0.0.1

_SPEC_URI = "urn:kfix:forge-spec"

# Error bodies of each forge, used when the description gives none for a status.
_ERROR_SCHEMAS = {
    "github": {
        "anyOf": [
            {"$ref": f"{_SPEC_URI}#/components/schemas/basic-error"},
            {"$ref": f"{_SPEC_URI}#/components/schemas/validation-error"},
        ]
    },
    "gitlab": {"$ref": f"{_SPEC_URI}#/definitions/Error"},
    "gitea": {
        "type": "object",
        "properties": {"message": {"type": "string"}, "url": {"type": "string"}},
        "required": ["message"],
        "additionalProperties": False,
    },
}


@dataclass
class Recorded:
    """One request as the fake saw it (headers keep their original case)."""

    kind: str
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: Any
    status: int = 0
    operation: str | None = None
    reply_headers: dict[str, str] = field(default_factory=dict)


class _Reject(Exception):
    """Abort handling with a forge-shaped error response."""

    def __init__(self, status: int, message: str, violation: bool = False, body: Any = None,
                 headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status, self.message, self.violation, self.body = status, message, violation, body
        self.headers = headers or {}


# -- the API descriptions -------------------------------------------------------------------


def _to_json_schema(node: Any) -> Any:
    """OpenAPI 3.0 / Swagger 2.0 schema dialect -> JSON Schema, and forbid unknown properties.

    'nullable' / 'x-nullable' become a null alternative; every object schema
    that lists properties gets additionalProperties: false so a field the
    description does not define is reported instead of silently accepted.
    """
    if isinstance(node, list):
        return [_to_json_schema(x) for x in node]
    if not isinstance(node, dict):
        return node
    out = {k: _to_json_schema(v) for k, v in node.items()}
    if "properties" in out and isinstance(out["properties"], dict) and "additionalProperties" not in out:
        out["additionalProperties"] = False
    if out.pop("nullable", False) or out.pop("x-nullable", False):
        t = out.get("type")
        if isinstance(t, str):
            out["type"] = [t, "null"]
            if "enum" in out and None not in out["enum"]:
                out["enum"] = [*out["enum"], None]
        elif t is None:
            out = {"anyOf": [out, {"type": "null"}]}
    return out


def _absolute_refs(node: Any) -> Any:
    """Make '#/...' references absolute so sub-schemas validate on their own."""
    if isinstance(node, list):
        return [_absolute_refs(x) for x in node]
    if not isinstance(node, dict):
        return node
    out = {k: _absolute_refs(v) for k, v in node.items()}
    if isinstance(out.get("$ref"), str) and out["$ref"].startswith("#"):
        out["$ref"] = _SPEC_URI + out["$ref"]
    return out


class _Spec:
    """Routing and validation for one forge, driven by its description excerpt."""

    def __init__(self, kind: str):
        self.kind = kind
        raw = json.loads((SPEC_DIR / f"{kind}.json").read_text(encoding="utf-8"))
        self.doc = _absolute_refs(_to_json_schema(raw))
        self.base_path = raw.get("basePath", "")
        self.registry = Registry().with_resource(_SPEC_URI, Resource(contents=self.doc, specification=DRAFT7))
        self.routes: list[tuple[re.Pattern, str]] = []
        for template in self.doc["paths"]:
            rx = re.sub(r"\\{(\w+)\\}", r"(?P<\1>[^/]+)", re.escape(template))
            self.routes.append((re.compile(f"^{rx}$"), template))

    def resolve(self, node: dict) -> dict:
        while isinstance(node, dict) and "$ref" in node:
            node = self.pointer(node["$ref"].split("#", 1)[1])
        return node

    def pointer(self, ptr: str) -> Any:
        node: Any = self.doc
        for part in ptr.strip("/").split("/"):
            node = node[part.replace("~1", "/").replace("~0", "~")]
        return node

    def validate(self, schema: dict, instance: Any, what: str) -> list[str]:
        validator = jsonschema.Draft7Validator(schema, registry=self.registry)
        return [
            f"{what}: {'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}"
            for e in sorted(validator.iter_errors(instance), key=lambda e: list(map(str, e.path)))
        ]

    def match(self, method: str, path: str) -> tuple[str, dict, dict[str, str], dict]:
        for rx, template in self.routes:
            m = rx.match(path)
            if m:
                item = self.doc["paths"][template]
                op = item.get(method.lower())
                if op is None:
                    raise _Reject(405, f"{method} {template} is not in the {self.kind} description", True)
                return template, op, {k: urllib.parse.unquote(v) for k, v in m.groupdict().items()}, item
        raise _Reject(404, f"no {self.kind} operation matches {method} {path}", True)

    def parameters(self, op: dict, item: dict) -> list[dict]:
        return [self.resolve(p) for p in item.get("parameters", []) + op.get("parameters", [])]

    @staticmethod
    def _param_schema(p: dict) -> dict:
        if "schema" in p and p.get("in") != "body":
            return p["schema"]
        return {k: v for k, v in p.items() if k in ("type", "enum", "items", "format")}

    def check_params(self, op: dict, item: dict, path_params: dict, query: dict[str, list[str]]) -> list[str]:
        problems = []
        declared = {(p["in"], p["name"]): p for p in self.parameters(op, item)}
        for name, value in path_params.items():
            p = declared.get(("path", name))
            if p is None:
                problems.append(f"path parameter {name} is not declared")
                continue
            problems += self._check_value(f"path parameter {name}", self._param_schema(p), [value])
        for name, values in query.items():
            p = declared.get(("query", name))
            if p is None:
                problems.append(f"query parameter {name!r} is not in the description")
                continue
            problems += self._check_value(f"query parameter {name}", self._param_schema(p), values)
        for (where, name), p in declared.items():
            if where == "query" and p.get("required") and name not in query:
                problems.append(f"required query parameter {name!r} is missing")
        return problems

    def _check_value(self, what: str, schema: dict, values: list[str]) -> list[str]:
        if schema.get("type") == "array":
            item_schema, items = schema.get("items", {}), values
        else:
            if len(values) != 1:
                return [f"{what} given {len(values)} times"]
            item_schema, items = schema, values
        out = []
        for raw in items:
            value: Any = raw
            if item_schema.get("type") == "integer":
                if not re.fullmatch(r"-?\d+", raw):
                    out.append(f"{what} must be an integer, got {raw!r}")
                    continue
                value = int(raw)
            elif item_schema.get("type") == "boolean":
                if raw not in ("true", "false"):
                    out.append(f"{what} must be true/false, got {raw!r}")
                    continue
            if "enum" in item_schema and value not in item_schema["enum"]:
                out.append(f"{what} must be one of {item_schema['enum']}, got {raw!r}")
        return out

    def body_schema(self, op: dict, item: dict) -> tuple[dict | None, bool]:
        """(schema of the JSON body, whether a body is required)."""
        if "requestBody" in op:
            rb = self.resolve(op["requestBody"])
            schema = rb.get("content", {}).get("application/json", {}).get("schema")
            return schema, bool(rb.get("required"))
        for p in self.parameters(op, item):
            if p.get("in") == "body":
                return p.get("schema"), bool(p.get("required"))
        return None, False

    def response_schema(self, op: dict, status: int) -> tuple[bool, dict | None]:
        """(status declared?, schema of its JSON body if the description gives one)."""
        resp = op.get("responses", {}).get(str(status))
        if resp is None:
            return False, None
        resp = self.resolve(resp)
        if "content" in resp:
            return True, resp["content"].get("application/json", {}).get("schema")
        return True, resp.get("schema")


# -- in-memory forge state ------------------------------------------------------------------


@dataclass
class FakePull:
    """A pull/merge request as the fake stores it, forge-neutral."""

    number: int
    repo: str
    head: str
    base: str
    title: str
    body: str
    state: str = "open"  # open | closed | merged
    draft: bool = False
    labels: list[str] = field(default_factory=list)
    created: str = ""
    updated: str = ""
    closed: str | None = None
    merged: str | None = None


class FakeForge(OrgListings):
    """In-memory GitHub + GitLab + Gitea speaking HTTP on 127.0.0.1.

    ``requests`` records every request; ``violations`` lists every way a
    request (or a response the fake built) disagreed with the descriptions.
    """

    def __init__(self, token: str = DEFAULT_TOKEN):
        self.token = token
        self.specs = {kind: _Spec(kind) for kind in KINDS}
        self.requests: list[Recorded] = []
        self.violations: list[str] = []
        self.pulls: dict[str, dict[int, FakePull]] = {k: {} for k in KINDS}
        self.gitea_labels: dict[int, str] = {}
        self._injected: list[tuple[str | None, int, str | None, dict[str, str], str | None]] = []
        self.repos: dict[str, list[FakeRepo]] = {k: [] for k in KINDS}
        self._write_limit: tuple[int, int, str | None] | None = None  # (budget, window seconds, kind)
        self._window: tuple[float, int] = (0.0, 0)  # (window start, writes in it)
        self.limited = 0  # how many requests were answered with a rate-limit response
        self._lock = threading.RLock()
        self._clock = 0
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle

    def start(self) -> "FakeForge":
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self):  # noqa: N802
                fake._handle(self)

            do_POST = do_PATCH = do_PUT = do_DELETE = do_GET  # noqa: N815

            def log_message(self, *args):  # keep test output clean
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="fake-forge", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> "FakeForge":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def url(self) -> str:
        assert self._server is not None, "server not started"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def api_url(self, kind: str) -> str:
        """The API root to give the client for ``kind``."""
        kind = "gitea" if kind == "forgejo" else kind
        return f"{self.url}/{kind}{self.specs[kind].base_path}"

    # -- helpers for tests

    def close(self, kind: str, number: int) -> None:
        """Close a request without merging, as a reviewer would."""
        with self._lock:
            p = self.pulls[kind][number]
            p.state, p.closed = "closed", self._now()

    def merge(self, kind: str, number: int) -> None:
        """Merge a request."""
        with self._lock:
            p = self.pulls[kind][number]
            now = self._now()
            p.state, p.closed, p.merged = "merged", now, now

    def add_gitea_label(self, name: str) -> int:
        """Create a repository label on the fake Gitea; returns its id."""
        with self._lock:
            label_id = 100 + len(self.gitea_labels)
            self.gitea_labels[label_id] = name
            return label_id

    def fail_next(self, status: int, message: str | None = None, kind: str | None = None,
                  headers: dict[str, str] | None = None, method: str | None = None) -> None:
        """Make the next request (to ``kind``, or any; with ``method``, or any) fail with ``status`` (and these
        response headers)."""
        with self._lock:
            self._injected.append((kind, status, message, dict(headers or {}), method))

    def limit_writes(self, budget: int, window: int = 1, kind: str | None = None) -> None:
        """Allow ``budget`` content-creating requests per ``window`` seconds; answer the rest as the forge
        does when a rate limit is hit, with ``Retry-After: window``."""
        with self._lock:
            self._write_limit = (budget, window, kind)
            self._window = (0.0, 0)

    def _check_rate_limit(self, rec: Recorded) -> None:
        if self._write_limit is None or rec.method == "GET":
            return
        budget, window, kind = self._write_limit
        if kind not in (None, rec.kind):
            return
        now = time.monotonic()
        start, used = self._window
        if now - start >= window:
            start, used = now, 0
        if used < budget:
            self._window = (start, used + 1)
            return
        self.limited += 1
        wait = max(1, int(start + window - now + 0.999))
        headers = {"Retry-After": str(wait)}
        if rec.kind == "github":
            raise _Reject(403, "You have exceeded a secondary rate limit. Please wait a few minutes before you "
                               "try again.", headers={**headers, "x-ratelimit-remaining": "4000"})
        raise _Reject(429, "429 Too Many Requests" if rec.kind == "gitlab" else "rate limit exceeded",
                      headers=headers)

    def requests_for(self, kind: str, method: str | None = None) -> list[Recorded]:
        return [r for r in self.requests if r.kind == kind and (method is None or r.method == method)]

    def assert_clean(self) -> None:
        assert not self.violations, "requests/responses broke the API descriptions:\n" + "\n".join(self.violations)

    # -- request handling

    def _now(self) -> str:
        self._clock += 1
        return f"2024-05-01T12:{self._clock // 60:02d}:{self._clock % 60:02d}Z"

    def _handle(self, h: BaseHTTPRequestHandler) -> None:
        parsed = urllib.parse.urlsplit(h.path)
        length = int(h.headers.get("Content-Length") or 0)
        raw = h.rfile.read(length) if length else b""
        kind, _, rest = parsed.path.lstrip("/").partition("/")
        rec = Recorded(
            kind=kind,
            method=h.command,
            path="/" + rest,
            query=urllib.parse.parse_qs(parsed.query, keep_blank_values=True),
            headers=dict(h.headers.items()),
            body=None,
        )
        with self._lock:
            self.requests.append(rec)
            try:
                if kind not in self.specs:
                    raise _Reject(404, f"unknown forge prefix /{kind}", True)
                status, payload = self._dispatch(rec, raw)
            except _Reject as exc:
                if exc.violation:
                    self.violations.append(f"{rec.method} {parsed.path}: {exc.message}")
                status = exc.status
                rec.reply_headers.update(exc.headers)
                payload = exc.body if exc.body is not None else self._error_body(kind, exc.status, exc.message)
                if kind in self.specs:
                    problems = self.specs[kind].validate(_ERROR_SCHEMAS[kind], payload, "error body")
                    self.violations += [f"fake built a bad error for {rec.method} {parsed.path}: {p}" for p in problems]
            except Exception as exc:  # a bug in the fake must fail the test, not hang the client
                self.violations.append(f"fake crashed on {rec.method} {parsed.path}: {exc!r}")
                status, payload = 500, {"message": "fake forge crashed"}
            rec.status = status
        data = b"" if payload is None else json.dumps(payload).encode("utf-8")
        h.send_response(status)
        h.send_header("Content-Type", "application/json; charset=utf-8")
        h.send_header("Content-Length", str(len(data)))
        for name, value in rec.reply_headers.items():
            h.send_header(name, value)
        h.end_headers()
        h.wfile.write(data)

    def _dispatch(self, rec: Recorded, raw: bytes) -> tuple[int, Any]:
        spec = self.specs[rec.kind]
        if not rec.path.startswith(spec.base_path + "/"):
            raise _Reject(404, f"path outside {spec.base_path}", True)
        api_path = rec.path[len(spec.base_path):]
        template, op, path_params, item = spec.match(rec.method, api_path)
        rec.operation = op.get("operationId")

        self._check_auth(rec)

        problems = spec.check_params(op, item, path_params, rec.query)
        schema, required = spec.body_schema(op, item)
        if raw:
            ctype = rec.headers.get("Content-Type", "")
            if not ctype.startswith("application/json"):
                problems.append(f"body sent with Content-Type {ctype!r}")
            try:
                rec.body = json.loads(raw)
            except ValueError:
                raise _Reject(400, "body is not JSON", True) from None
            if schema is None:
                problems.append("a body was sent but the operation takes none")
            else:
                problems += spec.validate(schema, rec.body, "request body")
        elif required:
            problems.append("the operation requires a body")
        if problems:
            raise _Reject(400 if rec.kind != "github" else 422, "; ".join(problems), True)

        if self._injected:
            for i, (k, status, message, headers, method) in enumerate(self._injected):
                if k in (None, rec.kind) and method in (None, rec.method):
                    del self._injected[i]
                    raise _Reject(status, message or f"injected failure {status}", headers=headers)
        self._check_rate_limit(rec)

        handler: Callable = getattr(self, "_op_" + re.sub(r"\W", "_", f"{rec.kind}_{rec.operation}"))
        status, payload = handler(path_params, rec)

        declared, rschema = spec.response_schema(op, status)
        if not declared:
            self.violations.append(f"fake answered {rec.operation} with undeclared status {status}")
        elif rschema is not None:
            self.violations += [
                f"fake built a bad response for {rec.operation}: {p}"
                for p in spec.validate(rschema, payload, "response body")
            ]
        return status, payload

    def _check_auth(self, rec: Recorded) -> None:
        h = {k.lower(): v for k, v in rec.headers.items()}
        if rec.kind == "github":
            ok = h.get("authorization") == f"Bearer {self.token}"
            for name, want in (("accept", "application/vnd.github+json"), ("x-github-api-version", "2022-11-28")):
                if h.get(name) != want:
                    self.violations.append(f"{rec.method} {rec.path}: header {name} is {h.get(name)!r}, want {want!r}")
            if not ok:
                raise _Reject(401, "Bad credentials")
        elif rec.kind == "gitlab":
            if h.get("private-token") != self.token:
                raise _Reject(401, "401 Unauthorized")
        else:
            if h.get("authorization") != f"token {self.token}":
                raise _Reject(401, "token is required")

    def _error_body(self, kind: str, status: int, message: str) -> Any:
        if kind == "github":
            if status == 422:
                return {
                    "message": "Validation Failed",
                    "errors": [{"resource": "PullRequest", "code": "custom", "message": message}],
                    "documentation_url": "https://docs.github.com/rest/pulls/pulls",
                }
            return {"message": message, "documentation_url": "https://docs.github.com/rest", "status": str(status)}
        if kind == "gitlab":
            return {"message": message}
        return {"message": message, "url": f"{self.url}/gitea/api/swagger"}

    # -- shared state logic

    def _new_pull(self, kind: str, repo: str, head: str, base: str, title: str, body: str, draft: bool) -> FakePull:
        number = max(self.pulls[kind], default=0) + 1
        now = self._now()
        pull = FakePull(number, repo, head, base, title, body, draft=draft, created=now, updated=now)
        self.pulls[kind][number] = pull
        return pull

    def _get_pull(self, kind: str, repo: str, number: Any) -> FakePull:
        pull = self.pulls[kind].get(int(number))
        if pull is None or pull.repo != repo:
            raise _Reject(404, {"github": "Not Found", "gitlab": "404 Not found"}.get(kind, "The target couldn't be found."))
        return pull

    def _open_duplicate(self, kind: str, repo: str, head: str, base: str | None) -> FakePull | None:
        for p in self.pulls[kind].values():
            if p.repo == repo and p.head == head and p.state == "open" and base in (None, p.base):
                return p
        return None

    @staticmethod
    def _page(items: list, page: int, size: int) -> list:
        start = (max(page, 1) - 1) * size
        return items[start : start + size]

    @staticmethod
    def _q1(rec: Recorded, name: str, default: Any = None) -> Any:
        values = rec.query.get(name)
        return values[0] if values else default

    # -- GitHub operations

    def _github_json(self, p: FakePull, simple: bool = False) -> dict:
        owner, repo = p.repo.split("/")
        api = f"https://api.github.example/repos/{p.repo}"
        out = {
            "url": f"{api}/pulls/{p.number}",
            "id": 1000 + p.number,
            "node_id": f"PR_{p.number}",
            "html_url": f"https://github.example/{p.repo}/pull/{p.number}",
            "number": p.number,
            "state": "open" if p.state == "open" else "closed",
            "locked": False,
            "title": p.title,
            "body": p.body or None,
            "created_at": p.created,
            "updated_at": p.updated,
            "closed_at": p.closed,
            "merged_at": p.merged,
            "head": {"label": f"{owner}:{p.head}", "ref": p.head, "sha": "a" * 40},
            "base": {"label": f"{owner}:{p.base}", "ref": p.base, "sha": "b" * 40},
            "draft": p.draft,
        }
        if not simple:
            out["labels"] = [self._github_label(p.repo, n) for n in p.labels]
            out["merged"] = p.state == "merged"
        return out

    @staticmethod
    def _github_label(repo: str, name: str) -> dict:
        return {
            "id": abs(hash(name)) % 10**6,
            "node_id": f"LA_{name}",
            "url": f"https://api.github.example/repos/{repo}/labels/{urllib.parse.quote(name)}",
            "name": name,
            "description": None,
            "color": "ededed",
            "default": False,
        }

    def _op_github_pulls_list(self, pp, rec):
        repo = f"{pp['owner']}/{pp['repo']}"
        state = self._q1(rec, "state", "open")
        head = self._q1(rec, "head")
        items = [p for p in self.pulls["github"].values() if p.repo == repo]
        if state != "all":
            items = [p for p in items if (p.state == "open") == (state == "open")]
        if head:
            owner, _, branch = head.partition(":")
            items = [p for p in items if owner == pp["owner"] and p.head == branch]
        descending = self._q1(rec, "direction", "desc") == "desc"
        items.sort(key=lambda p: p.number, reverse=descending)
        items = self._page(items, int(self._q1(rec, "page", 1)), int(self._q1(rec, "per_page", 30)))
        return 200, [self._github_json(p, simple=True) for p in items]

    def _op_github_pulls_create(self, pp, rec):
        repo, b = f"{pp['owner']}/{pp['repo']}", rec.body
        if "title" not in b:
            raise _Reject(422, "title is required unless issue is given")
        head = b["head"].split(":", 1)[-1]
        if self._open_duplicate("github", repo, head, b["base"]):
            raise _Reject(422, f"A pull request already exists for {pp['owner']}:{head}.")
        p = self._new_pull("github", repo, head, b["base"], b["title"], b.get("body", ""), bool(b.get("draft")))
        return 201, self._github_json(p)

    def _op_github_pulls_update(self, pp, rec):
        p = self._get_pull("github", f"{pp['owner']}/{pp['repo']}", pp["pull_number"])
        b = rec.body or {}
        if "title" in b:
            p.title = b["title"]
        if "body" in b:
            p.body = b["body"]
        if b.get("state") == "closed" and p.state == "open":
            p.state, p.closed = "closed", self._now()
        p.updated = self._now()
        return 200, self._github_json(p)

    def _op_github_issues_add_labels(self, pp, rec):
        repo = f"{pp['owner']}/{pp['repo']}"
        p = self._get_pull("github", repo, pp["issue_number"])
        b = rec.body
        names = b.get("labels", []) if isinstance(b, dict) else b
        for n in names:
            n = n["name"] if isinstance(n, dict) else n
            if n not in p.labels:
                p.labels.append(n)
        return 200, [self._github_label(repo, n) for n in p.labels]

    # -- GitLab operations

    def _gitlab_json(self, p: FakePull) -> dict:
        return {
            "id": 5000 + p.number,
            "iid": p.number,
            "project_id": 42,
            "title": p.title,
            "description": p.body or None,
            "state": {"open": "opened"}.get(p.state, p.state),
            "created_at": p.created,
            "updated_at": p.updated,
            "merged_at": p.merged,
            "closed_at": p.closed if p.state == "closed" else None,
            "target_branch": p.base,
            "source_branch": p.head,
            "labels": list(p.labels),
            "draft": p.draft,
            "work_in_progress": p.draft,
            "web_url": f"https://gitlab.example/{p.repo}/-/merge_requests/{p.number}",
        }

    @staticmethod
    def _gitlab_labels(value: Any) -> list[str]:
        items = value.split(",") if isinstance(value, str) else list(value)
        return [x.strip() for x in items if x.strip()]

    @staticmethod
    def _gitlab_draft(title: str) -> bool:
        return bool(re.match(r"^\s*(\[draft\]|\(draft\)|draft:|draft\s+-\s+|\[wip\]|wip:)", title, re.I))

    def _op_gitlab_getApiV4ProjectsIdMergeRequests(self, pp, rec):  # noqa: N802
        repo = pp["id"]
        state = self._q1(rec, "state", "all")
        branch = self._q1(rec, "source_branch")
        items = [p for p in self.pulls["gitlab"].values() if p.repo == repo]
        if state != "all":
            items = [p for p in items if {"open": "opened"}.get(p.state, p.state) == state]
        if branch is not None:
            items = [p for p in items if p.head == branch]
        items.sort(key=lambda p: p.number, reverse=self._q1(rec, "sort", "desc") == "desc")
        items = self._page(items, int(self._q1(rec, "page", 1)), int(self._q1(rec, "per_page", 20)))
        return 200, [self._gitlab_json(p) for p in items]

    def _op_gitlab_postApiV4ProjectsIdMergeRequests(self, pp, rec):  # noqa: N802
        repo, b = pp["id"], rec.body
        dup = self._open_duplicate("gitlab", repo, b["source_branch"], None)
        if dup:
            raise _Reject(409, "", body={"message": [f"Another open merge request already exists for this source branch: !{dup.number}"]})
        p = self._new_pull(
            "gitlab", repo, b["source_branch"], b["target_branch"], b["title"], b.get("description", ""),
            self._gitlab_draft(b["title"]),
        )
        p.labels = self._gitlab_labels(b.get("labels", ""))
        return 201, self._gitlab_json(p)

    def _op_gitlab_putApiV4ProjectsIdMergeRequestsMergeRequestIid(self, pp, rec):  # noqa: N802
        p = self._get_pull("gitlab", pp["id"], pp["merge_request_iid"])
        b = rec.body
        if not b:
            raise _Reject(400, "", body={"error": "title, description, labels, add_labels, ... are missing, at least one parameter must be provided"})
        if "title" in b:
            p.title, p.draft = b["title"], self._gitlab_draft(b["title"])
        if "description" in b:
            p.body = b["description"]
        if "labels" in b:
            p.labels = self._gitlab_labels(b["labels"])
        for n in self._gitlab_labels(b.get("add_labels", "")):
            if n not in p.labels:
                p.labels.append(n)
        p.updated = self._now()
        return 200, self._gitlab_json(p)

    # -- Gitea operations

    def _gitea_json(self, p: FakePull) -> dict:
        # Gitea sends null for unset times; its description marks nothing nullable, so leave them out.
        out = {
            "id": 7000 + p.number,
            "number": p.number,
            "url": f"https://gitea.example/{p.repo}/pulls/{p.number}",
            "html_url": f"https://gitea.example/{p.repo}/pulls/{p.number}",
            "title": p.title,
            "body": p.body,
            "state": "open" if p.state == "open" else "closed",
            "merged": p.state == "merged",
            "merged_at": p.merged,
            "closed_at": p.closed,
            "created_at": p.created,
            "updated_at": p.updated,
            "labels": [self._gitea_label(n) for n in p.labels],
            "head": {"label": p.head, "ref": p.head, "sha": "c" * 40, "repo_id": 9},
            "base": {"label": p.base, "ref": p.base, "sha": "d" * 40, "repo_id": 9},
        }
        return {k: v for k, v in out.items() if v is not None}

    def _gitea_label(self, name: str) -> dict:
        label_id = next((i for i, n in self.gitea_labels.items() if n == name), 0)
        return {"id": label_id, "name": name, "color": "00aabb", "description": "", "url": f"https://gitea.example/labels/{label_id}"}

    def _gitea_label_names(self, ids: list[int]) -> list[str]:
        unknown = [i for i in ids if i not in self.gitea_labels]
        if unknown:
            raise _Reject(422, f"label ids {unknown} do not exist")
        return [self.gitea_labels[i] for i in ids]

    def _op_gitea_repoListPullRequests(self, pp, rec):  # noqa: N802
        repo = f"{pp['owner']}/{pp['repo']}"
        state = self._q1(rec, "state", "open")
        items = [p for p in self.pulls["gitea"].values() if p.repo == repo]
        if state != "all":
            items = [p for p in items if (p.state == "open") == (state == "open")]
        items.sort(key=lambda p: p.number, reverse=True)
        items = self._page(items, int(self._q1(rec, "page", 1)), int(self._q1(rec, "limit", 30)))
        return 200, [self._gitea_json(p) for p in items]

    def _op_gitea_repoCreatePullRequest(self, pp, rec):  # noqa: N802
        repo, b = f"{pp['owner']}/{pp['repo']}", rec.body or {}
        for name in ("head", "base", "title"):
            if not b.get(name):
                raise _Reject(422, f"{name} is required")
        if self._open_duplicate("gitea", repo, b["head"], b["base"]):
            raise _Reject(409, "pull request already exists for these targets")
        labels = self._gitea_label_names(b.get("labels", []))
        draft = bool(re.match(r"^\s*(wip:|\[wip\])", b["title"], re.I))
        p = self._new_pull("gitea", repo, b["head"], b["base"], b["title"], b.get("body", ""), draft)
        p.labels = labels
        return 201, self._gitea_json(p)

    def _op_gitea_repoEditPullRequest(self, pp, rec):  # noqa: N802
        p = self._get_pull("gitea", f"{pp['owner']}/{pp['repo']}", pp["index"])
        b = rec.body or {}
        if "title" in b:
            p.title = b["title"]
        if "body" in b:
            p.body = b["body"]
        p.updated = self._now()
        return 201, self._gitea_json(p)  # the description documents 201 for an edit

    def _op_gitea_issueListLabels(self, pp, rec):  # noqa: N802
        items = sorted(self.gitea_labels)
        items = self._page(items, int(self._q1(rec, "page", 1)), int(self._q1(rec, "limit", 30)))
        return 200, [self._gitea_label(self.gitea_labels[i]) for i in items]

    def _op_gitea_issueAddLabel(self, pp, rec):  # noqa: N802
        p = self._get_pull("gitea", f"{pp['owner']}/{pp['repo']}", pp["index"])
        for n in self._gitea_label_names((rec.body or {}).get("labels", [])):
            if n not in p.labels:
                p.labels.append(n)
        return 200, [self._gitea_label(n) for n in p.labels]


@pytest.fixture
def forge_server():
    """A running FakeForge; fails the test if anything broke the API descriptions."""
    with FakeForge() as fake:
        yield fake
    fake.assert_clean()
