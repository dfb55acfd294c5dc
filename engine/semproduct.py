"""The product program of two versions, for one pair of compiled policies, asked output by output.

One set of fact variables (both versions' `SymbolicPolicy` with the same prefix, so a shared fact is one
z3 variable), both versions' domains, constraints and selection, every fact given, and for an output
"the two versions observe it differently" (research/symbolic-reasoning.md §4d). engine/semdiff.py pairs
the policies and reports; engine/semregion.py describes where an output differs.

Each output is asked in a z3 context of its own, the pair's terms copied in in a fixed order, on fresh
solvers: an output's answer depends on the pair and the output alone, never on what the process asked
before (z3's search, and so where a budget runs out, depends on a context's history). Every query has a
deterministic budget (`rlimit`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from . import semregion, witness
from .model import Policy, to_json_value
from .symbolic_ops import Term, load_z3
from .values import show_value

#: The budget of one search for a difference, and of each step of a witness when the cheaper one ran out.
RLIMIT = 20_000_000
#: The budget of one step of making a witness canonical: a step that runs out only leaves a fact less
#: tidy (its preference is skipped), and an unsatisfiable step may take long to prove.
CANONICAL_RLIMIT = 2_000_000
#: The budget of one probe around a witness (a small formula: most facts are pinned).
PROBE_RLIMIT = 2_000_000
#: The budget of the check that the pieces hold every case that differs.
COVER_RLIMIT = 5_000_000
#: Once the queries of one output have spent this much, no further piece is looked for.
OUTPUT_BUDGET = 150_000_000


@dataclass(frozen=True)
class OutputDiff:
    """One output of one pair. `status`: `differs` (pieces, each with a witness the engine decides
    differently), `cannot_differ` (proved), `unknown` (the budget ran out), `unconfirmed` (the solver's
    witness is decided alike by the engine: a gap between the symbolic form and the engine) or
    `not_compared`; `reason` says why. `coverage` is `all` when every case that differs is in one of the
    pieces' boxes (proved), else `some`."""

    output: str
    status: str
    reason: str = ""
    pieces: tuple[semregion.Piece, ...] = ()
    coverage: str = "some"

    def to_dict(self) -> dict:
        item: dict[str, Any] = {"output": self.output, "status": self.status}
        if self.reason:
            item["reason"] = self.reason
        if self.status == "differs":
            first = self.pieces[0]
            item["witness"] = {"facts": to_json_value(first.facts), "before": to_json_value(first.before),
                               "after": to_json_value(first.after)}
            item["description"] = first.description()
            item["region"] = {"coverage": self.coverage, "pieces": [p.to_dict() for p in self.pieces]}
        return item


def shared_facts(fa, fb) -> tuple[list, list[str], str]:
    """Constraints that keep each shared fact within what both versions accept (the shared domain),
    notes, and a refusal ("" when the pair can be compared)."""
    z3 = load_z3()
    links, notes = [], []
    for name, a in fa.facts.items():
        if name not in fb.facts:
            notes.append(f"fact `{name}` only in before: a witness gives it, and the after version's case leaves it out")
            continue
        b = fb.facts[name]
        if a.fact.type != b.fact.type:
            return [], notes, f"fact `{name}` is {a.fact.type} before and {b.fact.type} after: no value is both"
        if a.raw.value.sort() != b.raw.value.sort() or a.raw.codes is not b.raw.codes:
            return [], notes, (f"fact `{name}` is compared as a code in one version and as text in the other "
                               "(or with another pattern): not encoded")
        if a.fact.type == "enum" and a.fact.values != b.fact.values:
            same = [i for i, v in enumerate(a.fact.values) if i < len(b.fact.values) and b.fact.values[i] == v]
            links.append(z3.Or([a.raw.value == i for i in same] or [False]))
            moved = [v for i, v in enumerate(a.fact.values) if v in b.fact.values and i not in same]
            if moved:
                notes.append(f"fact `{name}`: {', '.join(f'`{v}`' for v in moved)} moved in its list of values: "
                             "cases with them are not compared")
        links.append(a.raw.null == b.raw.null)  # a null only where both accept one
    notes += [f"fact `{n}` only in after: a witness gives it, and the before version's case leaves it out"
              for n in fb.facts if n not in fa.facts]
    return links, notes, ""


def differ(ta: Term, tb: Term, out_a, out_b):
    """The two versions observe an output differently (a failure, a null, a value; for a list an item);
    None when they cannot be compared (the output's type changed)."""
    z3 = load_z3()
    if out_a.type != out_b.type:
        return None
    if out_a.type == "list":
        items = list(out_a.values) + [v for v in out_b.values if v not in out_a.values]
        false = z3.BoolVal(False)
        equal = z3.And([ta.value.get(i, false) == tb.value.get(i, false) for i in items] or [True])
    elif out_a.type == "enum" and out_a.values != out_b.values:
        equal = z3.Or([z3.And(ta.value == i, tb.value == out_b.values.index(v))
                       for i, v in enumerate(out_a.values) if v in out_b.values] or [False])
    else:
        equal = ta.value == tb.value
        if ta.offset is not None and tb.offset is not None:
            equal = z3.And(equal, ta.offset == tb.offset)
    observed = z3.Or(z3.And(ta.null, tb.null), z3.And(z3.Not(ta.null), z3.Not(tb.null), equal))
    return z3.Not(z3.Or(z3.And(z3.Not(ta.ok), z3.Not(tb.ok)), z3.And(ta.ok, tb.ok, observed)))


def quantities(forms: list, facts: dict) -> list[semregion.Quantity]:
    """What a piece may be measured in: each whole-number derived value (in declaration order, before's
    first), moved by the last date or number it reads, then each int and money fact."""
    found, names = [], set()

    def moving(name: str):
        ft = facts[name]
        variable = ft.variables[0]  # a datetime's day (its time of day and offset stay)
        fact = ft.fact
        ranges = [f.definitions.ranges for f in forms if name in f.facts]
        edges = next((r[str(variable)] for r in ranges if str(variable) in r), None)
        if edges is None:
            return None
        declared = (fact.minimum, fact.maximum) if fact.type in ("int", "money") else (None, None)
        return variable, edges, (declared[0] is None, declared[1] is None)

    for form in forms:
        for name in form.policy.derived:
            term = form.name(name)
            if name in names or term.kind != "int":
                continue
            names.add(name)
            reads = set(form.policy.facts_behind([name]))
            movable = [f for f in facts if f in reads and facts[f].fact.type in ("int", "money", "date", "datetime")]
            found_moving = moving(movable[-1]) if movable else None
            if found_moving is not None:
                found.append(semregion.Quantity(name, term.value, term.ok, term.null, movable[-1], *found_moving))
    for name, ft in facts.items():
        if name not in names and ft.fact.type in ("int", "money"):
            names.add(name)
            found_moving = moving(name)
            if found_moving is not None:
                found.append(semregion.Quantity(name, ft.raw.value, ft.raw.ok, ft.raw.null, name, *found_moving,
                                                money=ft.fact.type == "money"))
    return found


@dataclass
class _Fact:
    """A fact's terms copied into an output's context: what `witness` and `semregion` read."""

    fact: Any
    raw: Term
    given: Any
    variables: tuple


class _Union:
    """Both versions' facts (before's first, in declaration order) in one context, as a form for
    `witness.canonical` and `witness.case_facts`."""

    def __init__(self, policy: Policy, facts: dict, ctx):
        self.policy, self.facts, self.ctx = policy, facts, ctx

    def text_is(self, name: str, text: str):
        z3 = load_z3()
        raw = self.facts[name].raw
        if raw.codes is not None:
            code = raw.codes.code(text)
            return z3.BoolVal(False, self.ctx) if code is None else raw.value == code
        return raw.value == z3.StringVal(text, self.ctx)

    def text_of(self, name: str, model) -> str:
        raw = self.facts[name].raw
        value = model.eval(raw.value, model_completion=True)
        if raw.codes is None:
            return value.as_string()
        # The codes' texts are decoded over every coded variable the model gives (one text per code).
        return raw.codes.decode(_Translating(model, self.ctx), value.as_long())[value.as_long()]


class _Translating:
    """A model read with terms from another context (the registry of codes keeps the main context's)."""

    def __init__(self, model, ctx):
        self.model, self.ctx = model, ctx

    def eval(self, term, model_completion: bool = False):
        return self.model.eval(term.translate(self.ctx), model_completion=model_completion)


def _copy(term: Term, ctx) -> Term:
    move = (lambda t: t if t is None else t.translate(ctx))  # noqa: E731
    value = {k: v.translate(ctx) for k, v in term.value.items()} if isinstance(term.value, dict) else move(term.value)
    return Term(term.kind, value, move(term.ok), move(term.null), term.values, move(term.offset), term.literal,
                move(term.day), move(term.second), None, term.codes)


def _observed(decision, name: str):
    """What the engine's decision shows of an output: its failure, or its value."""
    result = decision.outputs[name]
    return ("error",) if result.status == "error" else ("value", repr(to_json_value(result.value)))


def _spent(solver) -> int:
    """The resource units spent so far in the solver's context (z3's `rlimit count`)."""
    stats = solver.statistics()
    return stats.get_key_value("rlimit count") if "rlimit count" in stats.keys() else 0


class _Renewing:
    """A z3 solver over fixed terms that is built again after an answer of unknown, before its next check.

    z3 5.4.1 answered a satisfiable query `unsat` on the check after one that ran out of budget (sat at
    20 M, unknown at 2 M, then unsat at 20 M, on the same solver; a fresh one: sat; seen on the Aqara
    base policy's `warranty_ends_on` against the draft). A solver that ran out is never asked again, so
    an unsat here is a proof. It answers `check`, `model`, `set("rlimit", n)` and `ctx` as a solver does
    (what `witness.canonical` uses)."""

    def __init__(self, ctx, terms: list, rlimit: int):
        self.z3, self.ctx, self.terms, self.rlimit = load_z3(), ctx, terms, rlimit
        self._solver = None

    def set(self, key: str, value: int) -> None:
        assert key == "rlimit"
        self.rlimit = value

    def check(self, *assumptions):
        if self._solver is None:
            self._solver = self.z3.Solver(ctx=self.ctx)
            self._solver.add(self.terms)
        self._solver.set("rlimit", self.rlimit)
        result = self._solver.check(*assumptions)
        if result == self.z3.unknown:
            self._solver = None
        return result

    def model(self):
        return self._solver.model()

    def statistics(self):
        if self._solver is None:
            return self.z3.Solver(ctx=self.ctx).statistics()
        return self._solver.statistics()


class Product:
    """The queries of one pair: `before` and `after` are (policy set, variant named or None, day named or
    None) as the references say, `pa`/`pb` the compiled policies, `fa`/`fb` their symbolic forms."""

    def __init__(self, before, pa: Policy, after, pb: Policy, fa, fb, links: list, anchor: dt.date, rlimit: int):
        self.z3 = load_z3()
        self.before, self.pa, self.after, self.pb, self.fa, self.fb = before, pa, after, pb, fa, fb
        self.anchor, self.rlimit = anchor, rlimit
        self._query = (fa.domain + fb.domain + witness.complete(fa) + witness.complete(fb)
                       + witness.selecting(fa, before[0], pa, country=before[1] is None, date=before[2] is None)
                       + witness.selecting(fb, after[0], pb, country=after[1] is None, date=after[2] is None)
                       + fa.constraints + fb.constraints + links)
        self._facts = {}
        for form in (fa, fb):
            for name, ft in form.facts.items():
                self._facts.setdefault(name, ft)
        self._quantities = quantities([fa, fb], self._facts)

    def _enter(self) -> None:
        """A fresh context, and the pair's terms copied into it."""
        z3 = self.z3
        self.ctx = ctx = z3.Context()
        self.query = [t.translate(ctx) for t in self._query]
        self.union = _Union(self.pa, {name: _Fact(ft.fact, _copy(ft.raw, ctx), ft.given.translate(ctx),
                                                  tuple(v.translate(ctx) for v in ft.variables))
                                      for name, ft in self._facts.items()}, ctx)
        self.quantities = [semregion.Quantity(q.name, q.value.translate(ctx), q.ok.translate(ctx), q.null.translate(ctx),
                                              q.varied, q.variable.translate(ctx), q.edges, q.open, q.money)
                           for q in self._quantities]

    def _solver(self, terms: list, rlimit: int) -> _Renewing:
        return _Renewing(self.ctx, terms, rlimit)

    def replay(self, facts: dict) -> tuple | None:
        """The engine's decisions of a witness under before and after (None if either refuses it)."""
        decisions = []
        for (policy_set, variant, as_of), policy in ((self.before, self.pa), (self.after, self.pb)):
            mine = {k: v for k, v in facts.items() if k in policy_set.facts}
            decision = witness.replay(policy_set, policy, mine, variant=variant, as_of=as_of)
            if decision is None:
                return None
            decisions.append(decision)
        return tuple(decisions)

    def compare(self, name: str, max_pieces: int) -> OutputDiff:
        """One output: cannot differ, unknown, unconfirmed, or differs (with its pieces)."""
        z3 = self.z3
        out_a, out_b = self.pa.outputs[name], self.pb.outputs[name]
        differs = differ(self.fa.output(name), self.fb.output(name), out_a, out_b)
        if differs is None:
            return OutputDiff(name, "not_compared", f"its type changed: {out_a.type} → {out_b.type}")
        if z3.is_false(z3.simplify(differs)):
            return OutputDiff(name, "cannot_differ", "both versions compute it alike (the same terms)")
        self._enter()
        differs = differs.translate(self.ctx)
        solver = self._solver(self.query + [differs], self.rlimit)
        start = _spent(solver)
        result, split = self._search(solver)
        if result == z3.unsat:
            return OutputDiff(name, "cannot_differ", "no case is decided differently (proved)")
        if result == z3.unknown:
            return OutputDiff(name, "unknown", "the solver's budget ran out")
        model = self._canonical(solver, split)
        if model is None:
            return OutputDiff(name, "unknown", "the solver's budget ran out while it made the witness readable")
        piece = self._confirmed(name, model)
        if not isinstance(piece, semregion.Piece):
            return OutputDiff(name, "unconfirmed", piece)
        region = semregion.Region(self.ctx, self.query + [differs], self.query + [z3.Not(differs)], self.union.facts,
                                  self.quantities, PROBE_RLIMIT)
        pieces, outside = [], []
        while True:
            finite, measures, box = region.piece(model)
            pieces.append(semregion.Piece(piece.facts, piece.before, piece.after, finite, measures))
            outside.append(z3.Not(box))
            if len(pieces) == max_pieces or _spent(solver) - start > OUTPUT_BUDGET:
                break
            model = self._canonical(solver, outside)
            piece = self._confirmed(name, model) if model is not None else None
            if not isinstance(piece, semregion.Piece):
                break
        solver.set("rlimit", COVER_RLIMIT)
        coverage = "all" if solver.check(*outside) == z3.unsat else "some"
        solver.set("rlimit", self.rlimit)
        return OutputDiff(name, "differs", "", tuple(pieces), coverage)

    def _search(self, solver) -> tuple:
        """Is the query satisfiable? When the budget runs out, ask again once per value of the first enum
        fact (cases of the same question, each on half the budget: z3 finds some sooner alone): sat with
        that value (returned, to be assumed), unsat when every value is, else unknown."""
        z3 = self.z3
        result = solver.check()
        if result != z3.unknown:
            return result, []
        split = next((ft for ft in self.union.facts.values() if ft.fact.type == "enum"), None)
        if split is None:
            return result, []
        solver.set("rlimit", self.rlimit // 2)
        try:
            results = []
            for code in range(len(split.fact.values)):
                results.append(solver.check(split.raw.value == code))
                if results[-1] == z3.sat:
                    return results[-1], [split.raw.value == code]
        finally:
            solver.set("rlimit", self.rlimit)
        return (z3.unsat if all(r == z3.unsat for r in results) else z3.unknown), []

    def _canonical(self, solver, assumptions: list):
        """A canonical model of the query with `assumptions`, each step on `CANONICAL_RLIMIT`, or if that
        runs out on the last step (the pinned case), each on the full budget; None when the query has
        none within it. (The solver's first model is never shown: an arbitrary model's extremes, an
        offset of -23:59 or a text outside a pattern, are where an encoding is least tested.)"""
        for budget in (CANONICAL_RLIMIT, self.rlimit):
            solver.set("rlimit", budget)
            try:
                if witness.canonical(solver, self.union, assumptions, anchor=self.anchor) is not None:
                    return solver.model()
            finally:
                solver.set("rlimit", self.rlimit)
        return None

    def _confirmed(self, name: str, model) -> semregion.Piece | str:
        """The witness in `model` as a piece (no description yet) when the engine decides it differently
        under the two versions; else why not."""
        facts = witness.case_facts(self.union, model)
        decisions = self.replay(facts)
        if decisions is None or _observed(decisions[0], name) == _observed(decisions[1], name):
            why = "the engine does not decide it under both" if decisions is None else "the engine decides it alike"
            return f"the solver's witness {show_value(facts)}: {why}"
        return semregion.Piece(facts, decisions[0].outputs[name].value, decisions[1].outputs[name].value)
