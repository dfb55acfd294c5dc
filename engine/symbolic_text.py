"""Text facts as terms: a fact's `pattern` as a regular expression, and texts the policy only compares
for equality as whole-number codes.

A text fact that every expression only compares with `==`, `!=`, `in [...]` (with texts written in the
policy, `None`, or other such facts) is a code: each text written in the policy, a case or a query has
its own code (`Texts.code`), and any other code is some other text, a different one for each code. The
policy reads such facts only through these comparisons, so it cannot tell two texts outside those it
names apart: every case has a coded twin with the same decision, and every coded model a case (the
codes no text was given become texts that match the pattern, `decode`). With no text left to the
solver's string theory, a query is integer arithmetic only, which it decides faster (4x for "can this
clause apply" on the Aqara policy). A text fact read any other way stays a z3 string.

Codes are kept per pattern, for the whole process: two copies of a policy (a two-copy query, two
versions) give the same text the same code.
"""

from __future__ import annotations

import ast
import itertools
import re
from typing import Any, Iterator

from .cases import MAX_TEXT_LENGTH  # a case's text is at most this long


def load_z3():
    import z3  # lazily: deciding a case must never load the solver
    return z3


# -- patterns ------------------------------------------------------------------------------------------
# A pattern (matched whole, as engine.cases does with `re.fullmatch`) in the subset translated: literal
# characters, escapes of punctuation, `.`, classes `[A-Z0-9_-]` (not negated), groups with `|`, and
# `? * + {n} {n,} {n,m}`. It is parsed once into nodes: ("chars", set), ("seq", [..]), ("alt", [..]),
# ("repeat", node, least, most or None).

_ANY = frozenset(chr(c) for c in range(32, 127))  # `.` when texts are made up (any character but a line break)


def parse(pattern: str):
    """The nodes of `pattern`, or None for a pattern outside the subset."""
    text = pattern[1:] if pattern.startswith("^") else pattern
    text = text[:-1] if text.endswith("$") and not text.endswith("\\$") else text
    try:
        node, end = _alternatives(text, 0)
    except (ValueError, IndexError):
        return None
    return node if end == len(text) else None


def _alternatives(text: str, i: int):
    branches = []
    sequence, i = _sequence(text, i)
    branches.append(sequence)
    while i < len(text) and text[i] == "|":
        sequence, i = _sequence(text, i + 1)
        branches.append(sequence)
    return (branches[0] if len(branches) == 1 else ("alt", branches)), i


def _sequence(text: str, i: int):
    items = []
    while i < len(text) and text[i] not in "|)":
        atom, i = _atom(text, i)
        atom, i = _quantified(atom, text, i)
        items.append(atom)
    return ("seq", items), i


def _atom(text: str, i: int):
    char = text[i]
    if char == "(":
        if text.startswith("(?", i):
            raise ValueError("a group with flags")
        inner, i = _alternatives(text, i + 1)
        if text[i] != ")":
            raise ValueError("an unclosed group")
        return inner, i + 1
    if char == "[":
        return _class(text, i + 1)
    if char == ".":
        return ("any",), i + 1
    if char == "\\":
        escaped = text[i + 1]
        if escaped.isalnum():
            raise ValueError("a class escape such as \\d")
        return ("chars", (escaped,)), i + 2
    if char in "*+?{^$":
        raise ValueError("a quantifier or anchor out of place")
    return ("chars", (char,)), i + 1


def _class(text: str, i: int):
    if text[i] == "^":
        raise ValueError("a negated class")
    chars: list[str] = []
    first = True
    while first or text[i] != "]":
        first = False
        low = text[i]
        if low == "\\":
            low, i = text[i + 1], i + 1
            if low.isalnum():
                raise ValueError("a class escape such as \\d")
        if text[i + 1] == "-" and text[i + 2] != "]":
            high = text[i + 2]
            if ord(high) < ord(low):
                raise ValueError("a range out of order")
            chars += [chr(c) for c in range(ord(low), ord(high) + 1)]
            i += 3
        else:
            chars.append(low)
            i += 1
    return ("chars", tuple(dict.fromkeys(chars))), i + 1


def _quantified(atom, text: str, i: int):
    if i >= len(text):
        return atom, i
    char = text[i]
    if char in "*+?":
        return ("repeat", atom, {"*": 0, "+": 1, "?": 0}[char], 1 if char == "?" else None), i + 1
    if char == "{":
        close = text.index("}", i)
        low, comma, high = text[i + 1:close].partition(",")
        least = int(low)
        most = least if not comma else (int(high) if high else None)
        return ("repeat", atom, least, most), close + 1
    return atom, i


def pattern_regex(pattern: str):
    """A fact's `pattern` as a z3 regular expression, or None for a pattern outside the subset."""
    node = parse(pattern)
    return None if node is None else _regex(load_z3(), node)


def _regex(z3, node):
    kind = node[0]
    if kind == "chars":  # runs of consecutive characters as ranges
        ranges = _ranges(z3, node[1])
        return ranges[0] if len(ranges) == 1 else z3.Union(*ranges)
    if kind == "any":
        return z3.Diff(z3.AllChar(z3.ReSort(z3.StringSort())), z3.Re(z3.StringVal("\n")))
    if kind == "seq":
        items = [_regex(z3, n) for n in node[1]]
        if not items:
            return z3.Re(z3.StringVal(""))
        return items[0] if len(items) == 1 else z3.Concat(*items)
    if kind == "alt":
        return z3.Union(*(_regex(z3, n) for n in node[1]))
    atom, least, most = _regex(z3, node[1]), node[2], node[3]
    if most is None:
        if least == 0:
            return z3.Star(atom)
        return z3.Plus(atom) if least == 1 else z3.Concat(z3.Loop(atom, least, least), z3.Star(atom))
    if (least, most) == (0, 1):
        return z3.Option(atom)
    return z3.Loop(atom, least, most)


def _ranges(z3, chars: tuple) -> list:
    runs: list[list[str]] = []
    for c in chars:
        if runs and ord(c) == ord(runs[-1][-1]) + 1:
            runs[-1].append(c)
        else:
            runs.append([c])
    return [z3.Range(r[0], r[-1]) if len(r) > 1 else z3.Re(z3.StringVal(r[0])) for r in runs]


def texts(pattern: str | None) -> Iterator[str]:
    """Texts a fact with this pattern (or none) may hold, in a fixed order, shortest and first
    characters first (`AA`, `AB`, … for `^[A-Z]{2}$`); each one matches as engine.cases checks."""
    if not pattern:
        for n in itertools.count(1):
            yield f"text {n}"
        return
    node = parse(pattern)
    if node is None:
        return
    seen: set[str] = set()
    for length in range(0, MAX_TEXT_LENGTH + 1):
        found = False
        for text in _of_length(node, length):
            found = True
            if text not in seen and re.fullmatch(pattern, text):
                seen.add(text)
                yield text
        if not found and length > _longest(node):
            return


def _longest(node) -> float:
    kind = node[0]
    if kind in ("chars", "any"):
        return 1
    if kind == "seq":
        return sum(_longest(n) for n in node[1])
    if kind == "alt":
        return max(_longest(n) for n in node[1])
    return float("inf") if node[3] is None else node[3] * _longest(node[1])


def _of_length(node, length: int) -> Iterator[str]:
    """The texts of `node` that are `length` characters long, in order (possibly repeated)."""
    kind = node[0]
    if kind in ("chars", "any"):
        if length == 1:
            yield from (sorted(_ANY) if kind == "any" else node[1])
        return
    if kind == "alt":
        for branch in node[1]:
            yield from _of_length(branch, length)
        return
    if kind == "seq":
        yield from _sequence_of_length(node[1], length)
        return
    atom, least, most = node[1], node[2], node[3]
    for count in range(least, (length if most is None else min(most, length)) + 1):
        if count == 0:
            if length == 0:
                yield ""
            continue
        yield from _sequence_of_length([atom] * count, length, nonempty=True)


def _sequence_of_length(items: list, length: int, nonempty: bool = False) -> Iterator[str]:
    if not items:
        if length == 0:
            yield ""
        return
    first, rest = items[0], items[1:]
    for size in range(1 if nonempty else 0, length + 1):
        if size > _longest(first):
            break
        heads = list(itertools.islice(_of_length(first, size), 64))  # enough to tell texts apart
        if not heads:
            continue
        for head in heads:
            for tail in _sequence_of_length(rest, length - size, nonempty):
                yield head + tail


# -- which text facts are codes ---------------------------------------------------------------------

def coded_facts(policy) -> dict[str, list[str]]:
    """The text facts of `policy` that every expression only compares for equality, each with the texts
    it is compared with (in the order they are met); those compared with each other share a pattern."""
    strings = {n for n, f in policy.facts.items() if f.type == "string"}
    if not strings:
        return {}
    group = {n: n for n in strings}  # each fact's group: facts compared with each other are one

    def root(name: str) -> str:
        while group[name] != name:
            name = group[name]
        return name

    met: dict[str, list[str]] = {n: [] for n in strings}
    refused: set[str] = set()
    for tree in _trees(policy):
        accounted: set[int] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Compare):
                operands = [node.left, *node.comparators]
                for op, left, right in zip(node.ops, operands, operands[1:]):
                    for side, other, on_left in ((left, right, True), (right, left, False)):
                        if isinstance(side, ast.Name) and side.id in strings:
                            found = _equality(op, other, on_left, strings, policy, met[side.id])
                            if found is False:
                                refused.add(side.id)
                                continue
                            accounted.add(id(side))
                            if isinstance(found, str):
                                group[root(side.id)] = root(found)
        for node in ast.walk(tree):
            if isinstance(node, ast.Name) and node.id in strings and id(node) not in accounted:
                refused.add(node.id)
    groups: dict[str, list[str]] = {}
    for name in policy.facts:
        if name in strings:
            groups.setdefault(root(name), []).append(name)
    coded: dict[str, list[str]] = {}
    for members in groups.values():
        if any(m in refused for m in members) or len({policy.facts[m].pattern or None for m in members}) != 1:
            continue
        for member in members:
            coded[member] = met[member]
    return coded


def _equality(op, other, on_left: bool, strings: set, policy, met: list) -> str | bool:
    """Whether a text fact meets `other` through `op` as a code may: `==`/`!=` (`is`) with a written
    text, `None`, a text parameter or another text fact (then that fact's name), or `in` a list of
    written texts."""
    if isinstance(op, (ast.Eq, ast.NotEq, ast.Is, ast.IsNot)):
        if isinstance(other, ast.Constant) and (other.value is None or isinstance(other.value, str)):
            if isinstance(other.value, str):
                met.append(other.value)
            return True
        if isinstance(other, ast.Name) and other.id in strings:
            return other.id
        parameter = policy.parameters.get(other.id) if isinstance(other, ast.Name) else None
        if parameter is not None and isinstance(parameter.value, str):
            met.append(parameter.value)
            return True
        return False
    if isinstance(op, (ast.In, ast.NotIn)) and on_left and isinstance(other, (ast.List, ast.Tuple)):
        if all(isinstance(e, ast.Constant) and (e.value is None or isinstance(e.value, str)) for e in other.elts):
            met.extend(e.value for e in other.elts if isinstance(e.value, str))
            return True
    return False


def _trees(policy) -> list:
    trees = [d.expression.tree for d in policy.derived.values()]
    for clause in policy.clauses:
        trees.append(clause.condition.tree)
        trees += [value.expression.tree for _, value in clause.sets if value.expression is not None]
    trees += [c.expression.tree for c in policy.constraints.values()]
    return trees


# -- codes ---------------------------------------------------------------------------------------------

class Texts:
    """The codes of the texts facts with one pattern may hold: code `i` is `written[i]`, and a code
    that no text was given is another text, one for each such code (`decode`)."""

    def __init__(self, pattern: str | None):
        self.pattern = pattern
        self.written: list[str] = []
        self._codes: dict[str, int] = {}
        self.variables: dict[str, Any] = {}  # the coded facts' variables, by name (to decode a model whole)

    def admits(self, text: str) -> bool:
        return len(text) <= MAX_TEXT_LENGTH and (not self.pattern or re.fullmatch(self.pattern, text) is not None)

    def code(self, text: str) -> int | None:
        """The code of `text`, given it now if it has none; None for a text these facts cannot hold
        (longer than a case may write, or not matching the pattern)."""
        if text not in self._codes:
            if not self.admits(text):
                return None
            self._codes[text] = len(self.written)
            self.written.append(text)
        return self._codes[text]

    def decode(self, model, *also: int) -> dict[int, str]:
        """Each code the model gives a coded variable, as a text: a code given to a text is that text;
        the others, in increasing order, become the first texts of the pattern that have no code, so
        that every case a model describes holds texts that match (the same for every copy)."""
        z3 = load_z3()
        codes = set(also)  # a variable the model leaves free reads as 0 (model completion): passed here
        for variable in self.variables.values():
            value = model.eval(variable, model_completion=False)
            if z3.is_int_value(value):
                codes.add(value.as_long())
        known = {c: self.written[c] for c in codes if 0 <= c < len(self.written)}
        others = sorted(c for c in codes if c not in known)
        fresh = (t for t in texts(self.pattern) if t not in self._codes)
        for code in others:
            text = next(fresh, None)
            if text is None:
                raise ValueError(f"the pattern `{self.pattern}` has too few texts for this model")
            known[code] = text
        return known


_REGISTRY: dict[str | None, Texts] = {}


def registry(pattern: str | None) -> Texts:
    """The codes of texts with this pattern, shared by every form in the process."""
    if pattern not in _REGISTRY:
        _REGISTRY[pattern] = Texts(pattern)
    return _REGISTRY[pattern]
