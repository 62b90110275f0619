"""Reading rule files: YAML in, one merged document out, every fault located.

Each file is a mapping of sections. Sections from several files are merged, so
a plugin's fragment can add a solution; a key defined twice is a fault naming
both files. Places are reported as ``file:line: dotted.path``.
"""
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ..errors import Problem, RuleFileError

LIST_SECTIONS = {"combinations"}
MAP_SECTIONS = {
    "channels", "financialAccountSubTypes", "transactionTypes", "priorities", "currencies",
    "paymentReasons", "documents", "declineReasons", "profileFields", "countries", "profileForm",
    "parameters", "steps", "solutions", "workflow", "messages", "notifications", "nacha",
}
CATALOG_SECTIONS = MAP_SECTIONS - {"parameters", "steps", "solutions", "workflow", "messages", "notifications",
                                   "nacha"}
MAX_FILE_BYTES = 1_048_576
PLAIN_KEY = re.compile(r"^[A-Za-z0-9_-]+$")
MAX_DEPTH = 32  # the shipped files nest 6 deep
MAX_VALUES = 100_000  # values a file may hold once its aliases are expanded

#: a place in the merged document: section, then keys and list indexes (``("steps", "notification", "conditions", 0)``)
Path_ = tuple[Any, ...]


@dataclass
class Source:
    """Where each part of the merged document came from."""

    files: dict[Path_, tuple[str, Any]] = field(default_factory=dict)  # (section, key|index) -> (file, node)

    def locate(self, path: Sequence[Any]) -> str:
        """``file:line: dotted.path`` for a path tuple into the merged document."""
        if not path:
            return "rules"
        origin, within = self.files.get(tuple(path[:2])), path[2:]
        if origin is None:  # a key the section lacks: the section's own line
            origin, within = self.files.get(tuple(path[:1])), ()
        if origin is None:
            return _dotted(path)
        filename, node = origin
        line = _line_of(node, within)
        return f"{filename}:{line}: {_dotted(path)}" if line else f"{filename}: {_dotted(path)}"


@dataclass
class RuleDocument:
    data: dict[str, Any]
    source: Source
    directory: Path

    def problem(self, path: Sequence[Any], message: str, code: str = "RULE_FILE_INVALID") -> Problem:
        return Problem(self.source.locate(tuple(path)), message, code)


def read_rule_files(directory: str | Path) -> RuleDocument:
    """The rule files of ``directory`` merged into one :class:`RuleDocument`; every fault at once, located."""
    directory = Path(directory)
    problems: list[Problem] = []
    if not directory.is_dir():
        raise RuleFileError([Problem(str(directory), "is not a folder of rule files", "RULES_MISSING")])
    paths = sorted(directory.glob("*.yaml")) + sorted(directory.glob("*.yml"))
    if not paths:
        raise RuleFileError([Problem(str(directory), "holds no *.yaml rule file", "RULES_MISSING")])
    merged: dict[str, Any] = {}
    source = Source()
    for path in paths:
        name = path.name
        try:
            raw = path.read_bytes()
            if len(raw) > MAX_FILE_BYTES:
                raise ValueError(f"is larger than {MAX_FILE_BYTES} bytes")
            text = raw.decode("utf-8")
            shape = _shape_problem(name, text)
            if shape:
                problems.append(shape)
                continue
            node = yaml.compose(text, Loader=yaml.SafeLoader)
            doc = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f"{name}:{mark.line + 1}" if mark else name
            problems.append(Problem(where, f"is not valid YAML: {getattr(exc, 'problem', None) or exc}",
                                    "RULE_FILE_YAML"))
            continue
        except (OSError, ValueError) as exc:
            problems.append(Problem(name, f"cannot be read: {exc}", "RULE_FILE_UNREADABLE"))
            continue
        if doc is None:
            continue
        repeated = _repeated_keys(node)
        if repeated:
            problems += [Problem(f"{name}:{k.start_mark.line + 1}", f"repeats the key {k.value!r}",
                                 "RULE_FILE_DUPLICATE") for k in repeated]
            continue
        if not isinstance(doc, dict):
            problems.append(Problem(name, "must be a mapping of sections (parameters:, steps:, ...)",
                                    "RULE_FILE_SHAPE"))
            continue
        for section, value in doc.items():
            section_node = _child(node, section)
            section_key = _key_node(node, section)
            where = f"{name}:{section_key.start_mark.line + 1}" if section_key else name
            source.files.setdefault((section,), (name, section_key))  # a fault in the section as a whole
            if section in LIST_SECTIONS:
                if not isinstance(value, list):
                    problems.append(Problem(f"{where}: {_dotted((section,))}", "must be a list", "RULE_FILE_SHAPE"))
                    continue
                items = merged.setdefault(section, [])
                for i, item in enumerate(value):
                    source.files[(section, len(items))] = (name, _child(section_node, i))
                    items.append(item)
            elif section in MAP_SECTIONS:
                if isinstance(value, list) and section in CATALOG_SECTIONS:
                    if not all(isinstance(v, (str, int)) and not isinstance(v, bool) for v in value):
                        problems.append(Problem(f"{where}: {_dotted((section,))}",
                                                "a list of values must hold plain names", "RULE_FILE_SHAPE"))
                        continue
                    value_nodes = {str(v): _child(section_node, i) for i, v in enumerate(value)}
                    value = {str(v): {} for v in value}
                elif isinstance(value, dict):
                    value_nodes = {k: _value_node(section_node, k) for k in value}
                else:
                    wanted = "must be a mapping" + (" or a list" if section in CATALOG_SECTIONS else "")
                    problems.append(Problem(f"{where}: {_dotted((section,))}", wanted, "RULE_FILE_SHAPE"))
                    continue
                target = merged.setdefault(section, {})
                for key, item in value.items():
                    key = str(key)
                    if key in target:
                        first = source.files.get((section, key), ("?", None))[0]
                        at = _key_node(section_node, key) or value_nodes.get(key)
                        here = f"{name}:{at.start_mark.line + 1}" if at is not None else where
                        problems.append(Problem(f"{here}: {_dotted((section, key))}",
                                                f"is defined in {first} already", "RULE_FILE_DUPLICATE"))
                        continue
                    target[key] = {} if item is None else item
                    source.files[(section, key)] = (name, value_nodes.get(key))
            else:
                known = ", ".join(sorted(LIST_SECTIONS | MAP_SECTIONS))
                problems.append(Problem(f"{where}: {_dotted((section,))}", f"is not a rule section (known: {known})",
                                        "RULE_FILE_UNKNOWN_SECTION"))
    if problems:
        raise RuleFileError(problems)
    return RuleDocument(merged, source, directory)


def _shape_problem(name: str, text: str) -> Problem | None:
    """A problem if the YAML nests too deeply, refers to itself, or expands past :data:`MAX_VALUES`.

    Read from the parser's events, which need no recursion, before anything walks the tree: a
    deep or recursive file would exhaust the stack of the composer and of every walk after it,
    and a few lines of aliases (a "billion laughs") can expand to more values than memory holds.
    """
    open_anchors: set[str | None] = set()
    sizes: dict[str | None, int] = {}
    stack: list[list[Any]] = []  # [anchor, expanded values so far]
    for event in yaml.parse(text, Loader=yaml.SafeLoader):
        line = event.start_mark.line + 1 if event.start_mark is not None else 0
        if isinstance(event, yaml.AliasEvent):
            if event.anchor in open_anchors:
                return Problem(f"{name}:{line}", f"the alias *{event.anchor} refers to a value that contains it",
                               "RULE_FILE_YAML")
            added = sizes.get(event.anchor, 1)
        elif isinstance(event, (yaml.ScalarEvent, yaml.CollectionStartEvent)):
            added = 1
        else:
            added = 0
        if isinstance(event, yaml.CollectionStartEvent):
            if len(stack) >= MAX_DEPTH:
                return Problem(f"{name}:{line}", f"nests deeper than {MAX_DEPTH} levels", "RULE_FILE_YAML")
            stack.append([event.anchor, 1])
            if event.anchor is not None:
                open_anchors.add(event.anchor)
            continue
        if isinstance(event, yaml.CollectionEndEvent):
            anchor, added = stack.pop()
            open_anchors.discard(anchor)
            if anchor is not None:
                sizes[anchor] = added
        elif isinstance(event, yaml.ScalarEvent) and event.anchor is not None:
            sizes[event.anchor] = 1
        if stack:
            stack[-1][1] += added
            if stack[-1][1] > MAX_VALUES:
                return Problem(f"{name}:{line}", f"expands to more than {MAX_VALUES} values through its aliases",
                               "RULE_FILE_YAML")
    return None


def _dotted(path: Sequence[Any]) -> str:
    """``steps.notification.conditions[0]``; a key that is not a plain name is quoted (``' '``, ``'a.b'``)."""
    out = ""
    for part in path:
        if isinstance(part, int) and not isinstance(part, bool):
            out += f"[{part}]"
        else:
            text = part if isinstance(part, str) and PLAIN_KEY.match(part) else repr(part)
            out += ("." if out else "") + text
    return out


def _child(node: yaml.Node | None, key: object) -> yaml.Node | None:
    """The value node under ``key`` (a mapping key or a list index), or None."""
    if isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            if str(k.value) == str(key):
                return v
    elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and 0 <= key < len(node.value):
        return node.value[key]
    return None


def _value_node(node: yaml.Node | None, key: object) -> yaml.Node | None:
    return _child(node, key) or _key_node(node, key)


def _key_node(node: yaml.Node | None, key: object) -> yaml.Node | None:
    if isinstance(node, yaml.MappingNode):
        for k, _ in node.value:
            if str(k.value) == str(key):
                return k
    return None


def _line_of(node: yaml.Node | None, path: Sequence[Any]) -> int | None:
    """The 1-based line of the deepest node along ``path`` that exists."""
    best = node
    for part in path:
        nxt = _child(best, part) if best is not None else None
        if nxt is None:
            key = _key_node(best, part) if best is not None else None
            if key is not None:
                best = key
            break
        best = nxt
    return best.start_mark.line + 1 if best is not None else None


def _repeated_keys(node: yaml.Node | None) -> list[yaml.Node]:
    out: list[yaml.Node] = []
    if isinstance(node, yaml.MappingNode):
        seen = set()
        for k, v in node.value:
            if str(k.value) in seen:
                out.append(k)
            seen.add(str(k.value))
            out += _repeated_keys(v)
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            out += _repeated_keys(item)
    return out
