"""``toolfactory status``: the factory's state in one screen, read from the warehouse (it takes its
turn on the file, so it answers while flows write)."""

from __future__ import annotations

from typing import Any

from flows.runtime import open_warehouse
from flows.settings import Settings
from warehouse.reports import factory_status


def status(settings: Settings) -> dict[str, Any]:
    with open_warehouse(settings) as wh:
        return factory_status(wh)
