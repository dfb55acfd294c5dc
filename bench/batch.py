"""`verdict batch` at scale: throughput with 1 and 2 jobs, and peak memory on 100,000 and 1,000,000 cases.

Cases are generated Aqara cases (bench/aqara.py, every fact given as a case file holds it), written once
as JSON Lines; the 1,000,000-case input is that file streamed ten times into standard input, so nothing
of that size is stored. Each run is a whole `verdict batch ... --trace none --out FILE` process; its peak
memory is the largest sum of the resident sizes of the process and its workers, sampled every 100 ms from
/proc (memory stays flat, so the plateau is caught; sampling every 20 ms took about a tenth of a core,
which the run with two workers has none of to spare). Throughput runs alternate the two job counts, round
by round, and the figure is the median of the per-round ratios (the machine is shared and noisy).

    .venv/bin/python bench/batch.py [--cases 100000] [--repeat 10] [--rounds 3] [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(REPO))

import aqara  # noqa: E402 - the case generator of the Aqara benchmark

from engine import jsontext  # noqa: E402
from engine.model import to_json_value  # noqa: E402

VERDICT = [sys.executable, "-c", "import cli; cli.main()"]


def write_cases(path: Path, count: int, seed: int = 17) -> None:
    rng = random.Random(seed)
    with open(path, "w", encoding="utf-8") as out:
        for number in range(count):
            facts = {name: to_json_value(value) for name, value in aqara.generate_facts(rng).items()}
            out.write(jsontext.dumps({"id": f"case-{number}", "facts": facts}, separators=(",", ":")) + "\n")


def _tree_rss_kb(root: int) -> int:
    """The resident size of a process and of all its descendants, in KiB (0 once it has ended)."""
    parents: dict[int, int] = {}
    sizes: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="utf-8") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
            parents[int(entry)] = int(fields[1])
            sizes[int(entry)] = int(fields[21]) * os.sysconf("SC_PAGE_SIZE") // 1024
        except (OSError, IndexError, ValueError):
            continue
    members, frontier = {root}, [root]
    while frontier:
        current = frontier.pop()
        for pid, parent in parents.items():
            if parent == current and pid not in members:
                members.add(pid)
                frontier.append(pid)
    return sum(sizes.get(pid, 0) for pid in members)


def run_batch(source: Path, jobs: int, repeat: int, out: Path) -> tuple[float, int, int]:
    """(seconds, peak KiB of the process tree, output lines) of one `verdict batch` over `repeat` copies."""
    command = [*VERDICT, "batch", "-" if repeat > 1 else str(source), "--jobs", str(jobs), "--trace", "none",
               "--out", str(out)]
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=REPO, stdin=subprocess.PIPE if repeat > 1 else subprocess.DEVNULL,
                               stderr=subprocess.PIPE)
    feeder = None
    if repeat > 1:
        def feed() -> None:
            try:
                for _ in range(repeat):
                    with open(source, "rb") as handle:
                        shutil.copyfileobj(handle, process.stdin, 1 << 20)
            finally:
                process.stdin.close()
        feeder = threading.Thread(target=feed, daemon=True)
        feeder.start()
    peak = 0
    while process.poll() is None:
        peak = max(peak, _tree_rss_kb(process.pid))
        time.sleep(0.1)
    seconds = time.perf_counter() - started
    stderr = process.stderr.read().decode()
    if feeder:
        feeder.join()
    if process.returncode not in (0, 3):
        raise SystemExit(f"verdict batch failed ({process.returncode}): {stderr}")
    with open(out, "rb") as handle:
        lines = sum(1 for _ in handle)
    return seconds, peak, lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=10, help="the large input: this many copies of the cases")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        source, out = Path(folder) / "cases.jsonl", Path(folder) / "out.jsonl"
        write_cases(source, args.cases)
        print(f"verdict batch, {args.cases:,} generated Aqara cases ({source.stat().st_size / 1e6:.0f} MB), "
              f"--trace none, {os.cpu_count()} CPUs", flush=True)
        rates: dict[int, list[float]] = {1: [], 2: []}
        small_peak: dict[int, int] = {1: 0, 2: 0}
        ratios = []
        for round_number in range(args.rounds):
            seconds = {}
            for jobs in ((1, 2) if round_number % 2 == 0 else (2, 1)):
                elapsed, peak, lines = run_batch(source, jobs, 1, out)
                assert lines == args.cases, f"{lines} lines out for {args.cases} in"
                seconds[jobs] = elapsed
                rates[jobs].append(args.cases / elapsed)
                small_peak[jobs] = max(small_peak[jobs], peak)
            ratios.append(seconds[1] / seconds[2])
            print(f"  round {round_number + 1}: --jobs 1 {args.cases / seconds[1]:,.0f} cases/s, "
                  f"--jobs 2 {args.cases / seconds[2]:,.0f} cases/s, ratio {ratios[-1]:.2f}", flush=True)
        speedup = statistics.median(ratios)
        print(f"  --jobs 2 / --jobs 1 throughput, median of round ratios: {speedup:.2f}x  (target >= 1.7x)")
        large = args.cases * args.repeat
        large_peak = {}
        for jobs in (1, 2):
            elapsed, peak, lines = run_batch(source, jobs, args.repeat, out)
            assert lines == large, f"{lines} lines out for {large} in"
            large_peak[jobs] = peak
            print(f"  {large:,} cases, --jobs {jobs}: {large / elapsed:,.0f} cases/s, peak {peak / 1024:.0f} MiB "
                  f"(on {args.cases:,}: {small_peak[jobs] / 1024:.0f} MiB, ratio {peak / small_peak[jobs]:.2f}, target <= 1.5)",
                  flush=True)
        figures = {
            "cases": args.cases, "large_cases": large, "rounds": args.rounds,
            "cases_per_second": {str(j): statistics.median(r) for j, r in rates.items()},
            "jobs2_over_jobs1_median_ratio": speedup,
            "peak_rss_mib": {"small": {str(j): v / 1024 for j, v in small_peak.items()},
                             "large": {str(j): v / 1024 for j, v in large_peak.items()}},
        }
        if args.json:
            args.json.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
