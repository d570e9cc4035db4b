"""Hostile and malformed YAML: engine/yamlsafe.py composes, never constructs, and
reports tags, anchors, aliases, duplicate keys and syntax errors with positions."""
from __future__ import annotations

import time

import pytest

from engine import yamlsafe
from engine.yamlsafe import MappingNode, ScalarNode, SequenceNode, compose

PATH = "documents/2025/01/inv-1.yaml"


def _messages(diagnostics):
    return [d.message for d in diagnostics]


def _pairs(node):
    return {key.value: value for key, value in node.value}


def test_plain_scalars_stay_text_whatever_they_look_like():
    root, diagnostics = compose(b"a: NO\nb: 0123\nc: 8.10\nd: 2025-01-05\ne: yes\nf: 1e3\n", PATH)
    assert diagnostics == []
    values = {k: v.value for k, v in _pairs(root).items()}
    assert values == {"a": "NO", "b": "0123", "c": "8.10", "d": "2025-01-05", "e": "yes",
                      "f": "1e3"}
    assert all(v.tag == yamlsafe.STR_TAG for v in _pairs(root).values())


@pytest.mark.parametrize("payload", [
    "!!python/object/apply:os.system ['touch {marker}']",
    "!!python/object/apply:subprocess.check_output [['touch', '{marker}']]",
    "!!python/object/new:subprocess.Popen [['touch', '{marker}']]",
    "!!python/name:os.system",
])
def test_python_tags_are_refused_and_never_run(tmp_path, payload):
    marker = tmp_path / "pwned"
    text = "kind: invoice\nnotes: %s\n" % payload.format(marker=marker)
    root, diagnostics = compose(text.encode(), PATH)
    assert not marker.exists()
    assert len(diagnostics) == 1
    problem = diagnostics[0]
    assert (problem.path, problem.line, problem.col, problem.field) == (PATH, 2, 8, "notes")
    assert "!!python/" in problem.message and "not allowed" in problem.message
    # the refused value is replaced by a node the loader skips
    assert yamlsafe.is_skip(_pairs(root)["notes"])


def test_non_core_tags_are_refused_but_core_tags_accepted():
    text = b"a: !!binary aGk=\nb: !custom x\nc: !!set {x: ~}\nd: !!str 12\ne: !!int 7\n" \
           b"f: !!map {g: 1}\nh: !!seq [1]\n"
    root, diagnostics = compose(text, PATH)
    assert [(d.line, d.field) for d in diagnostics] == [(1, "a"), (2, "b"), (3, "c")]
    pairs = _pairs(root)
    assert pairs["d"].value == "12" and pairs["e"].value == "7"
    assert not any(yamlsafe.is_skip(pairs[k]) for k in "defh")


def test_a_tag_on_a_collection_of_the_wrong_shape_is_refused():
    root, diagnostics = compose(b"a: !!map [1, 2]\n", PATH)
    assert len(diagnostics) == 1 and "!!map" in diagnostics[0].message


def test_tags_deep_inside_are_found_with_their_dotted_field():
    text = b"lines:\n  - description: x\n    vat: !!float 8.1\n  - description: !!python/none ''\n"
    _, diagnostics = compose(text, PATH)
    assert [(d.line, d.col, d.field) for d in diagnostics] == [(4, 18, "lines.2.description")]


def test_anchors_and_aliases_are_refused_with_their_positions():
    text = b"customer: &c acme\nnotes: *c\nlines:\n  - &l {description: a}\n  - *l\n"
    root, diagnostics = compose(text, PATH)
    found = [(d.line, d.col, d.field) for d in diagnostics]
    assert found == [(1, 11, "customer"), (2, 8, "notes"), (4, 5, "lines.1"), (5, 5, "lines.2")]
    assert "anchor '&c'" in diagnostics[0].message
    assert "alias '*c'" in diagnostics[1].message
    # the aliased collection is not shared any more: the second use is cut
    items = _pairs(root)["lines"].value
    assert items[0].__class__ is MappingNode and yamlsafe.is_skip(items[1])


def test_an_anchor_without_alias_is_still_an_error():
    _, diagnostics = compose(b"name: &n ACME\n", "contacts/acme.yaml")
    assert len(diagnostics) == 1 and "anchor '&n'" in diagnostics[0].message


def test_an_ampersand_in_text_is_no_anchor():
    root, diagnostics = compose(b"name: R&D * Co\nnotes: '&x *y'\n", "contacts/acme.yaml")
    assert diagnostics == []
    assert _pairs(root)["name"].value == "R&D * Co"


def _billion_laughs(levels: int = 10, width: int = 10) -> bytes:
    lines = [b'l0: &l0 ["lol"]']
    for level in range(1, levels):
        refs = b", ".join(b"*l%d" % (level - 1) for _ in range(width))
        lines.append(b"l%d: &l%d [%s]" % (level, level, refs))
    return b"\n".join(lines) + b"\n"


def test_alias_bomb_is_refused_fast():
    bomb = _billion_laughs()               # 10**9 "lol" if expanded
    started = time.perf_counter()
    root, diagnostics = compose(bomb, PATH)
    elapsed = time.perf_counter() - started
    assert elapsed < 0.5
    assert sum(m.startswith("alias '*") for m in _messages(diagnostics)) == 9 * 10
    assert sum(m.startswith("anchor '&") for m in _messages(diagnostics)) == 10
    # every alias use is cut, so nothing walking the tree can explode
    for _, value in root.value:
        assert all(yamlsafe.is_skip(item) or item.__class__ is ScalarNode
                   for item in value.value)


def test_duplicate_keys_name_the_second_with_the_line_of_the_first():
    text = b"kind: invoice\ncustomer: a\ndate: 2025-01-05\ncustomer: b\n"
    root, diagnostics = compose(text, PATH)
    assert len(diagnostics) == 1
    problem = diagnostics[0]
    assert (problem.line, problem.col, problem.field) == (4, 1, "customer")
    assert "duplicate key 'customer'" in problem.message and "line 2" in problem.message
    # only the first stays, so nothing downstream silently takes the last
    assert _pairs(root)["customer"].value == "a"
    assert [k.value for k, _ in root.value] == ["kind", "customer", "date"]


def test_nested_duplicate_keys_are_found():
    text = b"lines:\n  - {description: a, vat: 1, vat: 2}\n"
    _, diagnostics = compose(text, PATH)
    assert [(d.line, d.field) for d in diagnostics] == [(2, "lines.1.vat")]


def test_a_collection_as_key_is_refused():
    _, diagnostics = compose(b"? [a, b]\n: 1\n", PATH)
    assert len(diagnostics) == 1 and "key" in diagnostics[0].message


@pytest.mark.parametrize("text, line", [
    (b"kind: invoice\nlines: [\n", 3),
    (b"kind: invoice\n  customer: x\n", 2),
    (b"a: 'unterminated\n", 2),
])
def test_syntax_errors_give_a_position(text, line):
    root, diagnostics = compose(text, PATH)
    assert root is None
    assert len(diagnostics) == 1
    assert diagnostics[0].line == line and diagnostics[0].message.startswith("YAML syntax error")


def test_more_than_one_document_is_refused():
    root, diagnostics = compose(b"a: 1\n---\nb: 2\n", PATH)
    assert root is None and "single document" in diagnostics[0].message


def test_empty_text_gives_no_root_and_no_error():
    assert compose(b"", PATH) == (None, [])
    assert compose(b"# only a comment\n", PATH) == (None, [])


def test_bad_encoding_and_control_characters_are_reported():
    _, diagnostics = compose(b"a: b\nc: \xc3\x28\n", PATH)
    assert diagnostics[0].line == 2 and "UTF-8" in diagnostics[0].message
    _, diagnostics = compose(b"a: b\x07\n", PATH)
    assert diagnostics[0].line == 1 and "#x0007" in diagnostics[0].message


def test_deep_nesting_is_refused_without_crashing():
    depth = 100_000                         # would overflow libyaml's recursive composer
    started = time.perf_counter()
    root, diagnostics = compose(b"x: " + b"[" * depth + b"]" * depth + b"\n", PATH)
    assert root is None and "nest" in diagnostics[0].message
    assert time.perf_counter() - started < 1
    # ordinary nesting is fine
    root, diagnostics = compose(b"x: " + b"[" * 50 + b"]" * 50 + b"\n", PATH)
    assert diagnostics == [] and _pairs(root)["x"].__class__ is SequenceNode


def test_str_input_is_accepted_like_bytes():
    assert _pairs(compose("name: Zürich\n", PATH)[0])["name"].value == "Zürich"
    assert _pairs(compose("name: Zürich\n".encode(), PATH)[0])["name"].value == "Zürich"


def test_is_null_knows_plain_nulls_but_not_quoted_ones():
    root, _ = compose(b"a:\nb: ~\nc: null\nd: NULL\ne: ''\nf: 'null'\ng: !!null x\nh: none\n",
                      PATH)
    nulls = {key: yamlsafe.is_null(value) for key, value in _pairs(root).items()}
    assert nulls == {"a": True, "b": True, "c": True, "d": True, "e": False, "f": False,
                     "g": True, "h": False}


# --------------------------------------------------------------------------- the resolver's shortcut

class _ReferenceLoader(yamlsafe._Parser, yamlsafe.BaseResolver):
    """libyaml with PyYAML's own BaseResolver methods: what _Loader replaces."""

    def __init__(self, stream):
        yamlsafe._Parser.__init__(self, stream)
        yamlsafe.BaseResolver.__init__(self)


def _tree(loader_class, text):
    loader = loader_class(text)
    try:
        root = loader.get_single_node()
    finally:
        loader.dispose()

    def walk(node):
        mark = (node.start_mark.line, node.start_mark.column)
        if node.__class__ is ScalarNode:
            return ("scalar", node.tag, node.value, node.style, mark)
        if node.__class__ is SequenceNode:
            return ("seq", node.tag, node.flow_style, mark, [walk(n) for n in node.value])
        return ("map", node.tag, node.flow_style, mark,
                [(walk(k), walk(v)) for k, v in node.value])
    return None if root is None else walk(root)


_RESOLVER_TEXTS = [
    "kind: invoice\nnumber: 0123\nvat: 8.10\nok: NO\nwhen: 2025-01-05\nnone: ~\nempty:\n",
    "a: !!str 1\nb: !!int 2\nc: ! 3\nd: !!null\ne: !!bool yes\nf: !!float .5\n",
    "{kind: invoice, lines: [{quantity: \"1\", unit_price: '2'}], x: [1, 2, {}]}\n",
    "notes: |\n  reminders:\n    - level: 1\nother: >-\n  folded\n  text\n",
    "? complex\n: value\n\"quoted key\": 1\n'single': 2\n",
    "a: &x {b: 1}\nc: *x\nd: !!map {e: 1}\nf: !!seq [1]\ng: !custom tag\n",
    "---\n- 1\n- [a, b]\n- {c: d}\n- !!str\n...\n",
    "\ufeffkind: invoice\r\ncustomer: acme  \r\n# comment\r\nlines: []",
    "just a scalar",
    "",
]


@pytest.mark.parametrize("text", _RESOLVER_TEXTS)
def test_the_resolver_shortcut_tags_every_node_as_pyyaml_would(text):
    # _Loader answers the resolver's questions without PyYAML's Python code;
    # every node of every shape, tagged or not, must get the same tag
    assert yamlsafe.BaseResolver.yaml_implicit_resolvers == {}
    assert yamlsafe.BaseResolver.yaml_path_resolvers == {}
    assert _tree(yamlsafe._Loader, text) == _tree(_ReferenceLoader, text)
