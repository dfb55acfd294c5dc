"""Benchmark of the Verdict engine on the bundled Aqara policy, against a hand-written baseline.

Run from the repository root:

    .venv/bin/python bench/bench.py [--cases N] [--seed S] [--repeats R] [--json OUT]

It measures
  1. decisions per second of `engine.decide` with the trace on and off, on generated cases;
  2. the same for `bench/handwritten.py`, the policy written by hand in plain Python, after
     checking that it agrees with the engine on every output of every case (exit 1 if not);
  3. wall times of whole `verdict` processes (`eval` of the example case, `validate` of the
     policy) and of loading + compiling the policy in-process.

There are no pass/fail thresholds on speed: the figures are for comparison between runs on the
same machine. Other work on the machine shows up in them; medians make them steadier.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
# This checkout's engine (not another installed copy), and the baseline beside this script.
sys.path[:0] = [str(REPO), str(BENCH)]

import engine  # noqa: E402
import handwritten  # noqa: E402
from engine.model import to_json_value  # noqa: E402

POLICY_DIR = REPO / "policies" / "aqara-returns"
OUTPUTS = ("eligibility", "remedies", "refund_amount", "return_shipping_paid_by", "fees_customer_may_bear",
           "return_requirements", "required_information", "warranty_ends_on", "next_steps")

# -- case generation -------------------------------------------------------------------------------

COUNTRIES = ["US", "DE", "FR", "GB", "CN", "JP", "AU"]
# Offsets for request_at: a request late in the evening at UTC-8 falls on the next UTC date, which
# is what `days_between` counts, so offsets exercise the calendar-day boundaries.
OFFSETS = [dt.timedelta(hours=h, minutes=m) for h, m in ((1, 0), (2, 0), (-5, 0), (-8, 0), (9, 0), (5, 30))]
FIRST_ORDER = dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)  # 2024 is a leap year: 29 Feb + 12 months
ORDER_SPAN_DAYS = 3 * 365


def _iso(moment: dt.datetime) -> str:
    text = moment.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def _order_time(rng: random.Random) -> dt.datetime:
    """When the order was placed; one in ten on the 28th-31st, where adding months clamps."""
    if rng.random() < 0.1:
        year, month = rng.randint(2024, 2026), rng.randint(1, 12)
        day = rng.randint(28, 31)
        while True:  # the last valid day of the month at most
            try:
                start = dt.datetime(year, month, day, tzinfo=dt.timezone.utc)
                break
            except ValueError:
                day -= 1
        return start + dt.timedelta(seconds=rng.randrange(86400))
    return FIRST_ORDER + dt.timedelta(seconds=rng.randrange(ORDER_SPAN_DAYS * 86400))


def _elapsed(rng: random.Random) -> dt.timedelta:
    """Time from the order to the request, 0-400 days, with a good share near the boundaries."""
    band = rng.random()
    if band < 0.2:  # the 12-hour cancellation window, exactly 12 h included
        return rng.choice([dt.timedelta(hours=12), dt.timedelta(hours=12, seconds=1),
                           dt.timedelta(seconds=rng.randint(10 * 3600, 14 * 3600))])
    if band < 0.45:  # the 30-day money-back window and 30 days after shipping
        return dt.timedelta(days=rng.randint(27, 37), seconds=rng.randrange(86400))
    if band < 0.55:  # the end of the 12-month warranty
        return dt.timedelta(days=rng.randint(360, 372), seconds=rng.randrange(86400))
    return dt.timedelta(seconds=rng.randrange(401 * 86400))


def generate_facts(rng: random.Random) -> dict[str, Any]:
    """One case with every fact given, as a case file would hold it (datetimes as ISO text)."""
    order = _order_time(rng)
    request = order + _elapsed(rng)
    if rng.random() < 0.3:  # the customer writes from their own time zone
        request = request.astimezone(dt.timezone(rng.choice(OFFSETS)))

    # Shipping and delivery: null when they had not happened yet at the time of the request.
    shipped = order + dt.timedelta(seconds=rng.randint(2 * 3600, 5 * 86400))
    if shipped > request or rng.random() < 0.1:
        shipped = None
    delivered = shipped + dt.timedelta(seconds=rng.randint(86400, 7 * 86400)) if shipped else None
    if delivered is not None and delivered > request:
        delivered = None

    purchase_country = rng.choice(COUNTRIES)
    location = purchase_country
    if rng.random() < 0.15:  # the product was taken abroad
        location = rng.choice([c for c in COUNTRIES if c != purchase_country])
    # replaced_at is a fact of every case; it matters only for replacement units, and a late
    # replacement (more than 9 months after the order) extends the warranty.
    replaced_at = order.date() + dt.timedelta(days=rng.randint(0, max(0, (request - order).days)))

    return {
        "request": rng.choice(["return", "warranty_claim", "cancel_order", "modify_order"]),
        "sales_channel": "aqara_online_store" if rng.random() < 0.85 else "other_retailer",
        "country_of_purchase": purchase_country,
        "product_location_country": location,
        "order_placed_at": _iso(order),
        "request_at": _iso(request),
        "shipped_at": _iso(shipped) if shipped else None,
        "delivered_at": _iso(delivered) if delivered else None,
        "tracking_number_issued": rng.random() < (0.9 if shipped else 0.2),
        "units_of_product": 1 if rng.random() < 0.4 else rng.randint(1, 20),
        "corporate_purchase": rng.random() < 0.15,
        "reason_category": rng.choice(["quality", "non_quality"]),
        "product_damaged": rng.random() < 0.2,
        "all_accessories_included": rng.random() < 0.85,
        "promotional_gifts_included": rng.random() < 0.85,
        "original_packaging_included": rng.random() < 0.85,
        "product_price": rng.randint(100, 60000) / 100,  # cents, e.g. 59.99
        "shipping_paid": rng.randint(0, 2000) / 100,
        "replaceable": rng.random() < 0.75,
        "previously_fully_refunded": rng.random() < 0.1,
        "is_replacement_unit": rng.random() < 0.2,
        "replaced_at": replaced_at.isoformat(),
        "courier_refusal": rng.choices(["not_attempted", "succeeded", "failed"], weights=[6, 2, 2])[0],
    }


def generate_cases(policy: engine.Policy, count: int, seed: int) -> list[engine.Case]:
    rng = random.Random(seed)
    return [engine.case_from_facts(policy, generate_facts(rng), f"case-{i}") for i in range(count)]


# -- agreement check -------------------------------------------------------------------------------

def check_agreement(policy: engine.Policy, cases: list[engine.Case]) -> list[dict]:
    """Compare the engine (trace on and off) and the hand-written function on every output.

    Doubles as the warm-up run before timing. Returns one entry per disagreement.
    """
    problems = []
    for case in cases:
        traced = engine.decide(policy, case, trace=True)
        untraced = engine.decide(policy, case, trace=False)
        mine = handwritten.decide(case.facts)
        for name in OUTPUTS:
            result = untraced.outputs[name]
            value = to_json_value(result.value)
            if result.status not in ("decided", "default"):
                # Every fact is given, so nothing may be undetermined: the generator is wrong.
                problems.append(_problem(case, name, f"{result.status} ({', '.join(result.missing)})", mine[name]))
            elif to_json_value(traced.outputs[name].value) != value:
                problems.append(_problem(case, name, f"trace off {value!r}, trace on "
                                                     f"{to_json_value(traced.outputs[name].value)!r}", mine[name]))
            elif mine[name] != value or type(mine[name]) is not type(value):
                problems.append(_problem(case, name, value, mine[name]))
        if untraced.errors:
            problems.append(_problem(case, "(errors)", [d.message for d in untraced.errors], None))
    return problems


def _problem(case: engine.Case, output: str, engine_value: Any, handwritten_value: Any) -> dict:
    return {"case": case.id, "facts": to_json_value(case.facts), "output": output,
            "engine": engine_value, "handwritten": handwritten_value}


# -- timing ----------------------------------------------------------------------------------------

def time_decisions(policy: engine.Policy, cases: list[engine.Case], repeats: int) -> dict[str, list[float]]:
    """Seconds for one pass over all cases, per repeat, for each of the three deciders.

    The three are interleaved within each repeat so that load from elsewhere on the machine hits
    them alike. The garbage collector stays on (building traces makes garbage, and collecting it is
    part of their cost), but each pass starts from a freshly collected heap.
    """
    facts = [case.facts for case in cases]
    decide = engine.decide

    def trace_on() -> None:
        for case in cases:
            decide(policy, case, trace=True)

    def trace_off() -> None:
        for case in cases:
            decide(policy, case, trace=False)

    def by_hand() -> None:
        for f in facts:
            handwritten.decide(f)

    runs: dict[str, Callable[[], None]] = {"trace_on": trace_on, "trace_off": trace_off, "handwritten": by_hand}
    seconds: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(repeats):
        for name, run in runs.items():
            gc.collect()
            start = time.perf_counter()
            run()
            seconds[name].append(time.perf_counter() - start)
    return seconds


def time_process(argv: list[str], runs: int) -> list[float]:
    """Wall seconds of whole processes, from start to exit; a failing command stops the benchmark."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        done = subprocess.run(argv, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        times.append(time.perf_counter() - start)
        if done.returncode != 0:
            sys.exit(f"`{' '.join(argv)}` exited with {done.returncode}:\n{done.stderr.decode(errors='replace')}")
    return times


def load_policy_timed() -> tuple[engine.Policy, float]:
    """The policy, and the seconds it took to read, schema-check and compile it."""
    start = time.perf_counter()
    policy = engine.require_policy(POLICY_DIR)
    return policy, time.perf_counter() - start


def summary(seconds: list[float]) -> dict[str, float]:
    return {"median_s": statistics.median(seconds), "min_s": min(seconds), "runs": len(seconds)}


# -- main --------------------------------------------------------------------------------------------

def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=2000, help="generated cases (default 2000)")
    parser.add_argument("--seed", type=int, default=1, help="seed of the case generator (default 1)")
    parser.add_argument("--repeats", type=int, default=5, help="timed passes over the cases (default 5)")
    parser.add_argument("--process-runs", type=int, default=7, help="runs of each process timing (default 7)")
    parser.add_argument("--json", type=Path, metavar="OUT", help="also write the figures as JSON to OUT")
    args = parser.parse_args(argv)
    if args.cases < 1 or args.repeats < 1 or args.process_runs < 1:
        parser.error("--cases, --repeats and --process-runs must be at least 1")

    # The first load in the process also builds the cached JSON Schema validator; it is shown apart.
    policy, first_load = load_policy_timed()
    cases = generate_cases(policy, args.cases, args.seed)

    problems = check_agreement(policy, cases)
    if problems:
        print(f"{len(problems)} disagreement(s) between the engine and bench/handwritten.py "
              f"(policy content sha256 {policy.identity.content_sha256[:12]}); the first ones:")
        for p in problems[:5]:
            print(f"\n  case {p['case']}, output `{p['output']}`")
            print(f"    engine:      {p['engine']!r}")
            print(f"    handwritten: {p['handwritten']!r}")
            print(f"    facts:       {json.dumps(p['facts'], sort_keys=True)}")
        print("\nbench/handwritten.py must implement the policy as it is now; fix whichever is wrong.")
        return 1

    decisions = time_decisions(policy, cases, args.repeats)
    verdict = str(Path(sys.executable).parent / "verdict")  # the CLI installed beside this interpreter
    processes = {
        "python_startup": time_process([sys.executable, "-c", "pass"], args.process_runs),
        "verdict_eval": time_process([verdict, "eval", "examples/cases/return-day-10.yaml", "--format", "json"],
                                     args.process_runs),
        # The policy file only: without a path, `validate` also checks the policy's test files.
        "verdict_validate": time_process([verdict, "validate", "policies/aqara-returns/policy.yaml"],
                                         args.process_runs),
    }
    later_loads = [load_policy_timed()[1] for _ in range(args.process_runs)]

    results = {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "engine_version": engine.ENGINE_VERSION,
        "policy": f"{policy.id} {policy.identity.version}",
        # The policy file is still being edited between versions; its digest says which one ran.
        "policy_content_sha256": policy.identity.content_sha256,
        "cases": args.cases,
        "seed": args.seed,
        "repeats": args.repeats,
        "disagreements": len(problems),
        "decide": {},
        "trace_on_over_off": None,
        "engine_over_handwritten": None,
        "processes": {name: summary(times) for name, times in processes.items()},
        "policy_load": {"first_s": first_load, **summary(later_loads)},
    }
    for name, times in decisions.items():
        best, middle = min(times), statistics.median(times)
        results["decide"][name] = {
            "cases_per_s_median": args.cases / middle, "cases_per_s_best": args.cases / best,
            "us_per_case_median": middle / args.cases * 1e6, "us_per_case_min": best / args.cases * 1e6,
            "pass_s_median": middle, "pass_s_min": best,
        }
    on, off = results["decide"]["trace_on"], results["decide"]["trace_off"]
    results["trace_on_over_off"] = on["us_per_case_median"] / off["us_per_case_median"]
    hand = results["decide"]["handwritten"]
    results["engine_over_handwritten"] = off["us_per_case_median"] / hand["us_per_case_median"]

    print_report(results)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
        print(f"\nwrote {args.json}")
    return 0


def print_report(r: dict) -> None:
    print(f"Verdict benchmark: policy {r['policy']} (content {r['policy_content_sha256'][:12]}), "
          f"engine {r['engine_version']}, {r['implementation']} {r['python']}, {r['cpu_count']} CPUs")
    print(f"{r['cases']} generated cases (seed {r['seed']}), {r['repeats']} timed passes each; "
          f"the handwritten baseline agrees with the engine on every output of every case\n")
    print(f"{'decide':<22}{'cases/s median':>16}{'cases/s best':>14}{'µs/case median':>16}{'µs/case min':>13}")
    labels = {"trace_on": "engine, trace on", "trace_off": "engine, trace off",
              "handwritten": "handwritten Python"}
    for name, label in labels.items():
        d = r["decide"][name]
        print(f"{label:<22}{d['cases_per_s_median']:>16,.0f}{d['cases_per_s_best']:>14,.0f}"
              f"{d['us_per_case_median']:>16.1f}{d['us_per_case_min']:>13.1f}")
    print(f"\n{'trace on / trace off':<34}{r['trace_on_over_off']:.2f}x  (time per case, medians)")
    print(f"{'engine (trace off) / handwritten':<34}{r['engine_over_handwritten']:.0f}x")
    print(f"\n{'wall time':<40}{'median ms':>11}{'min ms':>9}{'runs':>6}")
    rows = [("python -c pass (interpreter start)", r["processes"]["python_startup"]),
            ("verdict eval return-day-10 --format json", r["processes"]["verdict_eval"]),
            ("verdict validate aqara-returns", r["processes"]["verdict_validate"]),
            ("load + compile policy, in-process", r["policy_load"])]
    for label, s in rows:
        print(f"{label:<40}{s['median_s'] * 1e3:>11.1f}{s['min_s'] * 1e3:>9.1f}{s['runs']:>6}")
    print(f"{'  (first load in the process)':<40}{r['policy_load']['first_s'] * 1e3:>11.1f}")


if __name__ == "__main__":
    sys.exit(main())
