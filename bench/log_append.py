"""The decision log: appending records one by one against the writer's group commit, interleaved.

Run from the repository root:

    .venv/bin/python bench/log_append.py [--records 10000] [--group 256] [--rounds 3] [--seed 1] [--json OUT]

Decides `--records` generated Aqara cases once (untraced) and renders them with `--trace none`, as
`verdict batch` workers would send them; then each round writes them all to a new log in a temporary
folder, twice: one by one (`decisionlog.append`: open, lock, read the end of the log, write, fsync,
close, for every record, as `verdict eval --log` does) and through one writer
(`decisionlog.open_writer(path, group=G)`: one lock, one write, one fsync per group). Before
timing, both logs must verify and hold the same decisions, in order. The figure is the median of
the per-round ratios one-by-one time / writer time.
"""

from __future__ import annotations

import argparse
import itertools
import os
import platform
import random
import statistics
import sys
import tempfile
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path[:0] = [str(BENCH), str(REPO)]

import timing  # noqa: E402
from aqara import generate_facts  # noqa: E402

import engine  # noqa: E402
from engine import decisionlog  # noqa: E402


def documents(count: int, seed: int) -> list[dict]:
    """Rendered decisions (trace none) of `count` generated cases that a policy version covers."""
    policy_set = engine.load(REPO / "policies" / "aqara-returns")
    rng = random.Random(seed)
    found: list[dict] = []
    while len(found) < count:
        case = engine.case_from_facts(policy_set, generate_facts(rng), f"case-{len(found)}")
        try:
            decision, _ = engine.decide_in_set(policy_set, case, trace=False)
        except engine.CaseError:
            continue
        found.append(engine.decision_to_dict(decision, "none"))
    return found


def one_by_one(path: Path, docs: list[dict]) -> None:
    for document in docs:
        decisionlog.append(path, document, trace="none")


def through_writer(path: Path, docs: list[dict], group: int) -> None:
    with decisionlog.open_writer(path, group=group) as writer:
        for document in docs:
            writer.add(document, trace="none")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=10_000, help="records per log (default 10,000)")
    parser.add_argument("--group", type=int, default=256, help="the writer's group (default 256)")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (default 3)")
    parser.add_argument("--seed", type=int, default=1, help="seed of the generated cases (default 1)")
    parser.add_argument("--json", type=Path, metavar="OUT", help="also write the figures as JSON to OUT")
    args = parser.parse_args(argv)
    for name in ("records", "group", "rounds"):
        if getattr(args, name) < 1:
            parser.error(f"--{name} must be at least 1")
    if args.json and not args.json.parent.is_dir():
        parser.error(f"--json: the folder {str(args.json.parent)!r} does not exist")

    docs = documents(args.records, args.seed)
    with tempfile.TemporaryDirectory(prefix="verdict-log-bench-") as folder:
        names = (Path(folder) / f"log-{n}.jsonl" for n in itertools.count())

        def fresh() -> Path:  # every run writes a new log, and the one before is deleted
            for old in Path(folder).glob("*.jsonl"):
                old.unlink()
            return next(names)

        # Check before timing: both ways give a whole chain of the same decisions, in order.
        logs = {"one_by_one": fresh(), "writer": next(names)}
        one_by_one(logs["one_by_one"], docs)
        through_writer(logs["writer"], docs, args.group)
        written = {}
        for way, log in logs.items():
            count, problems = decisionlog.verify(log)
            if count != len(docs) or problems:
                print(f"{way}: {count} records, problems: {problems[:3]}", file=sys.stderr)
                return 1
            written[way] = [record["decision"] for _, record in decisionlog.read(log)[0]]
        if written["one_by_one"] != written["writer"]:
            print("the two logs hold different decisions", file=sys.stderr)
            return 1
        sizes = [len(line) for line in logs["writer"].read_bytes().splitlines(keepends=True)]

        seconds = timing.rounds({"one_by_one": lambda: one_by_one(fresh(), docs),
                                 "writer": lambda: through_writer(fresh(), docs, args.group)}, args.rounds)
    ratio = timing.ratio(seconds["one_by_one"], seconds["writer"])
    results = {
        "python": platform.python_version(), "implementation": platform.python_implementation(),
        "platform": platform.platform(), "cpu_count": os.cpu_count(), "rounds": args.rounds,
        "records": args.records, "group": args.group, "trace": "none",
        "record_bytes": {"median": statistics.median(sizes), "max": max(sizes)},
        "one_by_one": {"records_per_s_median": timing.per_second(args.records, seconds["one_by_one"]),
                       "s": seconds["one_by_one"]},
        "writer": {"records_per_s_median": timing.per_second(args.records, seconds["writer"]), "s": seconds["writer"]},
        "one_by_one_over_writer": {"median_of_round_ratios": ratio},
    }
    print(f"decision log, {args.records:,} records with --trace none, {args.rounds} interleaved rounds "
          f"({results['implementation']} {results['python']}, {results['cpu_count']} CPUs)")
    print(f"  record size                      median {results['record_bytes']['median']:,.0f} B, "
          f"max {results['record_bytes']['max']:,} B")
    print(f"  one by one (append)              {results['one_by_one']['records_per_s_median']:10,.0f} records/s")
    print(f"  writer, groups of {args.group:<5}          {results['writer']['records_per_s_median']:10,.0f} records/s")
    print(f"  one by one / writer, time        {ratio:10.1f}x (median of round ratios)")
    return timing.write_json(args.json, results) if args.json else 0


if __name__ == "__main__":
    sys.exit(main())
