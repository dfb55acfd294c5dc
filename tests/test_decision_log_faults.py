"""The decision log under faults: `--log` only ever a regular file or a new path, an append that fails
(a full disk) cut back to where the log was, torn tails reported as such and cut by `verdict log repair`."""

from __future__ import annotations

import errno
import hashlib
import os
import resource
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

import cli
import engine
from conftest import BASE_FACTS, REPO
from engine import decisionlog, jsontext
from test_decision_log_writer import generated_documents

EXAMPLE = str(REPO / "examples" / "cases" / "return-day-10.yaml")
EXIT_IO_ERROR = 74


def cases_file(tmp_path: Path) -> str:
    """A JSON Lines input of three cases, for `verdict batch`."""
    path = tmp_path / "cases.jsonl"
    path.write_text("".join(jsontext.dumps({"id": f"b{n}", "facts": BASE_FACTS}) + "\n" for n in range(3)))
    return str(path)


def run(*args):
    return CliRunner().invoke(cli.cli, list(args), catch_exceptions=False)


def log_of(tmp_path: Path, count: int, seed: int = 40) -> Path:
    log = tmp_path / "d.jsonl"
    with decisionlog.open_writer(log, group=count) as writer:
        for document in generated_documents(seed, count):
            writer.add(document, trace="none")
    return log


def numbers(log: Path) -> list[int]:
    return [jsontext.loads(line)["record"] for line in log.read_bytes().splitlines()]


# -- what `--log` may name ---------------------------------------------------------------------------------


def _fifo(tmp_path: Path) -> Path:
    os.mkfifo(tmp_path / "fifo")
    return tmp_path / "fifo"


def _folder(tmp_path: Path) -> Path:
    (tmp_path / "folder").mkdir()
    return tmp_path / "folder"


def _symlink(tmp_path: Path) -> Path:
    (tmp_path / "target.jsonl").write_bytes(b"")
    (tmp_path / "link.jsonl").symlink_to(tmp_path / "target.jsonl")
    return tmp_path / "link.jsonl"


def _dangling(tmp_path: Path) -> Path:
    (tmp_path / "nowhere.jsonl").symlink_to(tmp_path / "missing" / "x.jsonl")
    return tmp_path / "nowhere.jsonl"


NOT_A_LOG = [
    (lambda tmp: Path("/dev/zero"), "log_not_regular", "the decision log is a character device, not a regular file; a decision "
     "log is a regular file, or a new path in a folder"),
    (lambda tmp: Path("/dev/full"), "log_not_regular", "the decision log is a character device, not a regular file; a decision "
     "log is a regular file, or a new path in a folder"),
    (_fifo, "log_not_regular", "the decision log is a FIFO (named pipe), not a regular file; a decision log is a regular "
     "file, or a new path in a folder"),
    (_folder, "log_not_regular", "the decision log is a folder, not a regular file; a decision log is a regular file, or a "
     "new path in a folder"),
    (_symlink, "log_symlink", "the decision log is a symbolic link, which is not followed; name the file it points to"),
    (_dangling, "log_symlink", "the decision log is a symbolic link, which is not followed; name the file it points to"),
    (lambda tmp: tmp / "no-folder" / "d.jsonl", "log_unopenable", "cannot create the decision log: the folder `{tmp}/no-folder` "
     "does not exist"),
]
NOT_A_LOG_IDS = ["dev-zero", "dev-full", "fifo", "folder", "symlink", "dangling-symlink", "missing-folder"]


@pytest.mark.parametrize("make, code, message", NOT_A_LOG, ids=NOT_A_LOG_IDS)
def test_eval_log_refuses_anything_but_a_regular_file_or_a_new_path_before_deciding(tmp_path, make, code, message):
    path = make(tmp_path)
    result = run("eval", EXAMPLE, "--log", str(path))
    assert result.exit_code == 2
    assert result.stderr == f"{path}: {message.format(tmp=tmp_path)}\n"
    assert result.stdout == ""  # nothing was decided, so nothing printed
    if path.name == "link.jsonl":
        assert (tmp_path / "target.jsonl").read_bytes() == b""  # the symlink's target is not appended to
    with pytest.raises(decisionlog.LogFileError) as refused:
        decisionlog.open_writer(path)
    assert [d.code for d in refused.value.diagnostics] == [code]


@pytest.mark.parametrize("command", [
    lambda tmp, log: ("batch", cases_file(tmp), "--log", log, "--out", str(tmp / "out.jsonl")),
    lambda tmp, log: ("test", str(REPO / "policies" / "aqara-returns"), "--log", log),
    lambda tmp, log: ("impact", "aqara-returns", "aqara-returns", "--cases", str(REPO / "examples" / "cases"), "--log", log),
], ids=["batch", "test", "impact"])
@pytest.mark.parametrize("make", [_fifo, _symlink, lambda tmp: Path("/dev/zero")], ids=["fifo", "symlink", "dev-zero"])
def test_every_log_option_refuses_the_same_paths_with_one_line(tmp_path, command, make):
    path = make(tmp_path)
    result = run(*command(tmp_path, str(path)))
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1 and result.stderr.startswith(f"{path}: the decision log is ")
    assert result.stdout == "" and not (tmp_path / "out.jsonl").exists()  # refused before any output is opened


def test_a_symlink_swapped_in_after_the_check_is_not_followed(tmp_path):
    # The writer opens with O_NOFOLLOW and checks what it opened, whatever `check_path` saw before.
    (tmp_path / "target.jsonl").write_bytes(b"")
    link = tmp_path / "d.jsonl"
    decisionlog.check_path(link)  # a new path: fine
    link.symlink_to(tmp_path / "target.jsonl")
    real_check = engine.logfile.check_path
    try:
        engine.logfile.check_path = lambda path: None  # the race: the check saw the path before the swap
        with pytest.raises(decisionlog.LogFileError) as refused:
            decisionlog.open_writer(link)
    finally:
        engine.logfile.check_path = real_check
    assert [d.code for d in refused.value.diagnostics] == ["log_symlink"]
    assert (tmp_path / "target.jsonl").read_bytes() == b""


@pytest.mark.parametrize("command", [("log", "verify"), ("replay", "--record", "1")], ids=["verify", "replay"])
def test_reading_a_device_as_a_log_is_refused_not_read_without_end(tmp_path, command):
    (tmp_path / "zero.jsonl").symlink_to("/dev/zero")  # read through a symlink: it is followed, to a device
    for path in ("/dev/zero", str(tmp_path / "zero.jsonl")):
        result = run(*command[:2], path, *command[2:]) if command[0] == "log" else run(command[0], path, *command[1:])
        assert result.exit_code == 2
        assert result.stderr == (f"{path}: the decision log is a character device, not a regular file; a decision log is "
                                 "a regular file, or a new path in a folder\n")


# -- an append that fails is cut back --------------------------------------------------------------------


class DiskFills:
    """`os.write` on the log writes the first `room` bytes (the real call), then raises ENOSPC, as a
    disk that fills halfway through a group; other files are written as usual."""

    def __init__(self, monkeypatch, log: Path, room: int, error: BaseException | None = None):
        self.log, self.room, self.calls = log, room, 0
        self.error = error or OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real_write = os.write

        def write(fd, data):
            if not (self.log.exists() and os.path.samestat(os.fstat(fd), os.stat(self.log))):
                return real_write(fd, data)
            self.calls += 1
            if self.room > 0:
                written = real_write(fd, bytes(data[:self.room]))
                self.room -= written
                return written
            raise self.error
        monkeypatch.setattr(os, "write", write)


def test_a_group_that_fills_the_disk_is_cut_back_and_the_next_append_works(tmp_path, monkeypatch):
    log = log_of(tmp_path, 3)
    before = log.read_bytes()
    fills = DiskFills(monkeypatch, log, 1000)
    writer = decisionlog.open_writer(log, group=2)
    first, second = generated_documents(41, 2)
    pending = [writer.add(first, trace="none")]
    with pytest.raises(decisionlog.LogWriteError):
        writer.add(second, trace="none")  # completes the group, whose write fails
    assert writer.closed and writer.close() == []
    assert fills.calls == 2  # a short write (the first 1000 bytes), carried on, then ENOSPC
    assert log.read_bytes() == before and not any(p.written for p in pending)
    assert decisionlog.verify(log) == (3, [])
    monkeypatch.undo()
    decisionlog.append(log, generated_documents(42, 1)[0], trace="none")
    assert decisionlog.verify(log) == (4, []) and numbers(log) == [1, 2, 3, 4]


def test_the_failure_says_what_was_lost_and_that_the_log_is_as_before(tmp_path, monkeypatch):
    log = log_of(tmp_path, 2)
    size = log.stat().st_size
    DiskFills(monkeypatch, log, 10)
    with pytest.raises(decisionlog.LogWriteError) as failed:
        decisionlog.append(log, generated_documents(43, 1)[0], trace="none")
    error = failed.value
    assert isinstance(error, OSError) and error.errno == errno.ENOSPC and error.cut_back
    [diagnostic] = error.diagnostics
    assert (diagnostic.code, diagnostic.location.file) == ("log_write_failed", str(log))
    assert diagnostic.message == (f"cannot append 1 record(s) to the decision log: No space left on device; the log was "
                                  f"cut back to its {size} bytes, as before")
    assert log.stat().st_size == size


def test_a_failed_fsync_is_cut_back_too(tmp_path, monkeypatch):
    log = log_of(tmp_path, 2)
    before = log.read_bytes()
    real_fsync = os.fsync
    calls = []

    def fsync(fd):
        calls.append(os.fstat(fd).st_size)
        if len(calls) == 1:  # the group's fsync: the data was written, and may not be on disk
            raise OSError(errno.EIO, os.strerror(errno.EIO))
        return real_fsync(fd)
    monkeypatch.setattr(os, "fsync", fsync)
    with pytest.raises(decisionlog.LogWriteError, match="Input/output error; the log was cut back"):
        decisionlog.append(log, generated_documents(44, 1)[0], trace="none")
    assert calls[0] > len(before) and calls[1] == len(before)  # written whole, then cut back and fsynced
    assert log.read_bytes() == before


def test_when_the_cut_back_fails_too_the_error_says_so_and_repair_cuts_the_torn_tail(tmp_path, monkeypatch):
    log = log_of(tmp_path, 2)
    before = log.read_bytes()
    DiskFills(monkeypatch, log, 300)

    def ftruncate(fd, length):
        raise OSError(errno.EIO, os.strerror(errno.EIO))
    monkeypatch.setattr(os, "ftruncate", ftruncate)
    with pytest.raises(decisionlog.LogWriteError) as failed:
        decisionlog.append(log, generated_documents(50, 1)[0], trace="none")
    assert not failed.value.cut_back
    assert str(failed.value) == (f"{log}: cannot append 1 record(s) to the decision log: No space left on device, and "
                                 f"cannot cut it back to its {len(before)} bytes: Input/output error; it may end in a "
                                 "torn tail: `verdict log repair` cuts it")
    monkeypatch.undo()
    torn = log.read_bytes()[len(before):]
    assert log.read_bytes().startswith(before) and len(torn) == 300 and torn.startswith(b'{"decision":')
    assert [p.kind for p in decisionlog.verify(log)[1]] == ["torn_tail"]
    record = decisionlog.repair(log)
    assert record["repair"] == {"at_byte": len(before), "cut_bytes": 300, "cut_sha256": hashlib.sha256(torn).hexdigest(),
                                "reason": "after_last_newline"}
    assert decisionlog.verify(log) == (3, []) and numbers(log) == [1, 2, 3]


def test_an_interrupt_halfway_through_a_write_leaves_the_log_as_it_was(tmp_path, monkeypatch):
    log = log_of(tmp_path, 2)
    before = log.read_bytes()
    DiskFills(monkeypatch, log, 500, KeyboardInterrupt())
    with pytest.raises(KeyboardInterrupt):
        decisionlog.append(log, generated_documents(45, 1)[0], trace="none")
    assert log.read_bytes() == before


def test_eval_exits_74_with_one_line_when_the_disk_is_full(tmp_path, monkeypatch):
    log = log_of(tmp_path, 1)
    before = log.read_bytes()
    DiskFills(monkeypatch, log, 2000)
    result = run("eval", EXAMPLE, "--log", str(log), "--log-trace", "none")
    assert result.exit_code == EXIT_IO_ERROR
    assert result.stderr == (f"{log}: cannot append 1 record(s) to the decision log: No space left on device; the log was "
                             f"cut back to its {len(before)} bytes, as before; it verifies as it did, and the next append "
                             "continues its chain\n")
    assert result.stdout == "" and log.read_bytes() == before
    monkeypatch.undo()
    assert run("log", "verify", str(log)).exit_code == 0
    assert run("eval", EXAMPLE, "--log", str(log), "--log-trace", "none").exit_code == 0
    assert numbers(log) == [1, 2] and decisionlog.verify(log) == (2, [])


@pytest.mark.parametrize("command", [
    lambda tmp, log: ("batch", cases_file(tmp), "--log", log, "--out", os.devnull, "--jobs", "1"),
    lambda tmp, log: ("impact", "aqara-returns", "aqara-returns", "--cases", str(REPO / "examples" / "cases"), "--log", log),
    lambda tmp, log: ("test", str(REPO / "policies" / "aqara-returns"), "-k", "a minor failure lets Aqara", "--log", log),
], ids=["batch", "impact", "test"])
def test_every_logging_command_exits_74_and_leaves_a_log_that_verifies(tmp_path, monkeypatch, command):
    log = log_of(tmp_path, 2)
    before = log.read_bytes()
    DiskFills(monkeypatch, log, 100)
    result = run(*command(tmp_path, str(log)))
    assert result.exit_code == EXIT_IO_ERROR
    [line] = result.stderr.splitlines()[-1:]
    assert line.startswith(f"{log}: cannot append ") and "No space left on device; the log was cut back" in line
    assert log.read_bytes() == before
    monkeypatch.undo()
    assert decisionlog.verify(log) == (2, [])


def _run_with_file_size_limit(args: list[str], limit: int) -> subprocess.CompletedProcess:
    """The CLI in a process that may not make a file larger than `limit` bytes: the kernel writes up to
    the limit, then refuses the rest (EFBIG; SIGXFSZ ignored), a real short write like a disk filling."""
    def limited() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    return subprocess.run([sys.executable, "-c", "import cli; cli.main()", "--no-cache", *args], cwd=REPO,
                          capture_output=True, text=True, preexec_fn=limited, timeout=120,
                          env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"})


def test_a_real_short_write_is_cut_back_and_the_next_append_continues(tmp_path):
    log = log_of(tmp_path, 2)
    before = log.read_bytes()
    result = _run_with_file_size_limit(["eval", EXAMPLE, "--log", str(log), "--log-trace", "none"], len(before) + 1500)
    assert result.returncode == EXIT_IO_ERROR, result.stderr
    assert result.stderr == (f"{log}: cannot append 1 record(s) to the decision log: File too large; the log was cut back "
                             f"to its {len(before)} bytes, as before; it verifies as it did, and the next append continues "
                             "its chain\n")
    assert log.read_bytes() == before
    assert run("log", "verify", str(log)).exit_code == 0
    assert run("eval", EXAMPLE, "--log", str(log), "--log-trace", "none").exit_code == 0
    assert numbers(log) == [1, 2, 3] and decisionlog.verify(log) == (3, [])


# -- torn tails, and `verdict log repair` -----------------------------------------------------------------


def test_bytes_after_the_last_newline_are_a_torn_tail_and_repair_cuts_them(tmp_path):
    log = log_of(tmp_path, 3)
    whole = log.read_bytes()
    torn = whole.splitlines(keepends=True)[2][:700]  # record 3's first bytes again, as a write cut short would leave them
    log.write_bytes(whole + torn)
    count, problems = decisionlog.verify(log)
    assert count == 3
    assert [(p.line, p.record, p.kind, p.message) for p in problems] == [
        (4, None, "torn_tail", "a torn tail: 700 bytes after the last newline, not a whole line (a write cut short); "
                               "`verdict log repair` cuts it")]
    verified = run("log", "verify", str(log))
    assert verified.exit_code == 1 and verified.stderr == f"{log}:4: a line: {problems[0].message}\n"

    repaired = run("log", "repair", str(log))
    assert repaired.exit_code == 0, repaired.stderr
    cut_sha = hashlib.sha256(torn).hexdigest()
    record = jsontext.loads(log.read_bytes().splitlines()[-1])
    assert repaired.stdout == (f"{log}: cut 700 bytes at byte {len(whole)} (sha256 {cut_sha}, after the last newline); "
                               f"appended repair record 4\nhead: record 4, sha256 {record['sha256']}\n")
    assert log.read_bytes().startswith(whole)
    assert {k: v for k, v in record.items() if k not in ("logged_at", "sha256")} == {
        "record": 4, "previous_sha256": jsontext.loads(whole.splitlines()[-1])["sha256"], "type": "repair",
        "repair": {"at_byte": len(whole), "cut_bytes": 700, "cut_sha256": cut_sha, "reason": "after_last_newline"}}
    assert decisionlog.verify(log) == (4, [])
    assert run("log", "repair", str(log)).stdout == f"{log}: nothing to repair: the log ends with a whole record\n"

    decisionlog.append(log, generated_documents(46, 1)[0], trace="none")  # the chain goes on after the repair
    assert numbers(log) == [1, 2, 3, 4, 5] and decisionlog.verify(log) == (5, [])
    log_id = jsontext.loads(whole.splitlines()[0])["decision_id"].partition("-")[0]
    assert jsontext.loads(log.read_bytes().splitlines()[-1])["decision_id"] == f"{log_id}-5"


@pytest.mark.parametrize("last, message", [
    (b'{"decision":{"case"\n', "a torn tail: the last line is not a whole record (a write cut short, or an edit); "
                               "`verdict log repair` cuts it"),
    (None, "the record's content does not match its sha256: it was edited, or it is a torn tail (a write cut short); "
           "`verdict log repair` cuts it"),
], ids=["not-a-record", "hash-does-not-verify"])
def test_a_last_line_that_does_not_verify_is_a_torn_tail(tmp_path, last, message):
    log = log_of(tmp_path, 3)
    lines = log.read_bytes().splitlines(keepends=True)
    if last is None:  # record 3 with one byte changed
        last = lines[2].replace(b'"record":3', b'"record":3 ', 1).replace(b" ", b"", 1)
        last = last.replace(b'"trace":"none"', b'"trace":"full"', 1)
        lines = lines[:2]
    log.write_bytes(b"".join(lines) + last)
    count, problems = decisionlog.verify(log)
    torn = [p for p in problems if p.kind == "torn_tail"]
    assert [(p.line, p.message) for p in torn] == [(len(lines) + 1, message)]
    record = decisionlog.repair(log)
    assert record["repair"]["reason"] == "last_line_unverified" and record["repair"]["cut_bytes"] == len(last)
    assert record["repair"]["cut_sha256"] == hashlib.sha256(last).hexdigest()
    assert decisionlog.verify(log) == (len(lines) + 1, [])
    assert numbers(log) == list(range(1, len(lines) + 2))


def test_a_whole_log_is_not_repaired_and_old_logs_need_nothing(tmp_path):
    log = log_of(tmp_path, 2)
    before = log.read_bytes()
    assert decisionlog.repair(log) is None and log.read_bytes() == before
    for old in (REPO / "tests" / "data" / "engine-0.1" / "decisions.jsonl",
                REPO / "tests" / "data" / "log-before-trace-levels" / "decisions.jsonl"):
        assert decisionlog.verify(old)[1] == []
        copy = tmp_path / old.parent.name
        copy.write_bytes(old.read_bytes())
        assert decisionlog.repair(copy) is None and copy.read_bytes() == old.read_bytes()


def test_repair_refuses_what_is_not_a_log_file(tmp_path):
    link = _symlink(tmp_path)
    result = run("log", "repair", str(link))
    assert result.exit_code == 2
    assert result.stderr == f"{link}: the decision log is a symbolic link, which is not followed; name the file it points to\n"
    assert run("log", "repair", "/dev/zero").exit_code == 2


def _repaired_log(tmp_path: Path) -> Path:
    """A log of two generated decisions, a repair (record 3), and one more decision (record 4)."""
    log = log_of(tmp_path, 2, seed=48)
    with open(log, "ab") as handle:
        handle.write(b'{"decision":{"ca')
    assert decisionlog.repair(log)["record"] == 3
    decisionlog.append(log, generated_documents(49, 1)[0], trace="none")
    assert numbers(log) == [1, 2, 3, 4]
    return log


def test_replay_and_impact_skip_repair_records(tmp_path):
    log = _repaired_log(tmp_path)
    verified = run("log", "verify", str(log), "--replay")
    assert verified.exit_code == 0, verified.stderr
    assert "4 records, 0 chain problem(s), 3 reproduced, 0 not" in verified.stdout
    replayed = run("replay", str(log), "--record", "3")
    assert replayed.exit_code == 2 and "record 3 of " in replayed.stderr and "is a `repair` record: it holds no decision" \
        in replayed.stderr
    assert run("replay", str(log), "--record", "4").exit_code == 0
    record = jsontext.loads(log.read_bytes().splitlines()[2])
    assert engine.audit.replay(record, engine.audit.PolicyIndex([])).status == "not_a_decision"
    impact = run("impact", "aqara-returns", "aqara-returns", "--cases", str(log), "--format", "json")
    assert impact.exit_code == 0, impact.stderr
    assert jsontext.loads(impact.stdout)["cases"] == 3 and impact.stderr == ""


@pytest.mark.parametrize("change, message", [
    (lambda r: r.update(type="note"), "record type `note` is not one this engine writes (`repair`)"),
    (lambda r: r["repair"].update(cut_bytes=0), "repair cut_bytes `0` is not a number of bytes, at least 1"),
    (lambda r: r["repair"].update(cut_sha256="x"), "repair cut_sha256 `x` is not a sha256"),
    (lambda r: r["repair"].update(reason="tidy"), "repair reason `tidy` is not one of after_last_newline, "
                                                  "last_line_unverified"),
    (lambda r: r["repair"].update(at_byte=-1), "repair at_byte `-1` is not a byte offset"),
    (lambda r: r["repair"].pop("reason"), "a repair record's `repair` is not at_byte, cut_bytes, cut_sha256 and reason"),
    (lambda r: r.update(decision={"facts": {}}), "a repair record holds a decision"),
], ids=["type", "cut-bytes", "cut-sha256", "reason", "at-byte", "keys", "decision"])
def test_verify_reports_a_repair_record_no_repair_would_write(tmp_path, change, message):
    log = log_of(tmp_path, 1)
    with open(log, "ab") as handle:
        handle.write(b"torn")
    decisionlog.repair(log)
    lines = log.read_bytes().splitlines()
    record = jsontext.loads(lines[1])
    change(record)
    record["sha256"] = decisionlog.record_digest(record)  # rehashed, as a forger would
    log.write_bytes(lines[0] + b"\n" + decisionlog.canonical(record) + b"\n")
    count, problems = decisionlog.verify(log)
    assert [(p.line, p.kind, p.message) for p in problems] == [(2, "record_keys", message)]


def test_record_numbers_stay_unique_when_a_writer_steps_over_a_torn_line(tmp_path):
    # A crash can leave a torn line that a later writer steps over; the numbers of whole records stay unique.
    log = log_of(tmp_path, 2)
    third = generated_documents(47, 1)[0]
    decisionlog.append(log, third, trace="none")
    lines = log.read_bytes().splitlines(keepends=True)
    log.write_bytes(b"".join(lines[:2]) + lines[2][:-200])  # record 3's write cut short
    decisionlog.append(log, third, trace="none")
    records, problems = decisionlog.read(log)
    assert [r["record"] for _, r in records] == [1, 2, 3]
    assert [(p.line, p.kind) for p in problems] == [(3, "not_a_record")]
