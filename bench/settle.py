"""Decisions of cases that lack facts: what settling their open outputs with the solver costs.

Each row is one partial case (the bundled policy, a variant chosen by its country) decided with
`engine.evaluate`, untraced, as `verdict eval` would: without the dates named, the solver is asked
(engine/settle.py). Reported per row: the median milliseconds of a decision (each round a fresh z3
context, as every decision has), the solver's queries and how it ended, and what is still missing.
The complete case's row checks the other promise: deciding it never imports z3 (a fresh process).

    .venv/bin/python bench/settle.py [--rounds N] [--json OUT]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

import engine  # noqa: E402
from timing import write_json  # noqa: E402

BASE = {
    "request": "return", "sales_channel": "aqara_online_store", "country_of_purchase": "US",
    "product_location_country": "US", "order_placed_at": "2026-03-01T10:00:00Z", "request_at": "2026-03-11T09:30:00Z",
    "shipped_at": "2026-03-02T08:00:00Z", "delivered_at": "2026-03-05T15:00:00Z", "tracking_number_issued": True,
    "units_of_product": 1, "corporate_purchase": False, "reason_category": "non_quality", "product_damaged": False,
    "all_accessories_included": True, "promotional_gifts_included": True, "original_packaging_included": True,
    "product_price": 59.99, "shipping_paid": 4.99, "replaceable": True, "previously_fully_refunded": False,
    "is_replacement_unit": False, "replaced_at": "2026-03-01", "courier_refusal": "not_attempted",
}
WARRANTY = {"request": "warranty_claim", "reason_category": "quality", "request_at": "2026-06-09T10:00:00Z"}
EU = {"country_of_purchase": "DE", "product_location_country": "DE", "withdrawal_information_given": True}

#: (label, changes to BASE, facts left out)
ROWS = [
    ("US return, complete", {}, ()),
    ("US return without request_at", {}, ("request_at",)),
    ("US return without delivered_at", {}, ("delivered_at",)),
    ("US return without shipped_at, delivered_at", {}, ("shipped_at", "delivered_at")),
    ("US warranty day 100 without replacement facts", WARRANTY, ("is_replacement_unit", "replaced_at")),
    ("AU return without delivered_at", {"country_of_purchase": "AU", "product_location_country": "AU"}, ("delivered_at",)),
    ("DE return without delivered_at", EU, ("delivered_at",)),
    ("DE cancellation 20 h after the order, unshipped, without delivered_at",
     {**EU, "request": "cancel_order", "request_at": "2026-03-02T06:00:00Z", "shipped_at": None}, ("delivered_at",)),
    ("GB return without request_at, delivered_at",
     {"country_of_purchase": "GB", "product_location_country": "GB"}, ("request_at", "delivered_at")),
]

NO_SOLVER = (
    "import sys, engine\n"
    "policy = engine.load('aqara-returns')\n"
    "facts = {facts!r}\n"
    "for _ in range(100):\n"
    "    engine.evaluate(policy, facts, trace=False)\n"
    "print('z3' in sys.modules)\n"
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    policy_set = engine.load("aqara-returns")
    rows = []
    print(f"{'case':72} {'ms':>9} {'queries':>7}  solver            missing")
    for label, changes, dropped in ROWS:
        facts = {k: v for k, v in {**BASE, **changes}.items() if k not in dropped}
        engine.evaluate(policy_set, facts, trace=False)  # the policy's terms are built once per process
        seconds = []
        for _ in range(args.rounds):
            start = time.perf_counter()
            decision = engine.evaluate(policy_set, facts, trace=False)
            seconds.append(time.perf_counter() - start)
        solver = decision.solver
        row = {"case": label, "missing_given": list(dropped), "median_ms": round(statistics.median(seconds) * 1000, 3),
               "queries": solver.queries if solver else 0, "solver": solver.status if solver else None,
               "missing_facts": list(decision.missing_facts),
               "undetermined": [n for n, r in decision.outputs.items() if r.status == "undetermined"]}
        rows.append(row)
        print(f"{label:72} {row['median_ms']:9.1f} {row['queries']:7}  {str(row['solver']):16}  "
              f"{', '.join(decision.missing_facts) or '-'}")
    loaded = subprocess.run([sys.executable, "-c", NO_SOLVER.format(facts=BASE)], capture_output=True, text=True,
                            cwd=HERE.parent, check=True).stdout.strip()
    print(f"\ncomplete cases decided in a fresh process import z3: {loaded}")
    results = {"rows": rows, "complete_cases_import_z3": loaded == "True"}
    return write_json(args.json, results, blank_line=True) if args.json else 0


if __name__ == "__main__":
    sys.exit(main())
