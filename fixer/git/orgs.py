"""An organisation's repositories, as each forge's API lists them (for ``kfix fleet``).

GitHub: ``GET /orgs/{org}/repos``; GitLab: ``GET /groups/{id}/projects`` (subgroups included);
Gitea/Forgejo: ``GET /orgs/{org}/repos``. All three are paginated (followed through their Link
headers). The clone URL is the one the forge gives for https; the token never goes into it (git
gets it through GIT_ASKPASS, see kfix.git.gitops.credentials_env).
"""

from __future__ import annotations

import time
import urllib.parse
from dataclasses import asdict, dataclass
from typing import Any, Callable, Iterator

from kfix.git.forges import FORGE_CLASSES, ForgeError
from kfix.git.http import ApiClient

__all__ = ["RemoteRepo", "list_org_repos"]

@dataclass(frozen=True)
class RemoteRepo:
    """One repository of an organisation: what a fleet job needs to work on it."""

    slug: str
    clone_url: str
    default_branch: str | None = None
    archived: bool = False
    fork: bool = False

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "RemoteRepo":
        return cls(**{k: data[k] for k in ("slug", "clone_url", "default_branch", "archived", "fork") if k in data})


def list_org_repos(kind: str, org: str, api_url: str | None = None, token: str | None = None, *,
                   include_archived: bool = False, include_forks: bool = False, timeout: float = 30.0,
                   allow_http: bool = False, retries: int = 5, max_wait: float = 300.0,
                   sleep: Callable[[float], None] = time.sleep, page_size: int = 100) -> list[RemoteRepo]:
    """The repositories of ``org`` (GitLab: a group path), sorted by slug; archived repositories and
    forks are left out unless asked for."""
    org = (org or "").strip().strip("/")
    if not org:
        raise ForgeError("an organisation name is required")
    kind = "gitea" if kind == "forgejo" else kind
    if kind not in ("github", "gitlab", "gitea"):
        raise ForgeError(f"unknown forge {kind!r}")
    client = FORGE_CLASSES[kind].api_client(api_url, token, timeout=timeout, allow_http=allow_http, retries=retries,
                                            max_wait=max_wait, sleep=sleep)
    try:
        repos = list({r.slug: r for r in _walk(kind, client, org, include_archived, page_size)}.values())
    finally:
        client.close()
    keep = [r for r in repos if (include_archived or not r.archived) and (include_forks or not r.fork)]
    return sorted(keep, key=lambda r: r.slug.lower())


def _walk(kind: str, client: ApiClient, org: str, include_archived: bool, size: int) -> Iterator[RemoteRepo]:
    quoted = urllib.parse.quote(org, safe="")
    if kind == "github":
        items = client.paginate(f"/orgs/{quoted}/repos", {"type": "all", "sort": "full_name"},
                                page_size=size, size_param="per_page")
        for r in items:
            if isinstance(r.get("full_name"), str) and isinstance(r.get("clone_url"), str):
                yield RemoteRepo(r["full_name"], r["clone_url"], r.get("default_branch"), bool(r.get("archived")),
                                 bool(r.get("fork")))
    elif kind == "gitlab":
        query: dict[str, Any] = {"include_subgroups": "true", "order_by": "path", "sort": "asc"}
        if not include_archived:
            query["archived"] = "false"
        items = client.paginate(f"/groups/{quoted}/projects", query, page_size=size, size_param="per_page")
        for p in items:
            if isinstance(p.get("path_with_namespace"), str) and isinstance(p.get("http_url_to_repo"), str):
                yield RemoteRepo(p["path_with_namespace"], p["http_url_to_repo"], p.get("default_branch"),
                                 bool(p.get("archived")), p.get("forked_from_project") is not None)
    else:
        items = client.paginate(f"/orgs/{quoted}/repos", {}, page_size=min(size, 50), size_param="limit")
        for r in items:
            if isinstance(r.get("full_name"), str) and isinstance(r.get("clone_url"), str):
                yield RemoteRepo(r["full_name"], r["clone_url"], r.get("default_branch"), bool(r.get("archived")),
                                 bool(r.get("fork")))
