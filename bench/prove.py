"""`verdict prove`: the time to prove every property of a policy and all its variants, as whole processes.

Run from the repository root:

    .venv/bin/python bench/prove.py [--policy aqara-returns] [--rounds 3] [--json OUT]

It checks before it times: the first run must prove every property (exit 0, every result `proved`),
else the script exits 1 with the outcomes that are not. Then each round runs `verdict prove POLICY
--format json` once, with a warm plan cache; the figure is the median seconds, against issue 11's goal
of 10 s for the Aqara policy and all its variants. The solver's work is reported too, in z3's
resource units (deterministic: the same on every machine), per policy of the set, and a breakdown of
one in-process run by policy (encoding the policy, then its properties).
"""

from __future__ import annotations

import argparse
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
sys.path[:0] = [str(BENCH), str(REPO)]

import timing  # noqa: E402

GOAL_S = 10.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--policy", default="aqara-returns", help="the policy to prove (default aqara-returns)")
    parser.add_argument("--rounds", type=int, default=3, help="whole processes timed (default 3)")
    parser.add_argument("--json", type=Path, metavar="OUT", help="also write the figures as JSON to OUT")
    args = parser.parse_args(argv)
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    if args.json and not args.json.parent.is_dir():
        parser.error(f"--json: the folder {str(args.json.parent)!r} does not exist")
    command = [sys.executable, str(REPO / "cli.py"), "prove", args.policy, "--format", "json"]

    def run() -> subprocess.CompletedProcess:
        return subprocess.run(command, cwd=REPO, capture_output=True, text=True)

    first = run()  # also warms the plan cache
    try:
        document = json.loads(first.stdout)
    except ValueError:
        print(f"`verdict prove {args.policy}` exited with {first.returncode}:\n{first.stderr}", file=sys.stderr)
        return 1
    not_proved = [r for r in document["results"] if r["status"] != "proved"]
    if first.returncode != 0 or not_proved:
        for row in not_proved:
            print(f"{row['policy']}: {row['property']}: {row['status']} {row['detail'] or ''}", file=sys.stderr)
        print(f"`verdict prove {args.policy}` exited with {first.returncode}: not every property is proved, "
              "so nothing is timed", file=sys.stderr)
        return 1
    seconds = timing.rounds({"prove": lambda: run().check_returncode()}, args.rounds)["prove"]
    units: dict[str, int] = {}
    for row in document["results"]:
        units[row["policy"]] = units.get(row["policy"], 0) + row["rlimit_used"]
    breakdown = _in_process(args.policy)
    median = statistics.median(seconds)
    results = {
        "python": platform.python_version(), "platform": platform.platform(), "cpu_count": os.cpu_count(),
        "command": f"verdict prove {args.policy} --format json", "rounds": args.rounds,
        "properties": len(document["results"]), "policies": len(units),
        "seconds": {"median": median, "s": seconds, "goal": f"<= {GOAL_S:g}", "met": median <= GOAL_S},
        "resource_units": {"total": sum(units.values()), "by_policy": units},
        "in_process_seconds": breakdown,
    }
    print(f"verdict prove {args.policy}: {results['properties']} properties of {results['policies']} policies, "
          f"{args.rounds} whole processes ({platform.python_version()}, {os.cpu_count()} CPUs)")
    print(f"  median {median:6.2f} s   goal <= {GOAL_S:g} s  {'met' if median <= GOAL_S else 'not met'}")
    for label, units_spent in units.items():
        part = breakdown.get(label, {})
        print(f"  {label:<40} {units_spent / 1e6:8.2f} M units   encode {part.get('encode', 0):5.2f} s   "
              f"prove (with encoding) {part.get('prove', 0):5.2f} s")
    return timing.write_json(args.json, results, blank_line=True) if args.json else 0


def _in_process(reference: str) -> dict[str, dict[str, float]]:
    """One run in this process, policy by policy: seconds to encode it alone, then to prove its properties
    (`prove`, which encodes it again: so `prove` - `encode` is about the solver's share)."""
    import engine
    from engine import prove, symbolic

    policy_set = engine.load(reference)
    figures = {}
    for policy in prove.selected(policy_set):
        if not policy.properties:
            continue
        start = time.perf_counter()
        symbolic.encode(policy)
        encoded = time.perf_counter()
        prove.prove(policy_set, [policy])  # encodes the policy again, then asks the solver
        figures[policy.identity.chain_label()] = {"encode": encoded - start, "prove": time.perf_counter() - encoded}
    return figures


if __name__ == "__main__":
    sys.exit(main())
