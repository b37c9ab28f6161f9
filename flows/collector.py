"""Python's cyclic garbage collector, set for a run with thousands of dialogues in flight.

With thousands of dialogue coroutines alive, each holding frames, dicts and records, the collector's
default first threshold (700 new container objects) starts a collection every few calls, and each
older-generation pass walks every live object, the imported stack (Prefect, litellm, DuckDB, polars:
about a million objects) included. Measured on the simulation (docs/benchmarks.md), that was about
40% of the factory's CPU. While a flow's LLM session is open (``tuned_collector``), what already
exists is frozen out of collections (``gc.freeze``: the imports and settings are never garbage) and
the first threshold is ``gc_threshold`` (the older ones stay Python's); on exit both are undone.
Reference counting still frees everything that is not in a cycle at once; cyclic garbage waits
for the next collection a little longer.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_depth = 0
_before: tuple[int, int, int] = gc.get_threshold()


@contextmanager
def tuned_collector(gen0_threshold: int) -> Iterator[None]:
    """Within: objects made before are frozen out of collections and the first generation collects
    every ``gen0_threshold`` allocations (0: leave the collector as it is). Nested or concurrent
    sessions share one setting; the last to leave restores Python's."""
    global _depth, _before
    if gen0_threshold <= 0:
        yield
        return
    with _lock:
        if _depth == 0:
            _before = gc.get_threshold()
            gc.freeze()
            gc.set_threshold(gen0_threshold, *_before[1:])
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0:
                gc.set_threshold(*_before)
                gc.unfreeze()
