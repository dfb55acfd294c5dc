"""Benchmark of the Verdict engine on the bundled Aqara policy, against a hand-written baseline.

Run from the repository root:

    .venv/bin/python bench/bench.py [--cases N] [--seed S] [--repeats R] [--json OUT]

It measures
  1. decisions per second of `engine.decide` with the trace on and off, on generated cases
     (`aqara.py`), in interleaved rounds with `bench/handwritten.py`, the policy written by hand in
     plain Python, after checking that it agrees with the engine on every output of every case
     (exit 1 if not; `tests/test_bench_agreement.py` runs the same check);
  2. the medians of the per-round ratios between the three, and what the policy's constraints cost:
     `engine.decide` trace off on the same policy with its constraints taken out, in the same rounds;
  3. wall times of whole `verdict` processes (`eval` of the example case, `validate` of the
     policy) and of loading + compiling the policy in-process.

There are no pass/fail thresholds on speed: the figures are for comparison between runs on the
same machine. Other work on the machine shows up in them; medians of per-round ratios make them
steadier. The other benchmarks (the core return procedure, scaling, cold start) are beside this
file; see README.md.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
# This checkout's engine (not another installed copy), and the baseline beside this script.
sys.path[:0] = [str(REPO), str(BENCH)]

import engine  # noqa: E402
import handwritten  # noqa: E402
import timing  # noqa: E402
from aqara import check_agreement, generate_cases  # noqa: E402
# The generator lived here; scripts and tests on other branches still import it from `bench`.
from aqara import generate_facts as generate_facts  # noqa: E402

POLICY_DIR = REPO / "policies" / "aqara-returns"

# -- timing ----------------------------------------------------------------------------------------

def time_decisions(policy: engine.Policy, cases: list[engine.Case], repeats: int) -> dict[str, list[float]]:
    """Seconds for one pass over all cases, per repeat, for each of the four deciders, interleaved
    in rounds (`timing.rounds`) so that load from elsewhere on the machine hits them alike."""
    facts = [case.facts for case in cases]
    decide = engine.decide
    # The same policy without its constraints (the cases satisfy them, so it decides them alike): the
    # cost of judging them is the ratio of the two untraced passes of one round.
    bare = dataclasses.replace(policy, constraints={})

    def trace_on() -> None:
        for case in cases:
            decide(policy, case, trace=True)

    def trace_off() -> None:
        for case in cases:
            decide(policy, case, trace=False)

    def trace_off_without_constraints() -> None:
        for case in cases:
            decide(bare, case, trace=False)

    def by_hand() -> None:
        for f in facts:
            handwritten.decide(f)

    return timing.rounds({"trace_on": trace_on, "trace_off": trace_off, "handwritten": by_hand,
                          "trace_off_without_constraints": trace_off_without_constraints}, repeats)


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
    policy = engine.load(POLICY_DIR).base  # the base policy: the hand-written rules are its US rules
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
    if args.json and not args.json.parent.is_dir():
        parser.error(f"--json: the folder {str(args.json.parent)!r} does not exist")

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
        # Ratios of the medians (kept for the tools that read them) ...
        "trace_on_over_off": None,
        "engine_over_handwritten": None,
        # ... and the medians of the per-round ratios, the steadier figures on a noisy machine.
        "round_ratios": {
            "trace_on_over_off": timing.ratio(decisions["trace_on"], decisions["trace_off"]),
            "trace_off_over_handwritten": timing.ratio(decisions["trace_off"], decisions["handwritten"]),
            "trace_on_over_handwritten": timing.ratio(decisions["trace_on"], decisions["handwritten"]),
            "trace_off_over_without_constraints": timing.ratio(decisions["trace_off"],
                                                               decisions["trace_off_without_constraints"]),
            "without_constraints_over_handwritten": timing.ratio(decisions["trace_off_without_constraints"],
                                                                 decisions["handwritten"]),
        },
        "constraints": len(policy.constraints),
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
    return timing.write_json(args.json, results, blank_line=True) if args.json else 0


def print_report(r: dict) -> None:
    print(f"Verdict benchmark: policy {r['policy']} (content {r['policy_content_sha256'][:12]}), "
          f"engine {r['engine_version']}, {r['implementation']} {r['python']}, {r['cpu_count']} CPUs")
    print(f"{r['cases']} generated cases (seed {r['seed']}), {r['repeats']} timed passes each; "
          f"the handwritten baseline agrees with the engine on every output of every case\n")
    print(f"{'decide':<29}{'cases/s median':>16}{'cases/s best':>14}{'µs/case median':>16}{'µs/case min':>13}")
    labels = {"trace_on": "engine, trace on", "trace_off": "engine, trace off",
              "trace_off_without_constraints": f"  without its {r['constraints']} constraint(s)",
              "handwritten": "handwritten Python"}
    for name, label in labels.items():
        d = r["decide"][name]
        print(f"{label:<29}{d['cases_per_s_median']:>16,.0f}{d['cases_per_s_best']:>14,.0f}"
              f"{d['us_per_case_median']:>16.1f}{d['us_per_case_min']:>13.1f}")
    rounds = r["round_ratios"]
    print(f"\n{'time per case':<34}{'median of round ratios':>24}{'ratio of medians':>18}")
    print(f"{'trace on / trace off':<34}{rounds['trace_on_over_off']:>23.2f}x{r['trace_on_over_off']:>17.2f}x")
    print(f"{'engine (trace off) / handwritten':<34}{rounds['trace_off_over_handwritten']:>23.1f}x"
          f"{r['engine_over_handwritten']:>17.1f}x")
    print(f"{'engine (trace on) / handwritten':<34}{rounds['trace_on_over_handwritten']:>23.1f}x")
    print(f"{'trace off / without constraints':<34}{rounds['trace_off_over_without_constraints']:>23.2f}x")
    print(f"{'without constraints / handwritten':<34}{rounds['without_constraints_over_handwritten']:>23.1f}x")
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
