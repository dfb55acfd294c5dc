"""Reading files: YAML and JSON documents with the source position of every value.

This is the only module of the engine that reads files. It loads YAML safely (no Python
tags), refuses duplicate keys (PyYAML silently keeps the last one), and resolves scalars the
YAML 1.2 way: only `true`/`false` are booleans and dates stay strings, so a country code `NO`
is a string and date parsing is left to the declared type of each field.
"""

from __future__ import annotations

import errno
import hashlib
import json
import math
import os
import re
import stat
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml

from .errors import Diagnostic, SourceLocation
from .yamlsyntax import explain as explain_syntax_error

Path_ = tuple  # a JSON path: a tuple of keys (str) and indexes (int)

# Explicit size limits: a policy or case larger than this is refused, not parsed.
MAX_DOCUMENT_BYTES = 5 * 1024 * 1024
MAX_NESTING_DEPTH = 64
# Aliases (`*name`) are expanded into copies; this bounds the copies ("billion laughs").
MAX_NODES = 200_000
# The parts a file may write (parser events: each key, value and item, and each mapping's and list's
# start and end), counted before any node is composed: composing a flat mapping of 200,000 keys cost
# 6 to 12 s and 300 MB before `MAX_NODES` could refuse it. The largest bundled policy writes 1,652
# parts, a generated policy of 1,000 clauses about 23,000; reading a file of 100,000 takes about 1.4 s.
MAX_WRITTEN_PARTS = 100_000


# libyaml's parser when PyYAML was built with it (several times faster); the pure-Python one otherwise.
_SafeBase = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Yaml12Loader(_SafeBase):  # type: ignore[misc, valid-type]
    """A safe loader with YAML 1.2 core-schema scalars (no `yes`/`no`/`on`/`off` booleans, no timestamps)."""


_YAML_11_ONLY = ("tag:yaml.org,2002:bool", "tag:yaml.org,2002:timestamp", "tag:yaml.org,2002:int",
                 "tag:yaml.org,2002:float")
_Yaml12Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag not in _YAML_11_ONLY]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
# YAML 1.2 core schema: no `yes`/`no` booleans, no octal `012`, no sexagesimal `1:00`, no `1_000`;
# exponents (`5e1`, as JSON writes them) are numbers. Integers are tried before floats.
_Yaml12Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF"))
_Yaml12Loader.add_implicit_resolver(
    "tag:yaml.org,2002:int", re.compile(r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$"), list("-+0123456789"))
_Yaml12Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"),
    list("-+.0123456789"))


def _construct_int(loader: yaml.Loader, node: yaml.ScalarNode) -> int:
    text = loader.construct_scalar(node)
    try:
        if text.startswith(("0o", "0x")):
            return int(text[2:], 8 if text[1] == "o" else 16)
        return int(text, 10)  # "012" is twelve, as in YAML 1.2
    except ValueError:
        raise yaml.constructor.ConstructorError(None, None, f"`{text}` is not an integer", node.start_mark) from None


class WrittenFloat(float):
    """A number written with more digits than a float keeps (`5.000000000000000001`): the float,
    with the digits as written (`written`), so that an amount of money is read exactly or refused,
    never silently rounded by binary floating point. Any other number is a plain float, whose
    shortest repr is the number as written."""

    written: str


def _construct_float(loader: yaml.Loader, node: yaml.ScalarNode) -> float:
    text = loader.construct_scalar(node)
    lowered = text.lower()
    if lowered.endswith(".inf"):
        return float("-inf") if lowered.startswith("-") else float("inf")
    if lowered == ".nan":
        return float("nan")
    try:
        value = float(text)
    except ValueError:
        raise yaml.constructor.ConstructorError(None, None, f"`{text}` is not a number", node.start_mark) from None
    if math.isfinite(value) and Decimal(text) != Decimal(repr(value)):
        value = WrittenFloat(value)
        value.written = text
    return value


_Yaml12Loader.add_constructor("tag:yaml.org,2002:int", _construct_int)
_Yaml12Loader.add_constructor("tag:yaml.org,2002:float", _construct_float)


@dataclass
class SourceMap:
    """Maps the JSON path of each value in a document to where it starts in the file."""

    file: str
    positions: dict[Path_, tuple[int, int]] = field(default_factory=dict)
    key_positions: dict[Path_, tuple[int, int]] = field(default_factory=dict)
    # The style of each scalar: None for plain, `'` or `"` for quoted, `|` or `>` for block text.
    scalar_styles: dict[Path_, str | None] = field(default_factory=dict)
    # For folded scalars: (line, column, length) of each source line of the text, in order.
    folded_lines: dict[Path_, list[tuple[int, int, int]]] = field(default_factory=dict)

    def locate(self, path: Path_ = (), key: bool = False) -> SourceLocation:
        """The location of the value at `path` (or of its key), or of its nearest located parent."""
        path = tuple(path)
        if key and path in self.key_positions:
            line, col = self.key_positions[path]
            return SourceLocation(self.file, line, col)
        while path not in self.positions and path:
            path = path[:-1]
        line, col = self.positions.get(path, (1, 1))
        return SourceLocation(self.file, line, col)

    def locate_in_scalar(self, path: Path_, offset: int) -> SourceLocation:
        """The location of character `offset` of the text of the scalar at `path`.

        Exact for plain and quoted one-line scalars and for folded text (`>`, or a plain scalar over
        several lines), where YAML joins the lines with one space; the scalar's start otherwise.
        """
        start = self.locate(path)
        segments = self.folded_lines.get(tuple(path))
        if segments:
            for line, column, length in segments:
                if offset <= length:
                    return SourceLocation(start.file, line, column + offset)
                offset -= length + 1  # the space that joined this line to the next
            return start
        style = self.scalar_styles.get(tuple(path), "|")
        if style is None:
            return SourceLocation(start.file, start.line, start.column + offset)
        if style in ("'", '"'):
            return SourceLocation(start.file, start.line, start.column + 1 + offset)
        return start


@dataclass
class Document:
    """A loaded file: its data, where each value came from, and its raw bytes' sha256."""

    path: Path
    data: Any
    source_map: SourceMap
    sha256: str


def display_path(path: Path) -> str:
    """The path as the user should see it: relative to the working directory when inside it."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


_KINDS = ((stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISCHR, "a character device"),
          (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"))


def _kind_of(mode: int) -> str:
    return next((name for test, name in _KINDS if test(mode)), "not a regular file")


def read_bytes(path: Path) -> tuple[bytes | None, Diagnostic | None]:
    """The bytes of a regular file of at most `MAX_DOCUMENT_BYTES`, or the diagnostic that says why not.

    The file is opened without blocking and checked with `fstat` before a byte is read: opening a FIFO
    that no process writes would wait forever, and a device (`/dev/zero`) never ends.
    """
    where = SourceLocation(display_path(path))
    limit = MAX_DOCUMENT_BYTES
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        return None, Diagnostic("file_not_found", "no such file", where)
    except IsADirectoryError:
        return None, Diagnostic("file_not_found", "is a directory, not a file", where)
    except OSError as exc:
        return None, Diagnostic("file_unreadable", f"cannot read the file: {exc.strerror}", where)
    try:
        info = os.fstat(descriptor)
        if stat.S_ISDIR(info.st_mode):
            return None, Diagnostic("file_not_found", "is a directory, not a file", where)
        if not stat.S_ISREG(info.st_mode):
            return None, Diagnostic("file_not_regular", f"is {_kind_of(info.st_mode)}, not a regular file", where,
                                    help="name a file; only batch and impact inputs may be streams")
        if info.st_size > limit:
            return None, Diagnostic("file_too_large", f"file is larger than the limit of {limit} bytes", where)
        with os.fdopen(descriptor, "rb", closefd=False) as handle:
            # One byte past the limit, whatever fstat said: the file may grow while it is read.
            raw = handle.read(limit + 1)
        if len(raw) > limit:
            return None, Diagnostic("file_too_large", f"file is larger than the limit of {limit} bytes", where)
        return raw, None
    except OSError as exc:
        return None, Diagnostic("file_unreadable", f"cannot read the file: {exc.strerror}", where)
    finally:
        os.close(descriptor)


def open_stream(path: Path):
    """A binary reader over a file, a FIFO or a socket (`<(zcat corpus.gz)`), for inputs that are meant
    to be read as streams; raises OSError for a directory or a device, which are neither.

    It is opened without blocking, so that a FIFO no process writes reads as empty instead of waiting
    forever for a writer, then read blocking, so that a writer that is slower than the reader is waited for.
    """
    descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    try:
        mode = os.fstat(descriptor).st_mode
        if stat.S_ISDIR(mode):
            raise IsADirectoryError(errno.EISDIR, "is a directory, not a file or a stream")
        if not (stat.S_ISREG(mode) or stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode)):
            raise OSError(errno.ENODEV, f"is {_kind_of(mode)}: give a file, a pipe, or `-` for standard input")
        os.set_blocking(descriptor, True)
        return os.fdopen(descriptor, "rb")
    except BaseException:
        os.close(descriptor)
        raise


def inside(folder: Path, name: str) -> bool:
    """Whether `folder / name`, every link resolved, lies inside `folder` (itself resolved).

    Paths a policy names (its variants, versions, source texts, the files of `policy.lock`) are kept to
    the policy's folder, so that a policy cannot have a file outside it read, nor learn whether one
    exists: resolving does not need the file to exist, so the answer is the same whether or not
    something is there. The file is then read by the path as named, so that names (in content hashes,
    in messages) stay the ones the policy writes.
    """
    root = folder.resolve()
    target = (root / name).resolve()
    return root in target.parents


@dataclass(frozen=True)
class Kind:
    """What a file is expected to be: a document of this kind is a mapping with at least one of `keys`.

    Messages about a file quote its lines and keys (`unknown key `x``, the line of a syntax error).
    That helps the author of a policy or a case, and would print the contents of any other file named
    in its place (`--policy /etc/shadow`): a file that is not of the kind expected gets one message
    that says so, and quotes nothing of it.
    """

    name: str
    keys: tuple[str, ...]

    def shape(self) -> str:
        keys = " or ".join(f"`{k}`" for k in self.keys)
        return f"a {self.name} is a YAML or JSON mapping with {'a ' if len(self.keys) == 1 else ''}{keys} key{'s' if len(self.keys) > 1 else ''}"

    def written_in(self, text: str) -> bool:
        """Whether text that does not parse still has one of the keys at the start of a line (or quoted, as in
        JSON): a document of this kind with a mistake, whose lines may be quoted to place the mistake."""
        keys = "|".join(re.escape(k) for k in self.keys)
        return re.search(rf'^(?:{keys})[ \t]*:(?:[ \t]|$)|"(?:{keys})"\s*:', text, re.M) is not None


POLICY = Kind("policy file", ("policy",))
VARIANT = Kind("variant file", ("variant",))
CASE = Kind("case file", ("facts", "id", "description"))
LOCK = Kind("lock file", ("lock",))
TEST = Kind("policy test file", ("tests",))


def load_document(path: Path, kind: Kind | None = None) -> tuple[Document | None, list[Diagnostic]]:
    """Load a YAML or JSON file; JSON is read as YAML so that every value keeps its line and column.

    The document is None when the file cannot be read or parsed, or is not of the `kind` expected (then
    the one problem says so, without quoting the file); with other problems (a duplicate key) it is
    returned beside them, and the caller must still treat the file as invalid.
    """
    raw, problem = read_bytes(path)
    if problem:
        return None, [problem]
    assert raw is not None
    return document_from_bytes(raw, path, display_path(path), kind)


def document_from_bytes(raw: bytes, path: Path, name: str, kind: Kind | None = None) -> tuple[Document | None, list[Diagnostic]]:
    """A document from bytes already read (a file, or standard input named `name`); see `load_document`."""
    if len(raw) > MAX_DOCUMENT_BYTES:
        return None, [Diagnostic("file_too_large", f"input is {len(raw)} bytes, more than the limit of {MAX_DOCUMENT_BYTES}",
                                 SourceLocation(name))]
    try:
        text = raw.decode("utf-8-sig")  # a leading byte-order mark, as some editors write, is not content
    except UnicodeDecodeError as exc:
        return None, [Diagnostic("file_not_utf8", f"the file is not UTF-8 text (byte {exc.start})", SourceLocation(name))]
    data, source_map, diagnostics = parse_yaml(text, name)
    if kind is not None and not _of_kind(kind, data, text, diagnostics):
        return None, [Diagnostic("not_a_document", f"not a {kind.name}: {kind.shape()}, and this file is not one",
                                 SourceLocation(name), help="its lines are not shown, since it is not a file Verdict reads")]
    if path.suffix.lower() == ".json" and not diagnostics:
        diagnostics = _check_strict_json(text, name)
    if any(d.code in _NOTHING_READ for d in diagnostics):
        return None, diagnostics
    # Other problems (a duplicate key...) still give the document, so callers can name the subject.
    return Document(path, data, source_map, hashlib.sha256(raw).hexdigest()), diagnostics


# Problems after which no data was read: a schema check of the nothing left would only add noise.
_NOTHING_READ = ("yaml_syntax", "json_syntax", "yaml_too_large", "yaml_too_many_parts")


def _of_kind(kind: Kind, data: Any, text: str, diagnostics: list[Diagnostic]) -> bool:
    if any(d.code == "yaml_syntax" for d in diagnostics):
        return kind.written_in(text)
    if any(d.code == "yaml_too_many_parts" for d in diagnostics):
        return True  # refused before anything was read of it, and the message quotes nothing
    return isinstance(data, dict) and any(key in data for key in kind.keys)


def _check_strict_json(text: str, name: str) -> list[Diagnostic]:
    """A `.json` file must be JSON, not merely YAML that happens to have that name."""
    try:
        json.loads(text)
    except json.JSONDecodeError as exc:
        return [Diagnostic("json_syntax", f"invalid JSON: {exc.msg}", SourceLocation(name, exc.lineno, exc.colno))]
    return []


def parse_yaml(text: str, name: str) -> tuple[Any, SourceMap, list[Diagnostic]]:
    """Parse one YAML document into plain data plus a source map; never raises on bad input."""
    source_map = SourceMap(name)
    parts = _parts(text)
    if parts > MAX_WRITTEN_PARTS:
        return None, source_map, [Diagnostic("yaml_too_many_parts", f"the file writes more than the limit of {MAX_WRITTEN_PARTS} "
                                             "parts (each key, value and item, and each mapping's or list's start and end)",
                                             SourceLocation(name), help="split it, or write it shorter")]
    try:
        node = yaml.compose(text, Loader=_Yaml12Loader)
    except yaml.MarkedYAMLError as exc:
        found = explain_syntax_error(text, exc)  # where the mistake starts, not where the parser gave up
        return None, source_map, [Diagnostic("yaml_syntax", found.message, SourceLocation(name, found.line, found.column),
                                             help=found.help)]
    except yaml.YAMLError as exc:  # e.g. several documents in one file
        return None, source_map, [Diagnostic("yaml_syntax", f"invalid YAML: {' '.join(str(exc).split())}", SourceLocation(name, 1, 1))]
    if node is None:
        return None, source_map, []
    diagnostics: list[Diagnostic] = []
    try:
        data = _Builder(source_map, diagnostics, text.splitlines()).build(node, (), 0)
    except _TooManyNodes as stop:
        return None, source_map, [Diagnostic("yaml_too_large", f"the document expands to more than {MAX_NODES} values "
                                             "(aliases are copied)", stop.location)]
    return data, source_map, diagnostics


def _parts(text: str) -> int:
    """How many parser events the text gives, counted before a node is composed; when it does not
    parse, those before the error, up to `MAX_WRITTEN_PARTS + 1`."""
    parser = _Yaml12Loader(text)
    try:
        if hasattr(parser, "raw_parse"):  # libyaml counts in C, creating no Python object per event
            return parser.raw_parse()
    except yaml.YAMLError:
        pass  # the count is lost with the error: counted again below, up to the limit, as composing would go
    finally:
        parser.dispose()
    parser = _Yaml12Loader(text)
    count = 0
    try:
        while count <= MAX_WRITTEN_PARTS and parser.check_event():
            parser.get_event()
            count += 1
    except yaml.YAMLError:
        pass  # `yaml.compose` reports it, having built no more than the parts counted here
    finally:
        parser.dispose()
    return count


class _TooManyNodes(Exception):
    def __init__(self, location: SourceLocation):
        self.location = location


_PLAIN_TAGS = ("tag:yaml.org,2002:map", "tag:yaml.org,2002:seq")


class _Builder:
    """Turns a composed YAML node tree into dicts, lists and scalars, recording positions."""

    def __init__(self, source_map: SourceMap, diagnostics: list[Diagnostic], lines: list[str]):
        self.source_map = source_map
        self.diagnostics = diagnostics
        self.lines = lines
        self.nodes = 0
        self.constructor = _Yaml12Loader("")

    def _here(self, node: yaml.Node) -> SourceLocation:
        return SourceLocation(self.source_map.file, node.start_mark.line + 1, node.start_mark.column + 1)

    def build(self, node: yaml.Node, path: Path_, depth: int) -> Any:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise _TooManyNodes(self._here(node))
        self.source_map.positions[path] = (node.start_mark.line + 1, node.start_mark.column + 1)
        if isinstance(node, (yaml.MappingNode, yaml.SequenceNode)) and node.tag not in _PLAIN_TAGS:
            self.diagnostics.append(Diagnostic("yaml_tag", f"the tag `{node.tag}` is not allowed", self._here(node),
                                               help="remove the tag; only plain mappings and lists are read"))
            return None
        if depth > MAX_NESTING_DEPTH:
            self.diagnostics.append(
                Diagnostic("yaml_too_deep", f"nesting is deeper than the limit of {MAX_NESTING_DEPTH}", self._here(node))
            )
            return None
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, path, depth)
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, path + (i,), depth + 1) for i, item in enumerate(node.value)]
        if isinstance(node, yaml.ScalarNode):
            # A scalar folded over several lines cannot map an offset to a column: treat it as a block.
            # (libyaml reports a plain scalar's style as "", the Python parser as None.)
            style = node.style or None
            multiline = node.end_mark.line != node.start_mark.line
            self.source_map.scalar_styles[path] = "|" if multiline and style is None else style
            if style == ">" or (style is None and multiline):
                self.source_map.folded_lines[path] = self._folded_lines(node, style)
            try:
                return self.constructor.construct_object(node, deep=True)
            except yaml.YAMLError as exc:
                # The problem alone: the diagnostic has the place, which PyYAML's text gives again in its own words.
                words = getattr(exc, "problem", None) or str(exc)
                self.diagnostics.append(Diagnostic("yaml_value", " ".join(words.split()), self._here(node)))
                return None
        self.diagnostics.append(Diagnostic("yaml_value", "unsupported YAML node", self._here(node)))
        return None

    def _folded_lines(self, node: yaml.ScalarNode, style: str | None) -> list[tuple[int, int, int]]:
        """Where each line of a folded scalar's text sits: its 1-based line, column and length."""
        first = node.start_mark.line + (1 if style == ">" else 0)
        segments = []
        for index in range(first, min(node.end_mark.line + 1, len(self.lines))):
            line = self.lines[index]
            if index == node.start_mark.line:
                begin = node.start_mark.column
            else:
                begin = len(line) - len(line.lstrip(" "))
            end = node.end_mark.column if index == node.end_mark.line and style is None else len(line)
            content = line[begin:end].rstrip()
            if content:
                segments.append((index + 1, begin + 1, len(content)))
        return segments

    def _mapping(self, node: yaml.MappingNode, path: Path_, depth: int) -> dict:
        result: dict = {}
        first_seen: dict[Any, int] = {}
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                self.diagnostics.append(
                    Diagnostic("yaml_merge_key", "merge keys (`<<`) are not supported; write the keys out",
                               self._here(key_node))
                )
                continue
            try:
                key = self.constructor.construct_object(key_node) if isinstance(key_node, yaml.ScalarNode) else None
            except yaml.YAMLError:  # a tag of its own (`!x a:`), or YAML 1.1's `=` (the `value` tag)
                self.diagnostics.append(
                    Diagnostic("yaml_key_type", f"the key `{key_node.value}` cannot be read as text"
                               + (f" (it has the tag `{key_node.tag}`)" if key_node.tag.startswith("!") else ""),
                               self._here(key_node), help="remove the tag" if key_node.tag.startswith("!") else "quote the key")
                )
                continue
            if not isinstance(key, (str, int, float)) or isinstance(key, bool):
                self.diagnostics.append(
                    Diagnostic("yaml_key_type", f"mapping keys must be text, not `{key!r}`", self._here(key_node),
                               help="quote the key")
                )
                continue
            key = str(key)
            if key in first_seen:
                self.diagnostics.append(
                    Diagnostic(
                        "duplicate_key",
                        f"duplicate key `{key}` (first defined on line {first_seen[key]})",
                        self._here(key_node),
                        help="YAML keeps only one of them; remove or rename one",
                        path=path + (key,),
                    )
                )
                continue
            first_seen[key] = key_node.start_mark.line + 1
            self.source_map.key_positions[path + (key,)] = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
            result[key] = self.build(value_node, path + (key,), depth + 1)
        return result
