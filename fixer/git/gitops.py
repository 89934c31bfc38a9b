"""Git plumbing for kfix: commit fixes on a branch, work on a remote's base in a temporary worktree,
push with a lease, and tell the bot's own branch from one a person has pushed to.

Nothing here ever disturbs the user's checkout: commits are built in a temporary index
(``GIT_INDEX_FILE`` in a temporary directory) from blobs hashed with ``git hash-object --path`` (so
the repository's clean filters apply), branches are created with an atomic ``update-ref``, remote
refs are fetched into private temporary refs that are deleted afterwards, and the remote base is
checked out in a temporary ``git worktree`` that is removed afterwards. The user's HEAD, index,
working tree and branches are never touched (a push updates the remote-tracking ref of the pushed
branch, as every ``git push`` to a named remote does).

Credentials: a token is handed to ``git fetch``/``git push`` through ``GIT_ASKPASS`` — a script in a
private temporary directory that reads the token from the child process's environment — so it never
appears on a command line, in ``.git/config``, in a remote URL or in an error message.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import stat
import tempfile
import uuid
from dataclasses import dataclass
from typing import Iterator, Mapping, Sequence

import git
from git import Actor, Repo
from git.objects.commit import Commit

__all__ = [
    "BOT", "BOT_NAME", "BOT_EMAIL", "GitOpsError", "DirtyFilesError", "LeaseRejected", "BranchCommit",
    "Ownership", "parse_author", "open_repo", "repo_path", "check_branch_name", "uncommitted",
    "commit_files", "create_branch", "commit_to_new_branch", "temporary_worktree", "remote_url",
    "credentials_env", "remote_heads", "remote_default_branch", "fetch_refs", "push_with_lease",
    "branch_ownership", "same_identity",
]

BOT_NAME = "kfix"
BOT_EMAIL = "kfix@users.noreply.github.com"
BOT = Actor(BOT_NAME, BOT_EMAIL)

_AUTHOR = re.compile(r"^\s*(?P<name>[^<>]*?)\s*<(?P<email>[^<>\s]+)>\s*$")


class GitOpsError(Exception):
    """A git step failed or was refused; the message is safe to show (exit code 2)."""


class DirtyFilesError(GitOpsError):
    """Files kfix would commit have uncommitted changes (or are not tracked at all)."""

    def __init__(self, message: str, paths: Sequence[str]):
        super().__init__(message)
        self.paths = list(paths)


class LeaseRejected(GitOpsError):
    """The remote branch moved after kfix looked at it: someone else pushed meanwhile."""


@dataclass(frozen=True)
class BranchCommit:
    """What ``commit_to_new_branch`` made."""

    branch: str
    commit: str
    parent: str
    files: tuple[str, ...]


@dataclass(frozen=True)
class Ownership:
    """Whether a remote branch holds only the bot's work (``reason`` says why not)."""

    owned: bool
    reason: str = ""
    commits: int = 0


def parse_author(text: str | None) -> Actor:
    """``"Name <email>"`` -> Actor; None/empty -> the kfix bot identity."""
    if text is None or not text.strip():
        return BOT
    m = _AUTHOR.match(text)
    if not m or not m.group("name"):
        raise GitOpsError(f"--author must look like 'Name <email>', got {text!r}")
    return Actor(m.group("name"), m.group("email"))


def same_identity(actor: Actor, bot: Actor) -> bool:
    return (actor.email or "").strip().lower() == (bot.email or "").strip().lower()


# --- local repository -------------------------------------------------------------------------------

def _git_error(exc: git.GitCommandError, what: str, secrets: Sequence[str] = ()) -> GitOpsError:
    detail = (exc.stderr or "").strip() or (exc.stdout or "").strip()
    detail = " ".join(detail.replace("stderr:", "").split()).strip("'\" ")
    text = f"{what} failed" + (f": {detail}" if detail else "")
    return GitOpsError(scrub(text, secrets))


def scrub(text: str, secrets: Sequence[str | None]) -> str:
    from kfix.git.forges import redact

    for secret in secrets:
        text = redact(text, secret)
    return text


def open_repo(path: str = ".") -> Repo:
    """The repository containing ``path`` (a file or folder); GitOpsError when there is none."""
    start = path if os.path.isdir(path) else (os.path.dirname(os.path.abspath(path)) or ".")
    try:
        return Repo(start, search_parent_directories=True)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError):
        raise GitOpsError(f"{path}: not inside a git repository") from None


def _work_tree(repo: Repo) -> str:
    if repo.bare or not repo.working_tree_dir:
        raise GitOpsError(f"{repo.git_dir}: a bare repository has no working tree to take files from")
    return os.path.realpath(repo.working_tree_dir)


def repo_path(repo: Repo, path: str) -> str:
    """``path`` (a symbolic link counts as the file it points to) relative to the work tree, '/'-separated."""
    root = _work_tree(repo)
    real = os.path.realpath(path)
    rel = os.path.relpath(real, root)
    if rel == os.curdir or rel.startswith(os.pardir + os.sep) or rel == os.pardir or os.path.isabs(rel):
        raise GitOpsError(f"{path}: outside the repository at {root}")
    rel = rel.replace(os.sep, "/")
    if rel == ".git" or rel.startswith(".git/"):
        raise GitOpsError(f"{path}: inside the .git folder")
    return rel


def check_branch_name(repo: Repo, name: str) -> str:
    """A valid branch name (``git check-ref-format --branch``), without a ``refs/heads/`` prefix."""
    name = (name or "").strip()
    if name.startswith("refs/heads/"):
        name = name[len("refs/heads/"):]
    if not name or name.startswith("-"):
        raise GitOpsError(f"invalid branch name {name!r}")
    try:
        repo.git.check_ref_format("--branch", name)
    except git.GitCommandError:
        raise GitOpsError(f"invalid branch name {name!r}") from None
    return name


def uncommitted(repo: Repo, rel_paths: Sequence[str]) -> list[str]:
    """Which of ``rel_paths`` differ from HEAD in the index or work tree, or are untracked/ignored."""
    if not rel_paths:
        return []
    specs = [f":(literal){p}" for p in rel_paths]
    try:
        out = repo.git.status("--porcelain=v1", "-z", "--untracked-files=all", "--ignored=matching",
                              "--", *specs, strip_newline_in_stdout=False)
    except git.GitCommandError as exc:
        raise _git_error(exc, "git status") from None
    dirty: list[str] = []
    fields = out.split("\0")
    i = 0
    while i < len(fields):
        entry = fields[i]
        i += 1
        if len(entry) < 4:
            continue
        code, path = entry[:2], entry[3:]
        if code[0] in "RC":  # a rename/copy is followed by its source path
            i += 1
        label = {"??": "untracked", "!!": "ignored, not tracked"}.get(code)
        if label is None:
            parts = []
            if code[0] not in " ?!":
                parts.append("staged changes")
            if code[1] not in " ?!":
                parts.append("deleted" if code[1] == "D" else "unstaged changes")
            label = ", ".join(parts) or "changed"
        dirty.append(f"{path} ({label})")
    return dirty


def _head_commit(repo: Repo) -> Commit:
    try:
        return repo.head.commit
    except ValueError:
        raise GitOpsError("the repository has no commit yet; commit your files first") from None


def commit_files(repo: Repo, parent: Commit | str, files: Mapping[str, bytes], message: str,
                 author: Actor = BOT, committer: Actor | None = None) -> Commit:
    """A commit on top of ``parent`` whose tree is parent's with ``files`` (repo-relative) replaced.

    Built in a temporary index: no ref, no working tree and not the repository's own index change.
    Blobs go through ``hash-object --path`` so .gitattributes filters (eol, ...) apply as for ``git add``.
    Hooks are not run and nothing is signed: it is a bot's commit.
    """
    parent = repo.commit(parent) if isinstance(parent, str) else parent
    committer = committer or author
    with tempfile.TemporaryDirectory(prefix="kfix-index-") as tmp:
        env = {"GIT_INDEX_FILE": os.path.join(tmp, "index")}
        try:
            repo.git.read_tree(parent.hexsha, env=env)
            for n, (rel, data) in enumerate(sorted(files.items())):
                try:
                    entry = parent.tree[rel]
                except KeyError:
                    raise GitOpsError(f"{rel}: not tracked in commit {parent.hexsha[:12]}") from None
                if entry.type != "blob" or entry.mode & 0o170000 != 0o100000:
                    raise GitOpsError(f"{rel}: not a regular file in commit {parent.hexsha[:12]}")
                blob_file = os.path.join(tmp, f"blob{n}")
                with open(blob_file, "wb") as fh:
                    fh.write(data)
                sha = repo.git.hash_object("-w", f"--path={rel}", "--", blob_file)
                repo.git.update_index("--cacheinfo", f"{entry.mode:o},{sha},{rel}", env=env)
            tree_sha = repo.git.write_tree(env=env)
        except git.GitCommandError as exc:
            raise _git_error(exc, "building the commit") from None
    return Commit.create_from_tree(repo, repo.tree(tree_sha), message, parent_commits=[parent], head=False,
                                   author=author, committer=committer)


def create_branch(repo: Repo, name: str, commit: Commit | str) -> None:
    """Create ``refs/heads/<name>`` at ``commit``; refuses (atomically) when it already exists."""
    sha = commit if isinstance(commit, str) else commit.hexsha
    try:
        # The empty old value makes update-ref fail if the ref exists, even if it appeared just now.
        repo.git.update_ref("-m", "kfix: create branch", f"refs/heads/{name}", sha, "")
    except git.GitCommandError as exc:
        if f"refs/heads/{name}" in (exc.stderr or "") and "exist" in (exc.stderr or ""):
            raise GitOpsError(f"branch {name!r} already exists; choose another --branch") from None
        raise _git_error(exc, f"creating branch {name!r}") from None


def commit_to_new_branch(files: Mapping[str, bytes], branch: str, message: str, author: Actor = BOT,
                         repo: Repo | None = None) -> BranchCommit:
    """Commit ``files`` (paths as planned -> new bytes) as one commit on a new branch made from HEAD.

    The user's checkout is left exactly as it was: same branch (or detached HEAD) checked out, same
    index, same files on disk. Refuses (DirtyFilesError) when any of the files has uncommitted
    changes, is untracked or ignored: the commit would otherwise mix the user's work into kfix's.
    """
    if not files:
        raise GitOpsError("nothing to commit")
    if repo is None:
        repo = open_repo(next(iter(files)))
    _work_tree(repo)
    name = check_branch_name(repo, branch)
    if name in {h.name for h in repo.heads}:
        raise GitOpsError(f"branch {name!r} already exists; choose another --branch")
    parent = _head_commit(repo)
    rel_files: dict[str, bytes] = {}
    for path, data in files.items():
        rel = repo_path(repo, path)
        if rel in rel_files and rel_files[rel] != data:
            raise GitOpsError(f"{rel}: reached through two paths with different results")
        rel_files[rel] = data
    dirty = uncommitted(repo, sorted(rel_files))
    if dirty:
        raise DirtyFilesError("uncommitted changes in files kfix would commit: " + "; ".join(dirty)
                              + ". Commit or stash them first.", dirty)
    commit = commit_files(repo, parent, rel_files, message, author, author)
    create_branch(repo, name, commit)
    return BranchCommit(name, commit.hexsha, parent.hexsha, tuple(sorted(rel_files)))


@contextlib.contextmanager
def temporary_worktree(repo: Repo, commit: str) -> Iterator[str]:
    """A detached ``git worktree`` of ``commit`` in a temporary folder, removed afterwards."""
    parent = tempfile.mkdtemp(prefix="kfix-worktree-")
    path = os.path.join(parent, "tree")
    try:
        try:
            repo.git.worktree("add", "--detach", "--quiet", path, commit)
        except git.GitCommandError as exc:
            raise _git_error(exc, "git worktree add") from None
        yield path
    finally:
        try:
            repo.git.worktree("remove", "--force", path)
        except git.GitCommandError:
            pass
        shutil.rmtree(parent, ignore_errors=True)
        with contextlib.suppress(git.GitCommandError):
            repo.git.worktree("prune")


# --- the remote -------------------------------------------------------------------------------------

def remote_url(repo: Repo, remote: str) -> str:
    """The fetch URL of a named remote; anything else is taken as a URL or path already."""
    if remote in {r.name for r in repo.remotes}:
        try:
            return repo.git.remote("get-url", remote)
        except git.GitCommandError as exc:
            raise _git_error(exc, f"git remote get-url {remote}") from None
    return remote


_ASKPASS = """#!/bin/sh
# kfix: answers git's credential prompts from this process's environment (nothing stored here).
case "$1" in
  [Uu]sername*) printf '%s\\n' "$KFIX_GIT_USERNAME" ;;
  *) printf '%s\\n' "$KFIX_GIT_PASSWORD" ;;
esac
"""

_TOKEN_USER = {"github": "x-access-token", "gitlab": "oauth2", "gitea": "kfix", "forgejo": "kfix"}


@contextlib.contextmanager
def credentials_env(url: str, token: str | None, kind: str | None = None) -> Iterator[dict[str, str]]:
    """Environment for git commands talking to ``url``: the token through GIT_ASKPASS, when needed.

    The askpass script holds no secret (it prints variables of its own environment); it lives in a
    private temporary folder deleted on exit. Nothing is written to the repository's configuration.
    Non-http remotes (ssh, local paths) get no token at all.
    """
    env = {"GIT_TERMINAL_PROMPT": "0"}
    if not token or not url.lower().startswith(("https://", "http://")):
        yield env
        return
    tmp = tempfile.mkdtemp(prefix="kfix-askpass-")
    try:
        script = os.path.join(tmp, "askpass.sh")
        fd = os.open(script, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o700)
        with os.fdopen(fd, "w") as fh:
            fh.write(_ASKPASS)
        os.chmod(script, stat.S_IRWXU)
        env.update({"GIT_ASKPASS": script, "KFIX_GIT_USERNAME": _TOKEN_USER.get(kind or "", "kfix"),
                    "KFIX_GIT_PASSWORD": token})
        yield env
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def remote_heads(repo: Repo, remote: str, branches: Sequence[str], env: Mapping[str, str] | None = None,
                 secrets: Sequence[str] = ()) -> dict[str, str]:
    """``{branch: sha}`` for the given branches that exist on the remote."""
    refs = [f"refs/heads/{b}" for b in branches]
    try:
        out = repo.git.ls_remote(remote, *refs, env=dict(env or {}))
    except git.GitCommandError as exc:
        raise _git_error(exc, f"git ls-remote {remote}", secrets) from None
    heads = {}
    for line in out.splitlines():
        sha, _, ref = line.partition("\t")
        if ref in refs:
            heads[ref[len("refs/heads/"):]] = sha
    return heads


def remote_default_branch(repo: Repo, remote: str, env: Mapping[str, str] | None = None,
                          secrets: Sequence[str] = ()) -> str | None:
    """The branch the remote's HEAD points to (its default branch), if it says."""
    try:
        out = repo.git.ls_remote("--symref", remote, "HEAD", env=dict(env or {}))
    except git.GitCommandError as exc:
        raise _git_error(exc, f"git ls-remote {remote}", secrets) from None
    for line in out.splitlines():
        m = re.match(r"^ref:\s*refs/heads/(\S+)\s+HEAD$", line)
        if m:
            return m.group(1)
    return None


@contextlib.contextmanager
def fetch_refs(repo: Repo, remote: str, branches: Sequence[str], env: Mapping[str, str] | None = None,
               secrets: Sequence[str] = ()) -> Iterator[dict[str, str]]:
    """Fetch remote branches into private temporary refs; yields ``{branch: sha}`` (missing ones left out).

    The user's remote-tracking branches, FETCH_HEAD and tags are left alone; the temporary refs are
    deleted on exit (the fetched objects stay, as after any fetch).
    """
    present = remote_heads(repo, remote, branches, env, secrets)
    space = f"refs/kfix-tmp/{uuid.uuid4().hex}"
    local = {b: f"{space}/{b}" for b in present}
    try:
        if local:
            specs = [f"+refs/heads/{b}:{ref}" for b, ref in local.items()]
            try:
                repo.git.fetch("--no-tags", "--no-write-fetch-head", "--quiet", remote, *specs, env=dict(env or {}))
            except git.GitCommandError as exc:
                if "no-write-fetch-head" not in (exc.stderr or ""):
                    raise _git_error(exc, f"git fetch {remote}", secrets) from None
                try:  # git older than 2.29: FETCH_HEAD gets written, nothing else changes
                    repo.git.fetch("--no-tags", "--quiet", remote, *specs, env=dict(env or {}))
                except git.GitCommandError as exc2:
                    raise _git_error(exc2, f"git fetch {remote}", secrets) from None
        yield {b: repo.git.rev_parse(ref) for b, ref in local.items()}
    finally:
        for ref in local.values():
            with contextlib.suppress(git.GitCommandError):
                repo.git.update_ref("-d", ref)


def push_with_lease(repo: Repo, remote: str, commit: str, branch: str, expected: str | None,
                    env: Mapping[str, str] | None = None, secrets: Sequence[str] = ()) -> None:
    """Force-push ``commit`` to ``branch`` only if the remote branch is still at ``expected``.

    ``expected`` None: the branch must not exist yet. Raises LeaseRejected when it moved.
    """
    ref = f"refs/heads/{branch}"
    lease = f"--force-with-lease={ref}:{expected or ''}"
    try:
        repo.git.push("--porcelain", "--quiet", lease, remote, f"{commit}:{ref}", env=dict(env or {}))
    except git.GitCommandError as exc:
        text = f"{exc.stdout or ''}\n{exc.stderr or ''}"
        if "stale info" in text or "already exists" in text or "fetch first" in text:
            raise LeaseRejected(scrub(f"the remote branch {branch!r} changed while kfix was working "
                                      "(someone pushed to it)", secrets)) from None
        raise _git_error(exc, f"git push {remote} {branch}", secrets) from None


def branch_ownership(repo: Repo, base: str, tip: str, bot: Actor = BOT) -> Ownership:
    """Is ``tip`` (the remote bot branch) still the bot's own single commit on some version of ``base``?

    Owned when every commit reachable from ``tip`` but not from ``base`` was authored and committed
    by the bot identity, there is at most one of them, and it is not a merge. Anything else means a
    person worked on the branch, and kfix must not force-push over their work.
    """
    commits = list(repo.iter_commits(f"{base}..{tip}"))
    for c in commits:
        if not same_identity(c.author, bot) or not same_identity(c.committer, bot):
            who = c.author if not same_identity(c.author, bot) else c.committer
            return Ownership(False, f"commit {c.hexsha[:12]} is by {who.name} <{who.email}>, not {bot.email}",
                             len(commits))
    if len(commits) > 1:
        return Ownership(False, f"it has {len(commits)} commits beyond the base; kfix makes exactly one",
                         len(commits))
    if commits and len(commits[0].parents) != 1:
        return Ownership(False, f"commit {commits[0].hexsha[:12]} is a merge", 1)
    return Ownership(True, "", len(commits))
