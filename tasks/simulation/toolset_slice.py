"""Bounded prompts for large APIs: every operation is kept, but an instruction's agents see a slice.

An API with more than ``slice_max`` operations (published specs reach hundreds) is too big to show
the user agent and the assistant whole. ``ToolsetSlicer`` shows them a slice:
  - the user agent writes each batch of instructions about a few *target* operations — a window of
    ``targets_size`` consecutive operations (specs list related operations together), chosen by the
    batch's seed so top-ups and later runs move on through the API;
  - the assistant sees the instruction's targets plus up to ``slice_max`` others (their neighbours
    in the spec's order, so it must still choose among similar functions).
The slice is recorded on the instruction (``target_functions``) and the dialogue (``toolset``).
Small APIs are not sliced (``large`` is False; an empty toolset means the whole API).

In: a spec and ``slice_max``. Out: target windows, slices, and the sliced spec (its NL docs and tool
definitions are made from it as from any spec; the executor keeps the whole spec).
"""

from __future__ import annotations

from typing import Any

from tasks.documentation.spec_lint import HTTP_METHODS, iter_operations


class ToolsetSlicer:
    def __init__(self, spec: dict[str, Any], slice_max: int = 20):
        self.spec = spec
        self.slice_max = max(1, slice_max)
        self.names = [op["operationId"] for _, _, op, _ in iter_operations(spec) if isinstance(op.get("operationId"), str)]
        self.targets_size = max(1, self.slice_max // 4)

    @property
    def large(self) -> bool:
        return len(self.names) > self.slice_max

    def targets(self, seed: int) -> list[str]:
        """The window of target operations for a batch with this seed (every window in turn)."""
        windows = max(1, -(-len(self.names) // self.targets_size))
        start = (seed % windows) * self.targets_size
        return self.names[start:start + self.targets_size]

    def slice_for(self, targets: list[str]) -> list[str]:
        """The targets plus up to ``slice_max`` other operations: their neighbours, nearest first."""
        known = [t for t in targets if t in self.names]
        if not known:
            return []
        first, last = self.names.index(known[0]), self.names.index(known[-1])
        others: list[str] = []
        step = 1
        while len(others) < self.slice_max and (first - step >= 0 or last + step < len(self.names)):
            for i in (last + step, first - step):
                if 0 <= i < len(self.names) and self.names[i] not in known and len(others) < self.slice_max:
                    others.append(self.names[i])
            step += 1
        chosen = set(known) | set(others)
        return [n for n in self.names if n in chosen]

    def spec_for(self, names: list[str]) -> dict[str, Any]:
        """The spec with only the operations ``names`` (components and everything else kept)."""
        wanted = set(names)
        paths: dict[str, Any] = {}
        for path, item in (self.spec.get("paths") or {}).items():
            if not isinstance(item, dict):
                continue
            kept = {k: v for k, v in item.items() if k not in HTTP_METHODS
                    or (isinstance(v, dict) and v.get("operationId") in wanted)}
            if any(m in kept for m in HTTP_METHODS):
                paths[path] = kept
        return {**self.spec, "paths": paths}
