"""The JSON reports are laid out by ``kfix.report.pretty_json``: byte for byte what ``json.dumps(indent=2)`` gives."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from kfix.report import pretty_json

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
