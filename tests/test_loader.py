"""The loader builds the same data as PyYAML's safe loader, and refuses what it must.

``kfix.yaml.loader.parse`` constructs plain documents itself (a fast path for mappings, lists and the
core scalar tags) and leaves everything else to PyYAML's constructor. These tests hold it to
PyYAML's results: generated data dumped in every style PyYAML writes (block, flow, mixed, with
anchors for shared objects), and hand-written documents for each construct the fast path hands on.
"""

from __future__ import annotations

import datetime

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kfix.errors import InputError
from kfix.yaml.loader import load_data, parse

try:
    _Loader = yaml.CSafeLoader
except AttributeError:  # pragma: no cover
    _Loader = yaml.SafeLoader


def pyyaml(text: str) -> list:
    return list(yaml.load_all(text, Loader=_Loader))


def kfix(text: str) -> list:
    return [d.data for d in parse(text)]


def same_data(a, b) -> bool:
    """Equal, and of the same types all the way down (1 == 1.0 == True would hide a wrong tag)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same_data(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(same_data(x, y) for x, y in zip(a, b))
    return a == b or (a != a and b != b)  # NaN


scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-10**20, 10**20),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.sampled_from(["yes", "no", "on", "off", "~", "null", "0755", "0x1F", "1e3", "1_000", ".5", "2024-01-02",
                     "2001-12-14t21:59:43.10-05:00", "1:20", "- x", "a: b", "#c", "'q'", '"d"', "*a", "&b", "!t"]),
    st.dates(), st.binary(max_size=8),
)
keys = st.one_of(st.text(max_size=8), st.integers(-5, 5), st.booleans(), st.none(), st.floats(allow_nan=False))
trees = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                      st.dictionaries(keys, inner, max_size=4)), max_leaves=25)


@st.composite
def documents(draw):
    """Data with some objects used twice (PyYAML writes those as anchor and alias)."""
    tree = draw(trees)
    shared = draw(st.lists(st.dictionaries(st.text(max_size=4), scalars, min_size=1, max_size=3), max_size=2))
    if shared and isinstance(tree, dict):
        for i, obj in enumerate(shared):
            tree[f"first{i}"] = obj
            tree[f"again{i}"] = obj
    return tree


@settings(max_examples=300, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(docs=st.lists(documents(), min_size=1, max_size=3), flow=st.sampled_from([False, True, None]),
       width=st.sampled_from([20, 80]), indent=st.sampled_from([2, 4]))
def test_parse_builds_what_pyyaml_builds(docs, flow, width, indent) -> None:
    text = yaml.safe_dump_all(docs, default_flow_style=flow, width=width, indent=indent, allow_unicode=True)
    try:
        expected = pyyaml(text)
    except yaml.YAMLError:  # PyYAML cannot read what it wrote: kfix refuses it too
        with pytest.raises(InputError):
            kfix(text)
        return
    actual = kfix(text)
    assert same_data(actual, expected), text
    assert same_data(load_data(text), expected), text


@pytest.mark.parametrize("text", [
    "a: &x {b: 1}\nc: *x\nd: [*x, *x]\n",
    "base: &b {cpu: 1m, memory: 2Mi}\nlimits:\n  <<: *b\n  cpu: 2m\n",
    "- &a [1, 2]\n- {<<: [{x: 1}, {y: 2}], z: 3}\n- *a\n",
    "bin: !!binary aGVsbG8=\nset: !!set {a, b}\nomap: !!omap [{a: 1}, {b: 2}]\npairs: !!pairs [{a: 1}, {a: 2}]\n",
    "s: !!str 123\ni: !!int '7'\nf: !!float '1'\nts: 2001-12-14 21:59:43.10 -5\nd: 2002-12-14\n",
    "? complex\n: value\n'quoted key': 1\n\"0755\": 0755\n1: one\n~: null key\nfalse: yes\n",
    "--- !!map\na: !!seq [1]\n--- !!str text\n---\n...\n",
    "text: |\n  block\n  lines\nfolded: >-\n  a\n  b\n",
    "",
])
def test_unusual_documents_match_pyyaml(text: str) -> None:
    assert same_data(kfix(text), pyyaml(text))


def test_aliases_give_one_object_like_pyyaml() -> None:
    (data,) = kfix("a: &x {b: [1]}\nc: *x\n")
    assert data["a"] is data["c"]


@pytest.mark.parametrize("text,words", [
    ("a: 1\nb: 2\na: 3\n", "duplicate key 'a'"),
    ("spec:\n  x: &s {k: 1}\n  y:\n    <<: *s\n    k: 2\n    k: 3\n", "duplicate key 'k'"),
    ("? [a, b]\n: c\n", "unhashable key"),
    ("a: !custom 1\n", "could not determine a constructor"),
    ("a: !!binary a\n", "failed to decode base64"),
    ("a: 1\n---\nb: !!int x\n", "a value does not fit its tag"),
    ("a: !!timestamp soon\n", "a value does not fit its tag"),
])
def test_refusals_keep_their_messages(text: str, words: str) -> None:
    with pytest.raises(InputError) as info:
        parse(text)
    assert words in info.value.message and info.value.line is not None


def test_timestamps_and_binary_are_typed_as_pyyaml_types_them() -> None:
    (data,) = kfix("when: 2024-05-06\nat: 2024-05-06T07:08:09Z\nraw: !!binary AAE=\n")
    assert data == {"when": datetime.date(2024, 5, 6),
                    "at": datetime.datetime(2024, 5, 6, 7, 8, 9, tzinfo=datetime.timezone.utc), "raw": b"\x00\x01"}
