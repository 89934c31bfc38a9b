"""Pull/merge request clients for GitHub, GitLab and Gitea/Forgejo.

`kfix pr` needs only four things from a forge: find the request opened from a
branch (so a re-run updates it instead of opening another, and a request closed
unmerged is left alone), open one, edit its title/body, and label it.  Each
forge gets a small class speaking its REST API through the standard library, so
the bot adds no dependency and works on any machine that can run kfix.

The access token is a secret: it is only ever sent in a request header (never
in a URL), never put in an exception, repr or log line, and any text coming
back from a forge is scrubbed of it before kfix shows it to anybody.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import os
import re
import urllib.error
import urllib.parse
import urllib.request
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Sequence

__all__ = [
    "ForgeError",
    "PullRequest",
    "Forge",
    "GitHubForge",
    "GitLabForge",
    "GiteaForge",
    "make_forge",
    "token_from_env",
    "truncate_body",
    "FORGE_KINDS",
]

log = logging.getLogger(__name__)

#: Names accepted by make_forge/token_from_env; forgejo speaks the Gitea API.
FORGE_KINDS = ("github", "gitlab", "gitea", "forgejo")

_REDACTED = "[REDACTED]"
MIN_TOKEN_LENGTH = 8  # forge tokens are 20-90 characters; replacing a shorter "token" would garble text


def redact(text: str, secret: str | None) -> str:
    """``text`` with ``secret`` (and its URL-quoted form) replaced; a secret too short to be a real token
    is left alone (a one-character "token" would turn "exists" into "e[REDACTED]ists")."""
    if not secret or len(secret) < MIN_TOKEN_LENGTH:
        return text
    text = text.replace(secret, _REDACTED)
    quoted = urllib.parse.quote(secret, safe="")
    return text.replace(quoted, _REDACTED) if quoted != secret else text


def implausible_token(token: str | None) -> str | None:
    """A warning when ``token`` is too short to be a real forge token (None when it looks real)."""
    if token and len(token) < MIN_TOKEN_LENGTH:
        return (f"the token is {len(token)} characters long; forge tokens are longer, so it cannot be a real one "
                "(it is not redacted from messages)")
    return None
_USER_AGENT = "kfix-pr-bot"
_TIMEOUT = 30.0


class ForgeError(Exception):
    """A forge call failed; the message is safe to show (it never holds the token)."""

    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.status = status

    def __repr__(self) -> str:  # keep reprs as scrubbed as str()
        return f"ForgeError({str(self)!r}, status={self.status!r})"


@dataclass(frozen=True)
class PullRequest:
    """One pull/merge request, in the same shape whatever the forge.

    ``state`` is 'open', 'closed' (closed without merging) or 'merged', which is
    exactly what the caller needs to decide between update, leave alone and
    start afresh.  ``number`` is what the forge's web UI shows (GitLab: the iid).
    """

    number: int
    url: str
    state: str
    head: str
    base: str
    title: str
    body: str
    draft: bool = False


def truncate_body(body: str, limit: int) -> str:
    """Fit ``body`` into ``limit`` characters, cutting at a line boundary.

    Forges reject over-long descriptions outright, which would lose the whole
    report; a shortened report with a note saying so is more useful.
    """
    if limit <= 0:
        raise ValueError("limit must be positive")
    if len(body) <= limit:
        return body

    def note(omitted: int) -> str:
        return (
            f"\n\n---\n_Report truncated: {omitted} more characters did not fit "
            f"in this forge's {limit}-character limit. Run kfix locally to see it all._\n"
        )

    # The note's length depends on the number it carries; reserve for the worst case.
    room = limit - len(note(len(body)))
    if room <= 0:
        return body[:limit]
    cut = body.rfind("\n", 0, room + 1)
    kept = body[:cut] if cut > 0 else body[:room]
    return kept + note(len(body) - len(kept))


def token_from_env(kind: str, environ: Mapping[str, str] | None = None) -> str | None:
    """The token for ``kind``: KFIX_TOKEN first, then the forge's usual variable.

    Empty values count as unset so an exported-but-empty variable does not
    shadow a real one further down the list.
    """
    env = os.environ if environ is None else environ
    kind = _check_kind(kind)
    names = ["KFIX_TOKEN"]
    names += {
        "github": ["GITHUB_TOKEN"],
        "gitlab": ["GITLAB_TOKEN"],
        "gitea": ["GITEA_TOKEN", "FORGEJO_TOKEN"],
        "forgejo": ["FORGEJO_TOKEN", "GITEA_TOKEN"],
    }[kind]
    for name in names:
        value = env.get(name, "").strip()
        if value:
            return value
    return None


def make_forge(
    kind: str,
    slug: str,
    api_url: str | None = None,
    token: str | None = None,
    **options: Any,
) -> "Forge":
    """Build the client for ``kind`` ('github', 'gitlab', 'gitea' or 'forgejo').

    ``slug`` is 'owner/repo' (GitLab: the full project path or numeric id).
    Without ``token`` the environment is consulted (see token_from_env).
    """
    kind = _check_kind(kind)
    if token is None:
        token = token_from_env(kind)
    cls = {"github": GitHubForge, "gitlab": GitLabForge, "gitea": GiteaForge, "forgejo": GiteaForge}[kind]
    return cls(slug, api_url=api_url, token=token, **options)


def _check_kind(kind: str) -> str:
    k = (kind or "").strip().lower()
    if k not in FORGE_KINDS:
        raise ForgeError(f"unknown forge {kind!r}; expected one of: {', '.join(FORGE_KINDS)}")
    return k


class _KeepAuthOnSameOrigin(urllib.request.HTTPRedirectHandler):
    """Follow redirects, re-sending credentials only to the same scheme/host/port.

    Credentials are attached as "unredirected" headers, which urllib drops on
    any redirect; a forge redirecting to itself (renamed repository) keeps
    working, while a redirect elsewhere never receives the token.
    """

    def redirect_request(self, req, fp, code, msg, headers, newurl):  # noqa: D401
        new = super().redirect_request(req, fp, code, msg, headers, newurl)
        if new is not None:
            old, dest = urllib.parse.urlsplit(req.full_url), urllib.parse.urlsplit(new.full_url)
            if (old.scheme, old.netloc) == (dest.scheme, dest.netloc):
                for name, value in req.unredirected_hdrs.items():
                    new.add_unredirected_header(name, value)
        return new


class Forge(ABC):
    """Common interface of the forge clients, plus the HTTP plumbing they share."""

    kind: str = ""
    #: Longest description the forge accepts; bodies are truncated to fit.
    max_body_chars: int = 65536
    #: Used when no api_url is given (None: an api_url is required).
    default_api_url: str | None = None
    #: Environment variable naming the API root, checked before the default.
    api_url_env: str | None = None

    def __init__(
        self,
        slug: str,
        api_url: str | None = None,
        token: str | None = None,
        *,
        timeout: float = _TIMEOUT,
        allow_http: bool = False,
    ):
        self.slug = self._check_slug(slug)
        url = api_url or (os.environ.get(self.api_url_env, "").strip() if self.api_url_env else "")
        url = url or self.default_api_url
        if not url:
            raise ForgeError(f"{self.kind}: an API URL is required (for example https://codeberg.org/api/v1)")
        self.api_url = url.rstrip("/")
        self._token = token or None
        self.timeout = timeout
        parts = urllib.parse.urlsplit(self.api_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ForgeError(f"{self.kind}: not an http(s) API URL: {self._scrub(self.api_url)}")
        if parts.username or parts.password:
            raise ForgeError(f"{self.kind}: put the token in the environment, not in the API URL")
        if parts.scheme == "http" and self._token and not allow_http and not _is_loopback(parts.hostname):
            raise ForgeError(
                f"{self.kind}: refusing to send the token over plain http to {parts.hostname}; use https"
            )
        self._opener = urllib.request.build_opener(_KeepAuthOnSameOrigin())

    def __repr__(self) -> str:
        auth = "set" if self._token else "none"
        return f"{type(self).__name__}(slug={self.slug!r}, api_url={self.api_url!r}, token={auth})"

    # -- the interface -------------------------------------------------------------------

    @abstractmethod
    def find_pull(self, head_branch: str) -> PullRequest | None:
        """The most recent request from ``head_branch`` in any state, or None."""

    @abstractmethod
    def create_pull(
        self,
        head: str,
        base: str,
        title: str,
        body: str,
        labels: Sequence[str] = (),
        draft: bool = False,
    ) -> PullRequest:
        """Open a request from ``head`` into ``base``; the body is truncated to fit."""

    @abstractmethod
    def update_pull(self, number: int, title: str | None = None, body: str | None = None) -> PullRequest:
        """Replace the title and/or body (None leaves that part untouched).

        On GitLab and Gitea the draft state lives in the title prefix, so a new
        title without the prefix marks the request ready; pass title=None to
        keep whatever a person set.
        """

    @abstractmethod
    def add_labels(self, number: int, labels: Sequence[str]) -> list[str]:
        """Add labels; returns the names that could not be applied."""

    # -- shared helpers ------------------------------------------------------------------

    @staticmethod
    def _check_slug(slug: str) -> str:
        slug = (slug or "").strip().strip("/")
        parts = slug.split("/")
        if len(parts) != 2 or not all(parts):
            raise ForgeError(f"expected 'owner/repo', got {slug!r}")
        return slug

    @property
    def _owner_repo(self) -> str:
        owner, repo = self.slug.split("/")
        return f"{_q(owner)}/{_q(repo)}"

    @abstractmethod
    def _auth_headers(self) -> dict[str, str]:
        """Headers carrying the token (sent as unredirected headers)."""

    def _headers(self) -> dict[str, str]:
        return {"Accept": "application/json", "User-Agent": _USER_AGENT}

    def _scrub(self, text: str) -> str:
        """Remove the token from text that may have echoed it (URLs, error bodies)."""
        return redact(str(text), self._token)

    def _request(
        self,
        method: str,
        path: str,
        *,
        query: Mapping[str, Any] | None = None,
        body: Any = None,
    ) -> tuple[Any, Mapping[str, str]]:
        """Send one JSON request; return (decoded body, response headers)."""
        url = self.api_url + path
        if query:
            url += "?" + urllib.parse.urlencode({k: v for k, v in query.items() if v is not None}, doseq=True)
        req = urllib.request.Request(url, method=method)
        for name, value in self._headers().items():
            req.add_header(name, value)
        if self._token:
            for name, value in self._auth_headers().items():
                req.add_unredirected_header(name, value)
        if body is not None:
            req.add_header("Content-Type", "application/json")
            req.data = json.dumps(body).encode("utf-8")
        log.debug("%s %s %s", self.kind, method, self._scrub(path))
        where = f"{self.kind} {method} {self._scrub(path)}"
        try:
            with self._opener.open(req, timeout=self.timeout) as resp:
                raw = resp.read()
                headers = resp.headers
        except urllib.error.HTTPError as exc:
            try:
                raw = exc.read()
            except OSError:
                raw = b""
            finally:
                exc.close()
            detail = self._error_detail(_decode_json(raw), raw)
            message = f"{where} failed: HTTP {exc.code} {exc.reason or ''}".rstrip()
            if detail:
                message += f": {detail}"
            # 'from None': the HTTP error adds nothing for the user and keeps tracebacks short.
            raise ForgeError(self._scrub(message), status=exc.code) from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise ForgeError(self._scrub(f"{where} failed: cannot reach {self.api_url}: {reason}")) from None
        if not raw.strip():
            return None, headers
        decoded = _decode_json(raw)
        if decoded is _NOT_JSON:
            raise ForgeError(self._scrub(f"{where}: the forge answered with something that is not JSON"))
        return decoded, headers

    def _error_detail(self, payload: Any, raw: bytes) -> str:
        """The forge's own explanation of an error, flattened to one line."""
        if payload is _NOT_JSON:
            text = raw.decode("utf-8", "replace").strip()
            return " ".join(text.split())[:300]
        return _flatten_error(payload)

    def _fit_body(self, body: str) -> str:
        return truncate_body(body or "", self.max_body_chars)

    def _edit_payload(self, title: str | None, body: str | None, body_field: str) -> dict[str, Any]:
        if title is None and body is None:
            raise ValueError("update_pull needs a title or a body")
        payload: dict[str, Any] = {}
        if title is not None:
            payload["title"] = title
        if body is not None:
            payload[body_field] = self._fit_body(body)
        return payload


class GitHubForge(Forge):
    """GitHub REST API v3 (github.com, or Enterprise Server via GITHUB_API_URL)."""

    kind = "github"
    max_body_chars = 65536
    default_api_url = "https://api.github.com"
    api_url_env = "GITHUB_API_URL"

    def _headers(self) -> dict[str, str]:
        return {
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": "2022-11-28",
            "User-Agent": _USER_AGENT,
        }

    def _auth_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._token}"}

    def find_pull(self, head_branch: str) -> PullRequest | None:
        owner = self.slug.split("/")[0]
        data, _ = self._request(
            "GET",
            f"/repos/{self._owner_repo}/pulls",
            query={"head": f"{owner}:{head_branch}", "state": "all", "sort": "created", "direction": "desc", "per_page": 30},
        )
        pulls = [p for p in _as_list(data) if (p.get("head") or {}).get("ref") == head_branch]
        if not pulls:
            return None
        return self._to_pull(max(pulls, key=lambda p: p.get("number", 0)))

    def create_pull(self, head, base, title, body, labels=(), draft=False) -> PullRequest:
        data, _ = self._request(
            "POST",
            f"/repos/{self._owner_repo}/pulls",
            body={"title": title, "head": head, "base": base, "body": self._fit_body(body), "draft": bool(draft)},
        )
        pull = self._to_pull(data)
        if labels:
            self.add_labels(pull.number, labels)
        return pull

    def update_pull(self, number, title=None, body=None) -> PullRequest:
        payload = self._edit_payload(title, body, "body")
        data, _ = self._request("PATCH", f"/repos/{self._owner_repo}/pulls/{int(number)}", body=payload)
        return self._to_pull(data)

    def add_labels(self, number, labels) -> list[str]:
        names = _clean_labels(labels)
        if names:
            # Pull requests are issues for labelling purposes; missing labels are created.
            self._request("POST", f"/repos/{self._owner_repo}/issues/{int(number)}/labels", body={"labels": names})
        return []

    @staticmethod
    def _to_pull(p: Any) -> PullRequest:
        p = _as_dict(p)
        state = "merged" if p.get("merged_at") or p.get("merged") else ("open" if p.get("state") == "open" else "closed")
        return PullRequest(
            number=int(p.get("number", 0)),
            url=p.get("html_url") or "",
            state=state,
            head=(p.get("head") or {}).get("ref") or "",
            base=(p.get("base") or {}).get("ref") or "",
            title=p.get("title") or "",
            body=p.get("body") or "",
            draft=bool(p.get("draft")),
        )


_GITLAB_DRAFT = re.compile(r"^\s*(\[draft\]|\(draft\)|draft:|draft\s+-\s+|\[wip\]|wip:)\s*", re.IGNORECASE)
_GITEA_WIP = re.compile(r"^\s*(wip:|\[wip\])\s*", re.IGNORECASE)


class GitLabForge(Forge):
    """GitLab REST API v4 (gitlab.com or self-managed via api_url / CI_API_V4_URL)."""

    kind = "gitlab"
    max_body_chars = 1_048_576  # "Description of the merge request. Limited to 1,048,576 characters."
    default_api_url = "https://gitlab.com/api/v4"
    api_url_env = "CI_API_V4_URL"

    @staticmethod
    def _check_slug(slug: str) -> str:
        slug = (slug or "").strip().strip("/")
        if not slug or (not slug.isdigit() and "/" not in slug) or "//" in slug:
            raise ForgeError(f"expected a GitLab project path like 'group/project' or a numeric id, got {slug!r}")
        return slug

    @property
    def _project(self) -> str:
        return _q(self.slug)  # 'group/sub/project' -> 'group%2Fsub%2Fproject'

    def _auth_headers(self) -> dict[str, str]:
        return {"PRIVATE-TOKEN": self._token or ""}

    def find_pull(self, head_branch: str) -> PullRequest | None:
        data, _ = self._request(
            "GET",
            f"/projects/{self._project}/merge_requests",
            query={"source_branch": head_branch, "state": "all", "order_by": "created_at", "sort": "desc", "per_page": 20},
        )
        mrs = [m for m in _as_list(data) if m.get("source_branch") == head_branch]
        if not mrs:
            return None
        return self._to_pull(max(mrs, key=lambda m: m.get("iid", 0)))

    def create_pull(self, head, base, title, body, labels=(), draft=False) -> PullRequest:
        if draft and not _GITLAB_DRAFT.match(title):
            title = f"Draft: {title}"
        payload: dict[str, Any] = {
            "source_branch": head,
            "target_branch": base,
            "title": title,
            "description": self._fit_body(body),
        }
        names = self._label_list(labels)
        if names:
            payload["labels"] = names
        data, _ = self._request("POST", f"/projects/{self._project}/merge_requests", body=payload)
        return self._to_pull(data)

    def update_pull(self, number, title=None, body=None) -> PullRequest:
        payload = self._edit_payload(title, body, "description")
        data, _ = self._request("PUT", f"/projects/{self._project}/merge_requests/{int(number)}", body=payload)
        return self._to_pull(data)

    def add_labels(self, number, labels) -> list[str]:
        names = self._label_list(labels)
        if names:
            # add_labels keeps labels a person set; GitLab creates unknown ones.
            self._request("PUT", f"/projects/{self._project}/merge_requests/{int(number)}", body={"add_labels": names})
        return []

    @staticmethod
    def _label_list(labels: Iterable[str]) -> str:
        names = _clean_labels(labels)
        bad = [n for n in names if "," in n]
        if bad:
            raise ForgeError(f"gitlab: label names cannot contain commas: {', '.join(bad)}")
        return ",".join(names)

    @staticmethod
    def _to_pull(m: Any) -> PullRequest:
        m = _as_dict(m)
        state = {"opened": "open", "locked": "open", "merged": "merged"}.get(m.get("state"), "closed")
        title = m.get("title") or ""
        draft = m.get("draft")
        if draft is None:
            draft = m.get("work_in_progress")
        return PullRequest(
            number=int(m.get("iid", 0)),
            url=m.get("web_url") or "",
            state=state,
            head=m.get("source_branch") or "",
            base=m.get("target_branch") or "",
            title=title,
            body=m.get("description") or "",
            draft=bool(draft) if draft is not None else bool(_GITLAB_DRAFT.match(title)),
        )


class GiteaForge(Forge):
    """Gitea / Forgejo API v1 (Codeberg, self-hosted).

    There is no default API URL on purpose: a Gitea token belongs to one
    instance, and guessing a public host would send it to the wrong server.
    """

    kind = "gitea"
    max_body_chars = 65536  # no documented limit; stay within what the database column surely holds
    default_api_url = None
    page_size = 50  # Gitea's default MAX_RESPONSE_ITEMS
    max_pages = 200

    def _auth_headers(self) -> dict[str, str]:
        return {"Authorization": f"token {self._token}"}

    def find_pull(self, head_branch: str) -> PullRequest | None:
        # The list endpoint cannot filter by head branch: walk the pages.
        best: dict | None = None
        for page in range(1, self.max_pages + 1):
            data, _ = self._request(
                "GET",
                f"/repos/{self._owner_repo}/pulls",
                query={"state": "all", "page": page, "limit": self.page_size},
            )
            items = _as_list(data)
            for p in items:
                if (p.get("head") or {}).get("ref") == head_branch:
                    if best is None or p.get("number", 0) > best.get("number", 0):
                        best = p
            if len(items) < self.page_size:
                break
        return self._to_pull(best) if best is not None else None

    def create_pull(self, head, base, title, body, labels=(), draft=False) -> PullRequest:
        if draft and not _GITEA_WIP.match(title):
            title = f"WIP: {title}"  # Gitea/Forgejo mark drafts by title prefix
        payload: dict[str, Any] = {"head": head, "base": base, "title": title, "body": self._fit_body(body)}
        ids, missing = self._label_ids(labels)
        if ids:
            payload["labels"] = ids
        if missing:
            log.warning("gitea: no such labels in %s, not applied: %s", self.slug, ", ".join(missing))
        data, _ = self._request("POST", f"/repos/{self._owner_repo}/pulls", body=payload)
        return self._to_pull(data)

    def update_pull(self, number, title=None, body=None) -> PullRequest:
        payload = self._edit_payload(title, body, "body")
        data, _ = self._request("PATCH", f"/repos/{self._owner_repo}/pulls/{int(number)}", body=payload)
        return self._to_pull(data)

    def add_labels(self, number, labels) -> list[str]:
        ids, missing = self._label_ids(labels)
        if ids:
            self._request("POST", f"/repos/{self._owner_repo}/issues/{int(number)}/labels", body={"labels": ids})
        return missing

    def _label_ids(self, labels: Iterable[str]) -> tuple[list[int], list[str]]:
        """Map label names to the numeric ids Gitea wants; unknown names are reported, not created."""
        names = _clean_labels(labels)
        if not names:
            return [], []
        known: dict[str, int] = {}
        for page in range(1, self.max_pages + 1):
            data, _ = self._request(
                "GET", f"/repos/{self._owner_repo}/labels", query={"page": page, "limit": self.page_size}
            )
            items = _as_list(data)
            for label in items:
                if isinstance(label.get("name"), str) and isinstance(label.get("id"), int):
                    known.setdefault(label["name"], label["id"])
            if len(items) < self.page_size:
                break
        ids = [known[n] for n in names if n in known]
        return ids, [n for n in names if n not in known]

    @staticmethod
    def _to_pull(p: Any) -> PullRequest:
        p = _as_dict(p)
        title = p.get("title") or ""
        if p.get("merged") or p.get("merged_at"):
            state = "merged"
        else:
            state = "open" if p.get("state") == "open" else "closed"
        draft = p.get("draft")
        return PullRequest(
            number=int(p.get("number", 0)),
            url=p.get("html_url") or "",
            state=state,
            head=(p.get("head") or {}).get("ref") or "",
            base=(p.get("base") or {}).get("ref") or "",
            title=title,
            body=p.get("body") or "",
            draft=bool(draft) if draft is not None else bool(_GITEA_WIP.match(title)),
        )


# -- small utilities -------------------------------------------------------------------------

_NOT_JSON = object()


def _decode_json(raw: bytes) -> Any:
    try:
        return json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return _NOT_JSON


def _flatten_error(payload: Any) -> str:
    """One line from the forges' error shapes.

    GitHub: {"message", "errors": [{"field","code","message"}]}; GitLab:
    {"message": str | [..] | {field: [..]}} or {"error": str}; Gitea: {"message", "url"}.
    """
    if isinstance(payload, str):
        return payload.strip()
    if isinstance(payload, list):
        return "; ".join(filter(None, (_flatten_error(x) for x in payload)))
    if not isinstance(payload, dict):
        return ""
    parts: list[str] = []
    for key in ("message", "error"):
        value = payload.get(key)
        if isinstance(value, dict):
            parts += [f"{k}: {_flatten_error(v)}" for k, v in value.items()]
        elif value:
            parts.append(_flatten_error(value))
    for err in payload.get("errors") or []:
        if isinstance(err, dict):
            text = err.get("message") or " ".join(str(err[k]) for k in ("resource", "field", "code") if err.get(k))
            if text:
                parts.append(str(text))
        elif err:
            parts.append(str(err))
    return "; ".join(p for p in parts if p)[:1000]


def _q(part: str) -> str:
    return urllib.parse.quote(str(part), safe="")


def _as_list(data: Any) -> list[dict]:
    if not isinstance(data, list):
        raise ForgeError("the forge answered with an unexpected shape (expected a list)")
    return [x for x in data if isinstance(x, dict)]


def _as_dict(data: Any) -> dict:
    if not isinstance(data, dict):
        raise ForgeError("the forge answered with an unexpected shape (expected an object)")
    return data


def _clean_labels(labels: Iterable[str] | None) -> list[str]:
    if isinstance(labels, str):
        labels = [labels]
    seen: dict[str, None] = {}
    for label in labels or ():
        name = str(label).strip()
        if name:
            seen.setdefault(name, None)
    return list(seen)


def _is_loopback(host: str | None) -> bool:
    if not host:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
