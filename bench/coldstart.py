"""Cold start: one whole `verdict eval` process against a bare `python -c pass`, interleaved.

Run from the repository root:

    .venv/bin/python bench/coldstart.py [--rounds R] [--json OUT]

Each round starts `python -c pass` and `verdict eval examples/cases/return-day-10.yaml --format
json` once each (the `verdict` installed beside this interpreter, so this checkout's engine); the
figure is the median of the per-round ratios, against issue 7's target of 5x with a warm plan
cache. The eval runs once before timing, so that any cache it keeps is warm.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Callable

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path[:0] = [str(BENCH)]

import timing  # noqa: E402

CASE = "examples/cases/return-day-10.yaml"
TARGET = 5.0


class ProcessFailed(Exception):
    pass


def _process(argv: list[str]) -> Callable[[], None]:
    def run() -> None:
        done = subprocess.run(argv, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        if done.returncode != 0:
            raise ProcessFailed(f"`{' '.join(argv)}` exited with {done.returncode}:\n"
                                f"{done.stderr.decode(errors='replace')}")
    return run


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=15, help="interleaved rounds (default 15)")
    parser.add_argument("--json", type=Path, metavar="OUT", help="also write the figures as JSON to OUT")
    args = parser.parse_args(argv)
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    if args.json and not args.json.parent.is_dir():
        parser.error(f"--json: the folder {str(args.json.parent)!r} does not exist")
    verdict = Path(sys.executable).parent / "verdict"
    if not verdict.is_file():
        print(f"no `verdict` beside {sys.executable}; run this with the project's .venv/bin/python "
              "(`make setup` installs it)", file=sys.stderr)
        return 2

    runs = {"python": _process([sys.executable, "-c", "pass"]),
            "verdict_eval": _process([str(verdict), "eval", CASE, "--format", "json"])}
    try:
        runs["verdict_eval"]()  # warms whatever the eval caches (a plan cache, the OS's file cache)
        seconds = timing.rounds(runs, args.rounds)
    except ProcessFailed as failure:
        print(failure, file=sys.stderr)
        return 1

    ratio = timing.ratio(seconds["verdict_eval"], seconds["python"])
    results = {
        "python": platform.python_version(), "implementation": platform.python_implementation(),
        "platform": platform.platform(), "cpu_count": os.cpu_count(), "rounds": args.rounds,
        "command": f"verdict eval {CASE} --format json",
        "python_startup": {"ms_median": statistics.median(seconds["python"]) * 1e3, "s": seconds["python"]},
        "verdict_eval": {"ms_median": statistics.median(seconds["verdict_eval"]) * 1e3, "s": seconds["verdict_eval"]},
        "eval_over_python": {"median_of_round_ratios": ratio, "target": f"<= {TARGET:g}", "met": ratio <= TARGET},
    }
    print(f"cold start, {args.rounds} interleaved rounds ({results['implementation']} {results['python']}, "
          f"{results['cpu_count']} CPUs)")
    print(f"  python -c pass                           {results['python_startup']['ms_median']:8.1f} ms (median)")
    print(f"  verdict eval return-day-10 --format json {results['verdict_eval']['ms_median']:8.1f} ms (median)")
    print(f"  eval / python, median of round ratios    {ratio:8.1f}x   target <= {TARGET:g}x  "
          f"{'met' if ratio <= TARGET else 'not met'}")
    return timing.write_json(args.json, results) if args.json else 0


if __name__ == "__main__":
    sys.exit(main())
