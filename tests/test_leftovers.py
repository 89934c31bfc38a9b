"""No leftovers: a collection an edit empties goes with its key, and new list items take the list's quotes.

These are properties of the YAML source backend (kfix.yaml.editor), checked on its own here, byte for
byte; the golden cases (kfix/seccomp-legacy-annotations.yaml, kfix/quoted-capability-lists.yaml, the
unsafe outputs that remove added capabilities) show them through the whole pipeline.
"""

from __future__ import annotations

import pytest

from kfix import ops as O
from kfix.planner import verify
from kfix.yaml.editor import Editor, apply_splices
from kfix.yaml.loader import parse


def edit(text: str, op_list: list[O.Op]) -> str:
    doc = parse(text)[0]
    splices, expected = Editor(text, doc).edit(op_list)
    new = apply_splices(text, splices)
    verify(new, [expected])  # the text re-parses to exactly the data the editor promised
    return new


ANN = "seccomp.security.alpha.kubernetes.io/pod"


def test_emptied_mapping_goes_with_its_key() -> None:
    text = (f"spec:\n  template:\n    metadata:\n      labels:\n        app: a\n      annotations:\n"
            f"        {ANN}: runtime/default\n    spec: {{}}\n")
    assert edit(text, [O.Delete(("spec", "template", "metadata", "annotations", ANN))]) == \
        "spec:\n  template:\n    metadata:\n      labels:\n        app: a\n    spec: {}\n"


def test_emptied_list_goes_with_its_key_block_and_flow() -> None:
    text = "sc:\n  capabilities:\n    add:\n    - NET_ADMIN\n    - SYS_TIME\n    drop: [ALL]\n"
    assert edit(text, [O.Discard(("sc", "capabilities", "add"), "NET_ADMIN"),
                       O.Discard(("sc", "capabilities", "add"), "SYS_TIME")]) == \
        "sc:\n  capabilities:\n    drop: [ALL]\n"
    text = "sc:\n  capabilities:\n    add: [\"NET_ADMIN\"]   # needed by iptables\n    drop: [ALL]\n"
    assert edit(text, [O.Discard(("sc", "capabilities", "add"), "NET_ADMIN")]) == \
        "sc:\n  capabilities:\n    drop: [ALL]\n"


def test_emptying_cascades_up_to_a_parent_that_keeps_something() -> None:
    text = f"spec:\n  template:\n    metadata:\n      annotations:\n        {ANN}: runtime/default\n    spec: {{}}\n"
    assert edit(text, [O.Delete(("spec", "template", "metadata", "annotations", ANN))]) == \
        "spec:\n  template:\n    spec: {}\n"


def test_a_list_emptied_and_refilled_is_not_removed() -> None:
    text = "caps:\n  add:\n  - NET_ADMIN\n"
    assert edit(text, [O.Discard(("caps", "add"), "NET_ADMIN"), O.Append(("caps", "add"), "NET_BIND_SERVICE")]) \
        == "caps:\n  add:\n  - NET_BIND_SERVICE\n"


@pytest.mark.parametrize("text,expected", [
    # inside a flow mapping keys cannot be cut as lines: the empty value stays, as before
    ("sc: {capabilities: {add: [NET_ADMIN], drop: [ALL]}}\n", "sc: {capabilities: {add: [], drop: [ALL]}}\n"),
    # a key that shares its line with a list dash is not cut either
    ("sc:\n- add: [NET_ADMIN]\n  drop: [ALL]\n", None),
])
def test_emptied_collections_where_a_key_cannot_be_cut(text: str, expected: str | None) -> None:
    path = ("sc", "capabilities", "add") if text.startswith("sc: {") else ("sc", 0, "add")
    new = edit(text, [O.Discard(path, "NET_ADMIN")])
    if expected is not None:
        assert new == expected
    else:
        assert new == "sc:\n- add: []\n  drop: [ALL]\n"


def test_a_document_level_key_is_never_removed() -> None:
    assert edit(f"metadata:\n  annotations:\n    {ANN}: x\n", [O.Delete(("metadata", "annotations", ANN))]) == \
        "metadata: {}\n"


def test_crlf_kept_when_a_key_goes() -> None:
    text = f"spec:\r\n  metadata:\r\n    annotations:\r\n      {ANN}: x\r\n    name: n\r\n"
    assert edit(text, [O.Delete(("spec", "metadata", "annotations", ANN))]) == \
        "spec:\r\n  metadata:\r\n    name: n\r\n"


@pytest.mark.parametrize("text,expected", [
    ('drop: ["NET_RAW", "SYS_ADMIN"]\n', 'drop: ["NET_RAW", "SYS_ADMIN", "ALL"]\n'),
    ("drop: ['NET_RAW']\n", "drop: ['NET_RAW', 'ALL']\n"),
    ('drop:\n- "NET_RAW"\n', 'drop:\n- "NET_RAW"\n- "ALL"\n'),
    ("drop:\n  - 'NET_RAW'\n", "drop:\n  - 'NET_RAW'\n  - 'ALL'\n"),
    ('drop: ["NET_RAW", MKNOD]\n', 'drop: ["NET_RAW", MKNOD, ALL]\n'),  # mixed: plain, as before
    ("drop: [NET_RAW]\n", "drop: [NET_RAW, ALL]\n"),
])
def test_new_items_follow_the_lists_quotes(text: str, expected: str) -> None:
    assert edit(text, [O.Append(("drop",), "ALL")]) == expected


def test_quotes_never_change_a_values_type_or_text() -> None:
    assert edit("x: ['a']\n", [O.Append(("x",), 5), O.Append(("x",), "it's"), O.Append(("x",), True)]) == \
        "x: ['a', 5, 'it''s', true]\n"
    assert edit('x:\n- "a"\n', [O.Append(("x",), 'say "hi"\n')]) == 'x:\n- "a"\n- "say \\"hi\\"\\u000a"\n'
