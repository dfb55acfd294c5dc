"""`verdict batch --dask`: partitions decided on a Dask cluster are, line for line, what a local batch writes."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import distributed
import psutil
import pytest
from conftest import BASE_FACTS, REPO
from test_batch import generated, jsonl, run

import engine
import engine.cluster
from engine import daskworker, jsontext

BAD_LINES = {  # line number -> a line that cannot be decided (each becomes an error record)
    7: '{"id": "broken", "facts": {',
    120: jsontext.dumps({"id": "bad-units", "facts": {**BASE_FACTS, "units_of_product": "many"}}),
    121: "",
    300: jsontext.dumps({"id": "unknown", "facts": {**BASE_FACTS, "colour": "red"}}),
}


# Every socket on the loopback interface, on a free port. `dashboard_address=None` would still open the
# scheduler's HTTP server (health, metrics) on port 8787, taken by a second cluster; ":0" would open it
# on every interface.
LOOPBACK = {"protocol": "tcp", "host": "127.0.0.1", "dashboard_address": "127.0.0.1:0"}


@pytest.fixture(scope="module")
def cluster():
    """Two worker processes on the loopback interface, no dashboard; closed after the module, every
    worker process gone."""
    before = _children()
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, **LOOPBACK) as local:
        with distributed.Client(local.scheduler_address, set_as_default=False) as client:
            workers = set(client.run(os.getpid).values())
        yield local
    assert len(workers) == 2 and not any(psutil.pid_exists(pid) for pid in workers)
    assert _children() <= before


def _children() -> set[int]:
    """This process's child processes, but for multiprocessing's resource tracker: the first process
    started with `spawn` (a pool of `verdict batch --jobs`, a Dask nanny's worker) starts it, and it
    lives as long as this process, by design."""
    return {child.pid for child in psutil.Process().children(recursive=True)
            if "multiprocessing.resource_tracker" not in " ".join(child.cmdline())}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> tuple[Path, str, str]:
    """A few hundred generated Aqara cases with bad lines among them; the local `--jobs 1` output and counts."""
    lines = jsonl(generated(300, seed=11)).splitlines()
    for number, line in sorted(BAD_LINES.items()):
        lines.insert(number - 1, line)
    source = tmp_path_factory.mktemp("dask-input") / "orders.jsonl"
    source.write_text("\n".join(lines) + "\n", encoding="utf-8")
    local = run(source, "--jobs", 1)
    assert local.exit_code == 3 and len(local.stdout.splitlines()) == 304
    return source, local.stdout, local.stderr


def worker_states(cluster) -> dict:
    """Each worker's counts: policy sets made from shipped bytes, partitions decided, policies held."""
    with distributed.Client(cluster.scheduler_address, set_as_default=False) as client:
        return client.run(daskworker.state)


def test_the_partitions_are_the_local_output_line_for_line(cluster, corpus, tmp_path):
    source, local_out, local_err = corpus
    out = tmp_path / "results"
    before = worker_states(cluster)
    result = run(source, "--dask", cluster.scheduler_address, "--out", out, "--partition-size", 64)
    assert result.exit_code == 3, result.output  # as locally: lines were refused
    assert result.stdout == ""
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    parts = manifest["partitions"]
    assert sorted(p.name for p in out.iterdir()) == ["manifest.json", *(f"part-{i:05d}.jsonl" for i in range(5))]
    assert b"".join((out / p["file"]).read_bytes() for p in parts) == local_out.encode("utf-8")

    # The counts: as the local summary says, per partition and in total.
    assert result.stderr.splitlines()[:-1] == local_err.splitlines()[:-1]
    assert "cases/s on the Dask cluster at tcp://127.0.0.1:" in result.stderr.splitlines()[-1]
    assert manifest["totals"] == {"lines_in": 304, "decisions_out": 300, "refused": 4,
                                  "undetermined": int(local_err.split("undetermined: ")[1].split()[0]),
                                  "evaluation_errors": 0}
    assert [(p["file"], p["first_line"], p["last_line"], p["lines_in"], p["refused"]) for p in parts] == [
        ("part-00000.jsonl", 1, 64, 64, 1), ("part-00001.jsonl", 65, 128, 64, 2), ("part-00002.jsonl", 129, 192, 64, 0),
        ("part-00003.jsonl", 193, 256, 64, 0), ("part-00004.jsonl", 257, 304, 48, 1)]
    for key in ("lines_in", "decisions_out", "refused", "undetermined", "evaluation_errors"):
        assert sum(p[key] for p in parts) == manifest["totals"][key]
    for part in parts:
        content = (out / part["file"]).read_bytes()
        assert part["sha256"] == hashlib.sha256(content).hexdigest()
        assert part["decisions_out"] == sum('"refused":' not in line for line in content.decode().splitlines())

    policy_set = engine.load("aqara-returns")
    assert manifest["policy"] == {"id": "aqara-returns", "version": policy_set.base.identity.version, "compiled": [
        {"chain": p.identity.chain_label(), "content_sha256": p.identity.content_sha256} for p in policy_set.compiled]}
    assert len(manifest["policy"]["compiled"]) == 5  # the base policy, and each variant version
    assert manifest["engine_version"] == engine.ENGINE_VERSION
    assert manifest["options"] == {"input": engine.display_path(source), "variant": None, "as_of": None,
                                   "trace": "none", "partition_size": 64}

    # The policy reached each worker once and was made into a policy set once there, not once per
    # partition; the end of the run removed it.
    after = worker_states(cluster)
    assert after.keys() == before.keys() and len(after) == 2
    assert [after[w]["policy_loads"] - before[w]["policy_loads"] for w in after] == [1, 1]
    assert sum(after[w]["partitions"] - before[w]["partitions"] for w in after) == len(parts)
    assert [state["policies"] for state in after.values()] == [[], []]

    # Again into the same folder: the previous run's files are replaced, by the same bytes.
    first = {p.name: p.read_bytes() for p in out.iterdir()}
    again = run(source, "--dask", cluster.scheduler_address, "--out", out, "--partition-size", 64)
    assert again.exit_code == 3 and {p.name: p.read_bytes() for p in out.iterdir()} == first


def test_a_python_client_and_a_folder_the_workers_cannot_see(cluster, tmp_path, monkeypatch):
    # The folder is named relative to this process's working directory, which the workers do not share:
    # they decide from the bytes the client read.
    shutil.copytree(REPO / "examples" / "cases", tmp_path / "cases")
    (tmp_path / "cases" / "broken.yaml").write_text("facts: [unclosed\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    policy_set = engine.load("aqara-returns")
    options = engine.batch.Options(source="cases")
    local = [o.line for o in engine.batch.decide_items(policy_set, engine.batch.read_items(None, "folder", "cases", Path("cases")),
                                                       options)]
    assert sum('"refused":' in line for line in local) == 1  # broken.yaml, refused with its own name
    seen: list[int] = []
    with distributed.Client(cluster.scheduler_address, set_as_default=False) as client:
        tally = engine.batch.decide_partitions(policy_set, engine.batch.read_items(None, "folder", "cases", Path("cases")),
                                               options, Path("out"), client, partition_size=3,
                                               emit=lambda outcome: seen.append(outcome.number))
        assert client.status == "running"  # a client passed in is left open
    written = b"".join(p.read_bytes() for p in sorted((tmp_path / "out").glob("part-*.jsonl")))
    assert written.decode("utf-8").splitlines() == local
    assert seen == list(range(1, len(local) + 1)) and tally.lines_in == len(local) and tally.refused == 1
    assert [json.loads(line)["file"] for line in local if '"refused":' in line] == ["cases/broken.yaml"]


def test_a_scheduler_lost_midway_is_one_message_and_no_manifest(tmp_path, capfd):
    # A cluster of its own, stopped after the first partition is written.
    small = distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False, **LOOPBACK)
    items = [engine.batch.Item(n, text=jsonl([case]).rstrip("\n")) for n, case in enumerate(generated(40, seed=3), 1)]

    def stop(outcome) -> None:
        if small.status.name == "running":
            small.close()

    try:
        with pytest.raises(engine.batch.ClusterError) as lost:
            engine.batch.decide_partitions(engine.load("aqara-returns"), items, engine.batch.Options(), tmp_path / "out",
                                           small.scheduler_address, partition_size=10, emit=stop)
    finally:
        small.close()
    assert str(lost.value) == (f"lost the Dask scheduler while deciding part-00001.jsonl: {tmp_path / 'out'} has no "
                               "manifest.json, since the run did not finish")
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["part-00000.jsonl"]
    assert "Traceback" not in capfd.readouterr().err


def test_a_scheduler_without_workers_and_an_empty_input(cluster, tmp_path, monkeypatch):
    monkeypatch.setattr(engine.cluster, "WORKERS_TIMEOUT", 0.5)
    empty = tmp_path / "empty.jsonl"
    empty.write_text("", encoding="utf-8")
    with distributed.LocalCluster(n_workers=0, processes=False, **LOOPBACK) as idle:
        result = run(empty, "--dask", idle.scheduler_address, "--out", tmp_path / "idle")
    assert result.exit_code == 2 and result.stderr == (
        f"verdict: the Dask scheduler at `{idle.scheduler_address}` has no worker (waited 0.5 s): start some with "
        f"`dask worker {idle.scheduler_address}`\n")
    assert not (tmp_path / "idle").exists()
    result = run(empty, "--dask", cluster.scheduler_address, "--out", tmp_path / "out")
    assert result.exit_code == 0 and [p.name for p in (tmp_path / "out").iterdir()] == ["manifest.json"]
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["partitions"] == [] and set(manifest["totals"].values()) == {0}


def test_dask_needs_an_out_folder_and_its_own_options(tmp_path):
    source = tmp_path / "cases.jsonl"
    source.write_text(jsonl([{"facts": BASE_FACTS}]), encoding="utf-8")
    for args, message in [
        (["--dask", "tcp://127.0.0.1:8786"], "--dask writes a folder of partitions: name it with --out DIR"),
        (["--dask", "tcp://127.0.0.1:8786", "--out", "-"], "--dask writes a folder of partitions: name it with --out DIR"),
        (["--dask", "tcp://127.0.0.1:8786", "--out", tmp_path / "o", "--jobs", 2], "with --dask, the cluster's workers decide"),
        (["--partition-size", 10], "--partition-size applies with --dask only"),
    ]:
        result = run(source, *args)
        assert result.exit_code == 2 and message in result.stderr and "Traceback" not in result.output, result.output
    assert not (tmp_path / "o").exists()
    assert f"(default {engine.batch.PARTITION_SIZE})" in " ".join(run("--help").stdout.split())


def test_a_scheduler_that_cannot_be_reached_is_one_message_and_exit_2(tmp_path, monkeypatch):
    monkeypatch.setattr(engine.cluster, "CONNECT_TIMEOUT", 0.5)
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    source = tmp_path / "cases.jsonl"
    source.write_text(jsonl([{"facts": BASE_FACTS}]), encoding="utf-8")
    out = tmp_path / "results"
    out.mkdir()
    (out / "manifest.json").write_text("{}", encoding="utf-8")  # a previous run's, kept when nothing runs
    result = run(source, "--dask", f"tcp://127.0.0.1:{port}", "--out", out)
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr == (f"verdict: cannot reach the Dask scheduler at `tcp://127.0.0.1:{port}` within 0.5 s: is "
                             "`dask scheduler` running there, and its port open to this machine?\n")
    assert [p.name for p in out.iterdir()] == ["manifest.json"]
    malformed = run(source, "--dask", "scheduler-host", "--out", out)
    assert malformed.exit_code == 2 and malformed.stderr == (
        "verdict: `scheduler-host` is not the address of a Dask scheduler: give tcp://HOST:PORT, as `dask scheduler` "
        "prints it\n")


def test_the_out_folder_must_be_a_folder_of_a_previous_run_or_new(cluster, tmp_path):
    source = tmp_path / "cases.jsonl"
    source.write_text(jsonl([{"facts": BASE_FACTS}]), encoding="utf-8")
    a_file = tmp_path / "decisions.jsonl"
    a_file.write_text("", encoding="utf-8")
    result = run(source, "--dask", cluster.scheduler_address, "--out", a_file)
    assert result.exit_code == 2 and "is not a folder" in result.stderr
    mixed = tmp_path / "mixed"
    mixed.mkdir()
    (mixed / "notes.txt").write_text("mine", encoding="utf-8")
    (mixed / "part-00000.jsonl").write_text("old", encoding="utf-8")
    result = run(source, "--dask", cluster.scheduler_address, "--out", mixed)
    assert result.exit_code == 2 and "holds `notes.txt`, which is not a file a batch writes" in result.stderr
    assert sorted(p.name for p in mixed.iterdir()) == ["notes.txt", "part-00000.jsonl"]  # nothing deleted
    nested = tmp_path / "new" / "results"
    made = run(source, "--dask", cluster.scheduler_address, "--out", nested)
    assert made.exit_code == 0 and sorted(p.name for p in nested.iterdir()) == ["manifest.json", "part-00000.jsonl"]


def test_a_worker_of_another_engine_version_is_refused(cluster, tmp_path, monkeypatch):
    monkeypatch.setattr(engine.cluster, "ENGINE_VERSION", "9.9.9")  # this client's version; the workers run the real one
    source = tmp_path / "cases.jsonl"
    source.write_text(jsonl([{"facts": BASE_FACTS}]), encoding="utf-8")
    result = run(source, "--dask", cluster.scheduler_address, "--out", tmp_path / "out")
    assert result.exit_code == 2 and result.stderr == (
        f"verdict: a Dask worker runs Verdict engine {engine.ENGINE_VERSION} and the client 9.9.9: install the same "
        "version on every worker\n")
    assert not (tmp_path / "out" / "manifest.json").exists()


def test_only_dask_runs_import_dask():
    # `verdict eval` and a local batch stay light: neither dask nor distributed is imported for them.
    code = ("import sys, cli, engine.batch; "
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'dask', 'distributed', 'tornado'}))")
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                          cwd=REPO).stdout == "[]\n"
