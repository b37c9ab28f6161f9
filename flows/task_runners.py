"""Where simulate-corpus runs its per-API tasks, by the ``simulation_task_runner`` setting.

``threads`` (the default): threads of the flow's process, which holds the warehouse and one LLM
client. ``processes``: a pool of ``simulation_processes`` worker processes on this machine (one per
core by default), each with its own LLM client and loop, so the LLM work of a run uses every core.
``dask`` / ``ray``: the tasks of a Dask or Ray cluster (``task_runner_address``, or a local
cluster of ``task_runner_local_workers`` processes). A task away from the flow never opens the
warehouse — the single writer stays the flow's process: it is handed what exists for its API and
returns its records and LLM calls, which the flow lands.
"""

from __future__ import annotations

import os
import queue
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

from prefect.task_runners import ProcessPoolTaskRunner, TaskRunner, ThreadPoolTaskRunner

from flows.settings import Settings

T = TypeVar("T")


def simulation_task_runner(settings: Settings, threads: int) -> TaskRunner:
    """The task runner the settings name (``threads``: a pool of ``threads``)."""
    kind = settings.simulation_task_runner
    if kind == "threads":
        return ThreadPoolTaskRunner(max_workers=threads)
    if kind == "processes":
        return ProcessPoolTaskRunner(max_workers=settings.simulation_processes or os.cpu_count() or 1)
    if kind == "dask":
        try:
            from prefect_dask import DaskTaskRunner
        except ImportError as exc:  # pragma: no cover - a dependency of the project
            raise RuntimeError("simulation_task_runner: dask needs prefect-dask (pip install prefect-dask)") from exc
        if settings.task_runner_address:
            return DaskTaskRunner(address=settings.task_runner_address)
        return DaskTaskRunner(cluster_kwargs={"n_workers": settings.task_runner_local_workers, "threads_per_worker": 1,
                                              "processes": True, "dashboard_address": ":0"})
    try:
        from prefect_ray import RayTaskRunner
    except ImportError as exc:
        raise RuntimeError("simulation_task_runner: ray needs prefect-ray (pip install 'toolfactory[ray]')") from exc
    if settings.task_runner_address:
        return RayTaskRunner(address=settings.task_runner_address)
    return RayTaskRunner(init_kwargs={"num_cpus": settings.task_runner_local_workers, "include_dashboard": False})


_END = object()


def in_window(items: Iterable[T], submit: Callable[[T], Any], width: int,
              may_start: Callable[[], bool] = lambda: True) -> Iterator[tuple[T, Any | None]]:
    """Submit ``items`` keeping at most ``width`` in flight; yield (item, its finished future) as each
    ends, in the order they end. Once ``may_start()`` is false no more is submitted: each item left
    is yielded with None (not started)."""
    done: queue.Queue[tuple[T, Any]] = queue.Queue()
    source = iter(items)
    in_flight = 0
    while True:
        while in_flight < width:
            item = next(source, _END)
            if item is _END:
                break
            if not may_start():
                yield item, None
                continue
            future = submit(item)
            in_flight += 1
            future.add_done_callback(lambda f, item=item: done.put((item, f)))
        if in_flight == 0:
            return
        item, future = done.get()
        in_flight -= 1
        yield item, future
