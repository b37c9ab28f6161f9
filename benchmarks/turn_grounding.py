"""The turn-level grounding rule (``invented_argument``, issue 21 part 4) on a real model's outputs: the paper's
ToolAlpaca-7B predictions with GPT-4's verdicts (``judged_outputs_toolalpaca7b.json``). Each prediction becomes a
dialogue of its calls, checked turn by turn (``tasks.curation.turns.check_turns``); how often the rule fires, and
how the dialogues it refuses were judged on their process.

    .venv/bin/python benchmarks/turn_grounding.py [--data ../shared/data]
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from schemas.records import Dialogue, Step  # noqa: E402
from tasks.curation.turns import check_turns  # noqa: E402
from tasks.evaluation.exact_match import arguments_of  # noqa: E402
from tasks.evaluation.judged_outputs import read_judged  # noqa: E402


def as_dialogue(record) -> Dialogue:
    steps = [Step(i, "", "", c["action"], arguments_of(c.get("action_input")) or {}, c.get("observation") or "", 200, True, None, 0.0)
             for i, c in enumerate(record.predicted)]
    steps.append(Step(len(steps), "", "", None, None, None, None, True, None, 0.0, answer=record.final_response or ""))
    return Dialogue("0" * 16, "0" * 16, "0" * 16, "0" * 16, record.instruction or "-", "normal", steps, record.final_response,
                    "final_answer", len(record.predicted), 0, {}, {}, 0, 0, None)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=str(Path(__file__).resolve().parents[2] / "shared" / "data"))
    args = ap.parse_args()
    records = read_judged(json.loads((Path(args.data) / "toolalpaca" / "judged_outputs_toolalpaca7b.json").read_text()))
    fired, process = Counter(), Counter()
    for r in records:
        if not r.predicted or r.process is None:
            continue
        bad = [c for c in check_turns(as_dialogue(r)) if c.verdict.reason == "invented_argument"]
        fired[bool(bad)] += 1
        process[(bool(bad), r.process)] += 1
    total = sum(fired.values())
    print(f"{total} judged predictions with calls; the rule refuses {fired[True]} ({fired[True] / total:.1%})\n")
    print("| rule | GPT-4 process Yes | No | Uncertain |")
    print("|---|---:|---:|---:|")
    for flag in (True, False):
        print(f"| {'refused' if flag else 'kept'} | " + " | ".join(str(process[(flag, v)]) for v in ("Yes", "No", "Uncertain")) + " |")


if __name__ == "__main__":
    main()
