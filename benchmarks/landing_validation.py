"""Validation at landing, side by side on the same synthetic dialogues in one run:

  jsonschema     ``schemas.validate_record`` per record (the jsonschema library: the reference)
  sql            orjson per record, then one SQL pass compiled from the schema (``warehouse.schema_sql``)
                 over the batch — what ``Warehouse.land`` did until 2026-11-27
  jsonschema-rs  orjson per record, then ``schemas.valid_json_texts`` (jsonschema-rs) — what it does now

    .venv/bin/python benchmarks/landing_validation.py [--n 20000] [--batches 100,400,1600] [--repeat 3]

Prints µs per record at ``--n`` records in one batch, and ms per batch at the small batch sizes the
simulation's writer lands (best of ``--repeat``), with the ratios.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import duckdb  # noqa: E402
import orjson  # noqa: E402
import polars as pl  # noqa: E402
from warehouse_ingest import catalog, dialogue  # noqa: E402

from schemas import load_schema, valid_json_texts, validate_record  # noqa: E402
from warehouse.schema_sql import validity_sql  # noqa: E402


def validators(con: duckdb.DuckDBPyConnection) -> dict[str, Callable[[list], int]]:
    """name → f(records) = how many are valid."""
    sql = validity_sql(load_schema("dialogue"), "rec")

    def texts(records: list) -> list[str]:
        return [orjson.dumps(r, option=orjson.OPT_NON_STR_KEYS, default=str).decode() for r in records]

    def with_sql(records: list) -> int:
        con.register("staged", pl.DataFrame({"rec": texts(records)}))
        return con.execute(f"SELECT count(*) FILTER (WHERE {sql}) FROM staged").fetchall()[0][0]

    return {"jsonschema": lambda records: sum(not validate_record("dialogue", r.to_dict()) for r in records),
            "sql": with_sql,
            "jsonschema-rs": lambda records: sum(valid_json_texts("dialogue", texts(records)))}


def best_seconds(fn: Callable[[list], int], records: list, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        valid = fn(records)
        times.append(time.perf_counter() - t)
        assert valid == len(records), valid
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=20_000)
    ap.add_argument("--batches", default="100,400,1600", help="small batch sizes to time per batch")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    rng, apis = random.Random(0), catalog(200)
    records = [dialogue(i, apis[i % len(apis)], rng) for i in range(args.n)]
    fns = validators(duckdb.connect())
    per = {name: best_seconds(fn, records, args.repeat) / args.n * 1e6 for name, fn in fns.items()}
    for name, us in per.items():
        print(f"{name:>14}: {us:6.1f} µs per dialogue ({args.n:,} in one batch)")
    print(f"{'ratios':>14}: sql {per['jsonschema'] / per['sql']:.1f}× and jsonschema-rs "
          f"{per['jsonschema'] / per['jsonschema-rs']:.1f}× faster than jsonschema; jsonschema-rs {per['sql'] / per['jsonschema-rs']:.1f}× sql")
    for size in (int(b) for b in args.batches.split(",")):
        ms = {name: best_seconds(fns[name], records[:size], args.repeat) * 1000 for name in ("sql", "jsonschema-rs")}
        print(f"{'batch of ' + str(size):>14}: sql {ms['sql']:6.1f} ms, jsonschema-rs {ms['jsonschema-rs']:6.2f} ms "
              f"({ms['sql'] / ms['jsonschema-rs']:.0f}×)")


if __name__ == "__main__":
    main()
