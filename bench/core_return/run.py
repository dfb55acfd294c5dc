"""Benchmark of the core return procedure: Verdict against the hand-written floor and zen-engine.

Run from the repository root (zen-engine comes with the bench extra, `pip install -e '.[bench]'`):

    .venv/bin/python bench/core_return/run.py [--cases N] [--seed S] [--rounds R] [--json OUT]

First every implementation decides every case, and each must give the hand-written function's
outputs and deciding rule on all of them (exit 1 with the first disagreements otherwise). Then
each round times every implementation once over all the cases, in the same process; the figures
to quote are the medians of the per-round ratios, printed beside the targets of issue 7.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
from collections import Counter
from pathlib import Path
from typing import Any, Callable

HERE = Path(__file__).resolve().parent
BENCH = HERE.parent
REPO = BENCH.parent
# This checkout's engine (not another installed copy), and the benchmark's own modules.
sys.path[:0] = [str(REPO), str(BENCH)]

import engine  # noqa: E402
import timing  # noqa: E402
from core_return import agreement, cases, handwritten  # noqa: E402

# (label, numerator, denominator, how): `time` ratios say how many times slower the numerator is;
# the `throughput` ratio says how many times more cases per second the numerator decides.
RATIOS = {
    "verdict_untraced_over_handwritten": ("Verdict trace off / hand-written, time", "verdict_untraced", "handwritten", "time"),
    "verdict_traced_over_handwritten": ("Verdict trace on / hand-written, time", "verdict_traced", "handwritten", "time"),
    "verdict_traced_over_zen_traced_throughput": ("Verdict trace on / zen trace on, cases/s", "verdict_traced", "zen_traced",
                                                  "throughput"),
    "zen_untraced_over_handwritten": ("zen trace off / hand-written, time", "zen_untraced", "handwritten", "time"),
    "zen_traced_over_handwritten": ("zen trace on / hand-written, time", "zen_traced", "handwritten", "time"),
    "verdict_end_to_end_over_handwritten": ("Verdict from raw facts / hand-written, time", "verdict_end_to_end",
                                            "handwritten", "time"),
    "verdict_traced_over_untraced": ("Verdict trace on / trace off, time", "verdict_traced", "verdict_untraced", "time"),
}
# Issue 7's targets, and what the peer engines measured (core-return.md) for the ratios it sets none for.
TARGETS = {
    "verdict_untraced_over_handwritten": ("<=", 6.0),
    "verdict_traced_over_handwritten": ("<=", 18.0),
    "verdict_traced_over_zen_traced_throughput": (">=", 3.0),
}
PEERS = {"zen_untraced_over_handwritten": 37.0, "zen_traced_over_handwritten": 84.0}
LABELS = {
    "handwritten": "hand-written Python",
    "verdict_untraced": "Verdict, trace off",
    "verdict_traced": "Verdict, trace on",
    "verdict_end_to_end": "Verdict from raw facts, trace off",
    "zen_untraced": "zen-engine, trace off",
    "zen_traced": "zen-engine, trace on",
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=20000, help="generated cases (default 20000)")
    parser.add_argument("--seed", type=int, default=1, help="seed of the case generator (default 1)")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved timing rounds (default 5)")
    parser.add_argument("--json", type=Path, metavar="OUT", help="also write every figure as JSON to OUT")
    args = parser.parse_args(argv)
    if args.cases < 1 or args.rounds < 1:
        parser.error("--cases and --rounds must be at least 1")
    if args.json and not args.json.parent.is_dir():
        parser.error(f"--json: the folder {str(args.json.parent)!r} does not exist")
    try:  # zen-engine is the optional bench extra: imported only now, so that --help works without it
        from core_return import zen_decider
    except ImportError as missing:
        print(f"zen-engine is needed for this benchmark ({missing}); install the bench extra: "
              ".venv/bin/pip install -e '.[bench]' (or run `make bench`)", file=sys.stderr)
        return 2

    try:
        policy = engine.require_policy(HERE)
    except engine.PolicyError as error:
        print(f"bench/core_return/policy.yaml is invalid:\n{error}", file=sys.stderr)
        return 1
    facts = cases.generate(args.cases, args.seed)
    verdict_cases = [engine.case_from_facts(policy, f, f"case-{i}") for i, f in enumerate(facts)]
    zen = zen_decider.make_engine()

    print(f"checking that every implementation agrees on {args.cases:,} cases ...", flush=True)
    reference = [handwritten.decide(f) for f in facts]
    problems = agreement.disagreements(facts, reference, {
        "verdict_untraced": [agreement.verdict_answer(engine.decide(policy, c, trace=False)) for c in verdict_cases],
        "verdict_traced": [agreement.verdict_answer(engine.decide(policy, c, trace=True)) for c in verdict_cases],
        "zen_untraced": [zen_decider.answer(zen.evaluate(zen_decider.KEY, f)) for f in facts],
        "zen_traced": [zen_decider.answer(zen.evaluate(zen_decider.KEY, f, {"trace": True})) for f in facts],
    })
    if problems:
        print(f"{len(problems)} disagreement(s) with bench/core_return/handwritten.py; the first ones:")
        for p in problems[:8]:
            print(f"  case {p.case}, {p.implementation}, `{p.key}`: hand-written {p.expected!r}, "
                  f"{p.implementation} {p.found!r}\n    facts: {json.dumps(p.facts, sort_keys=True)}")
        return 1
    rule_counts = Counter(answer["rule"] for answer in reference)

    decide, case_from_facts, evaluate, by_hand = engine.decide, engine.case_from_facts, zen.evaluate, handwritten.decide
    key, traced = zen_decider.KEY, {"trace": True}

    # Every implementation is called through the same lambda-in-a-loop, so the harness costs them alike.
    def loop(body: Callable[[Any], object], items: list) -> Callable[[], None]:
        def run() -> None:
            for item in items:
                body(item)
        return run

    runs = {
        "handwritten": loop(lambda f: by_hand(f), facts),
        "verdict_untraced": loop(lambda c: decide(policy, c, trace=False), verdict_cases),
        "verdict_traced": loop(lambda c: decide(policy, c, trace=True), verdict_cases),
        "verdict_end_to_end": loop(lambda f: decide(policy, case_from_facts(policy, f), trace=False), facts),
        "zen_untraced": loop(lambda f: evaluate(key, f), facts),
        "zen_traced": loop(lambda f: evaluate(key, f, traced), facts),
    }
    print(f"timing {len(runs)} implementations in {args.rounds} interleaved rounds ...", flush=True)
    seconds = timing.rounds(runs, args.rounds)

    results = _results(args, policy, rule_counts, seconds)
    print_report(results)
    return timing.write_json(args.json, results, blank_line=True) if args.json else 0


def _results(args: argparse.Namespace, policy: engine.Policy, rule_counts: Counter,
             seconds: dict[str, list[float]]) -> dict[str, Any]:
    ratios = {}
    for name, (label, numerator, denominator, how) in RATIOS.items():
        if how == "time":
            value = timing.ratio(seconds[numerator], seconds[denominator])
        else:  # throughput: cases/s of the numerator over cases/s of the denominator
            value = timing.ratio(seconds[denominator], seconds[numerator])
        ratios[name] = {"label": label, "kind": how, "median_of_round_ratios": value}
        if name in TARGETS:
            op, bound = TARGETS[name]
            ratios[name]["target"] = f"{op} {bound:g}"
            ratios[name]["met"] = value <= bound if op == "<=" else value >= bound
        if name in PEERS:
            ratios[name]["peer_figure"] = PEERS[name]
    return {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "engine_version": engine.ENGINE_VERSION,
        "policy_content_sha256": policy.identity.content_sha256,
        "cases": args.cases,
        "seed": args.seed,
        "rounds": args.rounds,
        "cases_per_rule": {rule: rule_counts[rule] for rule in (f"R{i}" for i in range(1, 12))},
        "decide": {name: {"cases_per_s_median": timing.per_second(args.cases, times),
                          "us_per_case_median": 1e6 / timing.per_second(args.cases, times),
                          "pass_s": times} for name, times in seconds.items()},
        "ratios": ratios,
    }


def print_report(r: dict[str, Any]) -> None:
    print(f"\nCore return procedure: {r['cases']:,} cases (seed {r['seed']}), {r['rounds']} interleaved rounds; "
          f"engine {r['engine_version']}, {r['implementation']} {r['python']}, {r['cpu_count']} CPUs")
    print("every implementation gives the hand-written outputs and deciding rule on every case")
    print("cases per deciding rule: " + ", ".join(f"{rule} {n:,}" for rule, n in r["cases_per_rule"].items()))
    print(f"\n{'implementation':<36}{'cases/s median':>16}{'µs/case':>10}")
    for name, label in LABELS.items():
        d = r["decide"][name]
        print(f"{label:<36}{d['cases_per_s_median']:>16,.0f}{d['us_per_case_median']:>10.2f}")
    print(f"\n{'median of per-round ratios':<50}{'measured':>10}{'target':>10}")
    for ratio in r["ratios"].values():
        value = ratio["median_of_round_ratios"]
        if "target" in ratio:
            note = f"{ratio['target'] + 'x':>10}  {'met' if ratio['met'] else 'not met'}"
        elif "peer_figure" in ratio:
            note = f"{'':>10}  (core-return.md measured {ratio['peer_figure']:g}x)"
        else:
            note = ""
        print(f"{ratio['label']:<50}{value:>9.{2 if value < 10 else 0}f}x{note}")


if __name__ == "__main__":
    sys.exit(main())
