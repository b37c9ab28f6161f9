"""``toolfactory calibrate FILE``: how a deterministic score agrees with the paper's judge.

Reads a file in the paper's judged-outputs layout (``tasks.evaluation.judged_outputs``) and scores every judged
solution against its standard answer with exact match (``tasks.evaluation.exact_match``, the parameter table read
from the record's documentation). Out: per score, the confusion matrix against GPT-4's *process*
verdicts (records judged ``Yes`` or ``No``; ``Uncertain`` and unjudged records are counted, not scored),
agreement, false-accept and false-refuse rates, and every disagreement with its reasons.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flows.files import read_json_file
from flows.settings import Settings
from tasks.evaluation.exact_match import score_calls
from tasks.evaluation.judged_outputs import JudgedRecord, parameter_table_from_docs, read_judged
from tasks.evaluation.process_score import score_process


def exact_match(record: JudgedRecord) -> tuple[bool, list[str]]:
    """The strict score: every golden call, in order, no extra call."""
    predicted = [{"action": c["action"], "action_input": c["action_input"]} for c in record.predicted]
    score = score_calls(record.golden, predicted, parameter_table_from_docs(record.documentation))
    return score.correct, score.reasons


def process(record: JudgedRecord) -> tuple[bool, list[str]]:
    """The lenient process score (``tasks.evaluation.process_score``)."""
    score = score_process(record.golden, record.predicted, record.instruction, parameter_table_from_docs(record.documentation))
    return score.accepted, score.reasons


SCORES = {"exact_match": exact_match, "process": process}


def calibrate(settings: Settings, path: str | Path) -> dict[str, Any]:
    """See the module docstring. ``records``: all; ``scored``: judged Yes or No and readable."""
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"{p}: no such file")
    records = read_judged(read_json_file(p, settings.import_max_bytes))
    scored = [r for r in records if r.process in ("Yes", "No") and not r.problems]
    out: dict[str, Any] = {"records": len(records), "scored": len(scored),
                           "not_scored": {"uncertain": sum(r.process == "Uncertain" for r in records),
                                          "unjudged": sum(r.process is None for r in records),
                                          "unreadable": sum(bool(r.problems) for r in records)}}
    for name, score in SCORES.items():
        cells = {"accept_yes": 0, "accept_no": 0, "refuse_yes": 0, "refuse_no": 0}
        disagreements = []
        for r in scored:
            ok, reasons = score(r)
            cells[f"{'accept' if ok else 'refuse'}_{r.process.lower()}"] += 1  # type: ignore[union-attr]
            if ok != (r.process == "Yes"):
                disagreements.append({"api": r.api, "id": r.record_id, "judge": r.process, "score": "accept" if ok else "refuse",
                                      "reasons": reasons[:5]})
        n = max(len(scored), 1)
        yes, no = cells["accept_yes"] + cells["refuse_yes"], cells["accept_no"] + cells["refuse_no"]
        out[name] = {"confusion": cells, "agreement": round((cells["accept_yes"] + cells["refuse_no"]) / n, 4),
                     "false_accept_rate": round(cells["accept_no"] / max(no, 1), 4),
                     "false_refuse_rate": round(cells["refuse_yes"] / max(yes, 1), 4), "disagreements": disagreements}
    return out


def calibration_table(out: dict[str, Any]) -> str:
    """The calibration as text: one block per score, then its disagreements."""
    lines = [f"records {out['records']}, scored {out['scored']} (not scored: "
             + ", ".join(f"{k} {v}" for k, v in out["not_scored"].items()) + ")"]
    for name in SCORES:
        s, c = out[name], out[name]["confusion"]
        lines += ["", f"== {name}: agreement {100 * s['agreement']:.1f}%, false accepts {100 * s['false_accept_rate']:.1f}% "
                      f"of the judge's No, false refusals {100 * s['false_refuse_rate']:.1f}% of its Yes",
                  "               judge Yes  judge No", f"  accept       {c['accept_yes']:>9}  {c['accept_no']:>8}",
                  f"  refuse       {c['refuse_yes']:>9}  {c['refuse_no']:>8}"]
        lines += [f"  - {d['api']} #{d['id']}: judge {d['judge']}, {d['score']}: " + "; ".join(d["reasons"])[:240]
                  for d in s["disagreements"]]
    return "\n".join(lines)
