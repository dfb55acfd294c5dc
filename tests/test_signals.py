"""Ctrl-C: every command exits 130 with one line, `verdict: interrupted`, never a traceback, nor
click's `Aborted!`, from the first line of cli.py on; the workers of `verdict batch` print nothing."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import cli
from conftest import BASE_FACTS, REPO
from engine import batch

EXAMPLE = str(REPO / "examples" / "cases" / "return-day-10.yaml")
INTERRUPTED = "verdict: interrupted\n"


def start(args: list[str], tmp_path: Path, *, ignored: bool = False) -> subprocess.Popen:
    """`verdict ARGS` in a new process group (a terminal's Ctrl-C reaches the whole group).

    SIGINT is blocked while the process starts, and cli.py unblocks it on its first lines: a signal sent
    at 0 ms then waits for cli.py, instead of meeting the interpreter's own start (before cli.py, which
    no code of Verdict's can answer). With `ignored`, it starts with SIGINT ignored, as a shell's
    background job does."""
    env = {**os.environ, "VERDICT_CACHE_DIR": str(tmp_path / "cache"), "TMPDIR": str(tmp_path / "tmp")}
    (tmp_path / "tmp").mkdir(exist_ok=True)
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN) if ignored else None
    try:
        return subprocess.Popen([sys.executable, "-c", "import cli; cli.main()", *args], cwd=REPO, env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    finally:
        if ignored:
            signal.signal(signal.SIGINT, previous)
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)


def interrupt(process: subprocess.Popen, after: float) -> tuple[int, str]:
    time.sleep(after)
    try:
        os.killpg(process.pid, signal.SIGINT)
    except ProcessLookupError:  # done already
        pass
    _, stderr = process.communicate(timeout=300)
    return process.returncode, stderr


def assert_clean(code: int, stderr: str) -> None:
    assert code in (130, 0), stderr
    assert "Traceback" not in stderr and "Aborted!" not in stderr and "KeyboardInterrupt" not in stderr, stderr
    if code == 130:
        assert stderr == INTERRUPTED


@pytest.mark.parametrize("cache", ["--no-cache", "warm"])
def test_ctrl_c_at_any_moment_of_eval_exits_130_with_one_line(tmp_path, cache):
    options = ["--no-cache"] if cache == "--no-cache" else []
    if cache == "warm":  # the plan cache filled first: a decision in a tenth of a second or so
        warming = start(["eval", EXAMPLE], tmp_path)
        assert warming.communicate(timeout=300)[1] == "" and warming.returncode == 0
    codes = []
    for after in (0, 0.02, 0.05, 0.1, 0.2):
        code, stderr = interrupt(start([*options, "eval", EXAMPLE, "--format", "json"], tmp_path), after)
        assert_clean(code, stderr)
        codes.append(code)
    assert codes[0] == 130  # sent before cli.py's first line: answered there


def test_a_verdict_started_with_ctrl_c_ignored_keeps_ignoring_it(tmp_path):
    code, stderr = interrupt(start(["--no-cache", "eval", EXAMPLE], tmp_path, ignored=True), 0.05)
    assert (code, stderr) == (0, "")


def _workers(group: int) -> list[int]:
    """The batch workers (spawned interpreters) in a process group."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            command = (entry / "cmdline").read_bytes()
        except (OSError, IndexError):
            continue
        if int(fields[2]) == group and b"--multiprocessing-fork" in command:
            found.append(int(entry.name))
    return found


def _group_gone(group: int) -> bool:
    for _ in range(200):  # the terminated workers are reaped by their parent as it leaves
        try:
            os.killpg(group, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.05)
    return False


def test_ctrl_c_stops_a_batch_and_its_workers_without_a_traceback(tmp_path):
    cases = tmp_path / "cases.jsonl"
    with cases.open("w", encoding="utf-8") as out:
        for number in range(20000):
            out.write(json.dumps({"id": f"c{number}", "facts": {**BASE_FACTS, "units_of_product": 1 + number % 5}}) + "\n")
    command = ["batch", str(cases), "--jobs", "2", "--trace", "full", "--out", str(tmp_path / "out.jsonl")]
    # From the start, while the pool starts, and once its workers run.
    for after in (0, 0.05, 0.2):
        process = start(command, tmp_path)
        assert_clean(*interrupt(process, after))
        assert _group_gone(process.pid)
    for after in (0, 0.05, 0.3):
        process = start(command, tmp_path)
        while not _workers(process.pid):
            assert process.poll() is None, process.communicate()
            time.sleep(0.01)
        code, stderr = interrupt(process, after)
        assert_clean(code, stderr)
        assert _group_gone(process.pid)
    assert list((tmp_path / "tmp").iterdir()) == []  # the workers' copy of the policy is removed


# In a process of its own: a thread that does not block SIGINT (pytest's process has some) could take the
# signal while it is ignored. `verdict batch` starts no thread before its pool.
WORKERS_START = """
import os, signal, multiprocessing
from engine import batch

received = []
signal.signal(signal.SIGINT, lambda number, frame: received.append(number))
with batch._sigint_ignored():
    os.kill(os.getpid(), signal.SIGINT)  # a Ctrl-C while the workers start
    pool = multiprocessing.get_context("spawn").Pool(2)
with pool:
    handlers = [pool.apply(signal.getsignal, (signal.SIGINT,)) for _ in range(4)]
print(received == [signal.SIGINT], handlers == [signal.SIG_IGN] * 4)
"""


def test_workers_start_with_ctrl_c_ignored_and_one_sent_meanwhile_reaches_the_parent():
    done = subprocess.run([sys.executable, "-c", WORKERS_START], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert (done.stdout, done.stderr) == ("True True\n", "")


def test_main_turns_an_interruption_into_exit_130(monkeypatch, capfd):
    monkeypatch.setattr(cli, "_interrupt", {"phase": "starting", "said": False})

    def interrupted(*args, **kwargs):
        cli._on_interrupt(signal.SIGINT, None)  # what the signal runs, in the middle of a decision
        raise AssertionError("the handler raises while a command runs")

    monkeypatch.setattr(cli.engine, "evaluate", interrupted)
    monkeypatch.setattr(sys, "argv", ["verdict", "eval", EXAMPLE])
    with pytest.raises(SystemExit) as leaving:
        cli.main()
    assert leaving.value.code == 130
    assert capfd.readouterr().err == INTERRUPTED
    assert cli._interrupt["phase"] == "done"
    cli._on_interrupt(signal.SIGINT, None)  # after the command: ignored, its exit code stands
