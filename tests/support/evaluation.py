"""The small evaluation set in the paper's layout and its scripted judge."""

from __future__ import annotations

SET = "toolalpaca:toolalpaca_eval.json"


def judge(req):
    text = req.last_user
    right = "2024-06-01" in text.split("The assistant's solution", 1)[1] and "2024-06-01" in text.split("golden", 1)[1]
    return {"process_correctness": "yes" if right else "no", "response_correctness": "yes", "reason": "compared with the golden calls"}
