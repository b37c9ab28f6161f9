"""``attn_implementation: torch_varlen``: packed rows attend within each example only, through
transformers' own plumbing (position_ids or the collator's cu_seq_lens). Self-contained (no conftest
fixtures), so the GPU machine runs it as it is: ``pytest --noconftest tests/test_training_attention.py``."""

from __future__ import annotations

import math

import pytest
import torch

from training.attention import NAME, register, sequence_bounds, varlen_attention_forward


def reference(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, bounds: list[int]) -> torch.Tensor:
    """Causal attention written out (softmax of masked scores), one example at a time; (tokens, heads, dim)."""
    out = []
    for a, b in zip(bounds[:-1], bounds[1:], strict=False):
        qs, ks, vs = q[a:b].transpose(0, 1), k[a:b].transpose(0, 1), v[a:b].transpose(0, 1)
        scores = qs @ ks.transpose(-1, -2) / math.sqrt(q.shape[-1])
        scores = scores.masked_fill(torch.ones(b - a, b - a, dtype=torch.bool).triu(1).to(q.device), float("-inf"))
        out.append((scores.softmax(-1) @ vs).transpose(0, 1))
    return torch.cat(out)


class Layer(torch.nn.Module):
    training = False


def packed(tokens: int = 23, heads: int = 4, kv_heads: int = 4, dim: int = 8, device: str = "cpu",
           dtype: torch.dtype = torch.float32) -> tuple[torch.Tensor, ...]:
    g = torch.Generator().manual_seed(0)
    q = torch.randn(1, heads, tokens, dim, generator=g)
    k, v = (torch.randn(1, kv_heads, tokens, dim, generator=g) for _ in range(2))
    return tuple(t.to(device=device, dtype=dtype) for t in (q, k, v))


def test_boundaries_from_position_ids_keep_each_example_to_itself():
    q, k, v = packed()
    position_ids = torch.tensor([list(range(7)) + list(range(10)) + list(range(6))])
    out, weights = varlen_attention_forward(Layer(), q, k, v, None, position_ids=position_ids)
    assert weights is None and out.shape == (1, 23, 4, 8)
    expected = reference(q[0].transpose(0, 1), k[0].transpose(0, 1), v[0].transpose(0, 1), [0, 7, 17, 23])
    torch.testing.assert_close(out[0], expected)
    whole_row = reference(q[0].transpose(0, 1), k[0].transpose(0, 1), v[0].transpose(0, 1), [0, 23])
    assert not torch.allclose(out[0][7:], whole_row[7:])  # a mask-less causal row would differ after the first example


def test_the_collators_cu_seq_lens_win_and_grouped_query_heads_are_shared():
    q, k, v = packed(kv_heads=2)
    cu = torch.tensor([0, 5, 23], dtype=torch.int32)
    out, _ = varlen_attention_forward(Layer(), q, k, v, None, cu_seq_lens_q=cu, max_length_q=18,
                                      position_ids=torch.arange(23)[None])  # position_ids alone would say one example
    k2, v2 = (t[0].repeat_interleave(2, dim=0).transpose(0, 1) for t in (k, v))
    torch.testing.assert_close(out[0], reference(q[0].transpose(0, 1), k2, v2, [0, 5, 23]))


def test_rows_without_boundaries_are_one_example_each():
    cu, longest = sequence_bounds(3, 10, torch.device("cpu"), {})
    assert cu.tolist() == [0, 10, 20, 30] and longest == 10 and cu.dtype == torch.int32
    cu, longest = sequence_bounds(2, 4, torch.device("cpu"), {"position_ids": torch.arange(4)[None]})
    assert cu.tolist() == [0, 4, 8] and longest == 4


def test_what_it_cannot_do_is_refused():
    q, k, v = packed()
    layer = Layer()
    layer.training = True
    with pytest.raises(ValueError, match="no attention dropout"):
        varlen_attention_forward(layer, q, k, v, None, dropout=0.1)
    with pytest.raises(ValueError, match="no sliding-window"):
        varlen_attention_forward(Layer(), q, k, v, None, sliding_window=4)
    with pytest.raises(ValueError, match="for training"):  # one new token against a cache of 23
        varlen_attention_forward(Layer(), q[:, :, -1:], k, v, None)


def tiny_llama(attn: str):
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    config = LlamaConfig(vocab_size=64, hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
                         num_key_value_heads=2, max_position_embeddings=128)
    config._attn_implementation = attn
    return LlamaForCausalLM(config).eval()


def test_a_packed_row_through_the_model_equals_its_examples_run_alone():
    """The registered name goes through transformers' model code: a row of three packed examples gives
    each example the logits it gets alone (eager attention), on position_ids and on the collator's keys."""
    register()
    model, alone = tiny_llama(NAME), tiny_llama("eager")
    alone.load_state_dict(model.state_dict())
    examples = [torch.randint(0, 64, (n,), generator=torch.Generator().manual_seed(n)) for n in (9, 14, 5)]
    row = torch.cat(examples)[None]
    position_ids = torch.cat([torch.arange(len(e)) for e in examples])[None]
    cu = torch.tensor([0, 9, 23, 28], dtype=torch.int32)
    with torch.no_grad():
        by_positions = model(input_ids=row, position_ids=position_ids).logits[0]
        by_collator = model(input_ids=row, position_ids=position_ids, cu_seq_lens_q=cu, cu_seq_lens_k=cu,
                            max_length_q=14, max_length_k=14).logits[0]
        expected = torch.cat([alone(input_ids=e[None]).logits[0] for e in examples])
    torch.testing.assert_close(by_positions, expected, atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(by_collator, expected, atol=1e-5, rtol=1e-4)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="the flash kernel needs CUDA")
def test_the_flash_kernel_matches_the_reference_forward_and_backward():
    from training.attention import _flash_varlen

    assert _flash_varlen() is not None, "this PyTorch has no torch.nn.attention.varlen"
    q, k, v = (t.requires_grad_() for t in packed(tokens=300, heads=8, kv_heads=8, dim=64, device="cuda",
                                                  dtype=torch.bfloat16))
    position_ids = torch.cat([torch.arange(n) for n in (100, 150, 50)])[None].cuda()
    out, _ = varlen_attention_forward(Layer(), q, k, v, None, position_ids=position_ids)
    out.float().square().sum().backward()
    grads = [t.grad.clone() for t in (q, k, v)]
    q32, k32, v32 = (t.detach().float().requires_grad_() for t in (q, k, v))
    expected = reference(*(t[0].transpose(0, 1) for t in (q32, k32, v32)), [0, 100, 250, 300])
    expected.square().sum().backward()
    torch.testing.assert_close(out[0].float(), expected, atol=2e-2, rtol=2e-2)
    for got, want in zip(grads, (q32.grad, k32.grad, v32.grad), strict=True):
        torch.testing.assert_close(got.float(), want, atol=5e-2, rtol=5e-2)
