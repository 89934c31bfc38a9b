"""Which repositories a campaign works on: an organisation's listing, or ``OWNER/NAME`` lines of a file,
narrowed by ``--include`` / ``--exclude`` globs.

A glob without a ``/`` matches the repository's name; with one, its whole slug (``acme/api-*``).
Names in a file are looked up in their owner's listing through the API (the clone URL always
comes from the forge); one that is not there is reported, and the rest go on.
"""

from __future__ import annotations

import fnmatch
import re
from typing import Sequence

from kfix.git.orgs import RemoteRepo, list_org_repos

__all__ = ["read_repos_file", "matches", "select", "resolve"]

_SLUG = re.compile(r"^[^\s/]+(/[^\s/]+)+$")


def read_repos_file(path: str) -> list[str]:
    """``OWNER/NAME`` per line (GitLab: ``group/sub/name``); blank lines and ``#`` comments ignored.

    Raises ValueError naming the file and line of anything else.
    """
    try:
        with open(path, encoding="utf-8") as fh:
            lines = fh.read().splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path}: cannot read: {exc}") from None
    slugs: list[str] = []
    for number, line in enumerate(lines, 1):
        text = line.split("#", 1)[0].strip()
        if not text:
            continue
        if not _SLUG.match(text):
            raise ValueError(f"{path}:{number}: expected OWNER/NAME, got {text!r}")
        if text not in slugs:
            slugs.append(text)
    return slugs


def matches(slug: str, pattern: str) -> bool:
    subject = slug if "/" in pattern else slug.rsplit("/", 1)[-1]
    return fnmatch.fnmatchcase(subject.lower(), pattern.lower())


def select(repos: Sequence[RemoteRepo], include: Sequence[str] = (), exclude: Sequence[str] = ()) -> list[RemoteRepo]:
    return [r for r in repos
            if (not include or any(matches(r.slug, p) for p in include))
            and not any(matches(r.slug, p) for p in exclude)]


def resolve(kind: str, api_url: str | None, token: str | None, *, org: str | None = None,
            names: Sequence[str] = (), include: Sequence[str] = (), exclude: Sequence[str] = (),
            include_archived: bool = False, include_forks: bool = False,
            **client_options) -> tuple[list[RemoteRepo], list[str]]:
    """(repositories to work on, slugs named in the file that the forge does not list)."""
    if not names:
        if not org:
            raise ValueError("--org or --repos is needed")
        listed = list_org_repos(kind, org, api_url, token, include_archived=include_archived,
                                include_forks=include_forks, **client_options)
        return select(listed, include, exclude), []
    by_owner: dict[str, list[str]] = {}
    for slug in names:
        by_owner.setdefault(slug.rsplit("/", 1)[0], []).append(slug)
    found: dict[str, RemoteRepo] = {}
    for owner in by_owner:
        # Named explicitly: archived repositories and forks count too.
        for repo in list_org_repos(kind, owner, api_url, token, include_archived=True, include_forks=True,
                                   **client_options):
            found[repo.slug.lower()] = repo
    chosen = [found[s.lower()] for s in names if s.lower() in found]
    missing = [s for s in names if s.lower() not in found]
    return select(chosen, include, exclude), missing
