"""Reading user files, with errors that name the file and say what was expected.

Every job, plan, launch-config and quota file is read through here, so the limits hold
everywhere: at most :data:`MAX_INPUT_BYTES` are read (``/dev/zero`` or a 10 GB file is
refused, not swallowed), the text must be UTF-8, and YAML is parsed by a loader that
refuses duplicate keys and aliases expanding past :data:`MAX_YAML_NODES` values (an
"alias bomb" of a few hundred bytes otherwise expands to gigabytes).
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path
from typing import Any

import yaml

from gpucost.errors import InputError, one_line, quote

# The largest job / plan / config / quota file read (1 MiB): real ones are a few KB.
MAX_INPUT_BYTES = 1024 * 1024
# The most values (scalars, lists and mappings) a YAML document may hold once its
# aliases are expanded. Job files hold a few dozen; a 417-byte alias bomb holds 10^9.
MAX_YAML_NODES = 10_000


def write_output(path: str | Path, text: str, what: str) -> None:
    """Write ``text`` to the user-named ``path``; a missing folder or no permission is an
    :class:`InputError`, not a traceback."""
    try:
        Path(path).write_text(text, encoding="utf-8")
    except OSError as exc:
        raise InputError(str(path), "output", f"a writable path for the {what} "
                         f"({exc.strerror or type(exc).__name__})") from None


def check_writable_folder(path: str | Path, field: str) -> Path:
    """``path`` as a folder gpucost can write into, created if need be; checked before
    any work is done, so that a file in the way, a read-only mount or a folder without
    permission is one :class:`InputError` naming ``field``, not a traceback at the end."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise InputError(str(path), field, "a writable folder, not a file")
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=path):
            pass
    except OSError as exc:
        raise InputError(str(path), field, f"a writable folder "
                         f"({exc.strerror or type(exc).__name__})") from None
    return path


def read_bytes(path: str | Path, what: str) -> bytes:
    """At most MAX_INPUT_BYTES of ``path``; larger files, directories and unreadable ones
    are an :class:`InputError` naming ``what``."""
    try:
        with Path(path).open("rb") as fh:
            data = fh.read(MAX_INPUT_BYTES + 1)
    except IsADirectoryError:
        raise InputError(str(path), "file", f"a {what}, not a directory") from None
    except OSError as exc:
        raise InputError(str(path), "file",
                         f"a readable {what} ({exc.strerror or type(exc).__name__})") from None
    if len(data) > MAX_INPUT_BYTES:
        raise InputError(str(path), "file", f"a {what} of at most {MAX_INPUT_BYTES:,} bytes "
                         "(1 MiB); this one is larger")
    return data


def read_text(path: str | Path, what: str) -> str:
    """The UTF-8 text of ``path`` (see :func:`read_bytes` for the limits)."""
    data = read_bytes(path, what)
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise InputError(str(path), "file", f"a {what} in UTF-8 text (this one is UTF-16)")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(str(path), "file", f"a {what} in UTF-8 text (byte {exc.start} is "
                         "not UTF-8: is it a binary file?)") from None
    if "\x00" in text:
        raise InputError(str(path), "file", f"a {what} in text, not binary data")
    return text


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader refusing duplicate keys and documents that aliases blow up."""

    def compose_document(self) -> yaml.Node:
        node = super().compose_document()
        _check_expanded_size(node)
        return node

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node, deep=True)
            try:
                duplicate = key in seen
                seen.add(key)
            except TypeError:  # an unhashable key: SafeConstructor reports it
                continue
            if duplicate:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {quote(key)}", key_node.start_mark)
        return super().construct_mapping(node, deep=deep)


# YAML 1.2 booleans only: `spot: yes` stays the string the user wrote (so an error can
# quote it) instead of becoming True; `no`/`on`/`off` likewise.
_StrictLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()}
_StrictLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
    list("tTfF"))


def _construct_timestamp(loader: _StrictLoader, node: yaml.ScalarNode) -> Any:
    """An unquoted date such as 2027-02-30 is an error at its line, not a traceback."""
    try:
        return yaml.SafeLoader.construct_yaml_timestamp(loader, node)
    except ValueError as exc:
        raise yaml.constructor.ConstructorError(
            None, None, f"{quote(node.value)} is not a date ({exc})", node.start_mark) from None


_StrictLoader.add_constructor("tag:yaml.org,2002:timestamp", _construct_timestamp)


def _check_expanded_size(root: yaml.Node | None) -> None:
    """Refuse a document whose aliases expand it past MAX_YAML_NODES values (counted
    with memoisation, so checking a bomb is as cheap as reading it)."""
    if root is None:
        return
    sizes: dict[int, int] = {}
    # Post-order walk without recursion (a deeply nested document must not overflow).
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        if id(node) in sizes:
            continue
        children = _children(node)
        if children_done or not children:
            size = 1 + sum(sizes.get(id(c), 0) for c in children)
            if size > MAX_YAML_NODES:
                raise yaml.YAMLError(f"more than {MAX_YAML_NODES:,} values once aliases "
                                     "are expanded")
            sizes[id(node)] = size
        else:
            stack.append((node, True))
            stack.extend((c, False) for c in children if id(c) not in sizes)


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    return []


def parse_yaml(text: str, where: str) -> Any:
    """The parsed YAML ``text``; errors name ``where`` and the line."""
    try:
        return yaml.load(text, Loader=_StrictLoader)  # noqa: S506 (a SafeLoader subclass)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f"line {mark.line + 1}" if mark else "file"
        problem = getattr(exc, "problem", None) or str(exc)
        raise InputError(where, line, f"valid YAML ({one_line(problem, 120)})") from None
    except RecursionError:
        raise InputError(where, "file", "valid YAML nested less deeply") from None


def load_yaml(path: str | Path, what: str) -> Any:
    """The parsed YAML of ``path``; a syntax error names its line."""
    return parse_yaml(read_text(path, what), str(path))
