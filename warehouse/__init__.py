"""The only code that touches DuckDB: migrations, validated writers, public views, read-only SQL."""

from warehouse.store import Warehouse, WarehouseBusy

__all__ = ["Warehouse", "WarehouseBusy"]
