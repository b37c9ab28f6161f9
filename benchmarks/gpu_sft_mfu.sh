#!/usr/bin/env bash
# SFT MFU on a lent GPU machine (the device tool): the packages its image lacks travel as wheels in .whl/
# (trl, datasets, dill, multiprocess, the jsonschema stack; pyarrow only where the image's is older than 24),
# then benchmarks/sft_throughput.py runs the real job with packing, by attention kernel and model size.
#   run: bash benchmarks/gpu_sft_mfu.sh   (carry .whl; results land in $OUT)
set -u
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"
export PYTHONUNBUFFERED=1 TQDM_DISABLE=1 HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false PYTORCH_CUDA_ALLOC_CONF=expandable_segments:True
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site \
  $(ls .whl/*.whl | grep -v pyarrow) || exit 1
export PYTHONPATH=/tmp/site:$PWD
python3 -c "import pyarrow, sys; sys.exit(int(pyarrow.__version__.split('.')[0]) < 24)" \
  || python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .whl/pyarrow-*.whl
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | tee "$OUT/gpu.txt"
bench() { python3 benchmarks/sft_throughput.py --bf16 --peak-tflops 989 --packing-only "$@" 2>&1 | grep -v -E "Writing model shards|it/s\]|^\{'loss'" | tail -30; }
bench --size large --steps 30 --batch 8 --max-length 2048 --examples 1500 --attn flex_attention --out "$OUT/large_flex_b8.json"
bench --size base --steps 30 --batch 8 --attn flex_attention --out "$OUT/base_flex_b8.json"
bench --size large --steps 20 --batch 16 --max-length 2048 --examples 2500 --attn flex_attention --out "$OUT/large_flex_b16.json"
