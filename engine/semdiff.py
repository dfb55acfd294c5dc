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
- Then engine/semregion.py describes where the output differs, piece by piece around witnesses.

engine/semproduct.py asks the questions: every query has a deterministic budget (z3 `rlimit`), and each
output is asked in a z3 context of its own, so the answer never depends on what the process asked before.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from . import semproduct, witness
from .model import Policy, PolicySet
from .semproduct import COVER_RLIMIT, CANONICAL_RLIMIT, OUTPUT_BUDGET, PROBE_RLIMIT, RLIMIT, OutputDiff
from .values import show_value

__all__ = ["RLIMIT", "MAX_PIECES", "OutputDiff", "PairDiff", "SemanticDiff", "Side", "pairs", "semantic_diff",
           "semantic_to_text", "witness_files"]

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
class PairDiff:
    """Two compiled policies a case may be decided by, before and after, and what differs between them."""

    before: Policy
    after: Policy
    dates: tuple[dt.date | None, dt.date | None]  # the days the version date may take (None: open)
    notes: tuple[str, ...] = ()
    outputs: tuple[OutputDiff, ...] = ()

    def to_dict(self) -> dict:
        return {"before": self.before.identity.chain_label(), "after": self.after.identity.chain_label(),
                "dates": {"from": _iso(self.dates[0]), "until": _iso(self.dates[1])},
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


# -- the comparison ----------------------------------------------------------------------------------

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
        shared = [n for n in pa.outputs if n in pb.outputs]
        notes = [f"output `{n}` only in before" for n in pa.outputs if n not in pb.outputs]
        notes += [f"output `{n}` only in after" for n in pb.outputs if n not in pa.outputs]
        unencodable = [f for f in (fa, fb) if isinstance(f, NotEncodable)]
        if unencodable:
            why = "; ".join(f"{p.where}: {p.construct} ({p.reason})" for f in unencodable for p in f.problems)
            results.append(PairDiff(pa, pb, dates, tuple(notes),
                                    tuple(OutputDiff(n, "not_compared", f"no exact symbolic form: {why}") for n in shared)))
            continue
        links, fact_notes, refusal = semproduct.shared_facts(fa, fb)
        notes = fact_notes + notes
        if refusal:
            results.append(PairDiff(pa, pb, dates, tuple(notes), tuple(OutputDiff(n, "not_compared", refusal) for n in shared)))
            continue
        product = semproduct.Product((before.policy_set, before.variant, before.as_of), pa,
                                     (after.policy_set, after.variant, after.as_of), pb, fa, fb, links, anchor, rlimit)
        results.append(PairDiff(pa, pb, dates, tuple(notes), tuple(product.compare(n, max_pieces) for n in shared)))
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

_ABSENT = object()
_COVERAGE = {
    "all": "every case that differs is in one of these pieces",
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
        lines.append(f"before {pair.before.identity.chain_label()}, after {pair.after.identity.chain_label()} (cases {when}):")
        lines += [f"  note: {note}" for note in pair.notes]
        for item in pair.outputs:
            if item.status != "differs":
                words = item.status.replace("_", " ")
                lines.append(f"  {item.output}: {words}" + (f": {item.reason}" if item.reason else ""))
                continue
            lines.append(f"  {item.output}: differs" + (f" ({item.reason})" if item.reason else ""))
            first = item.pieces[0].facts
            for number, piece in enumerate(item.pieces, 1):
                # A later piece's case is shown by the facts it changes from the first's (JSON has them all).
                case = show_value(piece.facts) if number == 1 else "case 1 with " + show_value(
                    {k: v for k, v in piece.facts.items() if first.get(k, _ABSENT) != v})
                lines.append(f"    {number}. where {piece.description()}:")
                lines.append(f"       {show_value(piece.before)} → {show_value(piece.after)}, e.g. {case}")
            if any(p.finite or p.measures for p in item.pieces):
                lines.append(f"    (each piece: around its case, one fact changed at a time; {_COVERAGE[item.coverage]})")
    for label in result.unpaired:
        lines.append(f"not paired with any policy of the other side: {label}")
    return "\n".join(lines) + "\n"
