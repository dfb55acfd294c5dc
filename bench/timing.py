"""Interleaved timing rounds, and the medians of per-round ratios the benchmarks report.

These machines are shared and noisy: a figure measured alone says little, a ratio of two figures
measured in the same round says more, and the median of those per-round ratios is what to quote.
"""

from __future__ import annotations

import gc
import json
import statistics
import sys
import time
from typing import Callable, Sequence


def rounds(runs: dict[str, Callable[[], object]], count: int) -> dict[str, list[float]]:
    """Seconds of each run, per round; every round runs each of them once.

    The order rotates from round to round, so that no run is always the first (or the last) after
    another's garbage. The garbage collector stays on, since collecting what a run allocates is part
    of its cost, but each run starts from a freshly collected heap.
    """
    names = list(runs)
    seconds: dict[str, list[float]] = {name: [] for name in names}
    for number in range(count):
        shift = number % len(names)
        for name in names[shift:] + names[:shift]:
            gc.collect()
            start = time.perf_counter()
            runs[name]()
            seconds[name].append(time.perf_counter() - start)
    return seconds


def ratio(numerator: Sequence[float], denominator: Sequence[float]) -> float:
    """The median of the per-round ratios numerator / denominator (not the ratio of the medians)."""
    return statistics.median(n / d for n, d in zip(numerator, denominator, strict=True))


def per_second(count: int, seconds: Sequence[float]) -> float:
    """Items per second of the median round."""
    return count / statistics.median(seconds)


def write_json(path, results: dict, blank_line: bool = False) -> int:
    """Write a script's figures to `path` (its `--json OUT`); the script's exit status: 1, with one line
    on standard error, when the file cannot be written."""
    try:
        path.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    except OSError as error:
        print(f"cannot write {path}: {error.strerror}", file=sys.stderr)
        return 1
    print(f"{chr(10) if blank_line else ''}wrote {path}")
    return 0
