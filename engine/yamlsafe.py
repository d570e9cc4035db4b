"""YAML text -> a position-carrying node tree, with nothing constructed.

facturier never lets YAML decide what a value is: the loader (engine/loader.py)
reads each scalar's *text* by the type of its field. So this module only
*composes* the text into nodes, with libyaml's C parser and PyYAML's
``BaseResolver``, which has no implicit resolvers: every untagged scalar gets
the ``str`` tag, whatever it looks like (``NO``, ``0123``, ``8.10``,
``2025-01-05``), and any other tag on a node was written explicitly.

Nothing is ever constructed, so a tag such as ``!!python/object/apply:os.system``
cannot run anything; it is reported as an error. Besides, :func:`compose`
reports (SPEC 1.1):

- any tag outside YAML's core tags (str, int, float, bool, null, map, seq);
- anchors and aliases (an alias reuses the anchored node object, which the C
  composer never copies, so an alias bomb costs nothing here and is refused);
- duplicate keys in a mapping (the second occurrence, with the line of the first);
- keys that are not scalars;
- YAML syntax errors, and a stream holding more than one document.

After :func:`compose` the tree is clean: duplicate pairs are removed, and nodes
that must not be read (an alias, a node with a refused tag) are replaced by a
:data:`SKIP` scalar, already reported, which the loader passes over. Nodes
keep ``start_mark.line`` / ``start_mark.column`` (0-based); :func:`where`
gives the 1-based pair diagnostics use.

This module is pure: text in, nodes and diagnostics out.
"""
from __future__ import annotations

from typing import Optional, Union

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from yaml.resolver import BaseResolver

from .diagnostics import Diagnostic
from .i18n import Message

try:                                    # libyaml: ~10x faster than the pure-Python parser
    from yaml._yaml import CParser as _Parser   # what yaml.cyaml re-exports
except ImportError:                     # pragma: no cover - pyyaml built without libyaml
    from yaml.composer import Composer
    from yaml.parser import Parser
    from yaml.reader import Reader
    from yaml.scanner import Scanner

    class _Parser(Reader, Scanner, Parser, Composer):     # type: ignore[no-redef]
        def __init__(self, stream):
            Reader.__init__(self, stream)
            Scanner.__init__(self)
            Parser.__init__(self)
            Composer.__init__(self)

        def dispose(self):
            pass

__all__ = ["compose", "where", "is_skip", "is_null", "SKIP_TAG", "MappingNode", "ScalarNode",
           "SequenceNode", "Node"]

_CORE = "tag:yaml.org,2002:"
STR_TAG = _CORE + "str"
NULL_TAG = _CORE + "null"
SCALAR_TAGS = frozenset(_CORE + t for t in ("str", "int", "float", "bool", "null"))
MAPPING_TAGS = frozenset((_CORE + "map",))
SEQUENCE_TAGS = frozenset((_CORE + "seq",))
SKIP_TAG = "tag:facturier,2025:skip"        # a node already reported: the loader ignores it

# YAML 1.2 core schema spellings of null, for a *plain* (unquoted) scalar
NULL_TEXTS = frozenset(("", "~", "null", "Null", "NULL"))


_DEFAULT_TAGS = {ScalarNode: BaseResolver.DEFAULT_SCALAR_TAG,
                 SequenceNode: BaseResolver.DEFAULT_SEQUENCE_TAG,
                 MappingNode: BaseResolver.DEFAULT_MAPPING_TAG}


class _Loader(_Parser, BaseResolver):
    """libyaml's parser and composer, with a resolver that knows no implicit types."""

    def __init__(self, stream):
        _Parser.__init__(self, stream)
        BaseResolver.__init__(self)

    # BaseResolver has neither implicit nor path resolvers, so what it answers
    # for a node that carries no tag is its kind's default tag, whatever the
    # value; these say exactly that without its Python work, which the C
    # composer calls three times per node (a quarter of composing a file).
    # tests/test_yamlsafe.py checks them against BaseResolver's own answers.
    def resolve(self, kind, value, implicit):
        return _DEFAULT_TAGS[kind]

    def descend_resolver(self, current_node, current_index):
        return None

    def ascend_resolver(self):
        return None


def where(node: Node) -> tuple[int, int]:
    """1-based (line, column) of a node's start."""
    mark = node.start_mark
    return mark.line + 1, mark.column + 1


def is_skip(node: Node) -> bool:
    return node.tag == SKIP_TAG


def is_null(node: Node) -> bool:
    """True for an empty plain value, ``~``, ``null`` (any core spelling) or ``!!null``.

    A quoted ``""`` or ``"null"`` is text, not null.
    """
    if node.__class__ is not ScalarNode:
        return False
    if node.tag == NULL_TAG:
        return True
    return not node.style and node.value in NULL_TEXTS


def _skip_node(node: Node) -> ScalarNode:
    return ScalarNode(SKIP_TAG, "", node.start_mark, node.end_mark)


def _say(code: str, **params) -> str:
    """A diagnostic's text: the English of catalogue message ``code``
    (engine/i18n.py), read back in the person's language by the faces."""
    return str(Message(code, **params))


def _show_tag(tag: str) -> str:
    if tag.startswith(_CORE):
        return "!!" + tag[len(_CORE):]
    return tag


def compose(data: Union[bytes, str], path: str) -> tuple[Optional[Node], list[Diagnostic]]:
    """Compose one YAML document; return (root node or None, diagnostics).

    The root is None for an empty stream (no document at all) and for a text that
    does not parse. Every diagnostic is an error.
    """
    diagnostics: list[Diagnostic] = []
    if _may_be_deep(data):
        too_deep = _too_deep(data, path)
        if too_deep is not None:
            return None, [too_deep]
    loader = _Loader(data)
    try:
        root = loader.get_single_node()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        message = exc.problem or "invalid YAML"
        if exc.context:
            message = "%s %s" % (exc.context, message)
        if mark is not None:
            diagnostics.append(Diagnostic(path, mark.line + 1, mark.column + 1, "",
                                          _say("yaml.syntax", message=message)))
        else:
            diagnostics.append(Diagnostic(path, 0, 0, "", _say("yaml.syntax", message=message)))
        return None, diagnostics
    except yaml.reader.ReaderError as exc:  # bad encoding, control characters
        line, col = _line_col(data, exc.position)
        if isinstance(exc.character, bytes) or "UTF" in (exc.reason or "") \
                or "octet" in (exc.reason or ""):
            message = _say("yaml.not_utf8", reason=exc.reason)
        else:
            message = _say("yaml.character", char="%04X" % exc.character, reason=exc.reason)
        diagnostics.append(Diagnostic(path, line, col, "", message))
        return None, diagnostics
    except yaml.YAMLError as exc:           # anything else libyaml refuses
        diagnostics.append(Diagnostic(path, 0, 0, "", _say("yaml.unreadable",
                                                           message=_one_line(str(exc)))))
        return None, diagnostics
    finally:
        loader.dispose()
    if root is None:
        return None, diagnostics
    has_anchors = (b"&" in data or b"*" in data) if isinstance(data, bytes) \
        else ("&" in data or "*" in data)
    if has_anchors:
        diagnostics.extend(_anchor_diagnostics(data, path))
    root = _clean(root, path, diagnostics, has_anchors)
    return root, diagnostics


MAX_DEPTH = 200        # facturier files nest 4 levels; libyaml's composer recurses in C


def _may_be_deep(data) -> bool:
    """Cheap bound: every nesting level needs one of these characters."""
    marks: tuple[Union[bytes, str], ...]
    if isinstance(data, bytes):
        marks = (b"[", b"{", b"-", b":", b"?")
    else:
        marks = ("[", "{", "-", ":", "?")
    total = 0
    for mark in marks:
        total += data.count(mark)
    return total > MAX_DEPTH


def _too_deep(data, path: str) -> Optional[Diagnostic]:
    """An error when collections nest deeper than MAX_DEPTH (an event scan, which
    does not recurse); composing such a text could overflow the C stack."""
    depth = 0
    loader = _Loader(data)
    try:
        while True:
            event = loader.get_event()
            if event is None or isinstance(event, yaml.StreamEndEvent):
                return None
            if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
                depth += 1
                if depth > MAX_DEPTH:
                    mark = event.start_mark
                    assert mark is not None     # the parser marks every event
                    return Diagnostic(path, mark.line + 1, mark.column + 1, "",
                                      _say("yaml.too_deep", depth=MAX_DEPTH))
            elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
                depth -= 1
    except yaml.YAMLError:
        return None                         # compose() reports it with its position
    finally:
        loader.dispose()


def _line_col(data, position: int) -> tuple[int, int]:
    """1-based line and column of a reader error's position (an offset into the
    bytes, or into the text for a str)."""
    if not isinstance(position, int) or position < 0:
        return 0, 0
    head = data[:position]
    newline = b"\n" if isinstance(head, bytes) else "\n"
    line = head.count(newline) + 1
    col = position - (head.rfind(newline) + 1) + 1
    return line, col


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _anchor_diagnostics(data, path: str) -> list[Diagnostic]:
    """Every anchor and alias of the text, with its dotted field (an event scan:
    nothing is composed, so an alias bomb costs only its own text)."""
    found = []
    frames: list[list] = []     # [is_mapping, label (key text or 1-based index), expecting_key]
    loader = _Loader(data)
    try:
        while True:
            event = loader.get_event()
            if event is None or isinstance(event, yaml.StreamEndEvent):
                break
            if isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
                frames.pop()
                continue
            if not isinstance(event, yaml.NodeEvent):
                continue
            if frames:
                top = frames[-1]
                if top[0]:
                    if top[2]:
                        top[1] = event.value if isinstance(event, yaml.ScalarEvent) else "?"
                    top[2] = not top[2]
                else:
                    top[1] += 1
            anchor = event.anchor
            if anchor is not None:
                mark = event.start_mark
                assert mark is not None         # the parser marks every event
                field = ".".join(str(frame[1]) for frame in frames)
                if isinstance(event, yaml.AliasEvent):
                    message = _say("yaml.alias", name=anchor)
                else:
                    message = _say("yaml.anchor", name=anchor)
                found.append(Diagnostic(path, mark.line + 1, mark.column + 1, field, message))
            if isinstance(event, yaml.MappingStartEvent):
                frames.append([True, None, True])
            elif isinstance(event, yaml.SequenceStartEvent):
                frames.append([False, 0, None])
    except yaml.YAMLError:                  # already composed once: cannot happen
        pass
    finally:
        loader.dispose()
    return found


def _clean(root: Node, path: str, diagnostics: list[Diagnostic], has_anchors: bool) -> Node:
    """Check tags, keys and duplicates of the whole tree (x- subtrees included);
    cut what must not be read. Iterative: a deep tree cannot overflow the stack.

    With anchors in the text, a collection met a second time is an alias of it
    (the composer shares the node): it is replaced by a SKIP node, so neither
    this walk nor the loader ever goes through an alias bomb.
    """
    seen: set[int] = set()
    root = _check_tag(root, "", path, diagnostics)
    if root.__class__ is ScalarNode:
        return root
    stack = [(root, "")]
    seen.add(id(root))

    def follow(child: Node, field: str) -> Node:
        child = _check_tag(child, field, path, diagnostics)
        if child.__class__ is not ScalarNode:
            if has_anchors:
                if id(child) in seen:
                    return _skip_node(child)
                seen.add(id(child))
            stack.append((child, field + "."))
        return child

    while stack:
        node, prefix = stack.pop()
        if node.__class__ is MappingNode:
            keys: dict[str, Node] = {}
            kept = []
            changed = False
            for key, value in node.value:
                if key.__class__ is not ScalarNode:
                    line, col = where(key)
                    diagnostics.append(Diagnostic(path, line, col, prefix.rstrip("."),
                                                  _say("yaml.key_not_name", shape=Message(
                                                      "yaml.shape.list"
                                                      if key.__class__ is SequenceNode
                                                      else "yaml.shape.mapping"))))
                    changed = True
                    continue
                if key.tag not in SCALAR_TAGS:
                    line, col = where(key)
                    diagnostics.append(Diagnostic(path, line, col, prefix + key.value,
                                                  _say("yaml.tag_on_key",
                                                       tag=_show_tag(key.tag))))
                    changed = True
                    continue
                first = keys.get(key.value)
                if first is not None:
                    line, col = where(key)
                    diagnostics.append(Diagnostic(
                        path, line, col, prefix + key.value,
                        _say("yaml.duplicate_key", key=key.value,
                             line=first.start_mark.line + 1)))
                    changed = True
                    continue
                keys[key.value] = key
                checked = follow(value, prefix + key.value)
                if checked is not value:
                    changed = True
                kept.append((key, checked))
            if changed:
                node.value = kept
        else:                                   # SequenceNode (scalars are never pushed)
            items = node.value
            for index, item in enumerate(items):
                checked = follow(item, "%s%d" % (prefix, index + 1))
                if checked is not item:
                    items[index] = checked
    return root


def _check_tag(node: Node, field: str, path: str, diagnostics: list[Diagnostic]) -> Node:
    cls = node.__class__
    tag = node.tag
    if cls is ScalarNode:
        ok = tag in SCALAR_TAGS or tag == SKIP_TAG
    elif cls is MappingNode:
        ok = tag in MAPPING_TAGS
    else:
        ok = tag in SEQUENCE_TAGS
    if ok:
        return node
    line, col = where(node)
    diagnostics.append(Diagnostic(
        path, line, col, field,
        _say("yaml.tag", tag=_show_tag(tag))))
    return _skip_node(node)
