"""Which cdk8s-plus release a file is built with (lock files, declared requirements, the installed
distribution), and what kfix then adds or reports; read from real files in temporary project folders."""

from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path

import pytest
from packaging.version import Version

from kfix.api import make_options
from kfix.config import Config
from kfix.python import cdk8s_plus as plus
from kfix.python import versions
from kfix.python.plan import plan_python
from kfix.rules import Inventory

DIST = "cdk8s-plus-30"


@pytest.fixture(autouse=True)
def _fresh_caches():
    versions._declared.cache_clear()
    versions._installed.cache_clear()
    yield
    versions._declared.cache_clear()
    versions._installed.cache_clear()


def _project(tmp_path: Path, files: dict[str, str]) -> str:
    (tmp_path / ".git").mkdir(parents=True)
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return str(tmp_path / "app" / "main.py")


@pytest.mark.parametrize("files,version,exact", [
    ({"requirements.txt": "cdk8s>=2\ncdk8s-plus-30==2.2.6  # pinned\n"}, "2.2.6", True),
    ({"requirements-dev.txt": "cdk8s_plus_30 >= 2.1, <3\n"}, "2.1", False),
    ({"app/requirements.txt": "cdk8s-plus-30~=2.0.4\n", "requirements.txt": "cdk8s-plus-30==2.2.6\n"}, "2.0.4", False),
    ({"pyproject.toml": '[project]\nname = "x"\ndependencies = ["cdk8s-plus-30>=2.2.1"]\n'}, "2.2.1", False),
    ({"pyproject.toml": '[tool.poetry.dependencies]\npython = "^3.11"\ncdk8s-plus-30 = "^2.1.0"\n'}, "2.1.0", False),
    ({"pyproject.toml": '[tool.poetry.group.deploy.dependencies]\n"cdk8s-plus-30" = {version = "2.2.0"}\n'},
     "2.2.0", True),
    ({"Pipfile": '[packages]\ncdk8s-plus-30 = "*"\n',
      "Pipfile.lock": json.dumps({"default": {"cdk8s-plus-30": {"version": "==2.0.9"}}})}, "2.0.9", True),
    ({"Pipfile": '[packages]\ncdk8s-plus-30 = ">=2.2"\n'}, "2.2", False),
    ({"pyproject.toml": '[project]\nname = "x"\n', "poetry.lock": '[[package]]\nname = "cdk8s-plus-30"\nversion = "2.1.3"\n'},
     "2.1.3", True),
    ({"uv.lock": '[[package]]\nname = "cdk8s-plus-30"\nversion = "2.2.2"\n'}, "2.2.2", True),
    ({"setup.py": 'from setuptools import setup\nsetup(install_requires=["cdk8s-plus-30==2.0.1", "cdk8s"])\n'},
     "2.0.1", True),
    ({"setup.cfg": "[options]\ninstall_requires =\n    cdk8s-plus-30>=2.2.3\n"}, "2.2.3", False),
])
def test_declared_release(tmp_path: Path, files: dict, version: str, exact: bool) -> None:
    release = versions.release_of(DIST, _project(tmp_path, files))
    assert release is not None
    assert release.version == Version(version) and release.exact is exact


def test_nothing_declared_above_the_repository_root_counts(tmp_path: Path) -> None:
    (tmp_path / "requirements.txt").write_text("cdk8s-plus-30==2.2.6\n")
    path = _project(tmp_path / "repo", {"app/requirements.txt": "cdk8s\n", "pyproject.toml": "[project]\nname='x'\n"})
    assert versions.release_of(DIST, path) is None


def test_broken_declarations_are_ignored(tmp_path: Path) -> None:
    path = _project(tmp_path, {"pyproject.toml": "[project\n", "Pipfile.lock": "{not json",
                               "requirements.txt": "cdk8s-plus-30 @@@\n"})
    assert versions.release_of(DIST, path) is None


def test_installed_distribution_is_used_when_nothing_is_pinned(tmp_path: Path, monkeypatch) -> None:
    site = tmp_path / "site"
    info = site / "cdk8s_plus_30-2.2.6.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: cdk8s-plus-30\nVersion: 2.2.6\n")
    monkeypatch.syspath_prepend(str(site))
    path = _project(tmp_path / "p", {"requirements.txt": "cdk8s-plus-30>=2.0\n"})
    release = versions.release_of(DIST, path)
    assert release is not None and release.version == Version("2.2.6") and release.source == "installed"
    pinned = _project(tmp_path / "q", {"requirements.txt": "cdk8s-plus-30==2.0.3\n"})
    assert versions.release_of(DIST, pinned).version == Version("2.0.3")  # the project's pin wins


def _line(major: int, version: str | None, exact: bool = True) -> plus.Line:
    return plus.Line(major, versions.Release(Version(version), "test", exact) if version else None)


@pytest.mark.parametrize("major,version,capabilities,seccomp", [
    (26, "2.18.90", False, False),
    (27, "2.8.9", False, False),
    (27, "2.9.0", True, False),
    (27, None, None, False),
    (28, "2.4.0", True, False),
    (29, "2.5.0", True, True),
    (30, None, True, None),
    (30, "2.2.0", True, True),
    (31, None, True, True),
    (33, None, True, True),
])
def test_features_by_release(major: int, version: str | None, capabilities, seccomp) -> None:
    """From the cdk8s-plus source history: capabilities from -27 2.9.0 / -28, -29 2.3.0 / -30; a container
    seccompProfile from -28, -29 2.5.0 / -30 2.2.0 / -31."""
    line = _line(major, version)
    assert line.has("capabilities") is capabilities
    assert line.has("seccompProfile") is seccomp


@pytest.mark.parametrize("major,version,exact,defaults,user", [
    (21, None, True, False, False),
    (22, "2.0.0rc100", True, False, False),
    (22, "2.0.0rc158", True, True, True),
    (23, "2.0.36", True, True, True),
    (23, "2.0.37", True, True, False),
    (25, "2.0.35", False, True, False),  # only the lowest admitted release is known: no user default assumed
    (25, None, True, True, False),
    (30, "2.2.6", True, True, False),
])
def test_defaults_by_release(major, version, exact, defaults, user) -> None:
    line = _line(major, version, exact)
    assert line.defaults() is defaults
    assert line.user_defaults() is user


PLUS_APP = '''\
import cdk8s_plus_{major} as kplus
from cdk8s import Chart


class App(Chart):
    def __init__(self, scope, id):
        super().__init__(scope, id)
        kplus.Deployment(self, "web", containers=[kplus.ContainerProps(image="web:1")])
'''


def _plan(tmp_path: Path, major: int, requirement: str | None):
    files = {"app/main.py": PLUS_APP.format(major=major)}
    if requirement:
        files["requirements.txt"] = requirement + "\n"
    path = _project(tmp_path, files)
    plan = plan_python(path, Path(path).read_bytes(), make_options(Config()), Inventory())
    assert plan.error is None, plan.error
    return plan


def test_what_is_added_follows_the_pinned_release(tmp_path: Path) -> None:
    old = _plan(tmp_path / "old", 30, "cdk8s-plus-30==2.1.0")
    assert "capabilities=kplus.ContainerSecutiryContextCapabilities(" in old.new_text
    assert "seccomp_profile" not in old.new_text
    seccomp = next(r for r in old.findings if r.rule == "seccomp-runtime-default")
    assert seccomp.status == "unfixable" and "cdk8s-plus-30 2.1.0" in seccomp.note and "-30 2.2.0" in seccomp.note
    new = _plan(tmp_path / "new", 30, "cdk8s-plus-30==2.2.6")
    assert "seccomp_profile=kplus.SeccompProfile(type=kplus.SeccompProfileType.RUNTIME_DEFAULT)" in new.new_text
    assert all(r.status != "unfixable" for r in new.findings if r.rule == "seccomp-runtime-default")
    unknown = _plan(tmp_path / "unknown", 30, None)
    seccomp = next(r for r in unknown.findings if r.rule == "seccomp-runtime-default")
    assert seccomp.status == "unfixable" and "cannot tell which release" in seccomp.note


def test_early_releases_with_user_defaults_need_no_user(tmp_path: Path) -> None:
    early = _plan(tmp_path / "early", 24, "cdk8s-plus-24==2.0.10")
    late = _plan(tmp_path / "late", 24, "cdk8s-plus-24==2.12.1")
    assert early.new_text is None  # the library's user 25000 / group 26000: nothing kfix can add there
    assert not [r for r in early.findings if r.rule == "run-as-non-root"]
    assert "user=10001" in late.new_text and "group=10001" in late.new_text


if __name__ == "__main__":  # pragma: no cover
    sys.exit(pytest.main([__file__, "-q"]))


def test_cdk8s_plus_exemptions_from_annotations_the_code_adds(tmp_path: Path) -> None:
    """``kfix.dev/ignore`` (and other tools' exemptions) written through cdk8s-plus's own API are honoured."""
    text = textwrap.dedent('''\
        import cdk8s
        import cdk8s_plus_30 as kplus

        web = kplus.Deployment(None, "web", containers=[kplus.ContainerProps(image="web:1")])
        web.metadata.add_annotation("kfix.dev/ignore", "drop-capabilities")
        api = kplus.Deployment(
            None,
            "api",
            pod_metadata=cdk8s.ApiObjectMetadata(annotations={"kfix.dev/ignore": "all"}),
            containers=[kplus.ContainerProps(image="api:1")],
        )
    ''')
    path = tmp_path / "app.py"
    path.write_text(text)
    plan = plan_python(str(path), text.encode(), make_options(Config(), select=["drop-capabilities"]), Inventory())
    assert [(r.resource, r.status) for r in plan.findings] == [("Deployment/web", "exempt"), ("Deployment/api", "exempt")]
    assert plan.new_text is None
