"""The factory as a service: Prefect deployments of its flows (``toolfactory serve``).

  regenerate/scheduled      the whole pipeline (catalog → toolset → simulation → curation → snapshot →
                            training trigger) on the cron schedule ``regenerate_cron``; incremental:
                            what exists is found by content hash and costs no LLM call
  training-trigger/train    the training trigger (by hand from the UI: ``by_hand=true``)
  evaluate/evaluate         an evaluation (parameters ``set_source`` and ``model``)

``toolfactory serve`` serves them from this process (Prefect ``serve``: runs start here, in
subprocesses, with this folder's settings); ``prefect.yaml`` declares the same flows for workers
on a work pool (docker-compose.yml).
"""

from __future__ import annotations

from typing import Any

from flows.evaluate import evaluate
from flows.pipeline import regenerate
from flows.settings import Settings
from flows.train import training_trigger


def deployments(settings: Settings, flow_settings: dict[str, Any] | None = None) -> list[Any]:
    """The RunnerDeployments to serve. ``flow_settings``: settings passed to every run (None: each
    run reads ``toolfactory.yaml`` and the environment where it runs)."""
    common = {"settings": flow_settings} if flow_settings is not None else {}
    return [
        regenerate.to_deployment(name="scheduled", cron=settings.regenerate_cron or None,
                                 parameters={**common, "catalog": settings.regenerate_catalog},
                                 description="The whole pipeline, incremental: only what changed costs LLM calls.",
                                 tags=["toolfactory"]),
        training_trigger.to_deployment(name="train", parameters=dict(common), tags=["toolfactory", "training"],
                                       description="Start training when enough new clean instances are ready (by_hand: now)."),
        evaluate.to_deployment(name="evaluate", parameters=dict(common), tags=["toolfactory", "evaluation"],
                               description="Evaluate a model (parameter model) on a set (parameter set_source)."),
    ]


def serve(settings: Settings) -> None:  # pragma: no cover  (blocks until interrupted; the deployments are tested)
    from prefect import serve as prefect_serve

    prefect_serve(*deployments(settings))
