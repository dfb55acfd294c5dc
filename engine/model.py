"""The compiled policy: frozen data with expressions already parsed, and nothing that does I/O."""

from __future__ import annotations

import ast
import datetime as dt
import functools
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from . import money
from .errors import SourceLocation
from .expressions import CompiledExpression
from .values import to_json_value as to_json_value  # its home is `values`; decisions and renderers import it here


@dataclass(frozen=True)
class Quote:
    """A verbatim quote and where it sits in the source document (0-based character span)."""

    text: str
    start: int
    end: int
    line: int
    column: int


@dataclass(frozen=True)
class SourceRef:
    """The section and quotes of the source document that something encodes."""

    section: str
    quotes: tuple[Quote, ...]

    def to_dict(self) -> dict:
        return {
            "section": self.section,
            "quotes": [{"text": q.text, "line": q.line, "column": q.column} for q in self.quotes],
        }


@dataclass(frozen=True)
class LegalRef:
    """A provision of law that a variant's clause or parameter encodes."""

    act: str
    article: str
    quote: str
    url: str = ""
    confidence: str = "confirmed"

    def short(self) -> str:
        """`Directive 2011/83/EU, Art. 9(1)`, as a trace names it."""
        return f"{self.act}, {self.article}" + (" (unconfirmed)" if self.confidence == "unconfirmed" else "")

    def to_dict(self) -> dict:
        return {"act": self.act, "article": self.article, "quote": self.quote, "url": self.url,
                "confidence": self.confidence}


@dataclass(frozen=True)
class Disabled:
    """A base clause that a variant sets aside entirely, and why."""

    clause: str
    variant: str
    reason: str
    legal: LegalRef
    origin: str = ""  # the policy or variant that defined the disabled clause


@dataclass(frozen=True)
class NotModelled:
    """A provision of a variant's law that no clause encodes on purpose, and why (`not_modelled`)."""

    variant: str
    act: str
    article: str
    reason: str
    url: str = ""

    def short(self) -> str:
        """`Directive 2011/83/EU, Art. 13(3)`, as a citation reads."""
        return f"{self.act}, {self.article}"


@dataclass(frozen=True)
class Fact:
    """A fact a case may give: its type, its limits, and its default when a case lacks it."""

    name: str
    type: str  # bool, int, number, string, enum, date, datetime
    description: str
    location: SourceLocation
    values: tuple[str, ...] = ()
    nullable: bool = False
    minimum: float | None = None  # for a money fact, an amount (a Decimal)
    maximum: float | None = None
    pattern: str | None = None
    examples: tuple = ()
    has_default: bool = False
    default: Any = None  # the engine value used when a case lacks the fact (see has_default)
    sensitive: bool = False  # the decision log keeps only a salted hash of the value


@dataclass(frozen=True)
class Parameter:
    """A named constant of the policy, with the quote or law it comes from."""

    name: str
    value: Any
    description: str
    location: SourceLocation
    unit: str = ""
    source: SourceRef | None = None
    origin: str = ""
    legal: LegalRef | None = None
    since: dt.date | None = None  # for a dated value: the day it takes effect (`values:`)


@dataclass(frozen=True)
class Derived:
    """A named expression over facts, parameters and other derived values."""

    name: str
    expression: CompiledExpression
    description: str
    location: SourceLocation
    source: SourceRef | None = None
    interpretation: str = ""


@dataclass(frozen=True)
class Output:
    """One field of a decision: its type, values, default, and what shows when it is undetermined."""

    name: str
    type: str  # enum, list, number, date, string, bool
    description: str
    location: SourceLocation
    values: tuple[str, ...] = ()
    nullable: bool = False
    default: Any = None
    undetermined: str | None = None
    meanings: tuple[tuple[str, str], ...] = ()
    preference: tuple[str, ...] = ()  # enum values from best to worst for the customer

    @property
    def collects(self) -> bool:
        """List outputs collect the items of every clause that applies; the others take one value."""
        return self.type == "list"


@dataclass(frozen=True)
class OutputValue:
    """What a clause sets an output to: a literal, or an expression computed when the clause applies."""

    literal: Any = None
    expression: CompiledExpression | None = None

    def describe(self) -> str:
        """The value as the conflict check compares and names it: the expression's text, or the
        literal's repr; an amount (a literal, or a number written as an expression of an amount)
        as the amount it is, so that `0`, `0.0` and `{expression: 0}` of a money output agree."""
        if self.expression is not None:
            tree = self.expression.tree
            sign = 1
            if isinstance(tree, ast.UnaryOp) and isinstance(tree.op, (ast.USub, ast.UAdd)):
                sign, tree = (-1 if isinstance(tree.op, ast.USub) else 1), tree.operand
            amount = getattr(tree, "amount", None)
            return money.text(amount * sign) if amount is not None else self.expression.text
        return money.text(self.literal) if money.is_amount(self.literal) else repr(self.literal)


@dataclass(frozen=True)
class Clause:
    """A rule of the policy: its condition, what it sets, the sentence or law it encodes, what it overrides."""

    id: str
    title: str
    source: SourceRef | None  # the quoted text; None for a variant's clause, which cites `legal`
    condition: CompiledExpression
    sets: tuple[tuple[str, OutputValue], ...]
    location: SourceLocation
    interpretation: str = ""
    overrides: tuple[str, ...] = ()
    overrides_all: bool = False  # `overrides: all`: every other clause
    origin: str = ""  # the policy or variant that defines the clause
    legal: LegalRef | None = None
    # Where each part of the condition (an operand of its top-level `and`s) starts in the file.
    part_locations: tuple[SourceLocation, ...] = ()

    def value_for(self, output: str) -> OutputValue | None:
        for name, value in self.sets:
            if name == output:
                return value
        return None


@dataclass(frozen=True)
class Informational:
    """A sentence of the source that decides nothing, and why."""

    quote: Quote
    reason: str


@dataclass(frozen=True)
class PolicyIdentity:
    """What an auditor needs to know which exact policy made a decision."""

    id: str
    version: str
    effective_from: dt.date
    title: str
    content_sha256: str
    files: tuple[tuple[str, str], ...]  # (file name, sha256), the policy file first
    source_file: str
    source_sha256: str
    variant_chain: tuple[str, ...] = ()  # e.g. ("aqara-returns", "eu"); just the id for the base policy
    effective_until: dt.date | None = None  # for a variant: the window shared by every file of the chain
    versions: tuple[str, ...] = ()  # the version of each file of the chain, e.g. ("1.0.0", "1.1.0")

    def chain_label(self) -> str:
        """`aqara-returns 1.0.0 → eu 1.1.0`: every file of the chain with its version."""
        versions = self.versions or (self.version,)
        return " → ".join(f"{name} {version}" for name, version in zip(self.variant_chain or (self.id,), versions))

    def in_force(self, day: dt.date) -> bool:
        return self.effective_from <= day and (self.effective_until is None or day <= self.effective_until)

    def to_dict(self) -> dict:
        return {
            "id": self.id,
            "version": self.version,
            "variant_chain": list(self.variant_chain),
            "chain_versions": list(self.versions),
            "effective_until": self.effective_until.isoformat() if self.effective_until else None,
            "effective_from": self.effective_from.isoformat(),
            "title": self.title,
            "content_sha256": self.content_sha256,
            "files": [{"name": name, "sha256": digest} for name, digest in self.files],
            "source": {"file": self.source_file, "sha256": self.source_sha256},
        }


@dataclass(frozen=True)
class Constraint:
    """A rule over facts that every case satisfies; a case whose facts break it is refused."""

    name: str
    expression: CompiledExpression
    message: str
    location: SourceLocation
    source: SourceRef | None = None


@dataclass(frozen=True)
class Property:
    """A promise the policy keeps for every complete case: where `assume` holds, `assertion` holds.

    Nothing decides a case with it: `verdict prove` (engine/prove.py) proves it over every case, or
    shows one where it fails. `origin` is the policy or variant that states it."""

    id: str
    description: str
    assertion: CompiledExpression
    location: SourceLocation
    assume: CompiledExpression | None = None
    source: SourceRef | None = None
    legal: LegalRef | None = None
    origin: str = ""


@dataclass(frozen=True)
class DroppedProperty:
    """An inherited property a variant says does not hold under it (`drops_properties`), and why."""

    property: str
    variant: str
    reason: str


@dataclass(frozen=True)
class Policy:
    """A validated, compiled policy. Clause order is evaluation order."""

    identity: PolicyIdentity
    facts: dict[str, Fact]
    parameters: dict[str, Parameter]
    derived: dict[str, Derived]
    outputs: dict[str, Output]
    clauses: tuple[Clause, ...]
    informational: tuple[Informational, ...] = ()
    # For each clause id, the ids of the clauses that override it, directly or through a chain.
    overridden_by: dict[str, frozenset[str]] = field(default_factory=dict)
    # For each output, the clauses that set it, in clause order.
    setters: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # Where each clause's `when` expression starts in the policy file.
    condition_locations: dict[str, SourceLocation] = field(default_factory=dict)
    disabled: tuple[Disabled, ...] = ()  # base clauses a variant set aside
    not_modelled: tuple[NotModelled, ...] = ()  # provisions of the variants' law left out on purpose
    countries: tuple[str, ...] = ()  # for a variant: the countries it covers
    # Set on a base policy taken out of a set with variants or versions (`api.load_policy`): why
    # `decide` refuses it (it would ignore them); "" everywhere else.
    needs_selection: str = ""
    constraints: dict[str, Constraint] = field(default_factory=dict)  # checked on every case before it is decided
    properties: tuple[Property, ...] = ()  # promises `verdict prove` proves; they decide nothing
    dropped_properties: tuple[DroppedProperty, ...] = ()  # inherited ones a variant said do not hold

    def property_named(self, property_id: str) -> Property | None:
        return next((p for p in self.properties if p.id == property_id), None)

    @property
    def id(self) -> str:
        return self.identity.id

    def __post_init__(self) -> None:
        # An index for `clause()`, which evaluation calls for every override and output.
        object.__setattr__(self, "_by_id", {clause.id: clause for clause in self.clauses})

    def clause(self, clause_id: str) -> Clause | None:
        return self._by_id.get(clause_id)

    def facts_behind(self, names) -> list[str]:
        """The facts these names read, through the derived values they read: each once, in the order a
        depth-first walk from the last name meets them."""
        found: dict[str, None] = {}
        pending, seen = list(names), set()
        while pending:
            name = pending.pop()
            if name in seen:
                continue
            seen.add(name)
            if name in self.facts:
                found[name] = None
            elif name in self.derived:
                pending.extend(self.derived[name].expression.names)
        return list(found)


@dataclass(frozen=True)
class PolicySet:
    """A policy, its dated versions and its regional variants, each combination already compiled.

    `countries` maps a country code to the variant that covers it; `select_by` is the fact holding
    the country (e.g. `country_of_purchase`) and `version_by` the date fact that picks the version
    in force (e.g. `order_placed_at`). `variants` holds each variant's latest version, for listing,
    tests and diffs; `compiled` holds every (version, variant) combination that selection chooses from.
    """

    base: Policy
    variants: dict[str, Policy] = field(default_factory=dict)
    select_by: str = ""
    countries: dict[str, str] = field(default_factory=dict)
    version_by: str = ""
    compiled: tuple[Policy, ...] = ()
    # Every file read to build the set (policy, versions, variants, source text): (path relative to
    # the policy file's folder, sha256). What the plan cache checks before trusting a stored set.
    files: tuple[tuple[str, str], ...] = ()

    @property
    def id(self) -> str:
        return self.base.id

    @property
    def facts(self) -> dict[str, Fact]:
        """Every fact a case may give: the base policy's and those the variants add."""
        merged = dict(self.base.facts)
        for policy in self.compiled or self.variants.values():
            merged.update(policy.facts)
        return merged


@dataclass(frozen=True)
class OutputResult:
    """An output of a decision.

    `status` is `decided` (clauses in `clauses` set it), `default` (no clause applied, so the
    declared default stands), `undetermined` (it depends on the facts in `missing`; `value` is the
    output's `undetermined` value, or None) or `error` (a clause failed; see `Decision.errors`).
    `regardless_of` names absent facts whose every value gives this same result; `clauses` then
    lists the clauses that decide it for one value or another.
    """

    value: Any
    status: str
    clauses: tuple[str, ...] = ()
    missing: tuple[str, ...] = ()
    regardless_of: tuple[str, ...] = ()
    # How it was settled when the case lacks facts: "" (by the case's facts), `enumeration` (every value
    # of its few-valued missing facts), `solver` (every completion, engine/settle.py; for an undetermined
    # output: `missing` is then a minimal set), `fallback` (the solver could not: the evaluator's answer).
    settled_by: str = ""

    @classmethod
    def trusted(cls, value: Any, status: str, clauses: tuple[str, ...] = ()) -> "OutputResult":
        """The evaluator's constructor: the same object, without the frozen `__init__`'s cost."""
        result = object.__new__(cls)
        object.__setattr__(result, "__dict__", {"value": value, "status": status, "clauses": clauses,
                                                "missing": (), "regardless_of": (), "settled_by": ""})
        return result


class Outputs(dict):
    """A decision's outputs: a mapping that cannot be changed, so that decisions may share one."""

    __slots__ = ()

    def _refuse(self, *args, **kwargs):
        raise TypeError("a decision's outputs cannot be changed")

    __setitem__ = __delitem__ = clear = pop = popitem = setdefault = update = __ior__ = _refuse  # type: ignore[assignment]

    def __reduce__(self):
        return (Outputs, (dict(self),))


def facts_digest(facts: dict[str, Any]) -> str:
    """sha256 of the canonical JSON of the facts: the same facts always give the same digest.

    An amount of money is written in its shortest form (`10` for 10.00, `59.99`): however a case
    writes an amount (`10`, `10.0`, `"10.00"`), the digest is the one Verdict 0.2.0 gave for `10`,
    when amounts were plain numbers.
    """
    values = {name: money.shortest(value) if money.is_amount(value) else value
              for name, value in to_json_value(facts).items()}
    canonical = json.dumps(values, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True)
class Decision:
    """The outcome of one case: every output, the facts still needed, and the trace.

    A decision is not a verdict on the case's truth: it says what the policy gives for the facts
    given. `missing_facts` is empty exactly when no output is undetermined. `trace` is the
    evaluator's compact record (None when the decision was made with `trace=False`); `events`
    expands it on first use, and `case_digest` is computed on first use too.
    """

    policy: PolicyIdentity
    case_id: str
    facts: dict[str, Any]
    outputs: dict[str, OutputResult]
    missing_facts: tuple[str, ...] = ()
    errors: tuple = ()
    engine_version: str = ""
    selection: str = ""  # why this policy or variant was chosen
    trace: Any = field(default=None, repr=False)
    # The compiled policy that decided (whose trace this is): what rendering reads quotes and titles from.
    made_by: Any = field(default=None, repr=False, compare=False)
    # When the case lacks facts and the solver settled its open outputs (engine/settle.py): the missing
    # facts that can change an output, alone or jointly; the others; and what the solver did.
    relevant_facts: tuple[str, ...] = ()
    regardless_of: tuple[str, ...] = ()
    solver: Any = None

    @classmethod
    def trusted(cls, policy: PolicyIdentity, case_id: str, facts: dict[str, Any], outputs: dict[str, OutputResult],
                missing_facts: tuple[str, ...], errors: tuple, engine_version: str, trace: Any,
                made_by: Any = None) -> "Decision":
        """The evaluator's constructor: the same object, without the frozen `__init__`'s cost."""
        decision = object.__new__(cls)
        object.__setattr__(decision, "__dict__", {
            "policy": policy, "case_id": case_id, "facts": facts, "outputs": outputs, "missing_facts": missing_facts,
            "errors": errors, "engine_version": engine_version, "selection": "", "trace": trace, "made_by": made_by,
            "relevant_facts": (), "regardless_of": (), "solver": None})
        return decision

    @functools.cached_property
    def events(self) -> tuple:
        """The trace events (see `trace.Op`), in evaluation order; () for an untraced decision."""
        return self.trace.events() if self.trace is not None else ()

    @functools.cached_property
    def case_digest(self) -> str:
        """sha256 of the canonical JSON of the facts."""
        return facts_digest(self.facts)

    def value(self, output: str) -> Any:
        return self.outputs[output].value
