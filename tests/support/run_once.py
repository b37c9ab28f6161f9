"""``toolfactory run`` on the scripted fake LLM, as a program with the real file descriptors (what a
user's terminal sees): the run-output test reads its stdout and stderr.

    python -m tests.support.run_once WORKDIR [toolfactory run options …]
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from tests.support.scripts import script_agents
from toolfactory.testing.fake_llm import FakeLLM


def main(workdir: str, *options: str) -> int:
    os.chdir(workdir)
    Path("toolfactory.yaml").write_text(
        "backends_file: fake\ndocumenter_spec_mode: operations\nllm_num_retries: 0\nunanswerable_share: 0\n"
        "curation_tokenizer: words\ntraining_auto: false\n")
    from toolfactory.cli import main as cli

    with FakeLLM() as fake:
        script_agents(fake)
        return cli(["run", *options])


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
