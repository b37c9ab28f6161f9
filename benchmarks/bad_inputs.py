"""The reliability table: each hostile or broken input of ``toolfactory.testing.bad_inputs`` run
through the command line as its own process — outcome (exit status and the one line), wall time,
peak memory (``VmHWM``), and whether anything from outside the inputs reached the warehouse.

    .venv/bin/python benchmarks/bad_inputs.py            # prints a markdown table
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from toolfactory.testing.bad_inputs import CASES, LEAKS, leaked, run_case  # noqa: E402


def main() -> int:
    print("| input | command | exit | what the terminal says | s | peak MB | leaked |")
    print("|---|---|---:|---|---:|---:|---|")
    failures = 0
    for case in CASES:
        with tempfile.TemporaryDirectory(prefix="tf-bad-") as tmp:
            out = run_case(case, Path(tmp))
            leaks = leaked(Path(tmp)) + [leak for leak in LEAKS if leak in out.stdout + out.stderr]
        said = out.stderr.strip() if out.code else next((ln.strip() for ln in out.stdout.splitlines() if case.expect_text in ln), "")
        said = said.replace("|", "\\|").replace(tmp, "…")[:160]
        ok = out.code == case.expect_code and "Traceback" not in out.stdout + out.stderr and not leaks
        failures += not ok
        print(f"| {case.name} | `toolfactory {' '.join(case.argv)[:60]}` | {out.code} | {said} | {out.seconds:.1f} "
              f"| {out.peak_mb:.0f} | {', '.join(leaks) or 'nothing'} |")
    print(f"\n{len(CASES) - failures} of {len(CASES)} as expected")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
