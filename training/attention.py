"""``attn_implementation: torch_varlen`` — packed rows on PyTorch's own variable-length flash kernel.

Packing (TRL's best-fit, padding-free) hands the model one long row of many examples with their
boundaries (``cu_seq_lens_q`` from the collator, else ``position_ids`` restarting at 0). transformers'
``sdpa`` turns those boundaries into a block-diagonal mask over the whole row — quadratic memory, and a
masked SDPA kernel — and ``flash_attention_2`` needs the ``flash-attn`` package, which many GPU images
lack and which builds from source for an hour. PyTorch ≥ 2.10 ships the same varlen flash kernel as
``torch.nn.attention.varlen.varlen_attn``; this module registers it with transformers under the name
``torch_varlen``: no mask is built, each example attends causally within itself only.

Where that kernel can't run (CPU, fp32, an older PyTorch) the same boundaries go through
``scaled_dot_product_attention`` one example at a time: the same result, slower. Training only: no KV
cache, no attention dropout, no sliding window (refused, not ignored); transformers does not save the
setting with the model, so a trained model loads for generation with its default (sdpa).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from functools import lru_cache
from typing import Any

import torch
import torch.nn.functional as F

NAME = "torch_varlen"


def register() -> None:
    """Make ``attn_implementation="torch_varlen"`` known to transformers (idempotent). Not registered
    for mask creation on purpose: transformers then builds no mask, and the boundaries come from the batch."""
    from transformers import AttentionInterface

    AttentionInterface.register(NAME, varlen_attention_forward)


def varlen_attention_forward(module: torch.nn.Module, query: torch.Tensor, key: torch.Tensor, value: torch.Tensor,
                             attention_mask: torch.Tensor | None, dropout: float = 0.0, scaling: float | None = None,
                             sliding_window: int | None = None, **kwargs: Any) -> tuple[torch.Tensor, None]:
    """transformers' attention-function contract: query (batch, heads, seq, dim), key and value (batch,
    kv_heads, seq, dim) → (output (batch, seq, heads, dim), no weights). Boundaries from ``cu_seq_lens_q`` /
    ``max_length_q`` (padding-free batches), else from ``position_ids``, else one example per row."""
    if dropout and module.training:
        raise ValueError(f"{NAME} has no attention dropout (attention_dropout={dropout}); use sdpa")
    if sliding_window is not None:
        raise ValueError(f"{NAME} has no sliding-window attention; use sdpa or flash_attention_2 for this model")
    if query.shape[2] != key.shape[2]:  # decoding against a cache (the cache itself never reaches this function)
        raise ValueError(f"{NAME} is for training (full rows); generate with sdpa")
    batch, heads, seq, dim = query.shape
    cu_seqlens, max_len = sequence_bounds(batch, seq, query.device, kwargs)
    q, k, v = (t.transpose(1, 2).reshape(batch * seq, t.shape[1], dim) for t in (query, key, value))
    if k.shape[1] != heads:  # grouped-query attention: each kv head serves heads // kv_heads query heads
        k, v = (t.repeat_interleave(heads // t.shape[1], dim=1) for t in (k, v))
    kernel = _flash_varlen() if q.is_cuda and q.dtype in (torch.float16, torch.bfloat16) else None
    if kernel is not None:
        out = kernel(q, k, v, cu_seqlens, max_len, scaling)
    else:
        out = _per_example_sdpa(q, k, v, cu_seqlens.tolist(), scaling)
    return out.reshape(batch, seq, heads, dim), None


def sequence_bounds(batch: int, seq: int, device: torch.device, kwargs: dict[str, Any]) -> tuple[torch.Tensor, int]:
    """(cumulative example starts over the flattened batch, int32 with the total at the end; the longest example)."""
    cu = kwargs.get("cu_seq_lens_q")
    if cu is not None and kwargs.get("max_length_q") is not None:
        return cu.to(device=device, dtype=torch.int32), int(kwargs["max_length_q"])
    position_ids = kwargs.get("position_ids")
    if position_ids is not None and position_ids.shape[-1] == seq:
        flat = position_ids.expand(batch, seq).reshape(-1)
        starts = (flat == 0).nonzero().flatten()
        if starts.numel() == 0 or int(starts[0]) != 0:  # a row that does not start an example: one per row
            starts = torch.arange(0, batch * seq, seq, device=flat.device)
    else:
        starts = torch.arange(0, batch * seq, seq, device=device)
    cu = torch.cat([starts, starts.new_tensor([batch * seq])]).to(device=device, dtype=torch.int32)
    return cu, int(cu.diff().max())


@lru_cache(maxsize=1)
def _flash_varlen() -> Callable[..., torch.Tensor] | None:
    """PyTorch's varlen flash kernel as f(q, k, v, cu_seqlens, max_len, scale), causal; None before 2.10.
    2.10 takes ``is_causal``; later releases a ``window_size`` where (-1, 0) is causal."""
    try:
        from torch.nn.attention.varlen import varlen_attn
    except ImportError:
        return None
    params = inspect.signature(varlen_attn).parameters
    causal = {"window_size": (-1, 0)} if "window_size" in params else {"is_causal": True}
    takes_scale = "scale" in params

    def call(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, cu: torch.Tensor, max_len: int,
             scale: float | None) -> torch.Tensor:
        extra = {"scale": scale} if takes_scale and scale is not None else {}
        if scale is not None and not takes_scale and abs(scale - q.shape[-1] ** -0.5) > 1e-9:
            q = q * (scale * q.shape[-1] ** 0.5)  # this release's kernel always scales by dim ** -0.5
        return varlen_attn(q, k, v, cu, cu, max_len, max_len, **causal, **extra)

    return call


def _per_example_sdpa(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, cu: list[int],
                      scale: float | None) -> torch.Tensor:
    """The fallback: causal SDPA over each example's slice (tokens, heads, dim) → the same layout."""
    parts = []
    for start, end in zip(cu[:-1], cu[1:], strict=False):
        qs, ks, vs = (t[start:end].transpose(0, 1).unsqueeze(0) for t in (q, k, v))
        parts.append(F.scaled_dot_product_attention(qs, ks, vs, is_causal=True, scale=scale)[0].transpose(0, 1))
    return torch.cat(parts, dim=0)
