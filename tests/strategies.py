"""Hypothesis strategies for differential tests of the evaluator: small valid policies, and cases.

The API:

- `policies()` draws a `GeneratedPolicy` (`.yaml`, the text of a `policy.yaml`; `.source`, the
  source text it quotes); `policies(constraints=True)`, one that also declares 1–3 constraints. `write_policy(generated, folder)` writes both into a folder;
  `load(generated)` writes them into a temporary folder and returns the `engine.Policy` that
  `engine.load_policy` makes of them (an AssertionError naming every problem if it does not
  validate); `load_with_problems(generated)` returns `(policy or None, problems)`. Both are cached.
- `cases(policy, leave_out=True)` draws the facts of a case for a loaded `engine.Policy` or
  `engine.PolicySet`, as the mapping `engine.case_from_facts` takes: facts left out, nulls, values
  at the boundaries the policy tests (`policy_marks(policy)` gives the constants it reads them from).
- `policies_with_cases(cases_per_policy=3, constraints=False)` draws `(GeneratedPolicy, [facts, ...])`.
- `aqara_cases(variant_facts=True, leave_out=True)` draws the facts of a case for the bundled
  `aqara-returns` policy set (`AQARA` is its folder); `variant_facts=False` keeps to the facts of
  the base policy.

What a generated policy holds (each drawn at random, every piece small):

- 1–6 facts of every type (`bool`, `int` with minimum/maximum, `number`, `money`, `enum`, `string`,
  `date`, `datetime`), some `nullable`, some with a `default`;
- 0–3 parameters: a whole number, a decimal, an amount of money (`type: money`), a text, a date
  written as text (read with `date(p)`);
- 0–4 derived values (numbers, amounts, booleans, dates), each over the facts, parameters and the
  derived values before it, with `+ - * / // %`, the date functions, the calendar functions (`year
  month day weekday`, `date(y, m, d)`, which fails on a day that does not exist), `max min abs
  round_money prorate` and `x if c else y`; amounts with numbers written beside them (read as
  amounts: `price + 1.05`, `max(fee, 0)`), scaled by numbers and divided into ratios;
- 1–4 outputs: `enum` (with a default, sometimes an `undetermined` value, sometimes nullable),
  `list` (collected from every clause, in clause order), `number` and `money` (nullable, computed
  with `{expression: ...}`; an amount that is not whole cents fails), `bool`, `date`, `string`;
- 1–8 clauses. A condition is an optional *guard* and a few *parts* joined by `and`. Guards test
  the policy's one or two *selectors* (an enum fact, a non-null bool fact, a number split at
  constants, or a boolean derived value); two clauses whose guards pick disjoint values of one
  selector are exclusive, and `verdict validate` can prove it. Parts are comparisons (chained
  too), `in` / `not in`, null guards (`x != None and ...`), `and` / `or` / `not`, parentheses,
  `if`, boolean names, and reads of outputs decided by other clauses.
- Some clauses give the value an earlier clause gives, and some are the complement of an earlier
  one (the same parts and values, the opposite guard), as a policy's clauses often are: with the
  guard's fact missing, the output is then decided whatever that fact is (`regardless_of`).
- Precedence: every clause has a random rank. Where two clauses can both apply and set one
  output to different values (their guards do not exclude each other), the higher-ranked one
  `overrides` the other; some other pairs get `overrides` too, and sometimes the top-ranked clause
  declares `overrides: all`. Edges go from higher to lower rank, so they never loop. A clause reads
  only outputs ordered before every output it sets; a last pass drops reads that overriding would
  still turn into a loop.
- With `constraints=True`, 1–3 constraints: conditions written as a part is, over the facts alone
  (null guards, `and`/`or`/`not`, dates, amounts, calendar functions that may fail), which random
  cases often break, give no judgement on (a fact left out) or make fail.
- Conditions and values may fail at run time on some cases, on purpose: a division by a fact that
  may be zero, a fractional count of days, a day that does not exist, a number past the limit of
  computed values (`engine.expressions.MAX_NUMBER`, reached from the large numbers written and
  the large facts drawn). Such a failure must show in `decision.errors`, never as an exception. A
  nullable name is read only behind a guard (`x != None and ...`): unguarded, validation refuses it.

Every policy is valid by construction (no filtering): `tests/test_strategies.py` checks that a
sample validates, and that across a sample every kind of piece above occurs.
"""

from __future__ import annotations

import ast
import copy
import datetime as dt
import functools
import hashlib
import math
import re
import tempfile
from dataclasses import dataclass, field
from decimal import Decimal
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

FACT_TYPES = ("bool", "int", "number", "money", "enum", "string", "date", "datetime")
OUTPUT_TYPES = ("enum", "list", "number", "money", "bool", "date", "string")

# Literals the expressions use. Dates include month ends and a leap day, where add_months clamps.
NUMBER_LITERALS = (0, 1, 2, 10, 30, -3, 2.5, 0.1, 100, 10**15, -999_999_999_999_999, 1e15)
# Numbers written beside amounts of money (read as amounts): binary floats would add 1.05, 7.00 and
# -3.05 to 5.000000000000001, and 0.1 + 0.2 to 0.30000000000000004.
AMOUNT_LITERALS = (0, 1.05, 7.0, 3.05, 5, 0.1, 0.2, 0.25, 5.01)
COUNT_LITERALS = (0, 1, 12, 30, -1)
DATE_LITERALS = ("2026-03-01", "2026-01-31", "2024-02-29", "2026-12-31", "2026-03-29")
TEXT_LITERALS = ("AB", "x", "", "DE")
ENUM_VALUES = (("alpha", "beta"), ("alpha", "beta", "gamma"), ("red", "green", "blue", "gold"))
OUTPUT_VALUES = (("yes", "no"), ("low", "mid", "high"), ("a", "b", "c", "d"))
# What a derived number or date (or a computed output) does at its top; "any" is a free expression.
NUMBER_FORMS = ("+", "-", "*", "/", "//", "%", "abs", "round_money", "max", "min", "prorate", "days_between",
                "local_days_between", "hours_between", "if", "calendar", "any")
DATE_FORMS = ("add_days", "add_months", "utc_date", "local_date", "max", "min", "if", "date", "any")
MONEY_FORMS = ("+", "-", "*", "/", "abs", "round_money", "max", "min", "prorate", "if", "any")

POLICY_ID = "generated"
_DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)  # libyaml's when PyYAML has it: several times faster
SOURCE_FILE = "source.txt"


# -- the generated policy and how to load it -----------------------------------------------------


@dataclass(frozen=True)
class GeneratedPolicy:
    """A policy as data: the text of `policy.yaml` and of the source text it quotes."""

    yaml: str
    source: str

    def __repr__(self) -> str:
        return f"GeneratedPolicy(yaml='''\n{self.yaml}''',\nsource='''\n{self.source}''')"

    def _repr_pretty_(self, printer, cycle) -> None:
        # Hypothesis prints a failing example with this hook (its dataclass printer would escape
        # every newline): the YAML as a policy author reads it.
        printer.text(repr(self))


def write_policy(generated: GeneratedPolicy, folder: Path) -> Path:
    """Write the policy and its source text into `folder` (created if needed); returns the folder."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / SOURCE_FILE).write_text(generated.source, encoding="utf-8")
    (folder / "policy.yaml").write_text(generated.yaml, encoding="utf-8")
    return folder


@functools.lru_cache(maxsize=256)
def load_with_problems(generated: GeneratedPolicy) -> tuple[engine.Policy | None, list]:
    """`engine.load_policy` on the policy written into a temporary folder: (policy or None, problems).
    Cached (a compiled policy is immutable): `policies_with_cases` loads a policy to draw its cases,
    and the test that draws them loads it again."""
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

    Only mistakes the validator cannot see are allowed in: a division by a name that may be zero, a
    fractional day count, a product past the limit of computed numbers. Those fail at run time on
    some cases, which is what the error paths need. A nullable name is read only behind a guard
    (`guarded`): the validator refuses it anywhere else.
    """

    def __init__(self, draw, names: Iterable[_Name], constants: dict[str, list]):
        self.draw = draw
        self.names = list(names)
        self.constants = constants  # the numbers, dates (as text) and texts conditions compare with

    # helpers
    def pick(self, options):
        # A tuple, not a list: Hypothesis caches strategies built from hashable arguments only.
        return self.draw(st.sampled_from(tuple(options)))

    def chance(self, tenths: int) -> bool:
        # Shrinks towards False: the simpler example leaves the option out.
        return self.draw(st.integers(0, 9)) >= 10 - tenths

    def of(self, *kinds: str) -> list[_Name]:
        """The names of those kinds that are never null (a nullable one is read through `guarded`)."""
        return [n for n in self.names if n.kind in kinds and not n.nullable]

    def guarded(self, name: _Name) -> str:
        """A test of a name, behind a null guard when it may be null."""
        return f"({name.name} != None and {self.about(name)})" if name.nullable else self.about(name)

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
        if self.subjects("date", "datetime"):
            choices += ["calendar"]
        if self.subjects("money") and depth > 0:
            choices += ["ratio"]
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
        if kind == "calendar":
            return self.calendar_part(max(depth - 1, 0))
        if kind == "ratio":  # an amount over an amount is a plain number; over a zero amount, an error
            return f"({self.money_subject(depth - 1)} / {self.money_subject(0)})"
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

    def computed_number(self) -> str:
        """A derived number or a computed output: one operator or function from the menu at the top,
        over the policy's names (so that across a sample each is used)."""
        if not self.subjects("number", "date", "datetime", "money"):
            # Nothing varies: an operator would be over numbers written alone, which validation
            # evaluates (`0 / 0` is refused there), so a number written it is.
            return repr(self.pick(NUMBER_LITERALS))
        forms = [f for f in NUMBER_FORMS if f != "hours_between" or self.of("datetime")]
        form = self.pick(forms)
        if form in ("+", "-", "*", "/", "//", "%"):
            operands = [self.number_subject(1), self.number(1)]
            if self.chance(4):
                operands.reverse()  # a name on the right: a division by a fact that may be zero
            return f"{operands[0]} {form} {operands[1]}"
        if form in ("abs", "round_money"):
            return f"{form}({self.number_subject(1)})"
        if form in ("max", "min"):
            return f"{form}({self.number_subject(1)}, {self.number(1)})"
        if form == "prorate":
            return f"prorate({self.number_subject(1)}, {self.number(0)}, {self.number(0)})"
        if form in ("days_between", "local_days_between"):
            return f"{form}({self.moment_subject(1)}, {self.moment(1)})"
        if form == "hours_between":
            return f"hours_between({self.pick(self.of('datetime')).name}, {self.pick(self.of('datetime')).name})"
        if form == "if":
            return f"{self.number_subject(1)} if {self.boolean(1)} else {self.number(1)}"
        if form == "calendar" and self.subjects("date", "datetime"):
            return self.calendar_part(1)
        return self.number_subject(2)

    def calendar_part(self, depth: int) -> str:
        """`year`, `month`, `day` or `weekday` of a date (a datetime through `utc_date`/`local_date`)."""
        return f"{self.pick(['year', 'month', 'day', 'weekday'])}({self.date_subject(depth)})"

    def computed_date(self) -> str:
        """A derived date or a computed date output: one function from the menu at the top."""
        form = self.pick(DATE_FORMS)
        if form == "date" and not self.subjects("date", "datetime"):
            # `date(y, m, d)` of dates written alone: validation evaluates it (30 February is refused).
            form = "any"
        if form == "date":
            return self.built_date(1)
        if form in ("add_days", "add_months"):
            return f"{form}({self.moment_subject(1)}, {self.count()})"
        if form in ("utc_date", "local_date"):
            return f"{form}({self.moment_subject(1)})"
        if form in ("max", "min"):
            return f"{form}({self.date_subject(1)}, {self.date(1)})"
        if form == "if":
            return f"{self.date_subject(1)} if {self.boolean(1)} else {self.date(1)}"
        return self.date_subject(2)

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
            choices += ["shift", "shift", "convert", "extreme", "if", "build"]
        kind = self.pick(choices)
        if kind == "build":
            return self.built_date(depth - 1)
        if kind == "name":
            return self.pick(self.subjects("date")).name
        if kind == "shift":
            return f"{self.pick(['add_days', 'add_months'])}({self.moment_subject(depth - 1)}, {self.count()})"
        if kind == "convert":
            return f"{self.pick(['utc_date', 'local_date'])}({self.moment_subject(max(depth - 1, 0))})"
        if kind == "extreme":
            return f"{self.pick(['max', 'min'])}({self.date_subject(depth - 1)}, {self.date(depth - 1)})"
        return f"({self.date_subject(depth - 1)} if {self.boolean(depth - 1)} else {self.date(depth - 1)})"

    def built_date(self, depth: int) -> str:
        """`date(y, m, d)` from the parts of another date: the 1st or last of a month, a year on, the
        31 January after (the holiday loan); a day that does not exist (30 February, 29 February of
        a common year) fails when evaluated."""
        base = self.date_subject(depth)
        year = self.pick([f"year({base})", f"year({base}) + 1", "2024", "2026"])
        month = self.pick([f"month({base})", "1", "2", "11", "12"])
        day = self.pick([f"day({base})", "1", "28", "29", "30", "31"])
        if base.startswith("date('") or base not in year + month + day:
            # Nothing here reads a fact: a day that does not exist would fail in every case, which
            # validation refuses (`expr_constant`, `date(2026, 2, 31)`). A day every month has.
            day = self.pick(["1", "28"])
        return f"date({year}, {month}, {day})"

    def moment(self, depth: int) -> str:
        """A date or a datetime (what the day-counting functions take)."""
        if self.of("datetime") and self.chance(5):
            return self.pick(self.of("datetime")).name
        return self.date(depth)

    def moment_subject(self, depth: int) -> str:
        if self.subjects("datetime") and (not self.subjects("date") or self.chance(5)):
            return self.pick(self.subjects("datetime")).name
        return self.date_subject(depth)

    # amounts of money
    def amount(self, depth: int) -> str:
        """An amount: a number written (read as an amount, for it stands beside one), an amount
        parameter, or an expression that reads an amount."""
        choices = ["literal", "subject"] + (["parameter"] if [n for n in self.of("money") if n.role == "parameter"] else [])
        kind = self.pick(choices)
        if kind == "literal" or (kind == "subject" and not self.subjects("money")):
            return repr(self.pick(AMOUNT_LITERALS + tuple(self.constants["amounts"])))
        if kind == "parameter":
            return self.pick([n for n in self.of("money") if n.role == "parameter"]).name
        return self.money_subject(depth)

    def money_subject(self, depth: int) -> str:
        """An amount that reads at least one fact, derived value or output of type money."""
        names = self.subjects("money")
        if not names:
            parameters = [n for n in self.of("money") if n.role == "parameter"]
            return self.pick(parameters).name if parameters else "0"  # callers ask only when one exists
        choices = ["name", "name", "name"]
        if depth > 0:
            choices += ["sum", "sum", "scaled", "call", "if", "negative"]
        kind = self.pick(choices)
        if kind == "name":
            return self.pick(names).name
        if kind == "sum":
            operands = [self.money_subject(depth - 1), self.amount(depth - 1)]
            if self.chance(3):
                operands.reverse()  # `5 - price`: a number written first is an amount too
            return f"({operands[0]} {self.pick(['+', '-'])} {operands[1]})"
        if kind == "scaled":  # by a plain number: exact; divided by one that may be zero: an error
            return f"({self.money_subject(depth - 1)} {self.pick(['*', '/'])} {self.number(0)})"
        if kind == "negative":
            return f"-{self.money_subject(0)}"
        if kind == "if":
            return f"({self.money_subject(depth - 1)} if {self.boolean(depth - 1)} else {self.amount(depth - 1)})"
        function = self.pick(["round_money", "abs", "prorate", "max", "min"])
        if function in ("round_money", "abs"):
            return f"{function}({self.money_subject(depth - 1)})"
        if function == "prorate":
            return f"prorate({self.money_subject(depth - 1)}, {self.number(0)}, {self.number(0)})"
        return f"{function}({self.money_subject(depth - 1)}, {self.amount(depth - 1)})"

    def computed_money(self) -> str:
        """A derived amount or a computed money output: one operator or function from the menu (a
        number written, read as an amount, when the policy has no amount to compute from)."""
        if not self.of("money"):
            return repr(self.pick(AMOUNT_LITERALS))
        form = self.pick(MONEY_FORMS)
        if form in ("+", "-"):
            return f"{self.money_subject(1)} {form} {self.amount(1)}"
        if form in ("*", "/"):
            return f"{self.money_subject(1)} {form} {self.number(0)}"
        if form in ("abs", "round_money"):
            return f"{form}({self.money_subject(1)})"
        if form in ("max", "min"):
            return f"{form}({self.money_subject(1)}, {self.amount(1)})"
        if form == "prorate":
            return f"prorate({self.money_subject(1)}, {self.number(0)}, {self.number(0)})"
        if form == "if":
            return f"{self.money_subject(1)} if {self.boolean(1)} else {self.amount(1)}"
        return self.money_subject(2)

    def amount_threshold(self) -> str:
        """An amount a condition compares with: an amount parameter, or a number written (an amount)."""
        parameters = [n.name for n in self.of("money") if n.role == "parameter"]
        if parameters and self.chance(3):
            return self.pick(parameters)
        return repr(self.pick(tuple(self.constants["amounts"]) + AMOUNT_LITERALS))

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
                            (("date", "datetime"), "date"), (("list",), "list"), (("money",), "money")):
            if self.subjects(*kinds):
                choices += [test, test]
        if any(n.nullable for n in self.names):
            choices += ["null", "null"]
        if depth > 0:
            choices += ["and", "or", "not", "if"] + (["chained"] if "number" in choices else [])
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
            if self.chance(3):  # the calendar: `weekday(d) == 7` (a Sunday), `month(d) in [11, 12]`
                part = self.calendar_part(max(depth - 1, 0))
                return self.pick([f"{part} == 7", f"{part} >= 15", f"{part} in [11, 12]", f"{part} != 2026"])
            return f"{self.date_subject(max(depth - 1, 0))} {self.pick(['<=', '<', '>', '>=', '=='])} {self.date(0)}"
        if kind == "money":
            operator = self.pick(["<=", "<", ">", ">=", "==", "!="])
            other = self.money_subject(0) if self.chance(3) else self.amount_threshold()
            if self.chance(1):
                return f"{self.money_subject(max(depth - 1, 0))} in [{self.amount_threshold()}, {self.amount_threshold()}]"
            return f"{self.money_subject(max(depth - 1, 0))} {operator} {other}"
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
        return f"({self.boolean(depth - 1)} if {self.boolean(depth - 1)} else {self.boolean(depth - 1)})"

    def about(self, name: _Name) -> str:
        """A test of one name that fits its type (used for null guards: `x != None and <this>`)."""
        if name.kind == "number":
            return f"{name.name} {self.pick(['<=', '<', '>', '>=', '==', '!='])} {self.threshold()}"
        if name.kind == "money":
            return f"{name.name} {self.pick(['<=', '<', '>', '>=', '==', '!='])} {self.amount_threshold()}"
        if name.kind == "bool":
            return self.pick([name.name, f"not {name.name}"])
        if name.kind == "enum":
            values = list(name.values)
            some = sorted(self.draw(st.sets(st.sampled_from(name.values), min_size=1, max_size=len(values))), key=values.index)
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


_FACT_STEMS = {"bool": "flag", "int": "count", "number": "amount", "money": "price", "enum": "kind", "string": "code",
               "date": "day", "datetime": "moment"}


def _fact(draw, index: int, kind: str) -> tuple[dict, _Name]:
    name = f"{_FACT_STEMS[kind]}{index}"
    spec: dict[str, Any] = {"type": kind, "description": f"A {kind} fact."}
    values: tuple[str, ...] = ()
    if kind == "enum":
        values = draw(st.sampled_from(ENUM_VALUES))
        spec["values"] = list(values)
    if kind == "int":
        low = draw(st.sampled_from((None, 0, 1, -5)))
        high = draw(st.sampled_from((None, 20, 400)))
        if low is not None:
            spec["minimum"] = low
        if high is not None:
            spec["maximum"] = high
    if kind in ("number", "money") and draw(st.booleans()):
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
    return {"bool": False, "int": max(spec.get("minimum", 0), 1), "number": 2.5, "money": 2.5,
            "enum": values[-1] if values else None,
            "string": "AB", "date": "2026-03-01", "datetime": "2026-03-01T23:30:00-05:00"}[kind]


def _parameter(draw, index: int) -> tuple[str, dict, _Name]:
    kind = draw(st.sampled_from(("whole", "decimal", "text", "date", "amount")))
    name = {"whole": "limit", "decimal": "rate", "text": "label", "date": "cutoff", "amount": "fee"}[kind] + str(index)
    value: Any = {"whole": draw(st.sampled_from((10, 30, 12, 0))), "decimal": draw(st.sampled_from((0.5, 2.75, 99.99))),
                  "text": draw(st.sampled_from(("DE", "x"))), "date": draw(st.sampled_from(DATE_LITERALS)),
                  "amount": draw(st.sampled_from((5.0, 1.05, 0.25, 99.99)))}[kind]
    spec = {"value": value, "description": f"A {kind} parameter.", "origin": "Drawn by the test generator."}
    if kind == "amount":
        spec["type"] = "money"
    expression_kind = {"whole": "number", "decimal": "number", "text": "text", "date": "datetext", "amount": "money"}[kind]
    return name, spec, _Name(name, expression_kind, "parameter", whole=kind == "whole")


def _output(draw, index: int, kind: str) -> tuple[str, dict, _Name]:
    name = {"enum": "status", "list": "steps", "number": "amount_out", "money": "total_out", "bool": "approved",
            "date": "due_on", "string": "note"}[kind] + str(index)
    spec: dict[str, Any] = {"type": kind, "description": f"A {kind} output."}
    values: tuple[str, ...] = ()
    nullable = False
    if kind in ("enum", "list"):
        values = draw(st.sampled_from(OUTPUT_VALUES))
        spec["values"] = list(values)
    if kind == "enum":
        shape = draw(st.sampled_from(("default", "undetermined", "undetermined", "nullable")))
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
                "number": 0, "money": 0, "bool": False, "date": "2026-01-01", "string": "none"}[kind]
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
        elif fact.kind in ("number", "money") and not fact.nullable:  # a null fails `<`; an amount compared
            # with a number written is an amount
            found.append(_Selector(fact.name, "number", (0, 1, 2), ("10", "30")))
    for name, (kind, text) in derived.items():
        if kind == "bool" and re.fullmatch(r"[a-z_0-9]+ > \d+", text):
            found.append(_Selector(name, "derived", (True, False)))
    return found


def _guard(draw, selector: _Selector) -> tuple[str, frozenset]:
    """A condition on the selector, and the cells it may hold in."""
    if selector.kind in ("bool", "derived"):
        return _guard_text(draw, selector, frozenset({draw(st.booleans())}))
    if selector.kind == "enum":
        values = list(selector.cells)
        chosen = frozenset(draw(st.sets(st.sampled_from(selector.cells), min_size=1, max_size=len(values) - 1)))
        negative = draw(st.booleans())  # `!=` / `not in` the values left
        return _guard_text(draw, selector, chosen | {"other"} if negative else chosen)
    first = draw(st.integers(0, 2))
    last = draw(st.integers(first, 2))
    return _guard_text(draw, selector, frozenset(range(first, 1 if (first, last) == (0, 2) else last + 1)))


def _guard_text(draw, selector: _Selector, cells: frozenset) -> tuple[str, frozenset]:
    """A guard that holds in exactly these cells, in one of the ways a policy author writes it."""
    name = selector.name
    if selector.kind in ("bool", "derived"):
        (value,) = cells
        forms = [name, f"({name})"] if value else [f"not {name}", f"not ({name})"]
        if selector.kind == "bool":  # a derived flag is looked through only when read bare
            forms += [f"{name} == {value}", f"{name} != {not value}"]
        return draw(st.sampled_from(tuple(forms))), cells
    if selector.kind == "enum":
        values = list(selector.cells)
        chosen = [v for v in values if v in cells]
        rest = [v for v in values if v not in cells]
        if "other" in cells:  # negative: it also holds for a null, and the validator reads it so
            if len(rest) == 1 and draw(st.booleans()):
                return f"{name} != '{rest[0]}'", cells
            return f"{name} not in {rest!r}", cells
        forms = [f"{name} in {chosen!r}", "(" + " or ".join(f"{name} == '{v}'" for v in chosen) + ")"]
        if len(chosen) == 1:
            forms += [f"{name} == '{chosen[0]}'", f"'{chosen[0]}' == {name}"]
        return draw(st.sampled_from(tuple(forms))), cells
    # number: cells 0, 1, 2 are (-inf, 10], (10, 30], (30, inf)
    low, high = selector.splits
    texts = {(0, 0): (f"{name} <= {low}", f"not ({name} > {low})"),
             (0, 1): (f"{name} <= {high}", f"{high} >= {name}"),
             (1, 1): (f"{low} < {name} <= {high}", f"({name} > {low} and {name} <= {high})"),
             (1, 2): (f"{name} > {low}", f"not ({name} <= {low})"),
             (2, 2): (f"{name} > {high}", f"{high} < {name}")}[(min(cells), max(cells))]
    return draw(st.sampled_from(texts)), cells


def _complement(selector: _Selector, cells: frozenset) -> frozenset | None:
    """The cells of a guard that holds exactly where this one does not (None if one guard cannot say it)."""
    if selector.kind in ("bool", "derived"):
        return frozenset({True, False}) - cells
    if selector.kind == "enum":
        rest = frozenset(selector.cells) - cells
        # The complement of a positive guard is negative, so that it also holds for a null.
        return rest if "other" in cells else rest | {"other"}
    first, last = min(cells), max(cells)
    if first == 0 and last < 2:
        return frozenset(range(last + 1, 3))
    if last == 2 and first > 0:
        return frozenset(range(0, first))
    return None


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


def _value(draw, output: _Name, spec: dict, writer: _Writer, outputs: set, readable: list[_Name]) -> _Value:
    kind = spec["type"]
    if kind == "enum":
        literal = draw(st.sampled_from(tuple(v for v in spec["values"] if v != spec.get("undetermined"))
                                       + ((None,) if output.nullable else ())))
        return _Value(literal, repr(literal))
    if kind == "list":
        items = draw(st.lists(st.sampled_from(spec["values"]), unique=True, max_size=3))
        return _Value(items, repr(tuple(items)))
    literal = {"number": draw(st.sampled_from((0, 1, 10, 2.5, -1))), "money": draw(st.sampled_from((0, 5.0, 1.05, -3.05))),
               "bool": draw(st.booleans()), "date": draw(st.sampled_from(DATE_LITERALS)),
               "string": draw(st.sampled_from(("ok", "DE", "")))}[kind]
    if output.nullable and draw(st.integers(0, 9)) >= 8:
        literal = None
    if draw(st.booleans()):
        return _literal_value(kind, literal)
    if readable and draw(st.booleans()):
        # Computed from an output decided before it: directly when it has the same kind (null when
        # that output is, an error where this one cannot be), or as `x if <a test of it> else y`.
        read = draw(st.sampled_from(tuple(readable)))
        direct = {"number": f"{read.name} * 2", "money": f"{read.name} + 1.05", "bool": f"not {read.name}",
                  "date": f"add_days({read.name}, 1)", "text": f"{read.name} + '!'"}
        if read.kind == output.kind and not read.nullable and draw(st.booleans()):
            text = direct[output.kind]
        else:
            other = {"number": "10", "money": "0.1", "bool": "True", "date": "date('2026-03-01')", "text": "'ok'"}[output.kind]
            text = f"{other} if {writer.guarded(read)} else {_literal_text(kind, literal)}"
        return _Value({"expression": text}, text, _names_in(text) & outputs, _literal_value(kind, literal))
    text = {"number": writer.computed_number, "money": writer.computed_money, "bool": lambda: writer.boolean(2),
            "date": writer.computed_date, "string": lambda: writer.text(2)}[kind]()
    return _Value({"expression": text}, text, _names_in(text) & outputs, _literal_value(kind, literal))


def _literal_text(kind: str, literal: Any) -> str:
    """A literal as an expression writes it."""
    return f"date('{literal}')" if kind == "date" and literal is not None else repr(literal)


def _literal_value(kind: str, literal: Any) -> _Value:
    # The validator compares the loaded values: a date literal is a date once loaded.
    key = repr(dt.date.fromisoformat(literal)) if kind == "date" and literal else repr(literal)
    return _Value(literal, key)


def _clause(draw, index: int, rank: int, overrides_all: bool, outputs: list[tuple[str, dict, _Name]],
            names: list[_Name], selectors: list[_Selector], constants: dict, earlier: list[_Clause]) -> _Clause:
    clause = _Clause(f"rule-{index + 1}", rank, overrides_all=overrides_all)
    chosen = sorted(draw(st.sets(st.integers(0, len(outputs) - 1), min_size=1, max_size=min(2, len(outputs)))))
    # Reads only of outputs ordered before all it sets: most policies then have no loop to break.
    # A clause that overrides all is read by every output's decision, so it reads none.
    readable = [] if overrides_all else [o[2] for o in outputs[:chosen[0]]]
    writer = _Writer(draw, names + readable, constants)
    output_names = {o[0] for o in outputs}
    for selector in selectors:
        if draw(st.integers(0, 9)) >= 3:
            clause.guards[selector.name] = _guard(draw, selector)
    # Without a guard, one clause in four has no condition at all (`when: true`): it always applies.
    for _ in range(draw(st.integers(0, 2)) if clause.guards else draw(st.sampled_from((1, 2, 1, 0)))):
        text = writer.boolean(2)
        clause.parts.append(_Part(text, _names_in(text) & output_names))
    if readable and draw(st.integers(0, 9)) >= 5:
        # A read of an earlier output, as the procedure clauses of aqara-returns read `eligibility`.
        text = writer.guarded(draw(st.sampled_from(readable)))
        clause.parts.append(_Part(text, _names_in(text) & output_names))
    clause.when_as_bool = draw(st.booleans())
    for position in chosen:
        name, spec, output = outputs[position]
        agreeing = tuple(c.then[name] for c in earlier if name in c.then and not c.then[name].reads)
        if agreeing and draw(st.integers(0, 9)) >= 6:
            # The value an earlier clause gives (as money-back and quality returns both give
            # `eligible`): no conflict, and where the facts that tell them apart are missing, the
            # output is decided whatever they are (`regardless_of`).
            clause.then[name] = draw(st.sampled_from(agreeing))
        else:
            clause.then[name] = _value(draw, output, spec, writer, output_names, readable)
    return clause


def _twin(draw, original: _Clause, index: int, rank: int, selectors: list[_Selector]) -> _Clause | None:
    """The complement of a clause: the same parts and values, the opposite guard on one selector.
    Together they give their values whatever that selector is, so with its fact missing the output
    is decided all the same (`regardless_of`), as a policy's complementary clauses do."""
    if not original.guards:
        return None
    name = draw(st.sampled_from(tuple(original.guards)))
    selector = next(s for s in selectors if s.name == name)
    cells = _complement(selector, original.guards[name][1])
    if not cells:
        return None
    if selector.kind in ("enum", "bool") and draw(st.booleans()):
        # Guards alone: the pair then covers every value of a fact with few values, and a case
        # that lacks only that fact is decided by trying them (with other parts, those must hold too).
        original.parts = []
    twin = _Clause(f"rule-{index + 1}", rank, dict(original.guards), list(original.parts), dict(original.then))
    twin.guards[name] = _guard_text(draw, selector, cells)
    return twin


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
    amounts = [spec["value"] for spec in parameters.values() if spec.get("type") == "money"]
    numbers = [10, 30] + [spec["value"] for spec in parameters.values() if type(spec["value"]) in (int, float)
                          and spec.get("type") != "money"]
    dates = [spec["value"] for spec in parameters.values() if isinstance(spec["value"], str)
             and re.fullmatch(r"\d{4}-\d{2}-\d{2}", spec["value"])]
    texts = [spec["value"] for spec in parameters.values() if isinstance(spec["value"], str) and spec["value"] not in dates]
    return {"numbers": list(dict.fromkeys(numbers)), "dates": dates, "texts": texts, "amounts": list(dict.fromkeys(amounts))}


@st.composite
def policies(draw, constraints: bool = False) -> GeneratedPolicy:
    """Small policies that validate: see the module's docstring for what they hold."""
    fact_kinds = draw(st.lists(st.sampled_from(FACT_TYPES), min_size=1, max_size=MAX_FACTS))
    facts: dict[str, dict] = {}
    fact_names: list[_Name] = []
    for index, kind in enumerate(fact_kinds, start=1):
        spec, name = _fact(draw, index, kind)
        facts[name.name] = spec
        fact_names.append(name)

    parameters: dict[str, dict] = {}
    names = list(fact_names)
    for index in range(1, draw(st.integers(0, MAX_PARAMETERS)) + 1):
        name, spec, named = _parameter(draw, index)
        parameters[name] = spec
        names.append(named)
    constants = _constants(parameters)

    derived: dict[str, dict] = {}
    derived_kinds: dict[str, tuple[str, str]] = {}
    for index in range(1, draw(st.integers(0, MAX_DERIVED)) + 1):
        kind = draw(st.sampled_from(("number", "bool", "number", "date", "flag", "money")))
        writer = _Writer(draw, names, constants)
        if kind == "money" and not writer.of("money"):
            kind = "number"  # an amount is computed from amounts
        if kind == "flag":  # `big = count > 10`: a boolean derived value a guard can select on
            numbers = [n for n in fact_names if n.kind == "number" and not n.nullable]
            text = f"{draw(st.sampled_from(numbers)).name} > 10" if numbers else writer.boolean(1)
            kind = "bool"
        else:
            text = {"number": writer.computed_number, "bool": lambda: writer.boolean(2), "date": writer.computed_date,
                    "money": writer.computed_money}[kind]()
        name = {"number": "total", "bool": "check", "date": "due", "money": "sum"}[kind] + str(index)
        derived[name] = {"expression": text, "description": f"A derived {kind}."}
        derived_kinds[name] = (kind, text)
        names.append(_Name(name, kind, "derived"))

    outputs: list[tuple[str, dict, _Name]] = []
    for index, kind in enumerate(draw(st.lists(st.sampled_from(OUTPUT_TYPES), min_size=1, max_size=MAX_OUTPUTS)), start=1):
        outputs.append(_output(draw, index, kind))

    candidates = _selectors(fact_names, derived_kinds)
    selectors = draw(st.lists(st.sampled_from(tuple(candidates)), unique_by=lambda s: s.name, min_size=1, max_size=2)) \
        if candidates else []

    count = draw(st.integers(1, MAX_CLAUSES))
    ranks = draw(st.permutations(range(count)))
    top = ranks.index(count - 1)
    overrides_all = count > 1 and draw(st.integers(0, 9)) >= 7
    clauses: list[_Clause] = []
    for i in range(count):
        twin = None
        if clauses and not (overrides_all and i == top) and draw(st.integers(0, 9)) >= 6:
            twin = _twin(draw, draw(st.sampled_from(tuple(clauses))), i, ranks[i], selectors)
        clauses.append(twin or _clause(draw, i, ranks[i], overrides_all and i == top, outputs, names, selectors,
                                       constants, clauses))
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

    informational = draw(st.booleans())
    rules = {}
    if constraints:  # drawn last, so that a policy without them is drawn as it always was
        writer = _Writer(draw, fact_names, constants)
        for index in range(1, draw(st.integers(1, 3)) + 1):
            rules[f"rule{index}"] = {"expression": writer.boolean(draw(st.integers(0, 2))),
                                     "message": f"the facts satisfy rule {index}"}
    return _render(facts, parameters, derived, outputs, clauses, informational, rules)


def _render(facts, parameters, derived, outputs, clauses: list[_Clause], informational: bool,
            constraints: dict[str, dict] | None = None) -> GeneratedPolicy:
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
    if constraints:
        document["constraints"] = constraints
    document["outputs"] = {name: spec for name, spec, _ in outputs}
    document["clauses"] = []
    order = {c.id: n for n, c in enumerate(clauses)}
    for clause, sentence in zip(clauses, sentences):
        spec: dict[str, Any] = {"id": clause.id, "title": f"Clause {clause.id}",
                                "source": {"section": "Rules", "quote": sentence},
                                "when": clause.condition(),
                                # copies: clauses that agree share a value, which YAML would write as an alias
                                "then": {k: copy.deepcopy(v.yaml) for k, v in clause.then.items()}}
        if clause.overrides_all:
            spec["overrides"] = "all"
        elif clause.overrides:
            spec["overrides"] = sorted(clause.overrides, key=order.__getitem__)
        document["clauses"].append(spec)
    if informational:
        document["informational"] = [{"quote": sentences[-1], "reason": "It is there to be listed as informational."}]
    text = yaml.dump(document, Dumper=_DUMPER, sort_keys=False, default_flow_style=None, width=120, allow_unicode=True)
    return GeneratedPolicy(text, source)


@st.composite
def policies_with_cases(draw, cases_per_policy: int = 3, constraints: bool = False) -> tuple[GeneratedPolicy, list[dict[str, Any]]]:
    """A generated policy and a few cases for it (loading a policy costs more than deciding a case).
    `load(generated)` gives the policy to decide them with."""
    generated = draw(policies(constraints=constraints))
    facts = draw(st.lists(cases(load(generated)), min_size=cases_per_policy, max_size=cases_per_policy))
    return generated, facts


# -- cases for any loaded policy -----------------------------------------------------------------

#: Offsets from UTC that datetimes are written in: each moves the local date off the UTC date
#: around midnight, where `days_between` (UTC dates) and `local_days_between` part ways.
TIME_ZONES = ("Z", "+01:00", "+02:00", "-05:00", "+05:30", "+14:00", "-12:00", "-03:30")
#: Times of day (UTC) near midnight and noon.
TIMES = (dt.time(0, 0), dt.time(0, 30), dt.time(23, 30), dt.time(23, 59, 59), dt.time(12, 0), dt.time(11, 59))
#: Where a case's dates start when the policy names no date of its own.
DEFAULT_ANCHOR = dt.date(2026, 3, 1)


@dataclass(frozen=True)
class Marks:
    """The constants a policy's expressions and parameters compare with: where its boundaries lie."""

    numbers: tuple = ()
    dates: tuple = ()
    texts: tuple = ()


def policy_marks(policy: engine.Policy | engine.PolicySet) -> Marks:
    """Numbers, dates and texts written in the policy (and its variants): literals in conditions,
    values, derived values and constraints, `date('...')` literals, and parameter values."""
    if isinstance(policy, engine.PolicySet):
        members = policy.compiled or (policy.base, *policy.variants.values())
    else:
        members = (policy,)
    numbers, dates, texts = set(), set(), set()

    def note(value: Any) -> None:
        if isinstance(value, bool) or value is None:
            return
        if isinstance(value, Decimal):  # an amount of money (a `type: money` parameter)
            value = float(value)
        if isinstance(value, (int, float)):
            numbers.add(value)
        elif isinstance(value, str):
            try:
                dates.add(dt.date.fromisoformat(value)) if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value) else texts.add(value)
            except ValueError:
                texts.add(value)

    for member in members:
        for parameter in member.parameters.values():
            note(parameter.value)
        trees = [d.expression.tree for d in member.derived.values()]
        trees += [c.expression.tree for c in member.constraints.values()]
        for clause in member.clauses:
            trees.append(clause.condition.tree)
            trees += [value.expression.tree for _, value in clause.sets if value.expression is not None]
        for tree in trees:
            for node in ast.walk(tree):
                if isinstance(node, ast.Constant):
                    note(node.value)
                if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub) and isinstance(node.operand, ast.Constant):
                    note(-node.operand.value if type(node.operand.value) in (int, float) else None)
    return Marks(tuple(sorted(numbers)), tuple(sorted(dates)), tuple(sorted(texts)))


@functools.lru_cache(maxsize=None)
def _sometimes(tenths: int) -> st.SearchStrategy[bool]:
    """True `tenths` times in ten; shrinks to False (a fact given, a value not null). Cached:
    a strategy built once is validated once."""
    return st.integers(0, 9).map(lambda i: i >= 10 - tenths)


def cases(policy: engine.Policy | engine.PolicySet, leave_out: bool = True) -> st.SearchStrategy[dict[str, Any]]:
    """The facts of a case for `policy`, as `engine.case_from_facts` takes them (dates and datetimes
    as ISO text): facts left out (unknown, unless they have a default), about one nullable fact in
    five null, and values near the constants the policy tests (each constant, one either side, as
    days or hours apart from the case's other dates), datetimes in several time zones near midnight.

    Each case aims at one boundary, drawn once: one of the policy's constants, exactly or one either
    side, which its numbers take as values and its dates and datetimes as days or hours after the
    case's date before them. (A boundary reached only when several independent draws line up is
    one Hypothesis may not reach in a thousand cases: its examples are far from independent.)

    Facts are left out in one of three ways, drawn per case: any fact, one in five; only facts with
    few values (bool, enum, nullable), two in five; or exactly one fact with few values. The
    engine tries the values of such facts one by one (`regardless_of`). `leave_out=False` gives
    every fact."""
    facts = sorted(policy.facts.values(), key=lambda f: f.name)
    marks = policy_marks(policy)
    recipes = {fact.name: _fact_recipe(fact, marks) for fact in facts}
    finite = tuple(f.name for f in facts if f.type in ("bool", "enum") or f.nullable)
    # One anchor per case: every date and datetime is an offset the policy tests from the anchor or
    # from the case's date before it (in name order), so that `days_between(a, b) <= 30` meets 29,
    # 30 and 31 days often. (One fixed_dictionaries rather than a draw per fact: Hypothesis draws
    # inside its own strategies several times faster.)
    anchors = st.tuples(st.sampled_from((DEFAULT_ANCHOR,) + marks.dates), st.sampled_from(TIMES))
    aims = st.tuples(st.sampled_from(_aim_constants(marks)), st.sampled_from((0, -1, 0, 1)))
    modes = st.just(("none", None))
    if leave_out:
        modes = st.one_of(st.sampled_from((("any", None), ("finite", None))),
                          *([st.tuples(st.just("one"), st.sampled_from(finite))] if finite else []))
    ranges = {fact.name: (fact.type == "int", fact.minimum, fact.maximum) for fact in facts}
    return st.tuples(anchors, aims, modes, st.fixed_dictionaries(recipes)).map(
        lambda drawn: _realise(drawn, finite, ranges))


def _aim_constants(marks: Marks) -> tuple:
    """The constants a case may aim at: the policy's numbers (a few usual ones if it has none)."""
    return tuple(c for c in marks.numbers if 0 < abs(c) <= 1000) or (1, 10, 30)


def _aimed(aim: tuple, whole: bool, low=None, high=None):
    """The aim's value: the constant plus the step (one, or a cent for a constant with cents; for a
    whole number, the whole numbers around a constant with cents), inside the range [low, high]."""
    constant, step = aim
    if whole:
        value = {-1: math.floor(constant) - (constant == math.floor(constant)), 0: round(constant),
                 1: math.ceil(constant) + (constant == math.ceil(constant))}[step]
    else:
        value = round(constant + step * (1 if float(constant).is_integer() else 0.01), 2)
    # Inside the fact's range: a value a case may give (the range's end is a boundary too).
    if low is not None:
        value = max(value, low)
    if high is not None:
        value = min(value, high)
    return value


_AIMED_NUMBER = "aimed number"  # a number fact's recipe: the case's aim


@dataclass(frozen=True)
class _Days:
    """A date `days` after the case's anchor, or after the case's date before it if `chained`; if
    `aimed`, the aim's days after the date before (a recipe, made concrete once the case is drawn)."""

    days: int
    chained: bool = False
    aimed: int = 0  # 1 or -1: the aim's days after, or before, the date before


@dataclass(frozen=True)
class _Moment:
    """A datetime: `delta` after the anchor (or after the case's date before it if `chained`), at
    `time` (UTC) if given, written in `zone`; if `aimed` is days or hours, the aim's days or hours
    after (`sign` 1) or before (-1) the date before (a step of the aim is a minute for hours)."""

    delta: dt.timedelta
    time: dt.time | None
    zone: str
    chained: bool = False
    aimed: str = ""
    sign: int = 1


def _realise(drawn: tuple, finite: tuple[str, ...], ranges: dict) -> dict[str, Any]:
    (day, time), aim, (mode, single), recipes = drawn
    anchor = previous = dt.datetime.combine(day, time, dt.timezone.utc)
    aimed_days = _aimed(aim, whole=True)
    aimed_hours = dt.timedelta(hours=aim[0], minutes=aim[1])  # a minute either side: hours have fractions
    facts = {}
    for name, (chance, value) in recipes.items():
        # `chance` is 0-9 and shrinks to 0: a fact given.
        if (mode == "any" and chance >= 8) or (mode == "finite" and name in finite and chance >= 6) or name == single:
            continue
        if value is _AIMED_NUMBER:
            value = _aimed(aim, *ranges[name])
        elif isinstance(value, _Days):
            days, chained = (aimed_days * value.aimed, True) if value.aimed else (value.days, value.chained)
            previous = dt.datetime.combine(_shift((previous if chained else anchor).date(), days), anchor.timetz())
            value = previous.date().isoformat()
        elif isinstance(value, _Moment):
            delta = {"": value.delta, "days": dt.timedelta(days=aimed_days), "hours": aimed_hours}[value.aimed] * value.sign
            instant = (previous if value.chained or value.aimed else anchor) + delta
            if value.time is not None:
                instant = dt.datetime.combine(instant.date(), value.time, dt.timezone.utc)
            previous = instant
            value = _iso(instant, value.zone)
        elif isinstance(value, dt.date):
            value = value.isoformat()
        facts[name] = value
    return facts


def _fact_recipe(fact, marks: Marks) -> st.SearchStrategy:
    """A fact's value (or a recipe for it), null now and then if nullable, with a number 0-9 that
    says whether the case leaves it out."""
    value = _fact_value(fact, marks)
    if fact.nullable:
        value = st.tuples(_sometimes(2), value).map(lambda pair: None if pair[0] else pair[1])
    return st.tuples(st.integers(0, 9), value)


def _within(fact, value) -> bool:
    return (fact.minimum is None or value >= fact.minimum) and (fact.maximum is None or value <= fact.maximum)


def _fact_value(fact, marks: Marks) -> st.SearchStrategy:
    if fact.type == "bool":
        return st.booleans()
    if fact.type == "enum":
        return st.sampled_from(fact.values)
    if fact.type in ("int", "number"):
        return _number_value(fact, marks)
    if fact.type == "money":
        return _money_value(fact, marks)
    if fact.type == "string":
        return _text_value(fact, marks)
    days = _day_offsets(marks)
    if fact.type == "date":
        near_constants = tuple(d + dt.timedelta(days=k) for d in marks.dates for k in (-1, 0, 1))
        relative = st.builds(_Days, st.sampled_from(days), st.booleans())
        aimed = st.sampled_from((_Days(0, aimed=1), _Days(0, aimed=-1)))
        return st.one_of(aimed, relative, *([st.sampled_from(near_constants)] if near_constants else []))
    by_days = st.builds(lambda k, time: _Moment(dt.timedelta(days=k), time, ""), st.sampled_from(days),
                        st.one_of(st.none(), st.sampled_from(TIMES)))  # another time of day, or the anchor's
    by_hours = st.sampled_from(_hour_offsets(marks)).map(lambda delta: _Moment(delta, None, ""))
    # At the anchor (or the date before) itself one time in three: a policy's hour and day
    # boundaries are between two datetimes, met when one is an offset from the other.
    at_anchor = st.just(_Moment(dt.timedelta(0), None, ""))
    aimed_days, aimed_hours = (st.sampled_from((_Moment(dt.timedelta(0), None, "", aimed=unit, sign=1),
                                                _Moment(dt.timedelta(0), None, "", aimed=unit, sign=-1)))
                               for unit in ("days", "hours"))
    return st.builds(lambda moment, zone, chained: _Moment(moment.delta, moment.time, zone, chained, moment.aimed,
                                                           moment.sign),
                     st.one_of(aimed_days, aimed_hours, at_anchor, by_days, by_hours),  # aimed two times in five
                     st.sampled_from(TIME_ZONES), st.booleans())


CASE_NUMBER_LIMIT = 10**12  # engine.cases.MAX_NUMBER: a case's number past it is refused


def _number_value(fact, marks: Marks) -> st.SearchStrategy:
    whole = fact.type == "int"
    low = -1000 if fact.minimum is None else fact.minimum
    high = 1000 if fact.maximum is None else fact.maximum
    near: set = {0, 1, -1}
    for c in marks.numbers:
        if whole:  # the whole numbers either side of c, and c itself when whole
            near |= {math.floor(c) - 1, math.floor(c), math.ceil(c), math.ceil(c) + 1}
        else:
            near |= {c - 1, c - 0.01, c, c + 0.01, c + 1}
    if fact.minimum is not None:
        near |= {fact.minimum, fact.minimum + 1}
    if fact.maximum is not None:
        near |= {fact.maximum, fact.maximum - 1}
    if whole:
        near = {int(v) for v in near if float(v).is_integer()}
        anywhere: st.SearchStrategy = st.integers(math.ceil(low), math.floor(high))
        extremes = (10**12, -(10**12))  # as large as a case may give: add_days then overflows
    else:
        near = {round(v, 2) for v in near}
        anywhere = st.floats(low, high, allow_nan=False, allow_infinity=False)
        extremes = (1e12, -1e12, 1e-9)
    # A constant of the policy may be past what a case may give (-999_999_999_999_999 is a literal a
    # generated policy uses): a case gives the limit instead, which still takes arithmetic out of range.
    near = {max(-CASE_NUMBER_LIMIT, min(CASE_NUMBER_LIMIT, v)) for v in near}
    candidates = tuple(sorted(v for v in near if _within(fact, v))) or (low,)
    rare = tuple(v for v in extremes if _within(fact, v))
    # Two draws in three at a boundary (the case's aim, or one near any constant); the extremes
    # are among those near a constant.
    return st.one_of(st.just(_AIMED_NUMBER), st.sampled_from(candidates + rare), anywhere)


def _money_value(fact, marks: Marks) -> st.SearchStrategy:
    """An amount: at a constant of the policy, a cent either side, whole amounts near it, the case's
    aim, anywhere in whole cents; written as a number, or now and then as text (`"5.00"`)."""
    low = -100000 if fact.minimum is None else int(fact.minimum * 100)
    high = 100000 if fact.maximum is None else int(fact.maximum * 100)
    near = {0, 100, -100, 105, 700, 305, 500, 501, 499, 10, 20, 30}  # the cents of 1.05, 7.00, 3.05, 5.00...
    for c in marks.numbers:
        cents = round(c * 100)
        near |= {cents - 100, cents - 1, cents, cents + 1, cents + 100}
    near = {max(-CASE_NUMBER_LIMIT * 100, min(CASE_NUMBER_LIMIT * 100, v)) for v in near}  # as for numbers
    candidates = tuple(sorted(v for v in near if low <= v <= high)) or (low,)
    extremes = tuple(v for v in (10**14, -(10**14)) if low <= v <= high)  # 10^12, the largest amount a case may give
    in_cents = st.one_of(st.sampled_from(candidates + extremes), st.integers(max(low, -(10**8)), min(high, 10**8)))
    written = st.tuples(in_cents, _sometimes(2)).map(
        lambda pair: f"{pair[0] / 100:.2f}" if pair[1] else (pair[0] // 100 if pair[0] % 100 == 0 else pair[0] / 100))
    return st.one_of(st.just(_AIMED_NUMBER), written)


def _text_value(fact, marks: Marks) -> st.SearchStrategy:
    known = tuple(t for t in marks.texts + ("AB", "DE", "x", "") if len(t) <= 500
                  and (fact.pattern is None or re.fullmatch(fact.pattern, t)))
    generated = st.from_regex(fact.pattern, fullmatch=True) if fact.pattern else st.text(max_size=4)
    return st.one_of(st.sampled_from(known), generated) if known else generated


def _day_offsets(marks: Marks) -> tuple[int, ...]:
    """Days apart from the anchor: 0, ±1, and each whole constant of the policy and one either side."""
    offsets = {0, 1, -1}
    for c in marks.numbers:
        if float(c).is_integer() and 0 < abs(c) <= 1000:
            offsets |= {int(c) + step for step in (-1, 0, 1)} | {-int(c) + step for step in (-1, 0, 1)}
    return tuple(sorted(offsets, key=lambda k: (abs(k), k)))


def _hour_offsets(marks: Marks) -> tuple[dt.timedelta, ...]:
    """Hours apart from the anchor: each constant of the policy up to two days, exactly and a minute either side."""
    hours = {float(c) for c in marks.numbers if 0 < abs(c) <= 48} | {12.0}
    return tuple(dt.timedelta(hours=h) + dt.timedelta(minutes=m) for h in sorted(hours) for m in (0, -1, 1))


def _shift(day: dt.date, days: int) -> dt.date:
    try:
        return day + dt.timedelta(days=days)
    except OverflowError:
        return day


def _iso(instant: dt.datetime, zone: str) -> str:
    """The instant written in the time zone `zone` (`Z` or `+HH:MM`): the same moment, another local date."""
    if zone == "Z":
        return instant.astimezone(dt.timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")
    sign = -1 if zone[0] == "-" else 1
    offset = dt.timedelta(hours=int(zone[1:3]), minutes=int(zone[4:6])) * sign
    return instant.astimezone(dt.timezone(offset)).isoformat(timespec="seconds")


# -- cases for the bundled aqara-returns policy --------------------------------------------------

AQARA = Path(__file__).resolve().parent.parent / "policies" / "aqara-returns"
#: US and CN fall under the base policy; DE and FR the EU variant; GB the UK one; AU the Australian one.
AQARA_COUNTRIES = ("US", "DE", "FR", "GB", "AU", "CN")
AQARA_REQUESTS = ("return", "warranty_claim", "cancel_order", "modify_order")
#: Order dates: the first day of the policy, a leap day and a month end (where adding months
#: clamps), and both sides of the EU variant's change of version on 31 July 2026.
AQARA_ORDER_DAYS = (dt.date(2026, 3, 1), dt.date(2024, 1, 1), dt.date(2024, 2, 29), dt.date(2025, 1, 31),
                    dt.date(2026, 7, 30), dt.date(2026, 7, 31), dt.date(2026, 8, 1))
#: Facts only the variants declare (the EU and UK remedies, withdrawal information and returned goods,
#: the Australian major failure and a remedy not given).
AQARA_VARIANT_FACTS = ("failure_is_major", "bought_for_resale", "previous_repair_or_replacement_failed",
                       "preferred_remedy", "cheapest_standard_shipping", "withdrawal_information_given",
                       "withdrawal_information_given_late_on", "return_received_or_evidenced_on", "failure_not_remedied")


def _add_months(day: dt.date, months: int) -> dt.date:
    """The same day `months` later, clamped to the month's end (as the policy's add_months)."""
    total = day.year * 12 + day.month - 1 + months
    year, month = divmod(total, 12)
    month += 1
    last = (dt.date(year + month // 12, month % 12 + 1, 1) - dt.timedelta(days=1)).day
    return dt.date(year, month, min(day.day, last))


#: The policy's periods: what each is counted from, its unit and its length. A case's request
#: comes at one of them, exactly or just either side. (One draw picks among all of them: a choice
#: nested under other choices is one Hypothesis's mutations can leave unexplored for hundreds of
#: examples.)
AQARA_BOUNDARIES = (
    ("order", "hours", 12),  # cancel or modify within 12 hours
    ("order", "days", 30),  # money back within 30 days of purchase
    ("order", "months", 12),  # the warranty
    ("shipped", "days", 30),  # no change more than 30 days after shipping
    ("delivered", "days", 14),  # EU and UK withdrawal
    ("delivered", "days", 30),  # UK short-term right to reject
    ("delivered", "months", 6),  # UK: no deduction for use
    ("delivered", "months", 24),  # EU legal guarantee
)


#: Each boundary exactly (half the time: whether it is in or out is what a rule decides), and a
#: step before and after it (a minute for hours, a day otherwise).
_AQARA_REQUESTS_AT = tuple(boundary + (step,) for boundary in AQARA_BOUNDARIES for step in (0, -1, 0, 1))


@st.composite
def _aqara_request(draw, start: dt.datetime, unit: str, amount: int, step: int) -> dt.datetime:
    """When the request comes: `amount` `unit`s after `start`, and `step` minutes or days more,
    sometimes at another time the same day, where near midnight the UTC and local dates differ."""
    if unit == "hours":
        return start + dt.timedelta(hours=amount, minutes=step)
    if unit == "days":
        later = start + dt.timedelta(days=amount + step)
    else:
        later = dt.datetime.combine(_add_months(start.date(), amount) + dt.timedelta(days=step), start.timetz())
    if draw(_sometimes(3)):
        later = dt.datetime.combine(later.date(), draw(st.sampled_from(TIMES)), dt.timezone.utc)
    return later


# The facts that do not depend on the case's timeline, each drawn on its own.
_AQARA_INDEPENDENT = {
    "request": st.sampled_from(AQARA_REQUESTS),
    "sales_channel": st.sampled_from(("aqara_online_store", "aqara_online_store", "other_retailer")),
    "tracking_number_issued": st.booleans(),
    "units_of_product": st.sampled_from((1, 10, 11, 9, 2, 50)),  # more than 10 is a bulk order
    "corporate_purchase": _sometimes(3),
    "reason_category": st.sampled_from(("non_quality", "quality")),
    "product_damaged": _sometimes(3),
    "all_accessories_included": _sometimes(8),
    "promotional_gifts_included": _sometimes(8),
    "original_packaging_included": _sometimes(8),
    "product_price": st.sampled_from((59.99, 0, 0.01, 12.35, 199, 1000.5)),  # 12.35 prorates to a half cent
    "replaceable": _sometimes(7),
    "previously_fully_refunded": _sometimes(2),
    "is_replacement_unit": _sometimes(3),
    "courier_refusal": st.sampled_from(("not_attempted", "succeeded", "failed")),
}
_AQARA_VARIANT_INDEPENDENT = {
    "failure_is_major": st.booleans(),
    "bought_for_resale": _sometimes(2),
    "previous_repair_or_replacement_failed": _sometimes(3),
    "preferred_remedy": st.sampled_from(("repair", "replacement", "refund", None)),
    "withdrawal_information_given": _sometimes(7),  # false about one time in seven
    "failure_not_remedied": _sometimes(3),
}


@st.composite
def aqara_cases(draw, variant_facts: bool = True, leave_out: bool = True) -> dict[str, Any]:
    """The facts of a case for `policies/aqara-returns`: every request kind, each channel, the
    countries that select its variants, timelines at its boundaries (12 hours to cancel, 30 days
    of money back, 14 days of withdrawal from delivery, 12 months of warranty, 3 months after a
    replacement), in several time zones around midnight, nulls where the policy allows them, the
    variants' withdrawal information given late and goods back around their 14 days, and about one
    fact in five left out. The dates are consistent, as the policy's constraints require: shipped
    (if at all) after the order, delivered (if at all) after shipping, the request after the order.

    The facts are for the policy set (`engine.require_policy_set`), variants included; with
    `variant_facts=False`, only the base policy's facts (for `engine.require_policy`).
    """
    country = draw(st.sampled_from(AQARA_COUNTRIES))
    zone = draw(st.sampled_from(TIME_ZONES))  # the customer's; now and then a datetime is written in another

    def written(instant: dt.datetime) -> str:
        return _iso(instant, zone if draw(_sometimes(7)) else draw(st.sampled_from(TIME_ZONES)))

    counted_from, unit, amount, step = draw(st.sampled_from(_AQARA_REQUESTS_AT))
    ordered = dt.datetime.combine(draw(st.sampled_from(AQARA_ORDER_DAYS)), draw(st.sampled_from(TIMES)), dt.timezone.utc)
    # Not shipped, or not delivered, yet (null) now and then, unless the period counts from it.
    shipped = delivered = None
    if counted_from != "order" or not draw(_sometimes(3)):
        shipped = ordered + dt.timedelta(hours=draw(st.sampled_from((2, 20, 30, 72))))
        if counted_from == "delivered" or not draw(_sometimes(3)):
            delivered = shipped + dt.timedelta(days=draw(st.sampled_from((1, 3, 6))), hours=draw(st.sampled_from((0, 5, 13))))
    start = {"order": ordered, "shipped": shipped, "delivered": delivered}[counted_from]
    shipping = draw(st.sampled_from((4.99, 0, 10)))
    requested = draw(_aqara_request(start, unit, amount, step))
    # 3 months after a replacement late in the warranty outlast the original 12 months; a replacement
    # comes before the request about it (a constraint of the policy from 1.2.2).
    replaced = min(_add_months(ordered.date(), draw(st.sampled_from((10, 0, 6, 11)))),
                   requested.astimezone(dt.timezone.utc).date())
    facts: dict[str, Any] = {
        "country_of_purchase": country,
        "product_location_country": country if draw(_sometimes(8)) else draw(st.sampled_from(AQARA_COUNTRIES)),
        "order_placed_at": written(ordered),
        "request_at": written(requested),
        "shipped_at": None if shipped is None else written(shipped),
        "delivered_at": None if delivered is None else written(delivered),
        "shipping_paid": shipping,
        "replaced_at": replaced.isoformat(),
        **draw(st.fixed_dictionaries(_AQARA_INDEPENDENT)),
    }
    if variant_facts:
        facts.update(draw(st.fixed_dictionaries(_AQARA_VARIANT_INDEPENDENT)))
        facts["cheapest_standard_shipping"] = draw(st.sampled_from((None, shipping, 0, shipping + 5, 2.5)))
        # Withdrawal information given late: 14 days before the request (the period's last day under
        # CRD Art. 10(2)), a day either side, or never; goods back the same day, before or after the
        # request's 14 days run out, or not yet.
        asked = dt.date.fromisoformat(facts["request_at"][:10])
        late = draw(st.sampled_from((None, -14, -13, -15, -200)))
        facts["withdrawal_information_given_late_on"] = None if late is None else (asked + dt.timedelta(days=late)).isoformat()
        back = draw(st.sampled_from((None, 0, 3, 14, 20)))
        facts["return_received_or_evidenced_on"] = None if back is None else (asked + dt.timedelta(days=back)).isoformat()
    if leave_out:
        dropped = draw(_leave_out(tuple(sorted(facts))))
        facts = {name: value for name, value in facts.items() if not dropped[name]}
    return facts


@functools.lru_cache(maxsize=None)
def _leave_out(names: tuple[str, ...]) -> st.SearchStrategy[dict[str, bool]]:
    """For each fact, whether it is left out (one in five)."""
    return st.fixed_dictionaries({name: _sometimes(2) for name in names})
