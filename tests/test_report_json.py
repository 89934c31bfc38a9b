"""The JSON reports are laid out by ``kfix.report.pretty_json``: byte for byte what ``json.dumps(indent=2)`` gives."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from kfix import __version__
from kfix.planner import Reported
from kfix.report import as_json, finding_dict, pretty_json
from kfix.rules import Finding, Fix

scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True, allow_infinity=True) | st.text()
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4) | st.tuples(inner, inner)
                      | st.dictionaries(st.text(), inner, max_size=4), max_leaves=30)


@given(values)
def test_same_text_as_json_dumps(value):
    assert pretty_json(value) == json.dumps(value, indent=2)


@given(st.dictionaries(st.integers() | st.none() | st.booleans(), scalars, min_size=1, max_size=3))
def test_keys_json_converts_go_to_json(value):
    assert pretty_json({"a": [value]}) == json.dumps({"a": [value]}, indent=2)


def test_a_finding_report():
    report = {"version": "1", "findings": [{"rule": "r", "line": 3, "container": None, "checks": [],
                                            "message": "caf\u00e9 \"x\"\n\u2028", "more": ["a", "b"]}]}
    assert pretty_json(report) == json.dumps(report, indent=2)


reported = st.builds(
    lambda rule, facet, message, fix, container, checks, file, line, resource, status, note: Reported(
        Finding(rule, facet, message, fix, ("spec",), container, (), frozenset(checks)), file, line, resource,
        status, note),
    st.text(), st.text(), st.text(), st.sampled_from(list(Fix)), st.none() | st.text(),
    st.lists(st.text(), max_size=3), st.text(min_size=1).filter(lambda p: "\x00" not in p), st.integers(),
    st.text(), st.text(), st.text())


@given(st.lists(reported, max_size=4))
def test_the_findings_report_is_json_dumps_text(findings):
    expected = json.dumps({"version": __version__, "findings": [finding_dict(r) for r in findings]}, indent=2)
    assert as_json(findings) == expected + "\n"
