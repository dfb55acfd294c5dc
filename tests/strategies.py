"""Hypothesis strategies for differential tests of the evaluator: small valid policies, and cases.

The API:

- `policies()` draws a `GeneratedPolicy`: the text of a `policy.yaml` and of the source text it
  quotes. `write_policy(generated, folder)` writes both; `load(generated)` writes them into a
  temporary folder and returns the `engine.Policy` that `engine.load_policy` makes of them (it
  raises, naming every problem, if the policy does not validate; `load_with_problems` returns them).
- `cases(policy)` draws the facts of a case for a loaded policy or policy set, as a mapping that
  `engine.case_from_facts` accepts: some facts left out, nulls, values at the policy's boundaries.
- `aqara_cases()` draws the facts of a case for the bundled `aqara-returns` policy set.

What a generated policy holds (each drawn at random, every piece small):

- 1–6 facts of every type (`bool`, `int` with minimum/maximum, `number`, `enum`, `string`, `date`,
  `datetime`), some `nullable`, some with a `default`;
- 0–3 parameters: a whole number, a decimal, a text, a date written as text (read with `date(p)`);
- 0–4 derived values (numbers, booleans, dates), each over the facts, parameters and the derived
  values before it, with `+ - * / // %`, the date functions, `max min abs round_money prorate` and
  `x if c else y`;
- 1–4 outputs: `enum` (with a default, sometimes an `undetermined` value, sometimes nullable),
  `list` (collected from every clause, in clause order), `number` (nullable, computed with
  `{expression: ...}`), `bool`, `date`, `string`;
- 1–8 clauses. A condition is an optional *guard* and a few *parts* joined by `and`. Guards test
  the policy's one or two *selectors* (an enum fact, a non-null bool fact, a number split at
  constants, or a boolean derived value); two clauses whose guards pick disjoint values of one
  selector are exclusive, and `verdict validate` can prove it. Parts are comparisons (chained
  too), `in` / `not in`, null guards (`x != None and ...`), `and` / `or` / `not`, parentheses,
  `if`, boolean names, and reads of outputs decided by other clauses.
- Precedence: every clause has a random rank. Where two clauses can both apply and set one
  output to different values (their guards do not exclude each other), the higher-ranked one
  `overrides` the other; some other pairs get `overrides` too, and sometimes the top-ranked clause
  declares `overrides: all`. Edges go from higher to lower rank, so they never loop. A clause reads
  only outputs ordered before every output it sets; a last pass drops reads that overriding would
  still turn into a loop.
- Conditions and values may fail at run time on some cases, on purpose: a nullable fact used
  unguarded, a division by a fact that may be zero, a fractional count of days, `and` over a
  number. Such a failure must show in `decision.errors`, never as an exception.

Every policy is valid by construction (no filtering): `tests/test_strategies.py` checks that a
sample validates, and that across a sample every kind of piece above occurs.
"""

from __future__ import annotations

import ast
import datetime as dt
import hashlib
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

import yaml
from hypothesis import strategies as st

import engine

MAX_FACTS = 6
MAX_PARAMETERS = 3
MAX_DERIVED = 4
MAX_OUTPUTS = 4
MAX_CLAUSES = 8

FACT_TYPES = ("bool", "int", "number", "enum", "string", "date", "datetime")
OUTPUT_TYPES = ("enum", "list", "number", "bool", "date", "string")

# Literals the expressions use. Dates include month ends and a leap day, where add_months clamps.
NUMBER_LITERALS = (0, 1, 2, 10, 30, -3, 2.5, 0.1, 100)
COUNT_LITERALS = (0, 1, 12, 30, -1)
DATE_LITERALS = ("2026-03-01", "2026-01-31", "2024-02-29", "2026-12-31", "2026-03-29")
TEXT_LITERALS = ("AB", "x", "", "DE")
ENUM_VALUES = (("alpha", "beta"), ("alpha", "beta", "gamma"), ("red", "green", "blue", "gold"))
OUTPUT_VALUES = (("yes", "no"), ("low", "mid", "high"), ("a", "b", "c", "d"))

POLICY_ID = "generated"
SOURCE_FILE = "source.txt"


# -- the generated policy and how to load it -----------------------------------------------------


@dataclass(frozen=True)
class GeneratedPolicy:
    """A policy as data: the text of `policy.yaml` and of the source text it quotes."""

    yaml: str
    source: str

    def __repr__(self) -> str:
        # Hypothesis prints this for a failing example: the YAML as a policy author reads it.
        return f"GeneratedPolicy(yaml='''\n{self.yaml}''',\nsource='''\n{self.source}''')"


def write_policy(generated: GeneratedPolicy, folder: Path) -> Path:
    """Write the policy and its source text into `folder` (created if needed); returns the folder."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / SOURCE_FILE).write_text(generated.source, encoding="utf-8")
    (folder / "policy.yaml").write_text(generated.yaml, encoding="utf-8")
    return folder


def load_with_problems(generated: GeneratedPolicy) -> tuple[engine.Policy | None, list]:
    """`engine.load_policy` on the policy written into a temporary folder: (policy or None, problems)."""
    with tempfile.TemporaryDirectory(prefix="verdict-generated-") as tmp:
        return engine.load_policy(write_policy(generated, Path(tmp) / POLICY_ID))


def load(generated: GeneratedPolicy) -> engine.Policy:
    """The loaded policy; an AssertionError naming every problem (and the YAML) if it does not validate."""
    policy, problems = load_with_problems(generated)
    if policy is None or problems:
        listing = "\n".join(f"  {p.location}: {p.subject}: {p.message}" for p in problems)
        raise AssertionError(f"the generated policy does not validate:\n{listing}\n{generated.yaml}")
    return policy


# -- names in scope, and the expressions written over them ---------------------------------------


@dataclass(frozen=True)
class _Name:
    """A name an expression may read, with what the type checker and literal checks know of it."""

    name: str
    kind: str  # number, bool, text, enum, date, datetime, datetext (a parameter), list (an output)
    role: str  # fact, parameter, derived, output
    nullable: bool = False
    values: tuple[str, ...] = ()  # enum facts, enum and list outputs: the literals it may be compared with
    whole: bool = False  # always a whole number: safe as the count of add_days / add_months


class _Writer:
    """Writes well-typed expressions over the names in scope, as text.

    Only mistakes the validator cannot see are allowed in: a nullable name read without a guard, a
    division by a name that may be zero, a fractional day count, `and`/`or` over a number. Those
    fail at run time on some cases, which is what the error paths need.
    """

    def __init__(self, draw, names: Iterable[_Name], constants: dict[str, list]):
        self.draw = draw
        self.names = list(names)
        self.constants = constants  # number / date literals (as text) that the policy compares with

    # helpers
    def pick(self, options):
        return self.draw(st.sampled_from(list(options)))

    def chance(self, tenths: int) -> bool:
        # Shrinks towards False: the simpler example leaves the option out.
        return self.draw(st.integers(0, 9)) >= 10 - tenths

    def of(self, *kinds: str, nullable: bool | None = None) -> list[_Name]:
        return [n for n in self.names if n.kind in kinds and (nullable is None or n.nullable == nullable)]

    def subjects(self, *kinds: str) -> list[_Name]:
        """Names that vary from case to case: facts, derived values, outputs (not parameters)."""
        return [n for n in self.of(*kinds) if n.role != "parameter"]

    # numbers
    def number(self, depth: int) -> str:
        """A number: a literal, any number name, or an expression over the policy's names."""
        choices = ["literal", "subject", "subject"] + (["name"] if self.of("number") else [])
        kind = self.pick(choices)
        if kind == "literal":
            return repr(self.pick(NUMBER_LITERALS))
        if kind == "name":
            return self.pick(self.of("number")).name
        return self.number_subject(depth)

    def number_subject(self, depth: int) -> str:
        """A number that reads at least one fact, derived value or output (so that it varies by case)."""
        choices = []
        if self.subjects("number"):
            choices += ["name", "name", "name"]
        if self.subjects("date", "datetime"):
            choices += ["days", "days"]
        if len(self.subjects("datetime")) > 0:
            choices += ["hours"]
        if not choices:
            return repr(self.pick(NUMBER_LITERALS))  # nothing varies: a constant it is
        if depth > 0:
            choices += ["arithmetic", "arithmetic", "call", "if", "negative"]
        kind = self.pick(choices)
        if kind == "name":
            return self.pick(self.subjects("number")).name
        if kind == "days":
            function = self.pick(["days_between", "local_days_between"])
            moments = [self.moment_subject(max(depth - 1, 0)), self.moment(0)]
            if self.chance(5):
                moments.reverse()
            return f"{function}({moments[0]}, {moments[1]})"
        if kind == "hours":
            first, second = self.pick(self.of("datetime")).name, self.pick(self.of("datetime")).name
            return f"hours_between({first}, {second})"
        if kind == "arithmetic":
            operator = self.pick(["+", "-", "*", "/", "//", "%"])
            operands = [self.number_subject(depth - 1), self.number(depth - 1)]
            if self.chance(3):
                operands.reverse()  # a name on the right: a division by a fact that may be zero
            return f"({operands[0]} {operator} {operands[1]})"
        if kind == "negative":
            return f"-{self.number_subject(0)}"
        if kind == "if":
            return f"({self.number_subject(depth - 1)} if {self.boolean(depth - 1)} else {self.number(depth - 1)})"
        function = self.pick(["abs", "round_money", "max", "min", "prorate"])
        if function in ("abs", "round_money"):
            return f"{function}({self.number_subject(depth - 1)})"
        if function == "prorate":
            return f"prorate({self.number_subject(depth - 1)}, {self.number(0)}, {self.number(0)})"
        return f"{function}({self.number_subject(depth - 1)}, {self.number(depth - 1)})"

    def count(self) -> str:
        """A number of days or months: usually whole, now and then any number (a run-time error if fractional)."""
        whole = [n for n in self.of("number") if n.whole]
        choices = ["literal"] + (["whole", "whole"] if whole else []) + (["any"] if self.of("number") else [])
        kind = self.pick(choices)
        if kind == "literal":
            return repr(self.pick(COUNT_LITERALS))
        return self.pick(whole if kind == "whole" else self.of("number")).name

    # dates
    def date(self, depth: int) -> str:
        """A date: a literal, a date parameter, or an expression over the policy's names."""
        choices = ["literal", "subject"] + (["parameter"] if self.of("datetext") else [])
        kind = self.pick(choices)
        if kind == "literal":
            return f"date('{self.pick(DATE_LITERALS + tuple(self.constants['dates']))}')"
        if kind == "parameter":
            return f"date({self.pick(self.of('datetext')).name})"
        return self.date_subject(depth)

    def date_subject(self, depth: int) -> str:
        """A date that reads at least one fact, derived value or output."""
        choices = (["name", "name"] if self.subjects("date") else []) + (["convert"] if self.subjects("datetime") else [])
        if not choices:
            return self.date(0) if self.of("datetext") else f"date('{self.pick(DATE_LITERALS)}')"
        if depth > 0:
            choices += ["shift", "shift", "convert", "extreme", "if"]
        kind = self.pick(choices)
        if kind == "name":
            return self.pick(self.subjects("date")).name
        if kind == "shift":
            return f"{self.pick(['add_days', 'add_months'])}({self.moment_subject(depth - 1)}, {self.count()})"
        if kind == "convert":
            return f"{self.pick(['utc_date', 'local_date'])}({self.moment_subject(max(depth - 1, 0))})"
        if kind == "extreme":
            return f"{self.pick(['max', 'min'])}({self.date_subject(depth - 1)}, {self.date(depth - 1)})"
        return f"({self.date_subject(depth - 1)} if {self.boolean(depth - 1)} else {self.date(depth - 1)})"

    def moment(self, depth: int) -> str:
        """A date or a datetime (what the day-counting functions take)."""
        if self.of("datetime") and self.chance(5):
            return self.pick(self.of("datetime")).name
        return self.date(depth)

    def moment_subject(self, depth: int) -> str:
        if self.subjects("datetime") and (not self.subjects("date") or self.chance(5)):
            return self.pick(self.subjects("datetime")).name
        return self.date_subject(depth)

    # texts
    def text(self, depth: int) -> str:
        choices = ["literal"] + (["name", "name", "name"] if self.of("text", "enum") else [])
        if depth > 0:
            choices += ["join", "if"]
        kind = self.pick(choices)
        if kind == "literal":
            return repr(self.pick(TEXT_LITERALS))
        if kind == "name":
            return self.pick(self.of("text", "enum")).name
        if kind == "join":
            return f"({self.text(depth - 1)} + {self.text(0)})"
        return f"({self.text(depth - 1)} if {self.boolean(depth - 1)} else {self.text(depth - 1)})"

    # conditions
    def threshold(self) -> str:
        """A number a condition compares with: a parameter, or a constant the policy already uses."""
        parameters = [n.name for n in self.of("number") if n.role == "parameter"]
        if parameters and self.chance(3):
            return self.pick(parameters)
        return repr(self.pick(list(self.constants["numbers"]) or list(NUMBER_LITERALS)))

    def boolean(self, depth: int) -> str:
        """A condition part. Every kind of name has its tests; `and`/`or`/`not` nest them."""
        choices = ["number", "number"] if self.subjects("number", "date", "datetime") else []
        for kinds, test in ((("bool",), "flag"), (("enum",), "enum"), (("text",), "text"),
                            (("date", "datetime"), "date"), (("list",), "list")):
            if self.subjects(*kinds):
                choices += [test, test]
        if any(n.nullable for n in self.names):
            choices += ["null", "null"]
        if depth > 0:
            choices += ["and", "or", "not", "if"] + (["chained"] if "number" in choices else [])
            if self.subjects("number"):
                choices += ["truthy"]
        kind = self.pick(choices)
        if kind == "number":
            operator = self.pick(["<=", "<", ">", ">=", "==", "!="])
            other = self.number_subject(0) if self.chance(2) else self.threshold()
            return f"{self.number_subject(max(depth - 1, 0))} {operator} {other}"
        if kind == "chained":
            low, high = sorted([self.threshold(), self.threshold()], key=_sort_key)
            return f"{low} {self.pick(['<', '<='])} {self.number_subject(0)} {self.pick(['<', '<='])} {high}"
        if kind == "flag":
            name = self.pick(self.subjects("bool")).name
            return self.pick([name, f"not {name}", f"{name} == True", f"{name} != False"])
        if kind == "enum":
            return self.about(self.pick(self.subjects("enum")))
        if kind == "text":
            return self.about(self.pick(self.subjects("text")))
        if kind == "date":
            return f"{self.date_subject(max(depth - 1, 0))} {self.pick(['<=', '<', '>', '>=', '=='])} {self.date(0)}"
        if kind == "list":
            return self.about(self.pick(self.subjects("list")))
        if kind == "null":
            name = self.pick([n for n in self.names if n.nullable])
            return self.pick([f"{name.name} == None", f"{name.name} is None",
                              f"({name.name} != None and {self.about(name)})",
                              f"({name.name} is not None and {self.about(name)})",
                              f"({name.name} == None or {self.about(name)})"])
        if kind == "and":
            return f"({self.boolean(depth - 1)} and {self.boolean(depth - 1)})"
        if kind == "or":
            return f"({self.boolean(depth - 1)} or {self.boolean(depth - 1)})"
        if kind == "not":
            return f"not ({self.boolean(depth - 1)})"
        if kind == "if":
            return f"({self.boolean(depth - 1)} if {self.boolean(depth - 1)} else {self.boolean(depth - 1)})"
        # `and`/`or` over a number: valid, but the condition is then a number on some cases (an error).
        return f"({self.pick(self.subjects('number')).name} {self.pick(['and', 'or'])} {self.boolean(0)})"

    def about(self, name: _Name) -> str:
        """A test of one name that fits its type (used for null guards: `x != None and <this>`)."""
        if name.kind == "number":
            return f"{name.name} {self.pick(['<=', '<', '>', '>=', '==', '!='])} {self.threshold()}"
        if name.kind == "bool":
            return self.pick([name.name, f"not {name.name}"])
        if name.kind == "enum":
            values = list(name.values)
            some = sorted(self.draw(st.sets(st.sampled_from(values), min_size=1, max_size=len(values))), key=values.index)
            one = some[0]
            return self.pick([f"{name.name} == '{one}'", f"{name.name} != '{one}'", f"'{one}' == {name.name}",
                              f"{name.name} in {some!r}", f"{name.name} not in {some!r}"])
        if name.kind == "text":
            literal = repr(self.pick(TEXT_LITERALS[:2] + tuple(self.constants["texts"])))
            return self.pick([f"{name.name} == {literal}", f"{name.name} != {literal}",
                              f"{name.name} in [{literal}, 'ZZ']", f"{literal} in {name.name}", f"{name.name} < {literal}"])
        if name.kind in ("date", "datetext"):
            subject = name.name if name.kind == "date" else f"date({name.name})"
            return f"{subject} {self.pick(['<=', '<', '>', '>=', '=='])} {self.date(0)}"
        if name.kind == "datetime":
            return f"{self.pick(['utc_date', 'local_date'])}({name.name}) {self.pick(['<=', '>'])} {self.date(0)}"
        if name.kind == "list":
            value = self.pick(name.values)
            return self.pick([f"'{value}' in {name.name}", f"'{value}' not in {name.name}", f"{name.name} == []",
                              f"{name.name} != [{value!r}]"])
        raise AssertionError(name.kind)


def _sort_key(text: str):
    try:
        return (0, float(text))
    except ValueError:
        return (1, text)


# -- facts, parameters, derived values, outputs --------------------------------------------------


_FACT_STEMS = {"bool": "flag", "int": "count", "number": "amount", "enum": "kind", "string": "code",
               "date": "day", "datetime": "moment"}


@st.composite
def _fact(draw, index: int, kind: str) -> tuple[dict, _Name]:
    name = f"{_FACT_STEMS[kind]}{index}"
    spec: dict[str, Any] = {"type": kind, "description": f"A {kind} fact."}
    values: tuple[str, ...] = ()
    if kind == "enum":
        values = draw(st.sampled_from(ENUM_VALUES))
        spec["values"] = list(values)
    if kind == "int":
        low = draw(st.sampled_from([None, 0, 1, -5]))
        high = draw(st.sampled_from([None, 20, 400]))
        if low is not None:
            spec["minimum"] = low
        if high is not None:
            spec["maximum"] = high
    if kind == "number" and draw(st.booleans()):
        spec["minimum"] = 0
    if kind == "string" and draw(st.booleans()):
        spec["pattern"] = "^[A-Z]{2}$"
    nullable = draw(st.integers(0, 9)) >= 7
    if nullable:
        spec["nullable"] = True
    if draw(st.integers(0, 9)) >= 8:
        spec["default"] = None if nullable and draw(st.booleans()) else _default_value(kind, values, spec)
    expression_kind = {"int": "number", "string": "text"}.get(kind, kind)
    return spec, _Name(name, expression_kind, "fact", nullable, values, whole=kind == "int")


def _default_value(kind: str, values: tuple[str, ...], spec: dict) -> Any:
    return {"bool": False, "int": max(spec.get("minimum", 0), 1), "number": 2.5, "enum": values[-1] if values else None,
            "string": "AB", "date": "2026-03-01", "datetime": "2026-03-01T23:30:00-05:00"}[kind]


@st.composite
def _parameter(draw, index: int) -> tuple[str, dict, _Name]:
    kind = draw(st.sampled_from(["whole", "decimal", "text", "date"]))
    name = {"whole": "limit", "decimal": "rate", "text": "label", "date": "cutoff"}[kind] + str(index)
    value: Any = {"whole": draw(st.sampled_from([10, 30, 12, 0])), "decimal": draw(st.sampled_from([0.5, 2.75, 99.99])),
                  "text": draw(st.sampled_from(["DE", "x"])), "date": draw(st.sampled_from(DATE_LITERALS))}[kind]
    spec = {"value": value, "description": f"A {kind} parameter.", "origin": "Drawn by the test generator."}
    expression_kind = {"whole": "number", "decimal": "number", "text": "text", "date": "datetext"}[kind]
    return name, spec, _Name(name, expression_kind, "parameter", whole=kind == "whole")


@st.composite
def _output(draw, index: int, kind: str) -> tuple[str, dict, _Name]:
    name = {"enum": "status", "list": "steps", "number": "amount_out", "bool": "approved", "date": "due_on",
            "string": "note"}[kind] + str(index)
    spec: dict[str, Any] = {"type": kind, "description": f"A {kind} output."}
    values: tuple[str, ...] = ()
    nullable = False
    if kind in ("enum", "list"):
        values = draw(st.sampled_from(OUTPUT_VALUES))
        spec["values"] = list(values)
    if kind == "enum":
        shape = draw(st.sampled_from(["default", "undetermined", "nullable"]))
        if shape == "undetermined":
            spec["values"] = list(values) + ["undetermined"]
            spec["undetermined"] = "undetermined"
        if shape == "nullable":
            nullable = True
            spec["nullable"] = True
            spec["default"] = None
        else:
            spec["default"] = values[-1]
    elif kind == "list":
        if draw(st.integers(0, 9)) >= 8:
            spec["default"] = [values[0]]
    else:
        nullable = kind in ("number", "date") or draw(st.booleans())
        if nullable:
            spec["nullable"] = True
        if not nullable or draw(st.booleans()):
            spec["default"] = None if nullable and draw(st.booleans()) else {
                "number": 0, "bool": False, "date": "2026-01-01", "string": "none"}[kind]
    expression_kind = {"string": "text"}.get(kind, kind)
    return name, spec, _Name(name, expression_kind, "output", nullable, values)


# -- selectors: what makes two clauses exclusive -------------------------------------------------


@dataclass(frozen=True)
class _Selector:
    """A name whose values split the cases into cells, and how a guard picks some cells.

    Cells are what the validator's conflict check can tell apart, not every value: a negative
    guard (`!=`, `not in`) also covers the cell `other`, since the check never proves two negative
    guards exclusive (and a null makes both true).
    """

    name: str
    kind: str  # enum, bool, number, derived
    cells: tuple
    splits: tuple = ()  # number: the constants (as text) between the cells


def _selectors(facts: list[_Name], derived: dict[str, tuple[str, str]]) -> list[_Selector]:
    found = []
    for fact in facts:
        if fact.kind == "enum":
            found.append(_Selector(fact.name, "enum", fact.values))
        elif fact.kind == "bool" and not fact.nullable:  # a nullable bool is not two-valued
            found.append(_Selector(fact.name, "bool", (True, False)))
        elif fact.kind == "number":
            found.append(_Selector(fact.name, "number", (0, 1, 2), ("10", "30")))
    for name, (kind, text) in derived.items():
        if kind == "bool" and re.fullmatch(r"[a-z_0-9]+ > \d+", text):
            found.append(_Selector(name, "derived", (True, False)))
    return found


@st.composite
def _guard(draw, selector: _Selector) -> tuple[str, frozenset]:
    """A condition on the selector and the cells it may hold in."""
    name = selector.name
    if selector.kind in ("bool", "derived"):
        value = draw(st.booleans())
        forms = [name, f"({name})"] if value else [f"not {name}", f"not ({name})"]
        if selector.kind == "bool":  # a derived flag is looked through only when read bare
            forms += [f"{name} == {value}", f"{name} != {not value}"]
        return draw(st.sampled_from(forms)), frozenset({value})
    if selector.kind == "enum":
        values = list(selector.cells)
        chosen = sorted(draw(st.sets(st.sampled_from(values), min_size=1, max_size=len(values) - 1)), key=values.index)
        rest = [v for v in values if v not in chosen]
        if len(chosen) == 1:
            form = draw(st.sampled_from(["==", "in", "or", "reversed"]))
        else:
            form = draw(st.sampled_from(["in", "or", "not in"] + (["!="] if len(rest) == 1 else [])))
        if form == "==":
            return f"{name} == '{chosen[0]}'", frozenset(chosen)
        if form == "reversed":
            return f"'{chosen[0]}' == {name}", frozenset(chosen)
        if form == "in":
            return f"{name} in {chosen!r}", frozenset(chosen)
        if form == "or":
            return "(" + " or ".join(f"{name} == '{v}'" for v in chosen) + ")", frozenset(chosen)
        if form == "!=":
            return f"{name} != '{rest[0]}'", frozenset(chosen) | {"other"}
        return f"{name} not in {rest!r}", frozenset(chosen) | {"other"}
    # number: cells 0, 1, 2 are (-inf, 10], (10, 30], (30, inf)
    low, high = selector.splits
    first = draw(st.integers(0, 2))
    last = draw(st.integers(first, 2))
    if (first, last) == (0, 2):
        last = 1
    texts = {(0, 0): [f"{name} <= {low}", f"not ({name} > {low})"],
             (0, 1): [f"{name} <= {high}", f"{high} >= {name}"],
             (1, 1): [f"{low} < {name} <= {high}", f"({name} > {low} and {name} <= {high})"],
             (1, 2): [f"{name} > {low}", f"not ({name} <= {low})"],
             (2, 2): [f"{name} > {high}", f"{high} < {name}"]}[(first, last)]
    return draw(st.sampled_from(texts)), frozenset(range(first, last + 1))


# -- clauses -------------------------------------------------------------------------------------


@dataclass
class _Part:
    """A piece of a condition, and the outputs it reads (so that reads can be dropped to break loops)."""

    text: str
    reads: frozenset


@dataclass
class _Value:
    """What a clause sets one output to: a literal (YAML value) or an expression; `key` is how the
    validator compares two of them (two clauses that agree are no conflict)."""

    yaml: Any
    key: str
    reads: frozenset = frozenset()
    fallback: "_Value | None" = None  # a literal to use if the reads must be dropped


@dataclass
class _Clause:
    id: str
    rank: int
    guards: dict = field(default_factory=dict)  # selector name -> (text, cells)
    parts: list = field(default_factory=list)
    then: dict = field(default_factory=dict)  # output name -> _Value
    overrides: set = field(default_factory=set)
    overrides_all: bool = False
    when_as_bool: bool = False  # write `when: true` rather than the text `True`

    @property
    def reads(self) -> frozenset:
        return frozenset().union(*(p.reads for p in self.parts), *(v.reads for v in self.then.values()))

    def condition(self) -> str | bool:
        pieces = [text for text, _ in self.guards.values()] + [p.text for p in self.parts]
        if not pieces:
            return True if self.when_as_bool else "True"
        return " and ".join(pieces)


def _names_in(text: str) -> frozenset:
    return frozenset(n.id for n in ast.walk(ast.parse(text, mode="eval")) if isinstance(n, ast.Name))


@st.composite
def _value(draw, output: _Name, spec: dict, writer: _Writer, outputs: set) -> _Value:
    kind = spec["type"]
    if kind == "enum":
        literal = draw(st.sampled_from([v for v in spec["values"] if v != spec.get("undetermined")]
                                       + ([None] if output.nullable else [])))
        return _Value(literal, repr(literal))
    if kind == "list":
        items = draw(st.lists(st.sampled_from(spec["values"]), unique=True, max_size=3))
        return _Value(items, repr(tuple(items)))
    literal = {"number": draw(st.sampled_from([0, 1, 10, 2.5, -1])), "bool": draw(st.booleans()),
               "date": draw(st.sampled_from(DATE_LITERALS)), "string": draw(st.sampled_from(["ok", "DE", ""]))}[kind]
    if output.nullable and draw(st.integers(0, 9)) >= 8:
        literal = None
    if draw(st.booleans()):
        return _literal_value(kind, literal)
    text = {"number": writer.number_subject, "bool": writer.boolean, "date": writer.date_subject, "string": writer.text}[kind](2)
    return _Value({"expression": text}, text, _names_in(text) & outputs, _literal_value(kind, literal))


def _literal_value(kind: str, literal: Any) -> _Value:
    # The validator compares the loaded values: a date literal is a date once loaded.
    key = repr(dt.date.fromisoformat(literal)) if kind == "date" and literal else repr(literal)
    return _Value(literal, key)


@st.composite
def _clause(draw, index: int, rank: int, overrides_all: bool, outputs: list[tuple[str, dict, _Name]],
            names: list[_Name], selectors: list[_Selector], constants: dict) -> _Clause:
    clause = _Clause(f"rule-{index + 1}", rank, overrides_all=overrides_all)
    chosen = sorted(draw(st.sets(st.integers(0, len(outputs) - 1), min_size=1, max_size=min(2, len(outputs)))))
    # Reads only of outputs ordered before all it sets: most policies then have no loop to break.
    # A clause that overrides all is read by every output's decision, so it reads none.
    readable = [] if overrides_all else [o[2] for o in outputs[:chosen[0]]]
    writer = _Writer(draw, names + readable, constants)
    output_names = {o[0] for o in outputs}
    for selector in selectors:
        if draw(st.integers(0, 9)) >= 3:
            clause.guards[selector.name] = draw(_guard(selector))
    for _ in range(draw(st.integers(0 if clause.guards else 1, 2))):
        text = writer.boolean(2)
        clause.parts.append(_Part(text, _names_in(text) & output_names))
    if readable and draw(st.integers(0, 9)) >= 5:
        # A read of an earlier output, as the procedure clauses of aqara-returns read `eligibility`.
        text = writer.about(draw(st.sampled_from(readable)))
        clause.parts.append(_Part(text, _names_in(text) & output_names))
    clause.when_as_bool = draw(st.booleans())
    for position in chosen:
        name, spec, output = outputs[position]
        clause.then[name] = draw(_value(output, spec, writer, output_names))
    return clause


def _exclusive(first: _Clause, second: _Clause) -> bool:
    """Whether the guards prove the two clauses never both apply (as the validator will)."""
    return any(name in second.guards and not (cells & second.guards[name][1]) for name, (_, cells) in first.guards.items())


def _resolve_conflicts(clauses: list[_Clause], collecting: set[str]) -> None:
    """Give precedence (higher rank overrides lower) wherever two clauses may set one output apart."""
    for i, first in enumerate(clauses):
        for second in clauses[i + 1:]:
            if _exclusive(first, second):
                continue
            for name, value in first.then.items():
                if name in collecting or name not in second.then or second.then[name].key == value.key:
                    continue
                winner, loser = (first, second) if first.rank > second.rank else (second, first)
                if not winner.overrides_all:
                    winner.overrides.add(loser.id)


def _read_loop(clauses: list[_Clause], outputs: list[str]) -> _Clause | None:
    """A clause whose reads take part in a loop of output reads, as the validator counts them
    (deciding output B needs every clause that sets B and every clause that overrides one of those)."""
    by_id = {c.id: c for c in clauses}
    overriders = {c.id: [w for w in clauses if c.id in w.overrides or (w.overrides_all and w is not c)] for c in clauses}
    edges: dict[str, dict[str, list[_Clause]]] = {o: {} for o in outputs}
    for clause in clauses:
        for name in clause.then:
            for reader in [clause] + overriders[clause.id]:
                for read in reader.reads:
                    edges[name].setdefault(read, []).append(reader)
    state: dict[str, int] = {}

    def visit(node: str) -> _Clause | None:
        state[node] = 1
        for nxt, readers in edges[node].items():
            if state.get(nxt) == 1:
                return readers[0]
            if state.get(nxt) is None:
                found = visit(nxt)
                if found:
                    return found
        state[node] = 2
        return None

    for node in outputs:
        if node not in state:
            found = visit(node)
            if found:
                return by_id[found.id]
    return None


def _drop_reads(clause: _Clause) -> None:
    clause.parts = [p for p in clause.parts if not p.reads]
    for name, value in list(clause.then.items()):
        if value.reads:
            clause.then[name] = value.fallback


# -- the whole policy ----------------------------------------------------------------------------


def _constants(parameters: dict) -> dict[str, list]:
    numbers = [10, 30] + [spec["value"] for spec in parameters.values() if type(spec["value"]) in (int, float)]
    dates = [spec["value"] for spec in parameters.values() if isinstance(spec["value"], str)
             and re.fullmatch(r"\d{4}-\d{2}-\d{2}", spec["value"])]
    texts = [spec["value"] for spec in parameters.values() if isinstance(spec["value"], str) and spec["value"] not in dates]
    return {"numbers": list(dict.fromkeys(numbers)), "dates": dates, "texts": texts}


@st.composite
def policies(draw) -> GeneratedPolicy:
    """Small policies that validate: see the module's docstring for what they hold."""
    fact_kinds = draw(st.lists(st.sampled_from(FACT_TYPES), min_size=1, max_size=MAX_FACTS))
    facts: dict[str, dict] = {}
    fact_names: list[_Name] = []
    for index, kind in enumerate(fact_kinds, start=1):
        spec, name = draw(_fact(index, kind))
        facts[name.name] = spec
        fact_names.append(name)

    parameters: dict[str, dict] = {}
    names = list(fact_names)
    for index in range(1, draw(st.integers(0, MAX_PARAMETERS)) + 1):
        name, spec, named = draw(_parameter(index))
        parameters[name] = spec
        names.append(named)
    constants = _constants(parameters)

    derived: dict[str, dict] = {}
    derived_kinds: dict[str, tuple[str, str]] = {}
    for index in range(1, draw(st.integers(0, MAX_DERIVED)) + 1):
        kind = draw(st.sampled_from(["number", "bool", "date", "flag"]))
        writer = _Writer(draw, names, constants)
        if kind == "flag":  # `big = count > 10`: a boolean derived value a guard can select on
            numbers = [n for n in fact_names if n.kind == "number" and not n.nullable]
            text = f"{draw(st.sampled_from(numbers)).name} > 10" if numbers else writer.boolean(1)
            kind = "bool"
        else:
            text = {"number": writer.number_subject, "bool": writer.boolean, "date": writer.date_subject}[kind](2)
        name = {"number": "total", "bool": "check", "date": "due"}[kind] + str(index)
        derived[name] = {"expression": text, "description": f"A derived {kind}."}
        derived_kinds[name] = (kind, text)
        names.append(_Name(name, kind, "derived"))

    outputs: list[tuple[str, dict, _Name]] = []
    for index, kind in enumerate(draw(st.lists(st.sampled_from(OUTPUT_TYPES), min_size=1, max_size=MAX_OUTPUTS)), start=1):
        outputs.append(draw(_output(index, kind)))

    candidates = _selectors(fact_names, derived_kinds)
    selectors = draw(st.lists(st.sampled_from(candidates), unique_by=lambda s: s.name, max_size=2)) if candidates else []

    count = draw(st.integers(1, MAX_CLAUSES))
    ranks = draw(st.permutations(range(count)))
    top = ranks.index(count - 1)
    overrides_all = count > 1 and draw(st.integers(0, 9)) >= 8
    clauses = [draw(_clause(i, ranks[i], overrides_all and i == top, outputs, names, selectors, constants))
               for i in range(count)]
    # Some precedence that no conflict asks for: overriding then also sets aside the loser's other outputs.
    for i, j in draw(st.lists(st.tuples(st.integers(0, count - 1), st.integers(0, count - 1)), max_size=2)):
        if i != j:
            winner, loser = (clauses[i], clauses[j]) if ranks[i] > ranks[j] else (clauses[j], clauses[i])
            winner.overrides.add(loser.id)

    collecting = {name for name, spec, _ in outputs if spec["type"] == "list"}
    output_order = [name for name, _, _ in outputs]
    while True:  # dropping a read may change a value and so a conflict: repeat until nothing changes
        _resolve_conflicts(clauses, collecting)
        looping = _read_loop(clauses, output_order)
        if looping is None:
            break
        _drop_reads(looping)

    return _render(facts, parameters, derived, outputs, clauses, draw(st.booleans()))


def _render(facts, parameters, derived, outputs, clauses: list[_Clause], informational: bool) -> GeneratedPolicy:
    sentences = [f"Rule {c.id.split('-')[1]} applies." for c in clauses]
    if informational:
        sentences.append("This sentence decides nothing.")
    source = "\n".join(sentences) + "\n"
    document: dict[str, Any] = {
        "policy": {"id": POLICY_ID, "version": "0.0.1", "effective_from": "2024-01-01", "title": "Generated",
                   "source": {"file": SOURCE_FILE, "sha256": hashlib.sha256(source.encode()).hexdigest()}},
        "facts": facts,
    }
    if parameters:
        document["parameters"] = parameters
    if derived:
        document["derived"] = derived
    document["outputs"] = {name: spec for name, spec, _ in outputs}
    document["clauses"] = []
    order = {c.id: n for n, c in enumerate(clauses)}
    for clause, sentence in zip(clauses, sentences):
        spec: dict[str, Any] = {"id": clause.id, "title": f"Clause {clause.id}",
                                "source": {"section": "Rules", "quote": sentence},
                                "when": clause.condition(), "then": {k: v.yaml for k, v in clause.then.items()}}
        if clause.overrides_all:
            spec["overrides"] = "all"
        elif clause.overrides:
            spec["overrides"] = sorted(clause.overrides, key=order.__getitem__)
        document["clauses"].append(spec)
    if informational:
        document["informational"] = [{"quote": sentences[-1], "reason": "It is there to be listed as informational."}]
    text = yaml.safe_dump(document, sort_keys=False, default_flow_style=None, width=120, allow_unicode=True)
    return GeneratedPolicy(text, source)
