"""Every row of every table of a warehouse as text: what a leak test searches."""

from pathlib import Path

from warehouse import Warehouse


def text_of_warehouse(path: Path) -> str:
    parts = []
    with Warehouse.open(path) as wh:
        for (name,) in wh.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = 'main'"):
            parts += [str(row) for row in wh.execute(f'SELECT * FROM "{name}"')]
    return "\n".join(parts)
