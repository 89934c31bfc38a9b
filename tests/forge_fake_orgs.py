"""Organisations in the fake forge (tests/forge_fake.py): repositories, and the paginated listings of the three
forges (GitHub ``repos/list-for-org``, GitLab ``getApiV4GroupsIdProjects``, Gitea ``orgListRepos``), with the Link
headers (and GitLab's x-* / Gitea's X-Total-Count paging headers) each sends. Checked against the same API
descriptions as the rest of the fake.
"""

from __future__ import annotations

import urllib.parse
from dataclasses import dataclass
from typing import Any


@dataclass
class FakeRepo:
    """A repository of an organisation, as the listings show it."""

    slug: str
    clone_url: str
    default_branch: str = "main"
    archived: bool = False
    fork: bool = False
    id: int = 0


class OrgListings:
    """Mixed into FakeForge: ``repos`` per forge kind, ``add_repo``, and the listing operations."""

    repos: dict[str, list[FakeRepo]]
    _lock: Any

    def add_repo(self, kind: str, slug: str, clone_url: str, default_branch: str = "main",
                 archived: bool = False, fork: bool = False) -> FakeRepo:
        """Register a repository of an organisation (``slug`` 'org/name'; GitLab: 'group[/sub]/name')."""
        with self._lock:
            repo = FakeRepo(slug, clone_url, default_branch, archived, fork, id=len(self.repos[kind]) + 1)
            self.repos[kind].append(repo)
            return repo

    def _org_repos(self, kind: str, org: str, subgroups: bool = False) -> list[FakeRepo]:
        def owner(r: FakeRepo) -> str:
            return r.slug.rsplit("/", 1)[0]
        return sorted((r for r in self.repos[kind]
                       if owner(r).lower() == org.lower() or (subgroups and owner(r).lower().startswith(org.lower() + "/"))),
                      key=lambda r: r.slug.lower())

    def _paged(self, rec: Recorded, items: list, size_param: str, default_size: int) -> list:
        """One page of ``items``, with the Link header (and the forge's count headers) set on ``rec``."""
        page = max(int(self._q1(rec, "page", 1)), 1)
        size = max(int(self._q1(rec, size_param, default_size)), 1)
        last = max((len(items) + size - 1) // size, 1)
        base = f"{self.url}/{rec.kind}{rec.path}"

        def link(n: int, rel: str) -> str:
            query = {k: v for k, v in rec.query.items() if k != "page"}
            query["page"] = [str(n)]
            return f'<{base}?{urllib.parse.urlencode(query, doseq=True)}>; rel="{rel}"'

        links = []
        if page < last:
            links.append(link(page + 1, "next"))
        if page > 1:
            links.append(link(page - 1, "prev"))
        links += [link(1, "first"), link(last, "last")]
        rec.reply_headers["Link"] = ", ".join(links)
        if rec.kind == "gitlab":
            rec.reply_headers.update({"X-Page": str(page), "X-Per-Page": str(size), "X-Total": str(len(items)),
                                      "X-Total-Pages": str(last), "X-Next-Page": str(page + 1) if page < last else "",
                                      "X-Prev-Page": str(page - 1) if page > 1 else ""})
        elif rec.kind == "gitea":
            rec.reply_headers["X-Total-Count"] = str(len(items))
        return self._page(items, page, size)

    def _op_github_repos_list_for_org(self, pp, rec):
        items = self._org_repos("github", pp["org"])
        kind = self._q1(rec, "type", "all")
        if kind == "forks":
            items = [r for r in items if r.fork]
        elif kind == "sources":
            items = [r for r in items if not r.fork]
        out = []
        for r in self._paged(rec, items, "per_page", 30):
            out.append({"id": r.id, "node_id": f"R_{r.id}", "name": r.slug.split("/")[1], "full_name": r.slug,
                        "private": False, "html_url": f"https://github.example/{r.slug}",
                        "fork": r.fork, "url": f"https://api.github.example/repos/{r.slug}",
                        "clone_url": r.clone_url, "default_branch": r.default_branch, "archived": r.archived,
                        "disabled": False})
        return 200, out

    def _op_gitlab_getApiV4GroupsIdProjects(self, pp, rec):  # noqa: N802
        items = self._org_repos("gitlab", pp["id"], self._q1(rec, "include_subgroups") == "true")
        archived = self._q1(rec, "archived")
        if archived is not None:
            items = [r for r in items if r.archived == (archived == "true")]
        out = []
        for r in self._paged(rec, items, "per_page", 20):
            item = {"id": 200 + r.id, "name": r.slug.rsplit("/", 1)[1], "path": r.slug.rsplit("/", 1)[1],
                    "path_with_namespace": r.slug, "default_branch": r.default_branch,
                    "http_url_to_repo": r.clone_url, "ssh_url_to_repo": f"git@gitlab.example:{r.slug}.git",
                    "web_url": f"https://gitlab.example/{r.slug}", "archived": r.archived, "empty_repo": False}
            if r.fork:
                item["forked_from_project"] = {"id": 1, "path_with_namespace": "upstream/" + item["path"]}
            out.append(item)
        return 200, out

    def _op_gitea_orgListRepos(self, pp, rec):  # noqa: N802
        out = []
        for r in self._paged(rec, self._org_repos("gitea", pp["org"]), "limit", 30):
            out.append({"id": r.id, "name": r.slug.split("/")[1], "full_name": r.slug, "clone_url": r.clone_url,
                        "html_url": f"https://gitea.example/{r.slug}", "ssh_url": f"git@gitea.example:{r.slug}.git",
                        "default_branch": r.default_branch, "archived": r.archived, "fork": r.fork, "empty": False,
                        "mirror": False, "private": False})
        return 200, out
