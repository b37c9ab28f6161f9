"""Validation at landing, side by side on the same synthetic dialogues in one run:

  jsonschema   ``schemas.validate_record`` per record (the jsonschema library)
  sql          what ``Warehouse.land`` does: orjson per record, then one SQL pass compiled from the
               schema (``warehouse.schema_sql``) over the batch

    .venv/bin/python benchmarks/landing_validation.py [--n 20000] [--repeat 3]

Prints µs per record (best of ``--repeat``) and the ratio.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import duckdb  # noqa: E402
import orjson  # noqa: E402
import polars as pl  # noqa: E402
from warehouse_ingest import catalog, dialogue  # noqa: E402

from schemas import load_schema, validate_record  # noqa: E402
from warehouse.schema_sql import validity_sql  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=20_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    rng, apis = random.Random(0), catalog(200)
    records = [dialogue(i, apis[i % len(apis)], rng) for i in range(args.n)]
    con = duckdb.connect()
    sql = validity_sql(load_schema("dialogue"), "rec")

    def with_jsonschema() -> int:
        return sum(not validate_record("dialogue", r.to_dict()) for r in records)

    def with_sql() -> int:
        texts = [orjson.dumps(r, option=orjson.OPT_NON_STR_KEYS, default=str).decode() for r in records]
        con.register("staged", pl.DataFrame({"rec": texts}))
        return con.execute(f"SELECT count(*) FILTER (WHERE {sql}) FROM staged").fetchall()[0][0]

    best = {}
    for name, fn in (("jsonschema", with_jsonschema), ("sql", with_sql)):
        times = []
        for _ in range(args.repeat):
            t = time.perf_counter()
            valid = fn()
            times.append(time.perf_counter() - t)
            assert valid == args.n, (name, valid)
        best[name] = min(times) / args.n * 1e6
        print(f"{name:>10}: {best[name]:6.1f} µs per dialogue")
    print(f"     ratio: sql is {best['jsonschema'] / best['sql']:.1f}× faster")


if __name__ == "__main__":
    main()
