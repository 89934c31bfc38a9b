"""Forge clients against the description-checked fake forge (tests/forge_fake.py)."""

from __future__ import annotations

import socket

import pytest

from kfix.git.forges import (
    ForgeError,
    GiteaForge,
    GitHubForge,
    GitLabForge,
    PullRequest,
    make_forge,
    token_from_env,
    truncate_body,
)

try:  # the fixture lives next to this file; conftest.py may import it later
    from forge_fake import FakeForge, forge_server  # noqa: F401
except ImportError:  # pragma: no cover - when tests/ becomes a package
    from tests.forge_fake import FakeForge, forge_server  # noqa: F401

KINDS = ["github", "gitlab", "gitea"]
SLUG = "acme/web"
BRANCH = "kfix/harden"
WRONG_TOKEN = "wrong-secret-token-0123456789"


def forge_for(fake: FakeForge, kind: str, token: str | None = None, slug: str = SLUG):
    return make_forge(kind, slug, api_url=fake.api_url(kind), token=token or fake.token)


def assert_no_secret(fake: FakeForge, *texts: str) -> None:
    for text in texts:
        assert fake.token not in text
        assert WRONG_TOKEN not in text


@pytest.fixture(params=KINDS)
def kind(request):
    return request.param


def test_find_none(forge_server, kind):
    assert forge_for(forge_server, kind).find_pull(BRANCH) is None


def test_create_with_labels_and_draft(forge_server, kind):
    fake = forge_server
    if kind == "gitea":
        fake.add_gitea_label("security")
        fake.add_gitea_label("kfix")
    forge = forge_for(fake, kind)
    pr = forge.create_pull(BRANCH, "main", "Harden pod specs", "Changes:\n- a\n", labels=["security", "kfix"], draft=True)

    assert isinstance(pr, PullRequest)
    assert (pr.state, pr.head, pr.base, pr.draft) == ("open", BRANCH, "main", True)
    assert pr.url.startswith("https://") and str(pr.number) in pr.url
    assert pr.body == "Changes:\n- a\n"
    stored = fake.pulls[kind][pr.number]
    assert stored.labels == ["security", "kfix"]
    assert stored.draft

    create = [r for r in fake.requests_for(kind, "POST") if r.path.endswith(("/pulls", "/merge_requests"))][0]
    if kind == "github":
        assert create.body["draft"] is True and pr.title == "Harden pod specs"
        labels = fake.requests_for("github", "POST")[-1]
        assert labels.path.endswith(f"/issues/{pr.number}/labels")
        assert labels.body == {"labels": ["security", "kfix"]}
    elif kind == "gitlab":
        assert create.body["title"] == "Draft: Harden pod specs"
        assert create.body["labels"] == "security,kfix"
        assert create.body["source_branch"] == BRANCH and create.body["target_branch"] == "main"
    else:
        assert create.body["title"] == "WIP: Harden pod specs"
        assert create.body["labels"] == [100, 101]


def test_create_without_extras(forge_server, kind):
    pr = forge_for(forge_server, kind).create_pull(BRANCH, "main", "Harden", "body")
    assert (pr.state, pr.draft, pr.title) == ("open", False, "Harden")
    assert forge_server.pulls[kind][pr.number].labels == []


def test_find_open(forge_server, kind):
    forge = forge_for(forge_server, kind)
    forge.create_pull("other-branch", "main", "Unrelated", "x")
    created = forge.create_pull(BRANCH, "main", "Harden", "body")
    found = forge.find_pull(BRANCH)
    assert found == created
    assert found.state == "open"


def test_update(forge_server, kind):
    forge = forge_for(forge_server, kind)
    pr = forge.create_pull(BRANCH, "main", "Harden", "old body")
    updated = forge.update_pull(pr.number, "Harden (2 files)", "new body")
    assert (updated.number, updated.title, updated.body, updated.state) == (pr.number, "Harden (2 files)", "new body", "open")
    assert forge.find_pull(BRANCH).body == "new body"

    body_only = forge.update_pull(pr.number, body="third body")
    assert (body_only.title, body_only.body) == ("Harden (2 files)", "third body")
    last = forge_server.requests[-1]
    assert last.body == ({"description": "third body"} if kind == "gitlab" else {"body": "third body"})


def test_closed_unmerged_state(forge_server, kind):
    forge = forge_for(forge_server, kind)
    pr = forge.create_pull(BRANCH, "main", "Harden", "body")
    forge_server.close(kind, pr.number)
    found = forge.find_pull(BRANCH)
    assert (found.number, found.state) == (pr.number, "closed")


def test_merged_state(forge_server, kind):
    forge = forge_for(forge_server, kind)
    pr = forge.create_pull(BRANCH, "main", "Harden", "body")
    forge_server.merge(kind, pr.number)
    found = forge.find_pull(BRANCH)
    assert (found.number, found.state) == (pr.number, "merged")


def test_find_returns_most_recent(forge_server, kind):
    forge = forge_for(forge_server, kind)
    first = forge.create_pull(BRANCH, "main", "Harden", "body")
    forge_server.close(kind, first.number)
    second = forge.create_pull(BRANCH, "main", "Harden again", "body")
    assert forge.find_pull(BRANCH).number == second.number


def test_add_labels_later(forge_server, kind):
    if kind == "gitea":
        forge_server.add_gitea_label("kfix")
    forge = forge_for(forge_server, kind)
    pr = forge.create_pull(BRANCH, "main", "Harden", "body")
    assert forge.add_labels(pr.number, ["kfix", "kfix", " "]) == []
    assert forge_server.pulls[kind][pr.number].labels == ["kfix"]
    if kind == "gitlab":
        assert forge_server.requests[-1].body == {"add_labels": "kfix"}


def test_gitea_reports_unknown_labels(forge_server):
    forge_server.add_gitea_label("kfix")
    forge = forge_for(forge_server, "gitea")
    pr = forge.create_pull(BRANCH, "main", "Harden", "body", labels=["kfix", "nope"])
    assert forge_server.pulls["gitea"][pr.number].labels == ["kfix"]
    assert forge.add_labels(pr.number, ["nope", "kfix"]) == ["nope"]


def test_gitea_pages_through_pulls(forge_server):
    forge = forge_for(forge_server, "gitea")
    forge.page_size = 2
    target = forge.create_pull(BRANCH, "main", "Harden", "body")
    for i in range(4):
        forge.create_pull(f"branch-{i}", "main", f"PR {i}", "body")
    before = len(forge_server.requests_for("gitea", "GET"))
    assert forge.find_pull(BRANCH).number == target.number
    pages = [r.query["page"] for r in forge_server.requests_for("gitea", "GET")[before:]]
    assert pages == [["1"], ["2"], ["3"]]


def test_gitlab_project_path_is_encoded(forge_server):
    forge = forge_for(forge_server, "gitlab", slug="group/sub/web")
    forge.create_pull(BRANCH, "main", "Harden", "body")
    assert forge.find_pull(BRANCH).head == BRANCH
    assert all(r.path.startswith("/api/v4/projects/group%2Fsub%2Fweb/") for r in forge_server.requests)


def test_wrong_token_gives_401_without_token(forge_server, kind):
    forge = forge_for(forge_server, kind, token=WRONG_TOKEN)
    with pytest.raises(ForgeError) as info:
        forge.find_pull(BRANCH)
    err = info.value
    assert err.status == 401
    assert "401" in str(err)
    assert_no_secret(forge_server, str(err), repr(err), repr(forge))
    assert forge_server.requests[-1].status == 401


def test_github_duplicate_pull_is_422(forge_server):
    forge = forge_for(forge_server, "github")
    forge.create_pull(BRANCH, "main", "Harden", "body")
    with pytest.raises(ForgeError) as info:
        forge.create_pull(BRANCH, "main", "Harden", "body")
    assert info.value.status == 422
    assert "A pull request already exists" in str(info.value)
    assert_no_secret(forge_server, str(info.value))


def test_422_echoing_the_token_is_scrubbed(forge_server, kind):
    forge = forge_for(forge_server, kind)
    forge_server.fail_next(422, f"invalid request from token {forge_server.token}", kind=kind)
    with pytest.raises(ForgeError) as info:
        forge.create_pull(BRANCH, "main", "Harden", "body")
    err = info.value
    assert err.status == 422
    assert "invalid request from token [REDACTED]" in str(err)
    assert_no_secret(forge_server, str(err), repr(err))


def test_gitlab_conflict_message_is_readable(forge_server):
    forge = forge_for(forge_server, "gitlab")
    forge.create_pull(BRANCH, "main", "Harden", "body")
    with pytest.raises(ForgeError) as info:
        forge.create_pull(BRANCH, "main", "Harden", "body")
    assert info.value.status == 409
    assert "Another open merge request already exists" in str(info.value)


def test_update_missing_pull_is_404(forge_server, kind):
    with pytest.raises(ForgeError) as info:
        forge_for(forge_server, kind).update_pull(99, "t", "b")
    assert info.value.status == 404


def test_token_only_in_auth_header(forge_server, kind):
    forge = forge_for(forge_server, kind)
    forge.create_pull(BRANCH, "main", "Harden", "body")
    forge.find_pull(BRANCH)
    for r in forge_server.requests:
        assert forge_server.token not in r.path
        assert all(forge_server.token not in v for vals in r.query.values() for v in vals)
    header = {"github": "Authorization", "gitlab": "PRIVATE-TOKEN", "gitea": "Authorization"}[kind]
    want = {"github": "Bearer ", "gitlab": "", "gitea": "token "}[kind] + forge_server.token
    seen = {v for r in forge_server.requests for k, v in r.headers.items() if k.lower() == header.lower()}
    assert seen == {want}


def test_unreachable_forge(kind):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    forge = make_forge(kind, SLUG, api_url=f"http://127.0.0.1:{port}/api", token=WRONG_TOKEN, timeout=5)
    with pytest.raises(ForgeError) as info:
        forge.find_pull(BRANCH)
    assert info.value.status is None
    assert "cannot reach" in str(info.value)
    assert WRONG_TOKEN not in str(info.value)


# -- body size ---------------------------------------------------------------------------------


def test_body_limits():
    assert GitHubForge.max_body_chars == 65536
    assert GitLabForge.max_body_chars == 1_048_576
    assert GiteaForge.max_body_chars == 65536


def test_truncate_body_keeps_short_bodies():
    assert truncate_body("short\nbody\n", 100) == "short\nbody\n"
    assert truncate_body("x" * 100, 100) == "x" * 100


def test_truncate_body_cuts_at_line_boundary():
    body = "".join(f"- change {i:04d}\n" for i in range(1000))
    out = truncate_body(body, 2000)
    assert len(out) <= 2000
    kept, _, note = out.partition("\n\n---\n")
    assert body.startswith(kept) and kept.endswith(("0", "1", "2", "3", "4", "5", "6", "7", "8", "9"))
    assert kept.split("\n")[-1].startswith("- change ")  # no half line
    assert f"{len(body) - len(kept)} more characters" in note
    assert "2000-character limit" in note


def test_truncate_body_without_newlines_and_tiny_limits():
    out = truncate_body("y" * 5000, 1000)
    assert len(out) <= 1000 and out.startswith("y" * 100) and "truncated" in out
    assert truncate_body("z" * 50, 10) == "z" * 10
    with pytest.raises(ValueError):
        truncate_body("a", 0)


def test_long_body_is_truncated_before_sending(forge_server, kind):
    forge = forge_for(forge_server, kind)
    forge.max_body_chars = 600
    body = "".join(f"resource {i}: fixed runAsNonRoot\n" for i in range(200))
    pr = forge.create_pull(BRANCH, "main", "Harden", body)
    sent = forge_server.pulls[kind][pr.number].body
    assert len(sent) <= 600 and "Report truncated" in sent
    forge.update_pull(pr.number, None, body + "more\n")
    assert len(forge_server.pulls[kind][pr.number].body) <= 600


# -- configuration -----------------------------------------------------------------------------


def test_github_api_url_env_is_honoured(forge_server, monkeypatch):
    monkeypatch.setenv("GITHUB_API_URL", forge_server.api_url("github") + "/")
    forge = make_forge("github", SLUG, token=forge_server.token)
    assert forge.api_url == forge_server.api_url("github")
    assert forge.find_pull(BRANCH) is None
    assert forge_server.requests_for("github")[-1].path == "/repos/acme/web/pulls"


def test_default_api_urls(monkeypatch):
    monkeypatch.delenv("GITHUB_API_URL", raising=False)
    monkeypatch.delenv("CI_API_V4_URL", raising=False)
    assert make_forge("github", SLUG, token="t").api_url == "https://api.github.com"
    assert make_forge("gitlab", SLUG, token="t").api_url == "https://gitlab.com/api/v4"
    with pytest.raises(ForgeError, match="API URL is required"):
        make_forge("gitea", SLUG, token="t")
    assert isinstance(make_forge("forgejo", SLUG, api_url="https://codeberg.org/api/v1", token="t"), GiteaForge)


def test_token_from_env(monkeypatch):
    for name in ("KFIX_TOKEN", "GITHUB_TOKEN", "GITLAB_TOKEN", "GITEA_TOKEN", "FORGEJO_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    assert token_from_env("github") is None
    monkeypatch.setenv("GITHUB_TOKEN", "gh")
    monkeypatch.setenv("FORGEJO_TOKEN", "fj")
    assert token_from_env("github") == "gh"
    assert token_from_env("gitea") == "fj"
    assert token_from_env("gitlab") is None
    monkeypatch.setenv("KFIX_TOKEN", "")
    assert token_from_env("github") == "gh"
    monkeypatch.setenv("KFIX_TOKEN", "kf")
    assert token_from_env("github") == token_from_env("gitea") == "kf"
    assert token_from_env("gitea", {"GITEA_TOKEN": "gt", "FORGEJO_TOKEN": "fj"}) == "gt"


def test_make_forge_reads_env_token_and_hides_it(forge_server, monkeypatch):
    monkeypatch.delenv("KFIX_TOKEN", raising=False)
    monkeypatch.setenv("GITLAB_TOKEN", forge_server.token)
    forge = make_forge("gitlab", SLUG, api_url=forge_server.api_url("gitlab"))
    assert forge.find_pull(BRANCH) is None
    assert forge_server.token not in repr(forge) and forge_server.token not in str(vars(forge).get("api_url"))


def test_refuses_plain_http_to_remote_hosts():
    with pytest.raises(ForgeError, match="plain http") as info:
        make_forge("gitea", SLUG, api_url="http://git.example.com/api/v1", token=WRONG_TOKEN)
    assert WRONG_TOKEN not in str(info.value)
    make_forge("gitea", SLUG, api_url="http://git.example.com/api/v1", token=WRONG_TOKEN, allow_http=True)


def test_bad_arguments():
    with pytest.raises(ForgeError, match="unknown forge"):
        make_forge("bitbucket", SLUG, token="t")
    with pytest.raises(ForgeError, match="owner/repo"):
        make_forge("github", "just-a-name", token="t")
    with pytest.raises(ForgeError, match="not in the API URL"):
        make_forge("gitea", SLUG, api_url="https://user:secret@git.example.com/api/v1", token="t")


# -- the fake itself must catch clients that stray from the descriptions ----------------------


def _raw(fake: FakeForge, method: str, path: str, body=None, headers=None):
    import json
    import urllib.error
    import urllib.request

    req = urllib.request.Request(fake.url + path, method=method, data=None if body is None else json.dumps(body).encode())
    for k, v in (headers or {}).items():
        req.add_header(k, v)
    if body is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=5) as resp:
            return resp.status
    except urllib.error.HTTPError as exc:
        return exc.code


def test_fake_rejects_what_the_descriptions_do_not_allow():
    with FakeForge() as fake:
        gh = {"Authorization": f"Bearer {fake.token}", "Accept": "application/vnd.github+json", "X-GitHub-Api-Version": "2022-11-28"}
        assert _raw(fake, "POST", "/github/repos/a/b/pulls", {"head": "x", "base": "main", "title": "t", "labels": ["l"]}, gh) == 422
        assert _raw(fake, "GET", "/github/repos/a/b/pulls?state=merged", headers=gh) == 422
        assert _raw(fake, "GET", "/github/repos/a/b/pulls?per_page=many", headers=gh) == 422
        assert _raw(fake, "DELETE", "/github/repos/a/b/pulls/1", headers=gh) == 405
        gl = {"PRIVATE-TOKEN": fake.token}
        assert _raw(fake, "POST", "/gitlab/api/v4/projects/a%2Fb/merge_requests", {"title": "t", "source_branch": "x"}, gl) == 400
        assert _raw(fake, "POST", "/gitlab/api/v4/projects/a%2Fb/merge_requests", {"title": 1, "source_branch": "x", "target_branch": "m"}, gl) == 400
        gt = {"Authorization": f"token {fake.token}"}
        assert _raw(fake, "POST", "/gitea/api/v1/repos/a/b/pulls", {"head": "x", "base": "m", "title": "t", "draft": True}, gt) == 400
        assert _raw(fake, "POST", "/gitea/api/v1/repos/a/b/issues/1/labels", {"labels": ["kfix"]}, gt) == 400
        assert len(fake.violations) == 8
        assert any("'labels' was unexpected" in v for v in fake.violations)
        assert any("'draft' was unexpected" in v for v in fake.violations)
        assert any("'target_branch' is a required property" in v for v in fake.violations)
        # A bad token is an auth failure, not a description violation.
        assert _raw(fake, "GET", "/gitea/api/v1/repos/a/b/pulls", headers={"Authorization": "token nope"}) == 401
        assert len(fake.violations) == 8


def test_redirect_to_another_origin_does_not_carry_the_token(forge_server, kind):
    import http.server
    import threading

    target = forge_server.api_url(kind)

    class Redirect(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            self.send_response(302)
            self.send_header("Location", target + self.path)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Redirect)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    try:
        forge = make_forge(kind, SLUG, api_url=f"http://127.0.0.1:{server.server_address[1]}", token=forge_server.token)
        with pytest.raises(ForgeError) as info:
            forge.find_pull(BRANCH)
    finally:
        server.shutdown()
        server.server_close()
    assert info.value.status == 401
    redirected = forge_server.requests[-1]
    assert redirected.kind == kind
    assert not any(k.lower() in ("authorization", "private-token") for k in redirected.headers)
    assert not any(forge_server.token in v for v in redirected.headers.values())


def test_update_needs_something_to_change(forge_server, kind):
    with pytest.raises(ValueError):
        forge_for(forge_server, kind).update_pull(1)
