"""``kfix scan --format sarif``: valid SARIF 2.1.0 (the official schema, vendored in tests/data) and what
GitHub code scanning additionally requires of an upload. Nothing is downloaded at test time."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

import pytest

from conftest import CASES, copy_case, run_kfix

jsonschema = pytest.importorskip("jsonschema")

SCHEMA_PATH = Path(__file__).parent / "data" / "sarif-schema-2.1.0.json"
VOTE = "dockersamples+example-voting-app/k8s-specifications__vote-deployment.yaml"
LEVELS = {"none", "note", "warning", "error"}


@pytest.fixture(scope="module")
def validator():
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    assert schema["$schema"] == "http://json-schema.org/draft-04/schema#"
    assert schema["id"].endswith("/sarif-schema-2.1.0.json")
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


def scan_sarif(cwd: Path, *paths: str) -> tuple[int, dict, str]:
    rc, out, err = run_kfix(["scan", "--format", "sarif", *paths], cwd=cwd)
    assert "Traceback" not in err
    return rc, json.loads(out), err


def assert_valid(validator, doc: dict) -> None:
    errors = sorted(validator.iter_errors(doc), key=lambda e: list(e.absolute_path))
    assert not errors, "\n".join(f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in errors[:10])


def _is_relative_uri_reference(uri: str) -> bool:
    """RFC 3986 relative reference with only unreserved, sub-delims, ':', '@', '/' and %XX escapes."""
    parts = urlsplit(uri)
    return (not parts.scheme and not parts.netloc and not uri.startswith("/") and not parts.query
            and not parts.fragment and re.fullmatch(r"(?:[A-Za-z0-9._~!$&'()*+,;=:@/-]|%[0-9A-Fa-f]{2})+", uri)
            is not None)


def assert_github_ready(doc: dict, root: Path) -> None:
    """GitHub code scanning's requirements beyond the schema (docs: 'SARIF support for code scanning')."""
    assert doc["version"] == "2.1.0" and len(doc["runs"]) == 1
    run = doc["runs"][0]
    driver = run["tool"]["driver"]
    assert driver["name"] == "kfix" and driver.get("version")
    rules = driver["rules"]
    ids = [r["id"] for r in rules]
    assert len(ids) == len(set(ids)), "rule ids must be unique"
    for rule in rules:
        assert rule["id"] and rule["shortDescription"]["text"] and rule["fullDescription"]["text"]
        assert rule.get("defaultConfiguration", {}).get("level", "warning") in LEVELS
        # code scanning's severity (a number 0.0-10.0 as a string), tags and the help shown beside an alert
        severity = rule["properties"]["security-severity"]
        assert re.fullmatch(r"\d+\.\d", severity) and 0 < float(severity) <= 10, severity
        assert "security" in rule["properties"]["tags"]
        assert rule["help"]["text"].strip() and rule["help"]["markdown"].startswith(f"**{rule['id']}**")
    bases = run["originalUriBaseIds"]
    assert bases["%SRCROOT%"]["uri"] == root.resolve().as_uri() + "/"
    seen = set()
    for result in run["results"]:
        assert result["ruleId"] in ids
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"], "ruleIndex must point at ruleId"
        assert result["message"]["text"].strip()
        assert result.get("level", "warning") in LEVELS
        assert result["locations"], "GitHub needs a location"
        location = result["locations"][0]["physicalLocation"]
        uri = location["artifactLocation"]["uri"]
        assert _is_relative_uri_reference(uri), uri
        path = root / unquote(uri)
        assert path.is_file(), f"{uri} does not name a file relative to the checkout"
        line = location["region"]["startLine"]
        assert isinstance(line, int) and 1 <= line <= len(path.read_bytes().split(b"\n"))
        prints = result["partialFingerprints"]
        assert prints and all(isinstance(v, str) and v for v in prints.values())
        key = (result["ruleId"], tuple(sorted(prints.items())))
        assert key not in seen, f"two results share a fingerprint (GitHub would merge them): {result['message']}"
        seen.add(key)


def test_vendored_schema_is_the_official_one() -> None:
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    assert schema["title"] == "Static Analysis Results Format (SARIF) Version 2.1.0 JSON Schema"
    assert schema["properties"]["version"]["enum"] == ["2.1.0"]
    assert {"result", "run", "tool", "toolComponent", "reportingDescriptor", "location"} <= set(schema["definitions"])
    assert (Path(__file__).parent / "data" / "README.md").is_file()


def test_the_validator_rejects_broken_sarif(validator) -> None:
    """The check has teeth: typical mistakes fail validation."""
    base = {"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "kfix"}}, "results": []}]}
    assert_valid(validator, base)
    bad = [
        {"version": "2.0.0", "runs": []},
        {"version": "2.1.0", "runs": [{"results": []}]},
        {"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "kfix"}}, "results": [{"ruleId": "x"}]}]},
        {"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "kfix"}},
                                       "results": [{"message": {"text": "m"}, "level": "fatal"}]}]},
        {"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "kfix"}}, "results": [
            {"message": {"text": "m"}, "locations": [{"physicalLocation": {"region": {"startLine": 0}}}]}]}]},
    ]
    for doc in bad:
        assert list(validator.iter_errors(doc)), doc


def test_sarif_for_one_file(tmp_path: Path, validator) -> None:
    copy_case(VOTE, tmp_path, "vote.yaml")
    rc, doc, _err = scan_sarif(tmp_path, "vote.yaml")
    assert rc == 1
    assert_valid(validator, doc)
    assert_github_ready(doc, tmp_path)
    results = doc["runs"][0]["results"]
    ape = [r for r in results if r["ruleId"] == "no-privilege-escalation"]
    assert len(ape) == 1
    location = ape[0]["locations"][0]["physicalLocation"]
    assert location["artifactLocation"]["uri"] == "vote.yaml"
    assert location["region"]["startLine"] == 18


def test_sarif_for_every_golden_case(tmp_path: Path, validator) -> None:
    """All 100 real and hand-made manifests in one run: exempt, unsafe, report-only and bad files."""
    shutil.copytree(CASES, tmp_path / "cases")
    rc, doc, err = scan_sarif(tmp_path, "cases")
    assert rc == 2, "the corpus holds files with duplicate keys"
    assert "duplicate key" in err
    assert_valid(validator, doc)
    assert_github_ready(doc, tmp_path)
    results = doc["runs"][0]["results"]
    assert len(results) > 500
    assert {r["level"] for r in results} <= {"note", "warning"}
    statuses = {r["properties"]["status"] for r in results}
    assert {"fix", "unsafe", "report", "exempt"} <= statuses
    # exempted findings are uploaded as suppressed results (GitHub shows them as dismissed, not as open alerts)
    rc, json_out, _ = run_kfix(["scan", "--format", "json", "cases"], cwd=tmp_path)
    findings = json.loads(json_out)["findings"]
    assert len(results) == len(findings)
    suppressed = [r for r in results if "suppressions" in r]
    assert len(suppressed) == sum(1 for f in findings if f["status"] == "exempt") > 0
    for result in suppressed:
        assert result["properties"]["status"] == "exempt" and result["level"] == "note"
        (suppression,) = result["suppressions"]
        assert suppression["kind"] == "inSource" and suppression["justification"].startswith("exempted by ")
    assert not any("suppressions" in r for r in results if r["properties"]["status"] != "exempt")


def test_sarif_with_nothing_to_report(tmp_path: Path, validator) -> None:
    (tmp_path / "settings.yaml").write_text("log_level: debug\n")
    rc, doc, _err = scan_sarif(tmp_path, ".")
    assert rc == 0
    assert_valid(validator, doc)
    assert doc["runs"][0]["results"] == []
    assert doc["runs"][0]["tool"]["driver"]["rules"], "rules are listed even without results"


def test_uris_are_relative_and_percent_encoded(tmp_path: Path, validator) -> None:
    for name in ("my deploy.yaml", "d\u00e9ploiement #1 (100%).yaml"):
        copy_case(VOTE, tmp_path / "apps" / "web site", name)
    rc, doc, _err = scan_sarif(tmp_path, ".")
    assert_valid(validator, doc)
    assert_github_ready(doc, tmp_path)
    uris = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in doc["runs"][0]["results"]}
    assert uris == {"apps/web%20site/my%20deploy.yaml",
                    "apps/web%20site/" + quote("d\u00e9ploiement #1 (100%).yaml", safe="")}
    # run from elsewhere with an absolute path inside the working directory: still relative
    rc, doc2, _err = scan_sarif(tmp_path, str(tmp_path / "apps"))
    assert {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in doc2["runs"][0]["results"]} == uris


def test_fingerprints_survive_unrelated_edits(tmp_path: Path) -> None:
    """A line inserted above moves startLine but keeps every partialFingerprint (no alert churn on GitHub)."""
    vote = copy_case(VOTE, tmp_path, "vote.yaml")
    _rc, before, _ = scan_sarif(tmp_path, "vote.yaml")
    vote.write_text("# owned by the voting team\n\n" + vote.read_text())
    _rc, after, _ = scan_sarif(tmp_path, "vote.yaml")
    old, new = before["runs"][0]["results"], after["runs"][0]["results"]
    assert [r["partialFingerprints"] for r in old] == [r["partialFingerprints"] for r in new]
    assert [r["locations"][0]["physicalLocation"]["region"]["startLine"] + 2 for r in old] == \
        [r["locations"][0]["physicalLocation"]["region"]["startLine"] for r in new]


def test_sarif_is_deterministic(tmp_path: Path) -> None:
    shutil.copytree(CASES / "kubernetes+examples", tmp_path / "k")
    first = run_kfix(["scan", "--format", "sarif", "k"], cwd=tmp_path)
    second = run_kfix(["scan", "--format", "sarif", "--jobs", "2", "k"], cwd=tmp_path)
    assert first == second


def test_bad_input_still_gives_a_valid_document(tmp_path: Path, validator) -> None:
    copy_case(VOTE, tmp_path, "vote.yaml")
    (tmp_path / "broken.yaml").write_text("a: [\n")
    rc, doc, err = scan_sarif(tmp_path, ".")
    assert rc == 2 and "error: ./broken.yaml:" in err
    assert_valid(validator, doc)
    assert doc["runs"][0]["results"]
