"""A batch on a Dask cluster: the client side of `verdict batch --dask`.

The client reads the input and cuts it into partitions; the workers decide them (`daskworker`, with
the compiled policy its plugin brought once); the results come back to the client, which writes one
file per partition and then manifest.json. Workers need not see the client's files: a folder's case
files are read by the client and travel as bytes. `distributed` is imported only once a run starts.
"""

from __future__ import annotations

import collections
import hashlib
import json
import logging
import os
import re
import uuid
from pathlib import Path
from typing import Any, Callable, Iterable

from .batch import Item, Options, Outcome, Tally, chunked, decide_items, policy_set_bytes
from .loader import display_path, read_bytes
from .model import PolicySet
from .version import ENGINE_VERSION


#: Input lines per partition (one output file each), and partitions in flight per worker thread: the
#: client holds at most that many partitions' items and results at once, however long the input.
PARTITION_SIZE = 1000
PARTITIONS_IN_FLIGHT_PER_THREAD = 2
#: Seconds to reach the scheduler, and to wait for a first worker when it has none.
CONNECT_TIMEOUT = 10.0
WORKERS_TIMEOUT = 30.0
MANIFEST = "manifest.json"
MANIFEST_FORMAT = 1
_RUN_FILE = re.compile(r"part-\d{5,}\.jsonl|manifest\.json(\.partial)?")


class ClusterError(RuntimeError):
    """The Dask cluster cannot decide the batch: its scheduler cannot be reached (or was lost), it has
    no worker, or a worker runs another engine version. The manifest is not written."""


class OutputFolderError(ValueError):
    """The output folder cannot take the results: it is a file, cannot be made, or holds other files."""


def partition_file(index: int) -> str:
    """`part-00000.jsonl` for the first partition (index 0)."""
    return f"part-{index:05d}.jsonl"


def check_out_dir(out_dir: Path) -> list[Path]:
    """The files of a previous run in `out_dir` (its parts and manifest), which a new run replaces.

    Raises `OutputFolderError` when `out_dir` is not a folder, or holds anything else: another run's
    results are replaced, nothing else is ever deleted. A missing folder is fine (it is made later).
    """
    if not out_dir.exists():
        return []
    if not out_dir.is_dir():
        raise OutputFolderError(f"`{out_dir}` is not a folder: --dask writes a folder of partitions and {MANIFEST}")
    try:
        entries = sorted(out_dir.iterdir())
    except OSError as exc:
        raise OutputFolderError(f"cannot read the folder `{out_dir}`: {exc.strerror}") from None
    foreign = [entry.name for entry in entries if not (_RUN_FILE.fullmatch(entry.name) and entry.is_file())]
    if foreign:
        raise OutputFolderError(f"`{out_dir}` holds `{foreign[0]}`, which is not a file a batch writes: give an empty "
                                f"or a new folder (a previous run's part-*.jsonl and {MANIFEST} are replaced)")
    return entries


def policy_identity(policy_set: PolicySet) -> dict:
    """The policy as the manifest names it: id, version, and every compiled policy's chain and content hash."""
    return {"id": policy_set.id, "version": policy_set.base.identity.version,
            "compiled": [{"chain": policy.identity.chain_label(), "content_sha256": policy.identity.content_sha256}
                         for policy in policy_set.compiled or (policy_set.base,)]}


def decide_partitions(policy_set: PolicySet, items: Iterable[Item], options: Options, out_dir: Path,
                      scheduler: Any, partition_size: int = PARTITION_SIZE,
                      emit: Callable[[Outcome], None] | None = None) -> Tally:
    """Decide every item on a Dask cluster; write `out_dir/part-NNNNN.jsonl` per partition and then
    `out_dir/manifest.json`; return the counts (as `run` does).

    :param scheduler: the scheduler's address (`tcp://HOST:8786`), or a `distributed.Client` to use
        (and leave open).
    :param emit: called with every outcome, in input order, once its partition is written.

    Each line of the partitions is what `run` gives for that item; partitions hold `partition_size`
    items each, in order. The compiled policy goes to every worker once, in a worker plugin, and each
    worker process makes it into a policy set once for the run (`daskworker.state` counts). Raises
    `ClusterError` (the cluster cannot be used), `OutputFolderError` (checked before connecting: a
    previous run's files are deleted only once the scheduler answers), and `BatchInputError`.
    """
    stale = check_out_dir(out_dir)
    client, own = _connect(scheduler)
    try:
        for file in sorted(stale, key=lambda f: f.name != MANIFEST):  # the old manifest first: it would describe them
            file.unlink()
        try:
            out_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise OutputFolderError(f"cannot make the folder `{out_dir}`: {exc.strerror}") from None
        return _decide_on(client, policy_set, items, options, out_dir, partition_size, emit or (lambda outcome: None))
    finally:
        if own:
            _close(client)


def _connect(scheduler: Any) -> tuple[Any, bool]:
    """A client of the scheduler, and whether it is ours to close."""
    if not isinstance(scheduler, str):
        return scheduler, False
    import distributed  # noqa: PLC0415 - only with --dask
    from distributed.comm.addressing import get_address_host_port, normalize_address  # noqa: PLC0415

    try:
        host, _ = get_address_host_port(normalize_address(scheduler))
    except ValueError:
        host = ""
    if not host:
        raise ClusterError(f"`{scheduler}` is not the address of a Dask scheduler: give tcp://HOST:PORT, as "
                           "`dask scheduler` prints it")
    try:
        client = distributed.Client(scheduler, timeout=CONNECT_TIMEOUT, set_as_default=False)
    except (OSError, TimeoutError):
        raise ClusterError(f"cannot reach the Dask scheduler at `{scheduler}` within {CONNECT_TIMEOUT:g} s: is "
                           "`dask scheduler` running there, and its port open to this machine?") from None
    try:
        client.wait_for_workers(1, timeout=WORKERS_TIMEOUT)
    except TimeoutError:
        client.close()
        raise ClusterError(f"the Dask scheduler at `{scheduler}` has no worker (waited {WORKERS_TIMEOUT:g} s): start "
                           f"some with `dask worker {scheduler}`") from None
    return client, True


def _close(client: Any) -> None:
    # Closing a client whose scheduler is lost logs the lost connection's traceback; the ClusterError
    # raised says it in one line.
    logger = logging.getLogger("distributed.client")
    level = logger.level
    if client.status != "running":
        logger.setLevel(logging.CRITICAL + 1)
    try:
        client.close()
    finally:
        logger.setLevel(level)


def _decide_on(client: Any, policy_set: PolicySet, items: Iterable[Item], options: Options, out_dir: Path,
               partition_size: int, emit: Callable[[Outcome], None]) -> Tally:
    import concurrent.futures  # noqa: PLC0415 - what a future of a lost scheduler raises

    from .daskworker import PolicyPlugin, WorkerError  # noqa: PLC0415 - imports distributed

    data = policy_set_bytes(policy_set)
    digest = hashlib.sha256(data).hexdigest()
    plugin = f"verdict-policy-{digest[:12]}-{uuid.uuid4().hex[:8]}"  # this run's; removed at its end
    pending: collections.deque = collections.deque()
    entries: list[dict] = []
    total = Tally()

    def lost(doing: str) -> ClusterError:
        return ClusterError(f"lost the Dask scheduler while {doing}: {out_dir} has no {MANIFEST}, since the run did "
                            "not finish")

    def finish() -> None:
        index, first, last, future = pending.popleft()
        try:
            outcomes = future.result()
        except (OSError, TimeoutError, concurrent.futures.CancelledError):
            raise lost(f"deciding {partition_file(index)}") from None
        entries.append(_write_partition(out_dir, index, first, last, outcomes, total))
        for outcome in outcomes:
            emit(outcome)

    try:
        try:
            # INVARIANT: the policy travels once per worker, in the plugin; a partition names its digest only.
            client.register_plugin(PolicyPlugin(plugin, data, digest, ENGINE_VERSION), name=plugin)
            limit = max(1, sum(client.nthreads().values()) * PARTITIONS_IN_FLIGHT_PER_THREAD)
        except (OSError, TimeoutError):
            raise lost("sending it the policy") from None
        for index, chunk in enumerate(chunked(map(_shippable, items), partition_size)):
            future = client.submit(_decide_partition, digest, ENGINE_VERSION, options, chunk, pure=False)
            pending.append((index, chunk[0].number, chunk[-1].number, future))
            if len(pending) >= limit:
                finish()
        while pending:
            finish()
    except WorkerError as exc:  # from a worker: the plugin's setup, or a partition
        raise ClusterError(str(exc)) from None
    finally:
        if client.status == "running":  # else the scheduler is lost, and the plugin and futures with it
            client.cancel([future for _, _, _, future in pending])
            client.unregister_worker_plugin(plugin)
    _write_manifest(out_dir, {
        "format": MANIFEST_FORMAT, "engine_version": ENGINE_VERSION, "policy": policy_identity(policy_set),
        "options": {"input": options.source, "variant": options.variant,
                    "as_of": options.as_of.isoformat() if options.as_of else None, "trace": options.trace,
                    "partition_size": partition_size},
        "totals": _counts(total), "partitions": entries})
    return total


def _shippable(item: Item) -> Item:
    """The item as a worker on another machine can decide it: a case file's bytes read here."""
    if item.path is None or item.raw is not None or item.problem is not None:
        return item
    raw, problem = read_bytes(Path(item.path))
    if problem is not None:
        return item._replace(problem=problem)
    return item._replace(raw=raw, shown_as=display_path(Path(item.path)))


def _counts(tally: Tally) -> dict:
    return {key: value for key, value in tally.to_dict().items() if key != "by_value"}


def _write_partition(out_dir: Path, index: int, first: int, last: int, outcomes: list[Outcome], total: Tally) -> dict:
    """Write one partition's lines; its manifest entry. Adds its outcomes to `total`."""
    tally = Tally()
    for outcome in outcomes:
        tally.add(outcome)
        total.add(outcome)
    content = "".join(outcome.line + "\n" for outcome in outcomes).encode("utf-8")
    name = partition_file(index)
    _write(out_dir / name, content)
    return {"file": name, "first_line": first, "last_line": last, **_counts(tally),
            "sha256": hashlib.sha256(content).hexdigest()}


def _write_manifest(out_dir: Path, manifest: dict) -> None:
    # Written last, and whole (renamed into place): a folder with a manifest holds a finished run.
    partial = out_dir / f"{MANIFEST}.partial"
    _write(partial, (json.dumps(manifest, indent=2, ensure_ascii=False) + "\n").encode("utf-8"))
    os.replace(partial, out_dir / MANIFEST)


def _write(path: Path, content: bytes) -> None:
    try:
        path.write_bytes(content)
    except OSError as exc:
        raise OutputFolderError(f"cannot write `{path}`: {exc.strerror}") from None


def _decide_partition(digest: str, engine_version: str, options: Options, items: list[Item]) -> list[Outcome]:
    """On a Dask worker: one partition, decided with the policy set its plugin brought (`daskworker`)."""
    from .daskworker import policy_set_for  # noqa: PLC0415 - on a worker, where distributed is

    return decide_items(policy_set_for(digest, engine_version), items, options)
