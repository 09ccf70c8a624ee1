"""Reading YAML files safely, with the line of every key.

Every parameter and scenario file goes through :func:`read_yaml`. The file is refused if it

* is larger than :data:`MAX_BYTES` (at most that many bytes plus one are read);
* is not UTF-8, or holds a control character (NUL, ESC, DEL, C1 controls ...; tab, line feed
  and carriage return are fine) or a lone surrogate, in the text or made by an escape
  (``"\\0"``, ``"\\ud800"``): named, with its line;
* nests mappings and lists deeper than :data:`MAX_DEPTH`;
* expands, through aliases (``*name``, and merge keys ``<<: *name``), to more than
  :data:`MAX_NODES` nodes. Composing the node graph is cheap whatever the aliases (an alias
  is the same node object again); the graph is measured before a single Python object is
  built, so a 534-byte "billion laughs" file is refused in about a millisecond, before
  anything could walk or print the ~10^9 nodes it stands for.

Parsing uses libyaml when PyYAML was built with it (about twice as fast on the shipped tree).
Mappings come back as :class:`YamlMap` (a ``dict`` that remembers the line of each key);
duplicate keys are refused at any level; YAML 1.2 floats such as ``1e-3`` are numbers.
"""

from __future__ import annotations

import re
from collections.abc import Hashable
from pathlib import Path

import yaml

from ..errors import InputError

__all__ = ["MAX_BYTES", "MAX_DEPTH", "MAX_NODES", "YamlMap", "forbidden_character", "read_yaml"]

#: The largest file read [bytes]: the largest shipped file is about 20 kB.
MAX_BYTES = 1_000_000
#: The deepest nesting of mappings and lists accepted (the shipped files nest at most 5 deep).
MAX_DEPTH = 32
#: The most nodes a document may expand to, counting each alias as the nodes it repeats.
MAX_NODES = 200_000

# C0 controls except tab, line feed and carriage return; DEL; C1 controls; lone surrogates;
# the two non-characters U+FFFE and U+FFFF.
_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
_CONTROL_NAMES = {0x00: "NUL", 0x07: "BEL", 0x08: "BS", 0x0B: "VT", 0x0C: "FF", 0x1B: "ESC", 0x7F: "DEL",
                  0x85: "NEL"}


def forbidden_character(text: str) -> tuple[int, str] | None:
    """``(index, name)`` of the first character a file may not hold, or None.

    Examples
    --------
    >>> forbidden_character("a\\x00b")
    (1, 'control character U+0000 (NUL)')
    """
    found = _FORBIDDEN.search(text)
    if found is None:
        return None
    code = ord(found.group())
    if 0xD800 <= code <= 0xDFFF:
        return found.start(), f"lone surrogate U+{code:04X}"
    if code in (0xFFFE, 0xFFFF):
        return found.start(), f"non-character U+{code:04X}"
    name = _CONTROL_NAMES.get(code)
    return found.start(), f"control character U+{code:04X}" + (f" ({name})" if name else "")


class YamlMap(dict):
    """A mapping read from YAML that remembers where it and each of its keys were.

    A plain ``dict`` in every other respect, so code that does not care about lines can
    ignore the extra attributes.

    Attributes
    ----------
    line : int or None
        1-based line where the mapping starts.
    key_lines : dict
        1-based line of each key.
    key_sources : dict
        The file each key came from, when a mapping merges several files (a scenario and
        the scenarios it extends); empty for a mapping read from one file.
    """

    def __init__(self, *args, line=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.line = line
        self.key_lines = {}
        self.key_sources = {}


# libyaml's parser when PyYAML has it, else PyYAML's own (the checks are the same).
_BASE = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_BASE):
    """Safe loader with bounded expansion and depth, no duplicate keys, :class:`YamlMap` mappings."""

    def __init__(self, stream, source, key_prefix=()):
        super().__init__(stream)
        self.source = source
        # The keys of the mappings being built, outermost first, to name where a duplicate is.
        self.key_stack = [str(part) for part in key_prefix]

    def get_single_data(self):
        node = self.get_single_node()
        if node is None:
            return None
        _check_graph(node, self.source)
        return self.construct_document(node)


def _check_graph(root, source) -> None:
    """Refuse a composed document that nests too deep or expands, through aliases, too far.

    Composing is cheap whatever the aliases: an alias is the same node object again. Each
    node's expanded size (the nodes a walk would visit) is worked out once per object, in
    document order and without recursion, so a billion-laughs file costs a few hundred steps.
    """
    size, depth_at = {}, {}
    stack = [(root, 1, False)]
    while stack:
        node, depth, done = stack.pop()
        key = id(node)
        children = []
        if isinstance(node, yaml.MappingNode):
            children = [child for pair in node.value for child in pair]
        elif isinstance(node, yaml.SequenceNode):
            children = node.value
        if done:
            size[key] = 1 + sum(size[id(child)] for child in children)
            if size[key] > MAX_NODES:
                raise InputError(f"aliases expand the value starting here beyond {MAX_NODES:,} nodes", source=source,
                                 line=node.start_mark.line + 1, expected="a file without alias bombs")
            continue
        if key in size or key in depth_at and depth_at[key] >= depth:
            continue
        if children and depth > MAX_DEPTH:
            raise InputError(f"nested deeper than {MAX_DEPTH} levels", source=source, line=node.start_mark.line + 1,
                             expected=f"at most {MAX_DEPTH} levels of mappings and lists")
        depth_at[key] = depth
        stack.append((node, depth, True))
        stack.extend((child, depth + 1, False) for child in reversed(children) if id(child) not in size)


def _construct_mapping(loader: _Loader, node: yaml.MappingNode) -> YamlMap:
    # Duplicates are looked for among the keys written in this mapping, before merge keys
    # (``<<: *anchor``) are expanded, because a written key may override a merged one.
    first_line = {}
    for key_node, _ in node.value:
        if key_node.tag == "tag:yaml.org,2002:merge":
            continue
        key = loader.construct_object(key_node, deep=True)
        line = key_node.start_mark.line + 1
        if not isinstance(key, Hashable):
            raise InputError("a mapping key must be a plain value, not a list or mapping",
                             source=loader.source, key=".".join(loader.key_stack) or None, line=line)
        if key in first_line:
            raise InputError(f"duplicate key (first at line {first_line[key]})", source=loader.source,
                             key=".".join([*loader.key_stack, str(key)]), line=line)
        first_line[key] = line

    loader.flatten_mapping(node)
    mapping = YamlMap(line=node.start_mark.line + 1)
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        loader.key_stack.append(str(key))
        try:
            mapping[key] = loader.construct_object(value_node, deep=True)
        finally:
            loader.key_stack.pop()
        mapping.key_lines[key] = key_node.start_mark.line + 1
    return mapping


def _construct_text(loader: _Loader, node: yaml.ScalarNode) -> str:
    text = loader.construct_scalar(node)
    # Escapes of a double-quoted scalar ("\0", "\ud800") make characters the file itself cannot hold.
    bad = forbidden_character(text)
    if bad is not None:
        raise InputError(f"{bad[1]} in a value", source=loader.source, key=".".join(loader.key_stack) or None,
                         line=node.start_mark.line + 1, expected="printable text")
    return text


def _construct_timestamp(loader: _Loader, node: yaml.ScalarNode):
    try:
        return yaml.SafeLoader.construct_yaml_timestamp(loader, node)
    except ValueError:
        # An impossible day such as 2019-02-30: keep the text, so that the parameter parser
        # reports it with the parameter path instead of a bare traceback from PyYAML.
        return loader.construct_scalar(node)


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
_Loader.add_constructor("tag:yaml.org,2002:str", _construct_text)
_Loader.add_constructor("tag:yaml.org,2002:timestamp", _construct_timestamp)
# YAML 1.1 (PyYAML) reads 1e-3 and 1.5e6 as text; YAML 1.2 and every author expect numbers.
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?[0-9][0-9_]*(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"),
    list("-+0123456789"),
)


def _read_text(path: Path) -> str:
    try:
        with path.open("rb") as stream:
            raw = stream.read(MAX_BYTES + 1)
    except FileNotFoundError:
        raise InputError("file not found", source=path) from None
    except IsADirectoryError:
        raise InputError("is a folder, not a file", source=path) from None
    except OSError as exc:
        raise InputError(f"cannot read the file: {exc.strerror}", source=path) from None
    if len(raw) > MAX_BYTES:
        raise InputError(f"file larger than {MAX_BYTES:,} bytes", source=path,
                         expected="a parameter or scenario file (the shipped ones are below 20 kB)")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise InputError(f"not UTF-8 text ({exc.reason} at byte {exc.start})", source=path, line=line) from None
    bad = forbidden_character(text)
    if bad is not None:
        index, name = bad
        line, column = text.count("\n", 0, index) + 1, index - (text.rfind("\n", 0, index) + 1) + 1
        raise InputError(f"{name} at column {column}", source=path, line=line, expected="printable UTF-8 text")
    return text


def read_yaml(path, *, key_prefix=()) -> object:
    """Read one YAML file safely, with line numbers and no duplicate keys.

    Parameters
    ----------
    path : str or Path
        The file.
    key_prefix : sequence of str, optional
        Names put before the keys of a duplicate-key error (a parameter file's dotted path).

    Returns
    -------
    object
        The document: mappings are :class:`YamlMap`; None for an empty file.

    Raises
    ------
    InputError
        If the file cannot be read, is too large, is not UTF-8, holds a control character or
        a lone surrogate, is not valid YAML (with the line PyYAML reports), nests too deep,
        expands too far through aliases or has a duplicate key.
    """
    path = Path(path)
    loader = _Loader(_read_text(path), source=path, key_prefix=key_prefix)
    try:
        return loader.get_single_data()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "invalid YAML"
        context = f" ({exc.context})" if exc.context and exc.problem else ""
        line = mark.line + 1 if mark else None
        # PyYAML gives up where the broken construct ends (often the next key); where it was
        # opened is its context mark, named too so that nobody has to read the file again
        opened = exc.context_mark.line + 1 if exc.problem_mark and exc.context_mark else None
        raise InputError(f"YAML syntax error: {problem}{context}", source=path, line=line,
                         opened_line=opened if opened and line and opened < line else None) from None
    except yaml.YAMLError as exc:
        raise InputError(f"YAML error: {str(exc)[:200]}", source=path) from None
    except RecursionError:  # PyYAML's own composer, without libyaml's nesting limit
        raise InputError(f"nested deeper than {MAX_DEPTH} levels", source=path) from None
    finally:
        loader.dispose()
