"""Run the fuzz targets of `fuzz/targets.py` for a given time, and report the inputs each one tried.

    python fuzz/run.py --seconds 600                 # every target, the time shared between them
    python fuzz/run.py --seconds 60 --target case_file --target batch_csv
    python fuzz/run.py --seconds 20 --jobs 2 --seed 1   # what `make test` runs: the same seed each time

Each target runs in a process of its own under atheris (libFuzzer, coverage-guided, over the
engine's code), starting from its seeds and from what earlier runs kept in `.fuzz/corpus/TARGET/`
(`$VERDICT_FUZZ_DIR` instead of `.fuzz` when set).
Without atheris (it has wheels for Linux only), the same targets run on seeds mutated at random:
not guided by coverage, but every surface is still driven.

An input that makes a target raise is kept in `.fuzz/crashes/TARGET/`; replay it with
`python fuzz/run.py --replay FILE --target TARGET`. The exit code is 1 when any target failed.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import shutil
import subprocess
import sys
import time
import traceback
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
#: Where runs keep their corpus, failing inputs and logs (`$VERDICT_FUZZ_DIR` to put them elsewhere).
WORK = Path(os.environ.get("VERDICT_FUZZ_DIR") or REPO / ".fuzz")
#: An input taking longer than this is reported as a hang (the limits keep every input to seconds).
INPUT_TIMEOUT_SECONDS = 30
MEMORY_LIMIT_MB = 2048
#: The longest input libFuzzer makes: long enough for a policy of a few clauses or a few dozen
#: batch lines, short enough that each input takes milliseconds.
MAX_INPUT_BYTES = 8192


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=60, help="the whole run's time, shared between the targets")
    parser.add_argument("--target", action="append", help="a target of fuzz/targets.py (default: every one)")
    parser.add_argument("--jobs", type=int, default=1, help="targets run at once, each in its own process")
    parser.add_argument("--seed", type=int, default=0, help="the fuzzer's random seed (0: a new one each run)")
    parser.add_argument("--engine", choices=("atheris", "random"), help="default: atheris when installed")
    parser.add_argument("--replay", type=Path, help="run one input file through the target, and show what it raises")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    options = parser.parse_args()
    sys.path.insert(0, str(REPO))
    if options.replay:
        return _replay(options.replay, (options.target or [""])[0])
    if options.child:
        return _child(options.target[0], options.seconds, options.seed, options.engine)
    from targets import TARGETS  # noqa: PLC0415 - the parent only lists them

    names = options.target or list(TARGETS)
    unknown = [n for n in names if n not in TARGETS]
    if unknown:
        parser.error(f"unknown target {unknown[0]}; the targets: {', '.join(TARGETS)}")
    engine_name = options.engine or ("atheris" if _has_atheris() else "random")
    jobs = max(1, min(options.jobs, len(names)))
    # The time is shared: `jobs` targets at once, each for its part of the whole.
    share = max(options.seconds * jobs / len(names), 1.0)
    print(f"fuzzing {len(names)} target(s) with {engine_name}, {share:.0f} s each, {jobs} at a time", flush=True)
    total, failed, started = 0, [], time.monotonic()
    from concurrent.futures import ThreadPoolExecutor  # noqa: PLC0415

    with ThreadPoolExecutor(jobs) as pool:
        results = pool.map(lambda name: (name, *_run_child(name, share, options.seed, engine_name)), names)
        for name, runs, ok, detail in results:  # in the targets' order, each as soon as it and those before it end
            total += runs
            print(f"  {name:<12} {runs:>9,} inputs  {'ok' if ok else 'FAILED'}{'  ' + detail if detail else ''}", flush=True)
            if not ok:
                failed.append(name)
    print(f"{total:,} inputs tried in {options.seconds:.0f} s of fuzzing ({time.monotonic() - started:.0f} s taken, start-up included); "
          + (f"{len(failed)} target(s) failed: {', '.join(failed)}" if failed else "no failure"), flush=True)
    return 1 if failed else 0


def _has_atheris() -> bool:
    try:
        import atheris  # noqa: F401, PLC0415
    except ImportError:
        return False
    return True


def _run_child(name: str, seconds: float, seed: int, engine_name: str) -> tuple[int, bool, str]:
    """Run one target in its own process; (inputs tried, whether it held, what to look at if not)."""
    command = [sys.executable, str(HERE / "run.py"), "--child", "--target", name, "--seconds", str(seconds),
               "--seed", str(seed), "--engine", engine_name]
    # The fuzzer's own time limit ends the child; this one only catches a child that does not end.
    try:
        run = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=seconds + 120,
                             env={**os.environ, "PYTHONPATH": os.pathsep.join([str(HERE), str(REPO)])})
    except subprocess.TimeoutExpired:
        return 0, False, "did not end"
    output = run.stdout + run.stderr
    runs = _runs(output)
    if run.returncode == 0:
        return runs, True, ""
    kept = re.findall(r"Test unit written to (\S+)|kept in (\S+)", output)
    where = next((a or b for a, b in kept), "")
    log = WORK / "logs" / f"{name}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text(output, encoding="utf-8")
    return runs, False, f"input: {where or 'none kept'}; log: {log}"


def _runs(output: str) -> int:
    """The number of inputs tried, from libFuzzer's last status line or the mutator's summary."""
    done = re.findall(r"Done (\d+) runs", output) or re.findall(r"tried (\d+) inputs", output)
    if done:
        return int(done[-1])
    status = re.findall(r"^#(\d+)\s", output, re.MULTILINE)
    return int(status[-1]) if status else 0


def _child(name: str, seconds: float, seed: int, engine_name: str) -> int:
    corpus = WORK / "corpus" / name
    crashes = WORK / "crashes" / name
    corpus.mkdir(parents=True, exist_ok=True)
    crashes.mkdir(parents=True, exist_ok=True)
    scratch = WORK / "scratch" / name  # the target's files; emptied at each run, as libFuzzer skips `atexit`
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir(parents=True)
    os.environ["VERDICT_FUZZ_SCRATCH"] = str(scratch)
    if engine_name == "atheris":
        import atheris  # noqa: PLC0415

        with atheris.instrument_imports(include=["engine"]):
            from targets import TARGETS  # noqa: PLC0415
        target, seeds = TARGETS[name]
        _write_seeds(corpus, seeds())
        arguments = [sys.argv[0], str(corpus), f"-max_total_time={max(int(seconds), 1)}",
                     f"-timeout={INPUT_TIMEOUT_SECONDS}", f"-rss_limit_mb={MEMORY_LIMIT_MB}",
                     f"-artifact_prefix={crashes}/", "-print_final_stats=1", f"-max_len={MAX_INPUT_BYTES}"]
        if seed:
            arguments.append(f"-seed={seed}")
        atheris.Setup(arguments, target)
        atheris.Fuzz()  # ends the process: libFuzzer exits when its time is up, or on a failure
        return 0
    from targets import TARGETS  # noqa: PLC0415

    target, seeds = TARGETS[name]
    initial = seeds()
    _write_seeds(corpus, initial)
    return _mutate(target, initial + [p.read_bytes() for p in sorted(corpus.iterdir())[:200]], seconds, seed, crashes)


def _write_seeds(corpus: Path, seeds: list[bytes]) -> None:
    for number, seed in enumerate(seeds):
        (corpus / f"seed-{number}").write_bytes(seed)


def _mutate(target, pool: list[bytes], seconds: float, seed: int, crashes: Path) -> int:
    """The fallback engine: seeds with random byte edits and splices, for `seconds`."""
    chooser = random.Random(seed or None)
    deadline = time.monotonic() + seconds
    tried = 0
    while time.monotonic() < deadline:
        data = bytearray(chooser.choice(pool))
        for _ in range(chooser.randint(1, 8)):
            at = chooser.randint(0, len(data))
            edit = chooser.randrange(5)
            if edit == 0 and data:
                del data[at:at + chooser.randint(1, 16)]
            elif edit == 1:
                data[at:at] = bytes(chooser.randrange(256) for _ in range(chooser.randint(1, 8)))
            elif edit == 2:
                other = chooser.choice(pool)
                start = chooser.randint(0, len(other))
                data[at:at] = other[start:start + chooser.randint(1, 64)]
            elif edit == 3 and data:
                data[min(at, len(data) - 1)] ^= 1 << chooser.randrange(8)
            else:
                data[at:at] = chooser.choice((b"\n", b"{", b"[", b'"', b":", b"-", b"0", b"9" * 20, b"\\u0000", b"null"))
        tried += 1
        try:
            target(bytes(data))
        except Exception:  # noqa: BLE001 - any exception is the finding
            kept = crashes / f"crash-{tried}"
            kept.write_bytes(bytes(data))
            traceback.print_exc()
            print(f"kept in {kept}\ntried {tried} inputs", flush=True)
            return 1
    print(f"tried {tried} inputs", flush=True)
    return 0


def _replay(path: Path, name: str) -> int:
    from targets import TARGETS  # noqa: PLC0415

    if name not in TARGETS:
        print(f"name the target with --target: {', '.join(TARGETS)}", file=sys.stderr)
        return 2
    TARGETS[name][0](path.read_bytes())
    print("no failure")
    return 0


if __name__ == "__main__":
    sys.exit(main())
