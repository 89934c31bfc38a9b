"""Pull/merge request clients for GitHub, GitLab and Gitea/Forgejo.

`kfix pr` needs only four things from a forge: find the request opened from a
branch (so a re-run updates it instead of opening another, and a request closed
unmerged is left alone), open one, edit its title/body, and label it.  Each
forge gets a small class describing its REST API; the HTTP side (httpx, retries,
rate-limit waits, pagination, same-origin credentials) is kfix.git.http.

The access token is a secret: it is only ever sent in a request header (never
in a URL), never put in an exception, repr or log line, and any text coming
back from a forge is scrubbed of it before kfix shows it to anybody.
"""

from __future__ import annotations

import logging
import os
import re
import time
import urllib.parse
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Mapping, Sequence

from kfix.git.http import MIN_TOKEN_LENGTH, ApiClient, ForgeError, RateLimited, redact

__all__ = [
    "ForgeError",
    "RateLimited",
    "PullRequest",
    "Forge",
    "GitHubForge",
    "GitLabForge",
    "GiteaForge",
    "make_forge",
    "token_from_env",
    "truncate_body",
    "FORGE_KINDS",
    "FORGE_CLASSES",
    "resolve_api_url",
    "redact",
    "implausible_token",
    "MIN_TOKEN_LENGTH",
]

log = logging.getLogger(__name__)

#: Names accepted by make_forge/token_from_env; forgejo speaks the Gitea API.
FORGE_KINDS = ("github", "gitlab", "gitea", "forgejo")

def implausible_token(token: str | None) -> str | None:
    """A warning when ``token`` is too short to be a real forge token (None when it looks real)."""
    if token and len(token) < MIN_TOKEN_LENGTH:
        return (f"the token is {len(token)} characters long; forge tokens are longer, so it cannot be a real one "
                "(it is not redacted from messages)")
    return None


_USER_AGENT = "kfix-pr-bot"
_TIMEOUT = 30.0


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
    return FORGE_CLASSES[kind](slug, api_url=api_url, token=token, **options)


def resolve_api_url(kind: str, api_url: str | None = None) -> str:
    """The API root for ``kind``: the given one, else the forge's environment variable, else its default."""
    cls = FORGE_CLASSES[_check_kind(kind)]
    url = api_url or (os.environ.get(cls.api_url_env, "").strip() if cls.api_url_env else "")
    url = url or cls.default_api_url
    if not url:
        raise ForgeError(f"{cls.kind}: an API URL is required (for example https://codeberg.org/api/v1)")
    return url.rstrip("/")


def _check_kind(kind: str) -> str:
    k = (kind or "").strip().lower()
    if k not in FORGE_KINDS:
        raise ForgeError(f"unknown forge {kind!r}; expected one of: {', '.join(FORGE_KINDS)}")
    return k


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
        retries: int = 5,
        max_wait: float = 300.0,
        write_gate: Callable[[], None] | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self.slug = self._check_slug(slug)
        self._token = token or None
        self.timeout = timeout
        self._http = self.api_client(api_url, self._token, timeout=timeout, allow_http=allow_http, retries=retries,
                                     max_wait=max_wait, write_gate=write_gate, sleep=sleep)
        self.api_url = self._http.api_url

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

    @classmethod
    def api_client(cls, api_url: str | None, token: str | None, **options: Any) -> ApiClient:
        """An HTTP client for this forge's API (also used for calls outside one repository)."""
        return ApiClient(cls.kind, resolve_api_url(cls.kind, api_url), token, headers=cls._headers(),
                         auth_headers=cls._auth_headers(token) if token else {}, **options)

    @staticmethod
    @abstractmethod
    def _auth_headers(token: str) -> dict[str, str]:
        """Headers carrying the token (sent to the API's own origin only)."""

    @staticmethod
    def _headers() -> dict[str, str]:
        return {"Accept": "application/json", "User-Agent": _USER_AGENT}

    def _scrub(self, text: str) -> str:
        """Remove the token from text that may have echoed it (URLs, error bodies)."""
        return self._http.scrub(text)

    def _request(
        self,
        method: str,
        path: str,
        *,
        query: Mapping[str, Any] | None = None,
        body: Any = None,
    ) -> tuple[Any, Mapping[str, str]]:
        """Send one JSON request; return (decoded body, response headers)."""
        return self._http.request(method, path, query=query, body=body)

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

    @staticmethod
    def _headers() -> dict[str, str]:
        return {
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": "2022-11-28",
            "User-Agent": _USER_AGENT,
        }

    @staticmethod
    def _auth_headers(token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}

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

    @staticmethod
    def _auth_headers(token: str) -> dict[str, str]:
        return {"PRIVATE-TOKEN": token}

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

    @staticmethod
    def _auth_headers(token: str) -> dict[str, str]:
        return {"Authorization": f"token {token}"}

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

#: The client class of each forge name.
FORGE_CLASSES: dict[str, type[Forge]] = {"github": GitHubForge, "gitlab": GitLabForge, "gitea": GiteaForge,
                                         "forgejo": GiteaForge}


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
