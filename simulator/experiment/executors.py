"""Run many points: in this process, on local processes, or on a Dask cluster.

`run_points` skips points already in the resume store, runs the rest on the
chosen executor, appends each result to the store the moment it arrives, and
returns one record per point in the order the points were given, so the
results never depend on the executor, the number of workers, or the order
in which points finished. Executors: `workers=1` runs in this process; more
workers (default: every core) use a ProcessPoolExecutor; `dask` is a
scheduler address (`tcp://host:port`), `local` for a LocalCluster on
127.0.0.1, or a distributed.Client.
Limitations: a point is the unit of work (no splitting of one long run); a
worker process that dies (out of memory, killed) ends the whole experiment,
though finished points stay in the store.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from typing import Any

from simulator.errors import SimulatorError
from simulator.experiment.points import Point, run_point
from simulator.experiment.store import PointStore, round_trip

logger = logging.getLogger(__name__)

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class RunStats:
    """How many points an experiment ran now and how many it found done."""

    ran: int
    reused: int


def run_points(points: list[Point], workers: int | None = None,
               dask: Any = None, store: PointStore | None = None,
               progress: Progress | None = None) -> tuple[list[dict], RunStats]:
    """One record per point, in order; runs only points not already stored."""
    done = store.load() if store is not None else {}
    reused = sum(1 for point in points if point.key in done)
    todo: dict[str, Point] = {}
    for point in points:
        if point.key not in done:
            todo.setdefault(point.key, point)
    total = len(todo)

    # Progress starts with the first result, after the worker processes fork.
    for count, record in enumerate(_execute(list(todo.values()), workers, dask),
                                   start=1):
        record = round_trip(record)  # as a resumed run would read it
        done[record["key"]] = record
        if store is not None:
            store.append(record)
        if progress is not None:
            progress(count, total)
    return [_for_point(done[point.key], point) for point in points], RunStats(
        total, reused)


def default_workers() -> int:
    """Every core this process may use."""
    try:
        return max(len(os.sched_getaffinity(0)), 1)
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def check_dask(dask: Any) -> None:
    """Refuse a `--dask` value that is no scheduler address (None: no Dask)."""
    if isinstance(dask, str) and dask != "local" and not dask.startswith(
            ("tcp://", "tls://")):
        raise SimulatorError(f"--dask: found {dask!r}; give tcp://host:port, "
                             "tls://host:port or local")


def _execute(points: list[Point], workers: int | None, dask: Any
             ) -> Iterator[dict]:
    if not points:
        return
    if dask is not None:
        yield from _on_dask(points, dask, workers)
        return
    workers = min(workers or default_workers(), len(points))
    if workers <= 1:
        for point in points:
            yield run_point(point)
        return
    with ProcessPoolExecutor(max_workers=workers) as pool:
        futures = [pool.submit(run_point, point) for point in points]
        for future in as_completed(futures):
            yield future.result()


def _on_dask(points: list[Point], dask: Any, workers: int | None
             ) -> Iterator[dict]:
    try:
        from distributed import Client, LocalCluster
        from distributed import as_completed as dask_completed
    except ImportError:  # pragma: no cover - a dependency
        raise SimulatorError("--dask: the dask[distributed] package is not "
                             "installed") from None
    if logging.getLogger().getEffectiveLevel() > logging.INFO:
        logging.getLogger("distributed").setLevel(logging.WARNING)  # quiet by default
    cluster = None
    if isinstance(dask, Client):
        client, own_client = dask, False
    else:
        address = str(dask)
        if address == "local":
            cluster = LocalCluster(host="127.0.0.1", dashboard_address=None,
                                   n_workers=workers or default_workers(),
                                   threads_per_worker=1, processes=True)
            address = cluster.scheduler_address
        check_dask(address)
        try:
            client, own_client = Client(address, timeout="10s"), True
        except (OSError, TimeoutError) as exc:
            if cluster is not None:
                cluster.close()
            raise SimulatorError(f"--dask: cannot reach the scheduler at {address} "
                                 f"({exc})") from None
    try:
        futures = [client.submit(run_point, point, pure=False) for point in points]
        for future in dask_completed(futures):
            yield future.result()
    finally:
        if own_client:
            client.close()
        if cluster is not None:
            cluster.close()


def _for_point(record: dict, point: Point) -> dict:
    """The stored record relabelled for this point (same run, maybe other name)."""
    return {**record, "params": point.params, "label": point.label,
            "replication": point.replication}
