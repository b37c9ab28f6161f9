#!/usr/bin/env bash
# SFT MFU on a lent GPU machine (the device tool): the packages its image lacks travel as wheels in .whl/
# (trl, datasets, dill, multiprocess, the jsonschema stack; pyarrow only where the image's is older than 24).
# First the varlen kernel is checked against a written-out reference (forward and backward, on CUDA), then
# benchmarks/sft_throughput.py runs the real job with packing, by attention kernel and model size.
#   run: bash benchmarks/gpu_sft_mfu.sh   (carry .whl; results land in $OUT, one JSON file a run)
set -u
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"
export PYTHONUNBUFFERED=1 TQDM_DISABLE=1 HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false PYTORCH_CUDA_ALLOC_CONF=expandable_segments:True
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site \
  $(ls .whl/*.whl | grep -v pyarrow) || exit 1
export PYTHONPATH=/tmp/site:$PWD
python3 -c "import pyarrow, sys; sys.exit(int(pyarrow.__version__.split('.')[0]) < 24)" \
  || python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .whl/pyarrow-*.whl
{ nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
  python3 -c "import torch, transformers, trl; print('torch', torch.__version__, 'transformers', transformers.__version__, 'trl', trl.__version__)"
} | tee "$OUT/gpu.txt"
python3 -m pytest -q --noconftest -p no:cacheprovider tests/test_training_attention.py 2>&1 | tail -5 | tee "$OUT/kernel_test.txt"
bench() { python3 benchmarks/sft_throughput.py --bf16 --peak-tflops 989 --packing-only "$@" 2>&1 | grep -v -E "Writing model shards|it/s\]|^\{'loss'" | tail -28; }
bench --size large --steps 30 --batch 8 --max-length 2048 --examples 2500 --attn torch_varlen --out "$OUT/large_varlen_b8.json"
bench --size large --steps 15 --batch 8 --max-length 2048 --examples 2500 --out "$OUT/large_sdpa_b8.json"
bench --size xl --steps 30 --batch 8 --max-length 2048 --examples 2500 --attn torch_varlen --out "$OUT/xl_varlen_b8.json"
bench --size large --steps 30 --batch 16 --max-length 2048 --examples 5000 --attn torch_varlen --out "$OUT/large_varlen_b16.json"
bench --size xl --steps 40 --batch 12 --max-length 2048 --examples 5000 --attn torch_varlen --out "$OUT/xl_varlen_b12.json"
bench --size base --steps 30 --batch 8 --max-length 1024 --examples 1500 --attn torch_varlen --out "$OUT/base_varlen_b8.json"
# xl at batch 16 (32k tokens a step) runs out of the H100's 80 GB without gradient checkpointing
bench --size large --steps 30 --batch 16 --max-length 2048 --examples 5000 --attn torch_varlen --gradient-checkpointing --out "$OUT/large_varlen_b16_gc.json"
