"""How loading a policy grows with its number of clauses, on synthetic policies (`synthetic.py`).

Run from the repository root:

    .venv/bin/python bench/load_scaling.py [--sizes 10 100 1000] [--runs 5] [--profile N]

For each size it writes two policies, N disjoint threshold clauses on one number fact (`x >= lo
and x < hi`) and the same separated also by an enum fact (`kind == 'k_i' and ...`), then times
`engine.load_policy` (read, schema check, compile) and prints the median and the minimum of the
runs, and the ratio of each size to the smallest. `--profile N` prints the cProfile of one load
of each policy of size N instead, sorted by cumulative time. No thresholds: compare runs made on
the same machine.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import statistics
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path[:0] = [str(BENCH.parent), str(BENCH)]

import engine  # noqa: E402
import synthetic  # noqa: E402

SHAPES = {"threshold": {"by_kind": False}, "kind+threshold": {"by_kind": True}}


def _load(folder: Path) -> None:
    policy, problems = engine.load_policy(folder)
    if policy is None:
        raise SystemExit(f"{folder}: the synthetic policy does not load: {problems[0].one_line()}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 100, 1000])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--profile", type=int, metavar="N", help="profile one load at size N instead of timing")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folders = {(shape, n): synthetic.write_policy(Path(tmp) / f"{shape}-{n}", synthetic.threshold_policy(n, **options))
                   for shape, options in SHAPES.items() for n in ([args.profile] if args.profile else args.sizes)}
        _load(next(iter(folders.values())))  # builds the cached schema validator outside the timings
        if args.profile:
            for (shape, n), folder in folders.items():
                print(f"== {shape}, N = {n}")
                profiler = cProfile.Profile()
                profiler.runcall(_load, folder)
                pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)
            return
        print(f"{'shape':<16}{'N':>6}{'median s':>11}{'min s':>10}{'× smallest':>12}")
        for shape in SHAPES:
            first = None
            for n in args.sizes:
                times = []
                for _ in range(args.runs):
                    start = time.perf_counter()
                    _load(folders[shape, n])
                    times.append(time.perf_counter() - start)
                median = statistics.median(times)
                first = first or median
                print(f"{shape:<16}{n:>6}{median:>11.4f}{min(times):>10.4f}{median / first:>12.1f}")


if __name__ == "__main__":
    main()
