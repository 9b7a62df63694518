"""The Ray engine: a job's chunks sharded over the actors of a Ray cluster.

The cluster is ``RAY_ADDRESS`` (an existing cluster: every node needs this
project and its requirements installed, and for database jobs a
``DATABASE_URL`` that reaches the shared database), or a local cluster on
this machine when unset. Each actor gets the job's context once (model
objects included, so a model loads once per actor) and then one chunk at a
time, reading the chunk's data itself: from the shared database, or from the
staged file parts (a file system every node sees). Chronos-2 jobs get one
actor per GPU (``num_gpus=1``) where the cluster has GPUs, else one per CPU;
the statistical models one actor per CPU. An actor that dies is replaced;
whether the chunk is tried again is the runner's decision.
"""
from __future__ import annotations

import os

from forecasting.batch.plan import Chunk
from forecasting.batch.work import ChunkContext, ChunkResult, run_chunk

#: models that want an accelerator
GPU_MODELS = ("chronos-2",)
#: how long a failed job waits for its killed actors' chunks to stop
KILL_WAIT_S = 60


class ChunkWorker:
    """The actor: holds the job's context, runs chunks."""

    def __init__(self, context: ChunkContext):
        self.context = context

    def run(self, chunk: Chunk) -> ChunkResult:
        return run_chunk(self.context, chunk)


class RayEngine:
    """Chunks on Ray actors (see the module docstring)."""

    def __init__(self, context: ChunkContext):
        self.context = context
        self._started = False
        self._actors: list = []
        self._idle: list = []
        self._running: dict = {}  # object ref -> (actor, chunk)

    def __enter__(self) -> RayEngine:
        import ray

        if not ray.is_initialized():
            ray.init(address=os.environ.get("RAY_ADDRESS") or None, include_dashboard=False,
                     log_to_driver=False, configure_logging=False)
            self._started = True
        resources = ray.cluster_resources()
        gpus = int(resources.get("GPU", 0))
        wants_gpu = any(m.name in GPU_MODELS for m in self.context.models)
        if wants_gpu and gpus:
            self._options, count = {"num_gpus": 1, "num_cpus": 1}, gpus
        else:
            self._options, count = {"num_cpus": 1}, max(1, int(resources.get("CPU", 1)))
        self._remote = ray.remote(ChunkWorker)
        self._context_ref = ray.put(self.context)
        self._actors = [self._new_actor() for _ in range(count)]
        self._idle = list(self._actors)
        return self

    def _new_actor(self):
        return self._remote.options(**self._options).remote(self._context_ref)

    def __exit__(self, kind, error, trace) -> None:
        import ray

        for actor in self._actors:
            ray.kill(actor)
        if self._running:  # a job that failed: its other chunks stop (killed, or finished) before it is cleaned up
            ray.wait(list(self._running), num_returns=len(self._running), timeout=KILL_WAIT_S)
        self._actors, self._idle, self._running = [], [], {}
        if self._started:
            ray.shutdown()

    def has_capacity(self) -> bool:
        return bool(self._idle)

    def submit(self, chunk: Chunk) -> None:
        actor = self._idle.pop()
        self._running[actor.run.remote(chunk)] = (actor, chunk)

    def next_done(self) -> tuple[Chunk, ChunkResult | BaseException]:
        import ray
        from ray.exceptions import RayActorError, RayTaskError

        [ref], _ = ray.wait(list(self._running), num_returns=1)
        actor, chunk = self._running.pop(ref)
        try:
            result = ray.get(ref)
        except RayTaskError as exc:  # the worker raised: the actor lives on
            self._idle.append(actor)
            return chunk, exc.cause if isinstance(exc.cause, BaseException) else exc
        except RayActorError as exc:  # the actor died (its process or node): a new one takes its place
            replacement = self._new_actor()
            self._actors[self._actors.index(actor)] = replacement
            self._idle.append(replacement)
            return chunk, exc
        self._idle.append(actor)
        return chunk, result
