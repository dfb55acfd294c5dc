"""Solver queries on the symbolic form of the Aqara policy and every variant: seconds and resource units.

Run from the repository root:

    .venv/bin/python bench/symbolic.py [--rounds R] [--rlimit N] [--only TEXT] [--witness] [--json OUT]

For each compiled policy (the base, and every variant × dated version) the same fixed queries, each
on a fresh solver over the form encoded once (its encoding is timed apart, as `encode`):

- `eligible_return`: a complete case that this policy decides (country and date select it) where a
  return is eligible: the question a witness starts from;
- `damaged_non_quality_eligible`: a complete case where a damaged product returned for a non-quality
  reason is eligible; `unsat` proves the property "never eligible";
- `warranty_ends_on_set`, `refund_above_price`: can `warranty_ends_on` be set, can `refund_amount`
  exceed `product_price` (per-output "can this output be X" questions);
- `missing_1_date`, `missing_2_dates`: a fixed case with `delivered_at` (then `request_at` too) left
  out: can eligibility be anything but `eligible`? (the question behind exact missing facts);
- `outputs_never_fail`: for each output in turn, a complete case where it fails (an error or two
  clauses that disagree); `unsat` proves it never does: the proofs a `properties:` check runs;
- with `--witness`, `eligible_return_witness`: `engine.witness.canonical` on the first query (tens
  of checks: the cost of a readable witness).

Each round runs every query once, in rotating order (`timing.rounds`); the figures are the median
seconds, the answer (`sat`, `unsat`, `unknown`) and z3's resource units spent, which unlike seconds do
not depend on the machine's load (the same query spends the same units). A query whose budget runs out
reports `unknown` after spending it.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path[:0] = [str(BENCH), str(BENCH.parent)]

import timing  # noqa: E402

import engine  # noqa: E402
from engine import symbolic, witness  # noqa: E402


def _global_units() -> int:
    # z3 counts resource units per process, cumulatively: the difference around a check is its cost.
    import z3
    s = z3.Solver()
    s.check()
    return int(s.statistics().get_key_value("rlimit count"))


def _case(policy_set, policy) -> dict:
    """A complete case this policy decides: a return 10 days after an order placed 40 days into the
    version's window, shipped the next day and delivered three days later."""
    chain_end = policy.identity.variant_chain[-1]
    countries = sorted(c for c, v in policy_set.countries.items() if v == chain_end) or ["US"]
    ordered = dt.datetime.combine(policy.identity.effective_from + dt.timedelta(days=40), dt.time(10), dt.timezone.utc)
    iso = lambda moment: moment.isoformat().replace("+00:00", "Z")  # noqa: E731
    facts = {"request": "return", "sales_channel": "aqara_online_store", "country_of_purchase": countries[0],
             "product_location_country": countries[0], "order_placed_at": iso(ordered),
             "request_at": iso(ordered + dt.timedelta(days=10)), "shipped_at": iso(ordered + dt.timedelta(days=1)),
             "delivered_at": iso(ordered + dt.timedelta(days=4)), "tracking_number_issued": True,
             "units_of_product": 1, "corporate_purchase": False, "reason_category": "non_quality",
             "product_damaged": False, "all_accessories_included": True, "promotional_gifts_included": True,
             "original_packaging_included": True, "product_price": 59.99, "shipping_paid": 4.99,
             "replaceable": True, "previously_fully_refunded": False, "is_replacement_unit": False,
             "replaced_at": ordered.date().isoformat(), "courier_refusal": "not_attempted"}
    for name, fact in policy.facts.items():  # a variant's own facts: plain values
        if name not in facts:
            facts[name] = (None if fact.nullable else True if fact.type == "bool" else fact.values[0]
                           if fact.type == "enum" else "0.00" if fact.type == "money" else ordered.date().isoformat())
    decision = engine.evaluate(policy_set, facts, trace=False)
    assert decision.made_by.identity == policy.identity, policy.identity.chain_label()
    return dict(decision.facts)


def _queries(policy_set, policy, form, rlimit: int, with_witness: bool) -> dict:
    import z3

    facts = form.facts
    eligibility = form.output("eligibility")
    code = eligibility.values.index

    def fresh(base: bool = True):
        s = symbolic.solver(rlimit)
        if base:
            s.add(form.domain + witness.complete(form) + witness.selecting(form, policy_set, policy) + form.constraints)
        return s

    def value_is(term, value):
        return [term.ok, z3.Not(term.null), term.value == value]

    request = facts["request"].term.value
    reason = facts["reason_category"]
    eligible_return = [request == 0, *value_is(eligibility, code("eligible"))]
    damaged = [request == 0, reason.term.value == reason.fact.values.index("non_quality"),
               facts["product_damaged"].term.value, *value_is(eligibility, code("eligible"))]
    warranty = form.output("warranty_ends_on")
    refund = form.output("refund_amount")
    case = _case(policy_set, policy)

    def partial(*missing):
        def run():
            s = fresh(base=False)
            known = {n: v for n, v in case.items() if n not in missing}
            s.add(form.domain + witness.selecting(form, policy_set, policy) + form.constraints + form.fix(known))
            return s.check(eligibility.ok, eligibility.value != code("eligible"))
        return run

    def never_fail():
        answers = [str(fresh().check(z3.Not(form.output(name).ok))) for name in policy.outputs]
        return ", ".join(f"{answers.count(a)} {a}" for a in ("unsat", "sat", "unknown") if a in answers)

    queries = {
        "eligible_return": lambda: fresh().check(eligible_return),
        "damaged_non_quality_eligible": lambda: fresh().check(damaged),
        "warranty_ends_on_set": lambda: fresh().check(warranty.ok, z3.Not(warranty.null)),
        "refund_above_price": lambda: fresh().check(refund.ok, z3.Not(refund.null), refund.value > facts["product_price"].term.value),
        "missing_1_date": partial("delivered_at"),
        "missing_2_dates": partial("delivered_at", "request_at"),
        "outputs_never_fail": never_fail,
    }
    if with_witness:
        def canonical():
            kept = witness.canonical(fresh(), form, eligible_return)
            return "none" if kept is None else "witness"
        queries["eligible_return_witness"] = canonical
    return queries


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (default 3)")
    parser.add_argument("--rlimit", type=int, default=symbolic.DEFAULT_RLIMIT,
                        help=f"each query's budget in z3 resource units (default {symbolic.DEFAULT_RLIMIT:,})")
    parser.add_argument("--only", default="", help="only the policies whose chain label contains this text")
    parser.add_argument("--witness", action="store_true", help="also time a canonical witness")
    parser.add_argument("--json", type=Path, metavar="OUT", help="also write the figures as JSON to OUT")
    args = parser.parse_args(argv)
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    if args.rlimit < 1:
        parser.error("--rlimit must be at least 1")
    if args.json and not args.json.parent.is_dir():
        parser.error(f"--json: the folder {str(args.json.parent)!r} does not exist")
    import z3

    policy_set = engine.load("aqara-returns")
    policies = [p for p in policy_set.compiled if args.only in p.identity.chain_label()]
    if not policies:
        parser.error(f"--only: no policy's chain label contains {args.only!r}")
    results: dict = {"z3": z3.get_version_string(), "rlimit": args.rlimit, "rounds": args.rounds, "policies": {}}
    total = 0.0
    for policy in policies:
        label = policy.identity.chain_label()
        encode_seconds = []
        for _ in range(args.rounds):
            start = time.perf_counter()
            form = symbolic.encode(policy)
            encode_seconds.append(time.perf_counter() - start)
        assert isinstance(form, symbolic.SymbolicPolicy), form
        queries = _queries(policy_set, policy, form, args.rlimit, args.witness)
        answers: dict[str, set] = {name: set() for name in queries}
        units: dict[str, set] = {name: set() for name in queries}

        def measured(name, query):
            def run():
                before = _global_units()
                answers[name].add(str(query()))
                units[name].add(_global_units() - before)
            return run

        seconds = timing.rounds({name: measured(name, q) for name, q in queries.items()}, args.rounds)
        row = {"encode_s": round(statistics.median(encode_seconds), 4)}
        print(f"{label}: encode {row['encode_s']:.3f} s")
        for name in queries:
            median = statistics.median(seconds[name])
            total += median
            row[name] = {"answer": "/".join(sorted(answers[name])), "median_s": round(median, 4),
                         "units": sorted(units[name])[len(units[name]) // 2]}
            print(f"  {name:26} {row[name]['answer']:17} {median:8.3f} s  {row[name]['units']:>12,} units")
        results["policies"][label] = row
    results["total_median_s"] = round(total, 3)
    print(f"total of the medians: {total:.2f} s")
    return timing.write_json(args.json, results, blank_line=True) if args.json else 0


if __name__ == "__main__":
    sys.exit(main())
