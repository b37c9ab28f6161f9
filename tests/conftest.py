"""Shared fixtures. Tests never touch ../shared or the network; LLMs are the scripted FakeLLM
(the production code path through litellm's Router) except the one marked ``local_llm``."""

from __future__ import annotations

import json
import os
from pathlib import Path

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ["HF_DATASETS_CACHE"] = __import__("tempfile").mkdtemp(prefix="tf-hf-cache-")  # never the user's cache
for _name in list(os.environ):
    if _name.startswith("TOOLFACTORY_"):
        del os.environ[_name]

import pytest  # noqa: E402  (the environment above must be set first)

from flows.catalog_import import import_catalog  # noqa: E402
from flows.settings import load_settings  # noqa: E402
from schemas.views import DocumentedApi  # noqa: E402
from tasks.formats.chat_format import to_chat_example  # noqa: E402
from tasks.formats.toolalpaca_format import export_record  # noqa: E402
from tests.support.dialogues import variant  # noqa: E402
from tests.support.training import DIALOGUE, SPECIAL, TEMPLATE, TOOLS  # noqa: E402
from toolfactory.testing.fake_llm import FakeLLM  # noqa: E402

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="module")
def duck():
    """A bare in-memory DuckDB connection (for checking compiled SQL)."""
    import duckdb

    con = duckdb.connect()
    yield con
    con.close()


@pytest.fixture
def fixtures() -> Path:
    return FIXTURES


@pytest.fixture
def fake_llm():
    with FakeLLM() as fake:
        yield fake


@pytest.fixture(scope="session")
def prefect_harness():
    """One Prefect test server for the whole session (it takes seconds to start)."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.fixture
def workdir(tmp_path, monkeypatch) -> Path:
    """Run in a fresh folder so ./toolfactory.yaml and ./data are the test's own."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def eval_set_settings(workdir, fixtures, prefect_harness, fake_llm):
    """Settings for a work folder on the fake backends with the small evaluation set
    (``toolalpaca:toolalpaca_eval.json``) imported; ``extra`` YAML lines go on top."""
    from flows.settings import load_settings
    from flows.toolalpaca_import import import_toolalpaca

    def make(extra: str = ""):
        (workdir / "toolfactory.yaml").write_text("backends_file: fake\nwarehouse_path: wh.duckdb\nllm_num_retries: 0\n"
                                                  "eval_report_dir: reports\n" + extra)
        s = load_settings()
        import_toolalpaca(s, fixtures / "toolalpaca_eval.json")
        return s

    return make


@pytest.fixture(scope="module")
def tokenizer():
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    bpe = Tokenizer(models.BPE(unk_token="<unk>"))
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    text = json.dumps({k: DIALOGUE.to_dict()[k] for k in ("dialogue_id", "instruction", "steps", "final_answer")})
    corpus = [text, "ASSISTANT Thought: Action: Action Input: Observation: Response: USER: Functions:"] * 20
    bpe.train_from_iterator(corpus, trainers.BpeTrainer(vocab_size=500, special_tokens=SPECIAL,
                                                        initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    tok = PreTrainedTokenizerFast(tokenizer_object=bpe, eos_token="<eos>", unk_token="<unk>",
                                  additional_special_tokens=SPECIAL[2:])
    tok.chat_template = TEMPLATE
    return tok


@pytest.fixture
def base_model(tmp_path, tokenizer):  # noqa: F811
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    config = LlamaConfig(vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=512,
                         pad_token_id=tokenizer.eos_token_id, eos_token_id=tokenizer.eos_token_id)
    folder = tmp_path / "base"
    LlamaForCausalLM(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


@pytest.fixture
def data(tmp_path):
    variants = [variant(DIALOGUE, instruction=f"Find books by author number {i}.") for i in range(6)]
    jsonl = tmp_path / "train.jsonl"
    jsonl.write_text("".join(json.dumps(to_chat_example(d, TOOLS)) + "\n" for d in variants))
    paper = tmp_path / "train_data.json"
    api = DocumentedApi("b" * 16, "c" * 16, "Books", "c", {"openapi": "3.0.0"}, "searchBooks: find books", {"searchBooks": "find books"})
    paper.write_text(json.dumps([export_record(api, "d", variants)]))
    return jsonl, paper


@pytest.fixture
def settings(workdir, fixtures):
    (workdir / "toolfactory.yaml").write_text(
        "backends_file: fake\nwarehouse_path: wh.duckdb\ndocumenter_spec_mode: operations\nllm_num_retries: 0\n"
        # one missing-detail instruction of three an API, exactly (a share that is not a whole count is drawn per API)
        "instructions_per_api: 3\nmissing_detail_share: 0.3333333334\nunanswerable_share: 0\nmulti_api_share: 0\nchain_share: 0\n"
        "max_concurrent_dialogues: 4\n"
        "dialogue_step_limit: 4\n"
    )
    s = load_settings()
    import_catalog(s, fixtures / "catalog.csv")
    return s


if os.environ.get("PYTEST_XDIST_WORKER"):  # a worker shares the cores with the others: one llama.cpp thread
    import tasks.llm.local_engine as _local_engine

    _local_engine.DEFAULT_THREADS = 1


def pytest_collection_modifyitems(config, items):
    """Tests that run the embedded model share one xdist worker (``make test`` uses ``--dist loadgroup``): two
    llama.cpp thread pools on 2 cores wait on each other's descheduled threads at every barrier and crawl."""
    for item in items:
        if item.get_closest_marker("local_llm") is not None:
            item.add_marker(pytest.mark.xdist_group("embedded_model"))
