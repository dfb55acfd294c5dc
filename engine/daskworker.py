"""The Dask workers' side of `verdict batch --dask`: a plugin that brings each worker the compiled policy once.

Imported only for a Dask run (it imports distributed). The client registers one `PolicyPlugin` per run;
the scheduler sends it to every worker once (and to a worker that joins later, when it joins), and its
`setup` makes the policy set from the bytes, once per worker process. A partition names the policy by
its digest only: nothing of the policy travels with it. Removing the plugin at the end of the run
drops the policy set again.

A plugin rather than a scattered copy: the scheduler's active memory manager drops replicas of
scattered data that no queued task waits for, and a later partition would fetch it again.
"""

from __future__ import annotations

import pickle
import threading

import distributed

from .model import PolicySet
from .serial import policy_set_from_data
from .version import ENGINE_VERSION


class WorkerError(RuntimeError):
    """A worker cannot decide with the policy it was sent: another engine version, or no policy."""


_LOCK = threading.Lock()  # a worker runs partitions on its threads, and plugins on its event loop
_POLICY_SETS: dict[str, PolicySet] = {}  # digest -> policy set, while a plugin brings it
_PLUGINS: dict[str, str] = {}  # plugin name -> digest
_COUNTS = {"policy_loads": 0, "partitions": 0}


class PolicyPlugin(distributed.WorkerPlugin):
    """The compiled policy set (`batch.policy_set_bytes`), made into a policy set on each worker once."""

    def __init__(self, name: str, data: bytes, digest: str, engine_version: str) -> None:
        self.name = name
        self.data = data
        self.digest = digest
        self.engine_version = engine_version

    def setup(self, worker) -> None:
        _check_version(self.engine_version)
        with _LOCK:
            if self.digest not in _POLICY_SETS:
                _POLICY_SETS[self.digest] = policy_set_from_data(pickle.loads(self.data))
                _COUNTS["policy_loads"] += 1
            _PLUGINS[self.name] = self.digest
        self.data = b""  # the policy set is kept; the worker need not keep its bytes too

    def teardown(self, worker) -> None:
        with _LOCK:
            digest = _PLUGINS.pop(self.name, None)
            if digest not in _PLUGINS.values():  # another run's plugin may bring the same policy
                _POLICY_SETS.pop(digest, None)


def policy_set_for(digest: str, engine_version: str) -> PolicySet:
    """The policy set a plugin brought this worker, for one partition; raises `WorkerError`."""
    _check_version(engine_version)
    with _LOCK:
        policy_set = _POLICY_SETS.get(digest)
        _COUNTS["partitions"] += 1
    if policy_set is None:
        raise WorkerError(f"the Dask worker {distributed.get_worker().address} was not sent the policy (its plugin "
                          "failed, see the worker's log)")
    return policy_set


def state() -> dict:
    """This worker process's counts: policy sets made from shipped bytes, partitions decided, policies held
    (`client.run(engine.daskworker.state)`)."""
    with _LOCK:
        return {**_COUNTS, "policies": sorted(_POLICY_SETS)}


def _check_version(engine_version: str) -> None:
    if engine_version != ENGINE_VERSION:
        raise WorkerError(f"a Dask worker runs Verdict engine {ENGINE_VERSION} and the client {engine_version}: "
                          "install the same version on every worker")
