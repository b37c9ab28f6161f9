"""One ``regenerate`` flow run on the scripted fake LLM, as a program: the browser test runs it against a
Prefect server of its own (``PREFECT_API_URL`` in the environment) from a work folder.

    python -m tests.support.regenerate_once WORKDIR
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from tests.support.scripts import FIXTURES, script_agents
from toolfactory.testing.fake_llm import FakeLLM


def main(workdir: str) -> int:
    os.chdir(workdir)
    Path("toolfactory.yaml").write_text(
        "backends_file: fake\nwarehouse_path: wh.duckdb\ndocumenter_spec_mode: operations\nllm_num_retries: 0\n"
        "instructions_per_api: 2\nunanswerable_share: 0\ndialogue_step_limit: 4\ncuration_tokenizer: words\n"
        "training_threshold: 1000\n")
    from flows.pipeline import regenerate
    from flows.settings import describe, load_settings

    with FakeLLM() as fake:
        script_agents(fake)
        out = regenerate(settings=describe(load_settings()), catalog=str(FIXTURES / "catalog.csv"))
    print(f"clean instances: {out['curation']['clean_instances']}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
