"""Ray as the flow's distributed engine: one session helper and one fan-out helper.

``ray_session(address)``: the cluster at ``address`` (or ``RAY_ADDRESS``), else an embedded local
Ray (nothing to start; no dashboard, logs in a temp folder, usage stats off). A session already
open in this process (``ray.is_initialized()``) is used as it is and left open.

``fan_out(fn, items)``: ``[fn(x) for x in items]`` as Ray tasks when Ray is running (initialised
here, or ``RAY_ADDRESS`` set), else in a local thread pool as before. Tasks read and write the
build folder by path: on a multi-machine cluster it must be on a shared file system.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Callable, Iterable, Iterator, TypeVar

T = TypeVar("T")
R = TypeVar("R")
REPO = Path(__file__).resolve().parents[2]
_local_tmp: list[str] = []  # temp folders of the embedded Rays this process started


def _quiet_env() -> None:
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    os.environ.setdefault("RAY_DEDUP_LOGS", "0")
    # a loaded machine starts Python agents and workers slowly: the raylet's waits for them are
    # raised from seconds to minutes (it aborts otherwise, "Timed out waiting for file ...port")
    os.environ.setdefault("RAY_agent_register_timeout_ms", "180000")
    os.environ.setdefault("RAY_worker_register_timeout_seconds", "180")


def runtime_env() -> dict:
    """Workers import this checkout of fpga_flow (a worker started by `ray start` has its own env)."""
    paths = [str(REPO)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p and p != str(REPO)]
    return {"env_vars": {"PYTHONPATH": os.pathsep.join(paths), "RAY_USAGE_STATS_ENABLED": "0",
                         "PYTHONWARNINGS": "ignore"}}


def ray_running() -> bool:
    """True when this process has a Ray session or was pointed at a cluster (``RAY_ADDRESS``)."""
    if "ray" not in sys.modules and not os.environ.get("RAY_ADDRESS"):
        return False  # never imported: cannot be initialised (and importing Ray costs a second)
    try:
        import ray
    except ImportError:
        return False
    return ray.is_initialized() or bool(os.environ.get("RAY_ADDRESS"))


def connect(address: str | None = None, num_cpus: int | None = None) -> bool:
    """Initialise Ray unless it already is; returns True when this call started the session."""
    import ray

    if ray.is_initialized():
        return False
    _quiet_env()
    address = address or os.environ.get("RAY_ADDRESS") or None
    if address:
        ray.init(address=address, runtime_env=runtime_env(), log_to_driver=False, logging_level="ERROR")
        return True
    for attempt in range(3):  # Ray waits 30 s (fixed) for its raylet: a busy machine can miss that
        tmp = tempfile.mkdtemp(prefix="ray-")  # short path: Ray's socket names must stay < 108 chars
        _local_tmp.append(tmp)
        try:
            ray.init(num_cpus=num_cpus, include_dashboard=False, _temp_dir=tmp, runtime_env=runtime_env(),
                     log_to_driver=False, logging_level="ERROR")
            return True
        except Exception as err:  # noqa: BLE001 - Ray raises a bare Exception for the start-up timeout
            ray.shutdown()
            _stop_children_of(tmp)
            if "timed out during startup" not in str(err) or attempt == 2:
                raise
    return True


def _stop_children_of(tmp: str) -> None:
    """End the processes a failed start left behind: our own children whose command line names its folder."""
    import psutil

    procs = []
    for p in psutil.Process().children(recursive=True):
        with contextlib.suppress(psutil.Error):
            if tmp in " ".join(p.cmdline()):
                procs.append(p)
    for p in procs:
        with contextlib.suppress(psutil.Error):
            p.kill()
    psutil.wait_procs(procs, timeout=5)


@contextlib.contextmanager
def ray_session(address: str | None = None, num_cpus: int | None = None) -> Iterator[None]:
    import ray

    started = connect(address, num_cpus)
    try:
        yield
    finally:
        if started:
            ray.shutdown()
            while _local_tmp:
                shutil.rmtree(_local_tmp.pop(), ignore_errors=True)


def cluster_cpus() -> int:
    import ray

    return int(ray.cluster_resources().get("CPU", 1))


def _call(fn: Callable[[T], R], x: T) -> R:
    return fn(x)


def fan_out(fn: Callable[[T], R], items: Iterable[T], *, jobs: int = 1, num_cpus: float = 1,
            max_retries: int = 2) -> list[R]:
    """``[fn(x) for x in items]``, in order: Ray tasks when Ray is running, else ``jobs`` threads."""
    items = list(items)
    if not items:
        return []
    if ray_running():
        import ray

        connect()
        # ray.remote takes plain functions only (not functools.partial): the callable travels as an argument
        task = ray.remote(num_cpus=num_cpus, max_retries=max_retries)(_call)
        return ray.get([task.remote(fn, x) for x in items])
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        return list(pool.map(fn, items))
