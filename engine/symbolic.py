"""The symbolic form of a compiled policy: every fact, derived value, clause condition and output as an SMT term.

`encode(policy)` gives a `SymbolicPolicy`, or a `NotEncodable` naming every construct it cannot encode
exactly (never a silent approximation). The terms are z3's (`z3-solver`, pinned in pyproject.toml), and
z3 is imported here only, inside the functions that need it, so deciding a case never loads it.

How values become terms (the recipes of ../shared/research/symbolic-reasoning.md, §3):

- every value is a `Term`: its z3 value, an `ok` flag (false exactly where the engine's evaluation
  fails: a null argument, a division by zero, a day that does not exist, a derived or `then` value
  past ±10^15) and a `null` flag (`None`);
- bool → Bool; int → Int; number → Real (exact rationals: a float fact or literal is its exact binary
  value); money → Int cents; enum → Int code over the declared values; string → an Int code when the
  policy only compares it for equality (engine/symbolic_text.py), else a z3 String; date → Int days
  since 1970-01-01; datetime → its UTC day (Int) and second of that day (Int): `value` is
  `86400·day + second`, UTC seconds since 1970, and `offset` is 60 times an Int of minutes east of UTC
  it was written in, which `local_date` reads;
- every fact has a `given` flag: a given fact equals the case's value (`fix`); a fact the case lacks
  takes its declared default if it has one, and is otherwise free within its domain: what a case may
  hold (its declared bounds, the engine's limits of ±1e12 and 500 characters) and, for dates and
  datetimes, 1901-01-01 to 2099-12-31 (`DATE_LO`, `DATE_HI`): the cases a query, and so a proof,
  speaks of;
- a clause applies when its condition is `ok` and true; outputs follow engine/evaluator.py's
  semantics (candidates, direct overriding by application, lists collecting in clause order,
  defaults), and an output is `ok` when no clause it depends on failed and no two clauses conflict.

Binary floating point (arithmetic on `number`s, `/` of numbers, `round`, `round_money` and `prorate`
of numbers) and money divided or scaled by non-integers are reported as not encodable. `hours_between`
is the exact quotient of whole seconds by 3600: the engine's float is its correctly rounded value, which
orders the same against the policy's constants (distinct quotients are at least 1/3600 apart, far
beyond a rounding error); comparisons of such quotients compare whole numbers. Solver budgets are z3's
deterministic resource limit (`rlimit`), never time.

The terms equal the engine's values wherever the domain holds (`domain`, which every query asserts):
checks the domain implies (a date within Python's calendar, an amount within its limits) are left out.
"""

from __future__ import annotations

import ast
import datetime as dt
import math
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from typing import Any, Mapping

from . import symbolic_calendar, symbolic_ops, symbolic_text
from .cases import MAX_NUMBER as CASE_MAX_NUMBER, MAX_TEXT_LENGTH
from .expressions import may_exceed
from .model import Policy
from .money import MAX_AMOUNT
from .symbolic_ops import CaseNotEncodable as CaseNotEncodable  # raised by `fix`; its home is `symbolic_ops`
from .symbolic_ops import DATE_HI, DATE_LO, EPOCH, Refused, Term, day_number, literal, load_z3, to_cents

#: The default budget of a query: z3 resource units, deterministic (the same query stops at the same point).
DEFAULT_RLIMIT = 20_000_000


@dataclass(frozen=True)
class Unsupported:
    """One construct that has no exact encoding: where it is, what it is, and why."""

    where: str  # e.g. "derived `usage_partial_refund`", "clause `x` condition"
    construct: str  # e.g. "`round`"
    reason: str


@dataclass(frozen=True)
class NotEncodable:
    """The result of `encode` for a policy with constructs that have no exact encoding (all of them)."""

    policy: str
    problems: tuple[Unsupported, ...]


@dataclass
class FactTerm:
    """A fact's terms: the variable, its `given` flag, and the value expressions read (`term`).

    `variables` are the solver's variables that hold its value (one, or for a datetime its UTC day, its
    second of the day and its offset in minutes: `raw.value` and `raw.offset` are sums of them)."""

    fact: Any
    term: Term
    given: Any
    raw: Term
    domain: list = field(default_factory=list)
    variables: tuple = ()


def solver(rlimit: int = DEFAULT_RLIMIT):
    """A z3 solver whose budget is the deterministic resource limit `rlimit`, never wall time."""
    z3 = load_z3()
    s = z3.Solver()
    s.set("rlimit", rlimit)
    return s


def z3_version() -> str:
    return load_z3().get_version_string()


class SymbolicPolicy:
    """A compiled policy as terms. `facts`, `derived`, `applies` (clause id → Bool: its condition is ok
    and true), `outputs` and `domain` (the declared bounds of every fact) are built once, in
    declaration order, so the same policy always gives the same terms (and the solver the same models)."""

    def __init__(self, policy: Policy, prefix: str = ""):
        self.policy = policy
        self.prefix = prefix  # a second copy of the facts (two-copy queries) uses another prefix
        self.facts: dict[str, FactTerm] = {}
        self.derived: dict[str, Term] = {}
        self.conditions: dict[str, Term] = {}
        self.applies: dict[str, Any] = {}
        self.outputs: dict[str, Term] = {}
        self.effective: dict[str, Any] = {}  # clause id → it applies and nothing sets it aside
        self._constraints: list | None = None
        self._values: dict[tuple[str, str], Term] = {}
        self._busy: set[str] = set()
        self.definitions = symbolic_ops.Definitions()  # constraints defining auxiliary variables (symbolic_ops.call)
        self._coded = symbolic_text.coded_facts(policy)  # text facts compared only for equality, and the texts they meet
        for fact in policy.facts.values():
            self.facts[fact.name] = self._fact(fact)

    @property
    def domain(self) -> list:
        """What every case satisfies: each fact within its declared domain, and the definitions of the
        auxiliary variables (a date's year, month and day), which hold whatever the facts are."""
        return [c for f in self.facts.values() for c in f.domain] + self.definitions

    @property
    def constraints(self) -> list:
        """What the policy's `constraints:` say of every case, one Bool per constraint in declaration
        order. As the engine reads them (engine/constraints.py), a case breaks a constraint only when
        it evaluates to false: one that fails to evaluate is not held against the case."""
        if self._constraints is None:
            z3 = load_z3()
            terms = []
            for name, constraint in self.policy.constraints.items():
                term = symbolic_ops.truth(self._guard("constraint " + name, lambda c=constraint: self.expression(c.expression.tree)))
                terms.append(z3.Or(z3.Not(term.ok), term.value))
            self._constraints = terms
        return self._constraints

    def constraint(self, name: str):
        """The Bool of one constraint (see `constraints`)."""
        return self.constraints[list(self.policy.constraints).index(name)]

    # -- facts ------------------------------------------------------------------------------------

    def _fact(self, fact) -> FactTerm:
        z3 = load_z3()
        name = self.prefix + fact.name
        null = z3.Bool(name + ".null") if fact.nullable else z3.BoolVal(False)
        given = z3.Bool(name + ".given")
        kind, offset, domain = fact.type, None, []
        day = second = minutes = codes = None
        if fact.type == "bool":
            value = z3.Bool(name)
        elif fact.type == "datetime":
            # The UTC day and the second of that day, so that the day is read without dividing by 86400.
            day, second, minutes = z3.Int(name + ".day"), z3.Int(name + ".second"), z3.Int(name + ".offset_minutes")
            value, offset = 86400 * day + second, 60 * minutes
        elif fact.type in ("int", "money", "enum", "date"):
            value = z3.Int(name)
        elif fact.type == "number":
            kind, value = "real", z3.Real(name)
        elif fact.type == "string" and fact.name in self._coded:
            # A code (symbolic_text): every text the policy compares it with has one, any other code is another text.
            codes, value = symbolic_text.registry(fact.pattern), z3.Int(name)
            for text in self._coded[fact.name] + ([fact.default] if isinstance(fact.default, str) else []):
                codes.code(text)
            codes.variables[name] = value
        elif fact.type == "string":
            value = z3.String(name)
        else:
            raise Refused(f"fact type `{fact.type}`", "no encoding for this type")
        if fact.type == "enum":
            domain += [value >= 0, value < len(fact.values)]
        elif fact.type == "date":
            domain += [value >= day_number(DATE_LO), value <= day_number(DATE_HI)]
            self.definitions.ranges[name] = (day_number(DATE_LO), day_number(DATE_HI))
        elif fact.type == "datetime":
            self.definitions.ranges.update({name + ".day": (day_number(DATE_LO), day_number(DATE_HI)),
                                            name + ".second": (0, 86399), name + ".offset_minutes": (-1439, 1439)})
            # Python's offsets are less than a day either way; a case writes them in whole minutes (±HH:MM).
            domain += [day >= day_number(DATE_LO), day <= day_number(DATE_HI), second >= 0, second < 86400,
                       minutes > -1440, minutes < 1440]
        elif codes is not None:
            domain.append(value >= 0)
        elif fact.type == "string":
            domain.append(z3.Length(value) <= MAX_TEXT_LENGTH)
            regex = symbolic_ops.pattern_regex(fact.pattern) if fact.pattern else None
            if regex is not None:  # otherwise a witness whose text breaks the pattern fails its replay
                domain.append(z3.InRe(value, regex))
        if fact.type in ("int", "number", "money"):
            # What a case may hold (engine.cases): the declared bounds, within the engine's limits.
            low, high = self._limits(fact)
            if fact.type == "number":
                domain += [value >= z3.RealVal(low), value <= z3.RealVal(high)]
            else:
                domain += [value >= low, value <= high]
            if fact.type != "number":
                self.definitions.ranges[name] = (low, high)
        raw = Term(kind, value, z3.BoolVal(True), null, fact.values, offset, day=day, second=second, codes=codes)
        term = raw
        if fact.has_default:
            # A case that lacks the fact reads its default (engine.cases): the value is the default unless given.
            default = self._constant(fact, fact.default)
            pick = lambda mine, theirs: mine if mine is None or theirs is None else z3.If(given, mine, theirs)  # noqa: E731
            term = Term(kind, pick(value, default.value), raw.ok, z3.If(given, null, default.null), fact.values,
                        pick(offset, default.offset), day=pick(day, default.day), second=pick(second, default.second),
                        codes=codes)
        variables = (value,) if day is None else (day, second, minutes)
        return FactTerm(fact, term, given, raw, domain, variables)

    @staticmethod
    def _limits(fact) -> tuple:
        """The least and greatest values a case may give a number fact: its `minimum` and `maximum`,
        within the engine's limits (±1e12, in cents for an amount), as whole numbers or fractions."""
        if fact.type == "money":
            low, high = -to_cents(MAX_AMOUNT), to_cents(MAX_AMOUNT)
            cents = lambda bound: Fraction(to_cents(Decimal(bound)))  # noqa: E731
        else:
            low, high = -int(CASE_MAX_NUMBER), int(CASE_MAX_NUMBER)
            cents = Fraction
        if fact.minimum is not None:
            low = max(low, cents(fact.minimum))
        if fact.maximum is not None:
            high = min(high, cents(fact.maximum))
        if fact.type == "number":
            return Fraction(low), Fraction(high)
        return math.ceil(low), math.floor(high)

    def _constant(self, fact, value) -> Term:
        """A case's value of `fact` as terms (the engine's value, as `engine.cases.check_facts` gives it)."""
        z3 = load_z3()
        true, false = z3.BoolVal(True), z3.BoolVal(False)
        if value is None:
            return Term("null", None, true, true)
        kind, offset = fact.type, None
        if fact.type == "bool":
            v = z3.BoolVal(bool(value))
        elif fact.type == "int":
            v = z3.IntVal(value)
        elif fact.type == "number":
            kind, v = "real", z3.RealVal(Fraction(value))
        elif fact.type == "money":
            v = z3.IntVal(to_cents(Decimal(value)))
        elif fact.type == "enum":
            v = z3.IntVal(fact.values.index(value))
        elif fact.type == "string" and fact.name in self._coded:
            code = symbolic_text.registry(fact.pattern).code(value)
            if code is None:
                raise CaseNotEncodable(f"`{value}` is not a text `{fact.name}` may hold")
            return Term(kind, z3.IntVal(code), true, false, codes=symbolic_text.registry(fact.pattern))
        elif fact.type == "string":
            v = z3.StringVal(value)
        elif fact.type == "date":
            v = z3.IntVal(day_number(value))
        else:
            return literal(value)
        return Term(kind, v, true, false, fact.values, offset)

    def fix(self, facts: Mapping[str, Any]) -> list:
        """Constraints that fix every fact `facts` gives to its value and mark the others not given.

        `facts` holds engine values (as `Decision.facts` does). Raises `CaseNotEncodable` for a value
        the terms cannot hold exactly."""
        z3 = load_z3()
        constraints = []
        for name, ft in self.facts.items():
            if name not in facts:
                constraints.append(z3.Not(ft.given))
                continue
            constraints.append(ft.given)
            const = self._constant(ft.fact, facts[name])
            if const.kind == "null":
                # A null's value is never read (every read of it fails or is guarded): it is pinned to a
                # canonical zero, so that nothing computed from it is left for the solver to search.
                constraints.append(ft.raw.null)
                constraints += [v == _zero(v) for v in ft.variables]
                continue
            constraints.append(z3.Not(ft.raw.null))
            if const.kind in ("date", "datetime"):
                day = const.value.as_long() if const.kind == "date" else const.day.as_long()
                if not day_number(DATE_LO) <= day <= day_number(DATE_HI):
                    raise CaseNotEncodable(f"`{facts[name].isoformat()}` is outside the dates the terms hold "
                                           f"({DATE_LO.isoformat()} to {DATE_HI.isoformat()})")
            if const.kind == "datetime":  # each variable, not their sums: `assignment` reads them
                day, second, minutes = ft.variables
                off = const.offset.as_long()
                constraints += [day == const.day, second == const.second, minutes == off // 60]
                if off % 60:
                    raise CaseNotEncodable(f"`{facts[name].isoformat()}` has an offset in seconds, which the terms do not hold")
            else:
                constraints.append(ft.raw.value == const.value)
        return constraints + self._parts(constraints)

    @staticmethod
    def assignment(constraints: list) -> list:
        """The (variable, constant) pairs of constraints such as `fix` gives, for `z3.substitute`."""
        z3 = load_z3()
        pairs = []
        for c in constraints:  # `var == constant` (either way round: z3 may put the constant first), and flags
            if z3.is_eq(c) and _variable(c.arg(0)):
                pairs.append((c.arg(0), c.arg(1)))
            elif z3.is_eq(c) and _variable(c.arg(1)):
                pairs.append((c.arg(1), c.arg(0)))
            elif z3.is_const(c) and z3.is_bool(c) and not z3.is_true(c) and not z3.is_false(c):
                pairs.append((c, z3.BoolVal(True)))
            elif z3.is_not(c) and z3.is_const(c.arg(0)):
                pairs.append((c.arg(0), z3.BoolVal(False)))
        return pairs

    def _parts(self, constraints: list) -> list:
        """The calendar parts (year, month, day) of every date the case fixes, computed rather than
        left to the solver, which finds them slowly from the day number (they are implied: no answer
        changes). Parts defined from other parts (a year months later) follow, in order."""
        z3 = load_z3()
        pairs = self.assignment(constraints)
        parts: list = []
        for term, split in self.definitions.civil:
            known = z3.simplify(z3.substitute(term, *pairs)) if pairs else term
            if z3.is_int_value(known):
                pinned = symbolic_calendar.pin(split, known.as_long())
                parts += pinned
                pairs += self.assignment(pinned)
        return parts

    # -- texts ------------------------------------------------------------------------------------

    def text_is(self, name: str, text: str):
        """The Bool "text fact `name` is `text`", as the case writes it (not null), whether the fact
        is a code (`symbolic_text`) or a z3 string; false for a text the fact cannot hold."""
        return symbolic_ops.text_is(self.facts[name].raw, text)

    def text_of(self, name: str, model) -> str:
        """The text a model gives text fact `name` (a code becomes its text, or one that matches the
        pattern, the same for every fact and copy that shares the code)."""
        raw = self.facts[name].raw
        value = model.eval(raw.value, model_completion=True)
        if raw.codes is None:
            return value.as_string()
        return raw.codes.decode(model, value.as_long())[value.as_long()]

    # -- names ------------------------------------------------------------------------------------

    def name(self, name: str) -> Term:
        policy = self.policy
        if name in self.facts:
            return self.facts[name].term
        if name in policy.parameters:
            return self._literal(policy.parameters[name].value)
        if name in policy.derived:
            if name not in self.derived:
                self.derived[name] = self._guard(name, lambda: self._computed(policy.derived[name].expression.tree))
            return self.derived[name]
        if name in policy.outputs:
            return self.output(name)
        raise Refused(f"`{name}`", "a name the policy does not declare")

    def _guard(self, key: str, build):
        if key in self._busy:
            raise Refused(f"`{key}`", "reads itself")
        self._busy.add(key)
        try:
            return build()
        finally:
            self._busy.discard(key)

    def _literal(self, value) -> Term:
        return literal(value)

    # -- expressions ------------------------------------------------------------------------------

    def expression(self, node: ast.expr) -> Term:
        """The terms of one parsed expression (`CompiledExpression.tree`)."""
        return symbolic_ops.encode(self, node)

    def _computed(self, node: ast.expr) -> Term:
        """A derived value or a `then` value: failing, as in the engine, when what it computes is out of
        range (`expressions.may_exceed`; the steps inside an expression are not checked)."""
        term = self.expression(node)
        return symbolic_ops.within_limits(term, self.definitions) if may_exceed(node) else term

    # -- clauses and outputs ----------------------------------------------------------------------

    def clause_applies(self, clause_id: str):
        if clause_id not in self.applies:
            z3 = load_z3()
            clause = self.policy.clause(clause_id)
            cond = symbolic_ops.truth(self._guard("clause " + clause_id, lambda: self.expression(clause.condition.tree)))
            self.conditions[clause_id] = cond
            self.applies[clause_id] = z3.And(cond.ok, cond.value)
        return self.applies[clause_id]

    def _set_aside(self, clause_id: str):
        z3 = load_z3()
        # Overriding is by application, and direct: a clause whose condition holds sets aside the
        # clauses it overrides, even when it is itself set aside (tests/reference.py).
        return z3.Or([self.clause_applies(w) for w in sorted(self.policy.overridden_by.get(clause_id, ()))] or [False])

    def clause_effective(self, clause_id: str):
        if clause_id not in self.effective:
            z3 = load_z3()
            self.effective[clause_id] = z3.And(self.clause_applies(clause_id), z3.Not(self._set_aside(clause_id)))
        return self.effective[clause_id]

    def output(self, name: str) -> Term:
        if name not in self.outputs:
            self.outputs[name] = self._guard("output " + name, lambda: self._output(name))
        return self.outputs[name]

    def _then(self, clause, output) -> Term:
        key = (clause.id, output.name)
        if key not in self._values:
            value = clause.value_for(output.name)
            term = self._computed(value.expression.tree) if value.expression is not None else self._literal(value.literal)
            self._values[key] = _as_output(term, output)
        return self._values[key]

    def _output(self, name: str) -> Term:
        z3 = load_z3()
        output = self.policy.outputs[name]
        setters = [self.policy.clause(cid) for cid in self.policy.setters.get(name, ())]
        ok = []
        for clause in setters:
            self.clause_applies(clause.id)
            overriders = []
            for w in sorted(self.policy.overridden_by.get(clause.id, ())):
                self.clause_applies(w)
                overriders.append(self.conditions[w].ok)
            cond = self.conditions[clause.id]
            value = self._then(clause, output)
            # The output is ok when no clause it depends on failed: the setter's condition, and where
            # it holds, the conditions of the clauses that override it and, where it counts, its value.
            ok.append(z3.And(cond.ok, z3.Implies(cond.value, z3.And(overriders + [z3.BoolVal(True)])),
                             z3.Implies(self.clause_effective(clause.id), value.ok)))
        effective = [self.clause_effective(c.id) for c in setters]
        default = _as_output(self._literal(output.default if output.default is not None or not output.collects else ()), output)
        if output.collects:
            items = {}
            for item in output.values:
                holders = [e for c, e in zip(setters, effective) if self._then(c, output).value.get(item) is not None
                           and not z3.is_false(self._then(c, output).value[item])]
                items[item] = z3.If(z3.Or(effective + [False]), z3.Or(holders + [False]), default.value.get(item, z3.BoolVal(False)))
            return Term("list", items, z3.And(ok + [True]), z3.BoolVal(False), output.values)
        value, null, offset = default.value, default.null, default.offset
        for clause, eff in reversed(list(zip(setters, effective))):
            term = self._then(clause, output)
            value = term.value if value is None else (value if term.value is None else z3.If(eff, term.value, value))
            null = z3.If(eff, term.null, null)
            if term.offset is not None or offset is not None:
                offset = z3.If(eff, term.offset if term.offset is not None else 0, offset if offset is not None else 0)
        for i, (a, ea) in enumerate(zip(setters, effective)):  # two clauses that apply must agree (else a conflict)
            for b, eb in zip(setters[i + 1:], effective[i + 1:]):
                ta, tb = self._then(a, output), self._then(b, output)
                same = z3.simplify(_same(ta, tb))
                if not z3.is_true(same):
                    ok.append(z3.Not(z3.And(ea, eb, z3.Not(same))))
        kind = default.kind if default.kind != "null" else _output_kind(output)
        if value is None:  # every value is null: any value of the kind, never read
            value = {"bool": z3.BoolVal(False)}.get(kind, z3.IntVal(0))
        return Term(kind, value, z3.And(ok + [True]), null, output.values, offset)

    # -- reading models ---------------------------------------------------------------------------

    def value_of(self, model, name: str) -> Any:
        """The engine's value of output `name` in `model` (an enum's text, a list in clause order,
        an amount as a Decimal, a date as a date, None for null)."""
        z3 = load_z3()
        term, output = self.output(name), self.policy.outputs[name]
        ev = lambda t: model.eval(t, model_completion=True)  # noqa: E731
        if output.collects:
            items: list = []
            for cid in self.policy.setters.get(name, ()):
                if z3.is_true(ev(self.clause_effective(cid))):
                    value = self.policy.clause(cid).value_for(name)
                    items.extend(v for v in (value.literal or ()) if v not in items)
            if not any(z3.is_true(ev(self.clause_effective(c))) for c in self.policy.setters.get(name, ())):
                return tuple(output.default or ())
            return tuple(items)
        if z3.is_true(ev(term.null)):
            return None
        return _decode(term, ev(term.value))


def _variable(term) -> bool:
    """An uninterpreted constant (a fact's variable, a flag), not a value."""
    z3 = load_z3()
    return z3.is_const(term) and term.decl().kind() == z3.Z3_OP_UNINTERPRETED


def _zero(variable):
    z3 = load_z3()
    if z3.is_bool(variable):
        return z3.BoolVal(False)
    if z3.is_string(variable):
        return z3.StringVal("")
    return z3.RealVal(0) if z3.is_real(variable) else z3.IntVal(0)


def _decode(term: Term, value) -> Any:
    z3 = load_z3()
    if term.kind == "bool":
        return z3.is_true(value)
    if term.kind == "enum":
        return term.values[value.as_long()]
    if term.kind == "money":
        return Decimal(value.as_long()) / 100
    if term.kind == "date":
        return EPOCH + dt.timedelta(days=value.as_long())
    if term.kind == "int":
        return value.as_long()
    if term.kind == "real":
        return Fraction(value.numerator_as_long(), value.denominator_as_long())
    if term.kind == "string":
        return value.as_string()
    if term.kind == "datetime":
        return dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc) + dt.timedelta(seconds=value.as_long())
    raise ValueError(term.kind)


def _output_kind(output) -> str:
    return {"enum": "enum", "number": "real", "money": "money", "date": "date", "string": "string",
            "bool": "bool"}.get(output.type, output.type)


def _same(a: Term, b: Term):
    z3 = load_z3()
    if a.value is None or b.value is None:  # a null literal: the same when the other is null too
        return z3.And(a.null, b.null)
    return z3.Or(z3.And(a.null, b.null), z3.And(z3.Not(a.null), z3.Not(b.null), a.value == b.value))


def _as_output(term: Term, output) -> Term:
    """A clause's value (or the default) as the output's kind: an enum's code, a list's item flags."""
    z3 = load_z3()
    if term.kind == "null":
        return Term(_output_kind(output), None, term.ok, z3.BoolVal(True), output.values)
    if output.type == "list":
        if term.kind != "items" or any(t.literal is None for t in term.value):
            raise Refused(f"a value of `{output.name}`", "a list output computed by an expression")
        written = {t.literal for t in term.value}
        return Term("list", {item: z3.BoolVal(item in written) for item in output.values}, term.ok, z3.BoolVal(False))
    if output.type == "enum":
        if term.kind == "string" and term.literal is not None:
            return Term("enum", z3.IntVal(output.values.index(term.literal)), term.ok, term.null, output.values)
        if term.kind == "enum" and term.values == output.values:
            return term
        raise Refused(f"a value of `{output.name}`", "an enum output computed from something other than its values")
    if output.type == "money" and term.kind != "money":
        raise Refused(f"a value of `{output.name}`", f"a {term.kind} given to an amount of money")
    if output.type == "number" and term.kind not in ("int", "real"):
        raise Refused(f"a value of `{output.name}`", f"a {term.kind} given to a number")
    return term


def encode(policy: Policy) -> SymbolicPolicy | NotEncodable:
    """`policy` as terms, or `NotEncodable` naming every construct that has no exact encoding."""
    try:
        form = SymbolicPolicy(policy)
    except Refused as refused:  # a fact's type or bound
        return NotEncodable(policy.id, (Unsupported("facts", refused.construct, refused.reason),))
    problems: list[Unsupported] = []
    pieces = ([(f"derived `{n}`", lambda n=n: form.name(n)) for n in policy.derived]
              + [(f"clause `{c.id}`", lambda c=c: form.clause_applies(c.id)) for c in policy.clauses]
              + [(f"output `{n}`", lambda n=n: form.output(n)) for n in policy.outputs]
              + [("constraints", lambda: form.constraints)])
    for where, build in pieces:
        try:
            build()
        except Refused as refused:
            problem = Unsupported(where, refused.construct, refused.reason)
            if not any(p.construct == problem.construct and p.reason == problem.reason for p in problems):
                problems.append(problem)
    if problems:
        return NotEncodable(policy.id, tuple(problems))
    return form
