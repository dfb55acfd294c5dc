"""Semantic differences between two versions of a policy: for each output, a case they decide differently.

`verdict diff A B --witness` compares meaning where engine/diff.py compares text. For each pair of
compiled policies that one case would be decided by (the base against the base, a variant against the
same variant, dated versions whose windows overlap), it builds a product program
(research/symbolic-reasoning.md §4d): one set of fact variables (both versions' `SymbolicPolicy` with the
same prefix, so a shared fact is one z3 variable), both versions' domains, constraints and selection
(`witness.selecting`: the case's country and date select these two), every fact given
(`witness.complete`), and for each output "the two versions observe it differently": a value, a null or
a failure that differs, or for a list any item.

- unsat → the output **cannot differ**; sat → a **witness**: the model made canonical
  (`witness.canonical`), its facts as a case file writes them, replayed through the engine under each
  version, and shown only when the engine's two decisions of that output differ (else `unconfirmed`);
  unknown → **unknown**, never shown as either.
- Facts both versions declare are compared on the values both accept (the shared domain): the solver
  conjoins both domains; an enum whose values moved is compared on the values both list at the same
  position (a note names the others); a fact whose type changed leaves the pair `not_compared`. A fact
  only one version declares is given by the witness and left out of the other version's case.
- The search first looks among cases dated near the versions' first day (engine/semregion.py's
  `Window`, where dates split into parts are cheap), then over every date; what each stage found is
  said (`reason`). Then engine/semregion.py describes where the output differs, piece by piece.

Every query has a deterministic budget (z3 `rlimit`), and each pair is asked in a z3 context of its own,
with its terms copied in in a fixed order: the answer never depends on what the process asked before.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from . import semregion, witness
from .model import Policy, PolicySet, to_json_value
from .symbolic_ops import Term, load_z3
from .values import show_value

#: The budget of one search for a difference, and of one step of making a witness canonical.
RLIMIT = 20_000_000
#: The budget of one step of making a witness canonical: a step that runs out only leaves a fact less
#: tidy (the preference is skipped), so it need not be large (on an EU variant a step that is not
#: satisfiable could take 5 s at `RLIMIT`).
CANONICAL_RLIMIT = 2_000_000
#: Once the queries of one output have spent this much, no further piece is looked for.
OUTPUT_BUDGET = 150_000_000
#: The budget of one probe around a witness (a small formula: most facts are pinned).
PROBE_RLIMIT = 2_000_000
#: The budget of each check that the pieces found hold every case that differs (in the window, then
#: over every date).
COVER_RLIMIT = 5_000_000
#: At most this many pieces (witnesses) per output.
MAX_PIECES = 3


@dataclass(frozen=True)
class Side:
    """One side of the comparison as a reference names it: the policy set, the variant the caller names
    (None: each case's country selects it) and the day whose versions apply (None: each case's date)."""

    policy_set: PolicySet
    variant: str | None = None
    as_of: dt.date | None = None

    def pool(self) -> list[Policy]:
        """The compiled policies a case may be decided by on this side, in the set's order."""
        chain_end = self.variant
        return [p for p in (self.policy_set.compiled or (self.policy_set.base,))
                if (chain_end is None or p.identity.variant_chain[-1] == chain_end)
                and (self.as_of is None or p.identity.in_force(self.as_of))]


@dataclass(frozen=True)
class OutputDiff:
    """One output of one pair. `status`: `differs` (pieces, each with a witness the engine decides
    differently), `cannot_differ` (proved), `unknown` (the budget ran out), `unconfirmed` (the solver's
    witness is decided alike by the engine: a gap between the symbolic form and the engine) or
    `not_compared`; `reason` says why. `coverage`: `all` when every case that differs is in one of the
    pieces (proved), `window` when every such case dated within the dates searched first is, else `some`."""

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


@dataclass(frozen=True)
class PairDiff:
    """Two compiled policies a case may be decided by, before and after, and what differs between them."""

    before: Policy
    after: Policy
    dates: tuple[dt.date | None, dt.date | None]  # the days the version date may take (None: open)
    searched: tuple[dt.date, dt.date]  # the dates the first search looked among
    notes: tuple[str, ...] = ()
    outputs: tuple[OutputDiff, ...] = ()

    def to_dict(self) -> dict:
        return {"before": self.before.identity.chain_label(), "after": self.after.identity.chain_label(),
                "dates": {"from": _iso(self.dates[0]), "until": _iso(self.dates[1])},
                "searched_first": {"from": self.searched[0].isoformat(), "until": self.searched[1].isoformat()},
                "notes": list(self.notes), "outputs": [o.to_dict() for o in self.outputs]}


@dataclass(frozen=True)
class SemanticDiff:
    """Every pair compared, and the policies of either side that no case would pair with the other's.
    `accepts` holds the facts each side's cases may give (a witness's case file for a side keeps those)."""

    pairs: tuple[PairDiff, ...]
    unpaired: tuple[str, ...] = ()
    solver: dict = field(default_factory=dict)
    accepts: tuple[frozenset, frozenset] = (frozenset(), frozenset())

    def to_dict(self) -> dict:
        return {"solver": self.solver, "pairs": [p.to_dict() for p in self.pairs], "unpaired": list(self.unpaired)}


def _iso(day: dt.date | None) -> str | None:
    return day.isoformat() if day is not None else None


# -- pairs ------------------------------------------------------------------------------------------

def _countries(side: Side, policy: Policy):
    """The countries that select `policy` on this side: None (any: the caller names the variant, or the
    set has none), ("in", codes) for a variant, ("out", codes) for the base (every code no variant lists)."""
    policy_set = side.policy_set
    if side.variant is not None or not policy_set.variants or not policy_set.select_by:
        return None
    chain_end = policy.identity.variant_chain[-1]
    if chain_end in policy_set.variants:
        return "in", frozenset(c for c, v in policy_set.countries.items() if v == chain_end)
    return "out", frozenset(policy_set.countries)


def _countries_meet(a, b) -> bool:
    if a is None or b is None:
        return True
    if a[0] == "in" and b[0] == "in":
        return bool(a[1] & b[1])
    if a[0] == "out" and b[0] == "out":
        return True  # two-letter codes outside both lists remain
    inside, outside = (a, b) if a[0] == "in" else (b, a)
    return bool(inside[1] - outside[1])


def _dates(side: Side, policy: Policy) -> tuple[dt.date | None, dt.date | None] | None:
    """The window of the date that selects `policy` on this side; None when the date does not select."""
    if side.as_of is not None or not side.policy_set.version_by:
        return None
    return policy.identity.effective_from, policy.identity.effective_until


def _overlap(a, b) -> tuple[dt.date | None, dt.date | None] | None:
    """The days both windows hold (None: they share none)."""
    windows = [w for w in (a, b) if w is not None]
    start = max((w[0] for w in windows), default=None)
    ends = [w[1] for w in windows if w[1] is not None]
    end = min(ends) if ends else None
    if start is not None and end is not None and end < start:
        return None
    return start, end


def pairs(before: Side, after: Side) -> tuple[list[tuple[Policy, Policy, tuple]], list[str]]:
    """The pairs of compiled policies one case may be decided by (before, after, the version date's
    window), and the chain labels of the policies that pair with none."""
    found, paired = [], set()
    for pa in before.pool():
        for pb in after.pool():
            if not _countries_meet(_countries(before, pa), _countries(after, pb)):
                continue
            window = _overlap(_dates(before, pa), _dates(after, pb))
            if window is None:
                continue
            found.append((pa, pb, window))
            paired.update((("before", id(pa)), ("after", id(pb))))
    unpaired = [f"before: {p.identity.chain_label()}" for p in before.pool() if ("before", id(p)) not in paired]
    unpaired += [f"after: {p.identity.chain_label()}" for p in after.pool() if ("after", id(p)) not in paired]
    return found, unpaired


# -- the product program ----------------------------------------------------------------------------

def _encoded(policy: Policy, cache: dict):
    """The symbolic form with every term built (building one defines auxiliary variables the domain
    must hold), or the `NotEncodable` naming what has no encoding; one per policy per diff."""
    if id(policy) not in cache:
        from .symbolic import NotEncodable, encode  # noqa: PLC0415 - z3 only when asked

        form = encode(policy)
        if not isinstance(form, NotEncodable):
            for name in policy.outputs:
                form.output(name)
            form.constraints  # noqa: B018 - built for the same reason
            for name in policy.derived:
                form.name(name)
        cache[id(policy)] = form
    return cache[id(policy)]


def _shared_facts(fa, fb) -> tuple[list, list[str], str]:
    """Constraints that keep a shared fact within what both versions accept, notes, and a refusal
    ("" when the pair can be compared)."""
    z3 = load_z3()
    links, notes = [], []
    for name, a in fa.facts.items():
        if name not in fb.facts:
            notes.append(f"fact `{name}` only in before: a witness gives it, and the after version's case leaves it out")
            continue
        b = fb.facts[name]
        if a.fact.type != b.fact.type:
            return [], notes, f"fact `{name}` is {a.fact.type} before and {b.fact.type} after: no value is both"
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


def _differ(ta: Term, tb: Term, out_a, out_b):
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


@dataclass
class _FactIn:
    """A fact's terms copied into a pair's context: what `witness.canonical` and `case_facts` read."""

    fact: Any
    raw: Term
    given: Any


class _Union:
    """Both versions' facts (before's first, in declaration order), as a form for `witness`."""

    def __init__(self, policy: Policy, facts: dict):
        self.policy, self.facts = policy, facts


def _copy(term: Term, ctx) -> Term:
    move = (lambda t: None if t is None else t.translate(ctx))  # noqa: E731
    value = {k: v.translate(ctx) for k, v in term.value.items()} if isinstance(term.value, dict) else move(term.value)
    return Term(term.kind, value, move(term.ok), move(term.null), term.values, move(term.offset))


def _reads(policy: Policy, name: str) -> set[str]:
    """The facts a derived value reads, through the derived values it reads."""
    seen, stack, facts = set(), [name], set()
    while stack:
        current = stack.pop()
        if current in seen:
            continue
        seen.add(current)
        if current in policy.facts:
            facts.add(current)
        elif current in policy.derived:
            stack.extend(policy.derived[current].expression.names)
    return facts


def _quantities(forms: list, order: list[str], window: semregion.Window) -> list[semregion.Quantity]:
    """What a piece may be measured in: each whole-number derived value (in declaration order, before's
    first), moved by the last fact it reads that can move it, then each int and money fact."""
    found, names = [], set()

    def quantity(name: str, term: Term, varied: str) -> semregion.Quantity:
        near = [window.restrict(t) for t in (term.value, term.ok, term.null)]
        return semregion.Quantity(name, *near, (term.value, term.ok, term.null), varied)

    for form in forms:
        for name in form.policy.derived:
            term = form.name(name)
            if name in names or term.kind != "int":
                continue
            names.add(name)
            reads = _reads(form.policy, name)
            movable = [f for f in order if f in reads and form.policy.facts[f].type in ("int", "money", "date", "datetime")]
            if movable:
                found.append(quantity(name, term, movable[-1]))
    for form in forms:
        for name, ft in form.facts.items():
            if name not in names and ft.fact.type in ("int", "money"):
                names.add(name)
                found.append(quantity(name, ft.raw, name))
    return found


def _observed(decision, name: str):
    """What the engine's decision shows of an output: its failure, or its value."""
    result = decision.outputs[name]
    return ("error",) if result.status == "error" else ("value", repr(to_json_value(result.value)))


class _Pair:
    """The queries of one pair. Its terms are built once; each output is asked in a z3 context of its
    own, the terms copied in in a fixed order, on fresh solvers: an output's answer depends on the pair
    and the output alone, never on what was asked before (z3's search, and so where a budget runs out,
    depends on the context's history)."""

    def __init__(self, before: Side, pa: Policy, after: Side, pb: Policy, fa, fb, links: list, window: semregion.Window,
                 anchor: dt.date, rlimit: int):
        self.z3 = load_z3()
        self.before, self.pa, self.after, self.pb, self.fa, self.fb = before, pa, after, pb, fa, fb
        self.window, self.anchor, self.rlimit = window, anchor, rlimit
        core = ([c for form in (fa, fb) for ft in form.facts.values() for c in ft.domain]
                + witness.complete(fa) + witness.complete(fb)
                + witness.selecting(fa, before.policy_set, pa, country=before.variant is None, date=before.as_of is None)
                + witness.selecting(fb, after.policy_set, pb, country=after.variant is None, date=after.as_of is None)
                + fa.constraints + fb.constraints + links)
        self._full = core + list(fa.definitions) + list(fb.definitions)
        self._windowed = [window.restrict(t) for t in core + window.definitions(fa) + window.definitions(fb)] + window.bounds
        self._facts = {}
        for form in (fa, fb):
            for name, ft in form.facts.items():
                self._facts.setdefault(name, ft)
        self._quantities = _quantities([fa, fb], list(self._facts), window)

    def _enter(self) -> None:
        """A fresh context, and the pair's terms copied into it."""
        self.ctx = ctx = self.z3.Context()
        self.full = [t.translate(ctx) for t in self._full]
        self.windowed = [t.translate(ctx) for t in self._windowed]
        self.union = _Union(self.pa, {name: _FactIn(ft.fact, _copy(ft.raw, ctx), ft.given.translate(ctx))
                                      for name, ft in self._facts.items()})
        self.quantities = [semregion.Quantity(q.name, q.value.translate(ctx), q.ok.translate(ctx), q.null.translate(ctx),
                                              tuple(t.translate(ctx) for t in q.far), q.varied) for q in self._quantities]

    def _solver(self, terms: list, rlimit: int):
        s = self.z3.Solver(ctx=self.ctx)
        s.set("rlimit", rlimit)
        s.add(terms)
        return s

    def replay(self, facts: dict) -> tuple | None:
        """The engine's decisions of a witness under before and after (None if either refuses it)."""
        decisions = []
        for side, policy in ((self.before, self.pa), (self.after, self.pb)):
            mine = {k: v for k, v in facts.items() if k in side.policy_set.facts}
            decision = witness.replay(side.policy_set, policy, mine, variant=side.variant, as_of=side.as_of)
            if decision is None:
                return None
            decisions.append(decision)
        return tuple(decisions)

    def compare(self, name: str, max_pieces: int) -> OutputDiff:
        """One output: cannot differ, unknown, unconfirmed, or differs (with its pieces)."""
        z3 = self.z3
        out_a, out_b = self.pa.outputs[name], self.pb.outputs[name]
        differ = _differ(self.fa.output(name), self.fb.output(name), out_a, out_b)
        if differ is None:
            return OutputDiff(name, "not_compared", f"its type changed: {out_a.type} → {out_b.type}")
        if z3.is_false(z3.simplify(differ)):
            return OutputDiff(name, "cannot_differ", "both versions compute it alike (the same terms)")
        self._enter()
        ctx = self.ctx
        near_differ = self.window.restrict(differ).translate(ctx)
        near = self._solver(self.windowed + [near_differ], self.rlimit)
        self.start = _spent(near)
        far = None
        first, split = self._search(near)
        solver = near
        if first != z3.sat:
            far = self._solver(self.full + [differ.translate(ctx)], self.rlimit)
            second = far.check()
            if second == z3.unsat:
                return OutputDiff(name, "cannot_differ", "no case is decided differently (proved)")
            if second == z3.unknown:
                reason = (f"no case dated {self.window.first} to {self.window.last} is decided differently; beyond "
                          "those dates the solver's budget ran out" if first == z3.unsat else "the solver's budget ran out")
                return OutputDiff(name, "unknown", reason)
            solver = far
        model = self._canonical(solver, split)
        if model is None:
            return OutputDiff(name, "unknown", "the solver's budget ran out while it made the witness readable")
        piece = self._confirmed(name, model)
        if not isinstance(piece, semregion.Piece):
            return OutputDiff(name, "unconfirmed", piece)
        if solver is not near:  # beyond the window, where the probes' terms do not hold
            return OutputDiff(name, "differs", "found beyond the dates searched first: its region is not described",
                              (piece,))
        pieces, boxes = self._pieces(name, near, near_differ, model, piece, max_pieces)
        coverage = "some"
        near.set("rlimit", COVER_RLIMIT)
        if near.check(*(z3.Not(near_box) for near_box, _ in boxes)) == z3.unsat:
            coverage = "window"
            far = self._solver(self.full + [differ.translate(ctx)], COVER_RLIMIT)
            if far.check(*(z3.Not(far_box) for _, far_box in boxes)) == z3.unsat:
                coverage = "all"
        return OutputDiff(name, "differs", "", pieces, coverage)

    def _search(self, solver) -> tuple:
        """Is the solver's query satisfiable? When the budget runs out, ask again once per value of the
        first enum fact (cases of the same question, each on half the budget: z3 finds some far sooner
        alone): sat with that value (returned, to be assumed), unsat when every value is, else unknown."""
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
        """A canonical model of the solver's query with `assumptions`, each step on `CANONICAL_RLIMIT`,
        or if that runs out on the last step (the pinned case), each on the full budget; None when the
        query has none within it. (The solver's plain model is never shown: an arbitrary model's
        extremes, an offset of -23:59 or a text outside a pattern, are where an encoding is least
        tested.)"""
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
        return semregion.Piece(facts, decisions[0].outputs[name].value, decisions[1].outputs[name].value, (), ())

    def _pieces(self, name: str, near, near_differ, model, first: semregion.Piece, max_pieces: int) -> tuple:
        """Describe the region piece by piece: around the first witness, then around a witness outside
        the pieces so far (their boxes blocked), up to `max_pieces`. Returns the pieces and each one's
        box (in the window's terms and over every date)."""
        z3 = self.z3
        region = semregion.Region(self.ctx, self.windowed + [near_differ], self.windowed + [z3.Not(near_differ)],
                                  self.union.facts, self.quantities, self.window, PROBE_RLIMIT)
        pieces, boxes, piece = [], [], first
        while True:
            finite, measures, near_box, far_box = region.piece(model)
            pieces.append(semregion.Piece(piece.facts, piece.before, piece.after, finite, measures))
            boxes.append((near_box, far_box))
            if len(pieces) == max_pieces:
                break
            if _spent(near) - self.start > OUTPUT_BUDGET:
                break
            model = self._canonical(near, [z3.Not(near_box) for near_box, _ in boxes])
            if model is None:
                break
            piece = self._confirmed(name, model)
            if not isinstance(piece, semregion.Piece):
                break
        return tuple(pieces), boxes


def _spent(solver) -> int:
    """The resource units spent so far in the solver's context (z3's `rlimit count`)."""
    stats = solver.statistics()
    return stats.get_key_value("rlimit count") if "rlimit count" in stats.keys() else 0


def semantic_diff(before: Side, after: Side, *, rlimit: int = RLIMIT, max_pieces: int = MAX_PIECES) -> SemanticDiff:
    """For every pair of compiled policies one case may be decided by, each output both declare: whether
    some case is decided differently, with witnesses and where (see the module's docstring)."""
    from .symbolic import NotEncodable, z3_version  # noqa: PLC0415 - z3 only when asked

    found, unpaired = pairs(before, after)
    cache: dict = {}
    results = []
    for pa, pb, dates in found:
        fa, fb = _encoded(pa, cache), _encoded(pb, cache)
        anchor = dates[0] or max([d for d in (before.as_of, after.as_of) if d is not None]
                                 or [pa.identity.effective_from, pb.identity.effective_from])
        window = semregion.Window([f for f in (fa, fb) if not isinstance(f, NotEncodable)], anchor)
        searched = (window.first, window.last)
        shared = [n for n in pa.outputs if n in pb.outputs]
        notes = [f"output `{n}` only in before" for n in pa.outputs if n not in pb.outputs]
        notes += [f"output `{n}` only in after" for n in pb.outputs if n not in pa.outputs]
        unencodable = [f for f in (fa, fb) if isinstance(f, NotEncodable)]
        if unencodable:
            why = "; ".join(f"{p.where}: {p.construct} ({p.reason})" for f in unencodable for p in f.problems)
            results.append(PairDiff(pa, pb, dates, searched, tuple(notes),
                                    tuple(OutputDiff(n, "not_compared", f"no exact symbolic form: {why}") for n in shared)))
            continue
        links, fact_notes, refusal = _shared_facts(fa, fb)
        notes = fact_notes + notes
        if refusal:
            results.append(PairDiff(pa, pb, dates, searched, tuple(notes),
                                    tuple(OutputDiff(n, "not_compared", refusal) for n in shared)))
            continue
        pair = _Pair(before, pa, after, pb, fa, fb, links, window, anchor, rlimit)
        results.append(PairDiff(pa, pb, dates, searched, tuple(notes), tuple(pair.compare(n, max_pieces) for n in shared)))
    solver = {"name": "z3", "version": z3_version(), "rlimit": rlimit, "canonical_rlimit": CANONICAL_RLIMIT,
              "probe_rlimit": PROBE_RLIMIT, "cover_rlimit": COVER_RLIMIT, "output_budget": OUTPUT_BUDGET,
              "max_pieces": max_pieces}
    accepts = (frozenset(before.policy_set.facts), frozenset(after.policy_set.facts))
    return SemanticDiff(tuple(results), tuple(unpaired), solver, accepts)


def witness_files(result: SemanticDiff) -> list[tuple[str, str]]:
    """Every witness as a case file `verdict eval` reads: (file name, text). Named
    `NN-VARIANT.OUTPUT.K.yaml` (NN the pair's number, VARIANT the end of its chain, K the piece), or,
    when the two sides accept different facts, one file per side (`….before.yaml`, `….after.yaml`)."""
    files = []
    for number, pair in enumerate(result.pairs, 1):
        chain_end = pair.before.identity.variant_chain[-1] if pair.before.identity.variant_chain else pair.before.id
        for item in pair.outputs:
            for k, piece in enumerate(item.pieces, 1):
                stem = f"{number:02d}-{chain_end}.{item.output}.{k}"
                comment = (f"verdict diff --witness: `{item.output}` is {show_value(piece.before)} under "
                           f"{pair.before.identity.chain_label()} and {show_value(piece.after)} under "
                           f"{pair.after.identity.chain_label()}")
                if piece.finite or piece.measures:
                    comment += f"\nwhere (one fact changed at a time around this case): {piece.description()}"
                sides = [("", set(piece.facts))] if all(set(piece.facts) <= a for a in result.accepts) else [
                    (".before", result.accepts[0]), (".after", result.accepts[1])]
                for suffix, accepted in sides:
                    facts = {k: v for k, v in piece.facts.items() if k in accepted}
                    files.append((f"{stem}{suffix}.yaml", witness.case_yaml(facts, stem + suffix, comment)))
    return files


# -- text -------------------------------------------------------------------------------------------

_COVERAGE = {
    "all": "every case that differs is in one of these pieces",
    "window": "every case dated {first} to {last} that differs is in one of these pieces; beyond, others may",
    "some": "other cases may differ too",
}


def semantic_to_text(result: SemanticDiff) -> str:
    """The witness section of `verdict diff --witness`: per pair, per output, its status; for one that
    differs, each piece's description, the two values and the witness case."""
    solver = result.solver
    lines = [f"semantic differences (z3 {solver.get('version', '')}, rlimit {solver.get('rlimit', '')} per query; "
             "each witness decided by the engine under both):"]
    if not result.pairs:
        lines.append("  no case is decided by a policy of each side")
    for pair in result.pairs:
        start, end = pair.dates
        when = (f"dated {start} to {end}" if end else f"dated from {start}") if start else "of any date"
        lines.append(f"{pair.before.identity.chain_label()} → {pair.after.identity.chain_label()} (cases {when}):")
        lines += [f"  note: {note}" for note in pair.notes]
        for item in pair.outputs:
            if item.status != "differs":
                words = item.status.replace("_", " ")
                lines.append(f"  {item.output}: {words}" + (f": {item.reason}" if item.reason else ""))
                continue
            lines.append(f"  {item.output}: differs" + (f" ({item.reason})" if item.reason else ""))
            for number, piece in enumerate(item.pieces, 1):
                lines.append(f"    {number}. {piece.description()}")
                lines.append(f"       {show_value(piece.before)} → {show_value(piece.after)}, e.g. {show_value(piece.facts)}")
            if any(p.finite or p.measures for p in item.pieces):
                coverage = _COVERAGE[item.coverage].format(first=pair.searched[0], last=pair.searched[1])
                lines.append(f"    (each piece: around its case, one fact changed at a time; {coverage})")
    for label in result.unpaired:
        lines.append(f"not paired with any policy of the other side: {label}")
    return "\n".join(lines) + "\n"
