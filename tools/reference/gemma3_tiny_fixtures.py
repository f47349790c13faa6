#!/usr/bin/env python3
"""Write tiny random Gemma-3 text models and their golden logits for Tests/LLMTuneModelsTests/Fixtures/gemma3.

Oracle: transformers Gemma3ForCausalLM (fp32, CPU, eager attention). Two models:

- tiny-gemma3: 6 layers (llama.cpp's fixed pattern: layers 0-4 sliding, layer 5 global), sliding_window 4,
  query_pre_attn_scalar = head_dim (what llama.cpp assumes for every Gemma-3 size but 27B). Saved as an HF folder
  AND as a GGUF (arch gemma3) written with llama.cpp's convert_hf_to_gguf.py conventions: tensor names
  token_embd / blk.N.{attn_norm, attn_q, attn_k, attn_v, attn_output, attn_q_norm, attn_k_norm,
  post_attention_norm, ffn_norm, ffn_gate, ffn_up, ffn_down, post_ffw_norm} / output_norm, Q/K rows NOT permuted,
  and every `*norm.weight` stored as 1 + w (the converter adds one; transformers' GGUF loader subtracts it again).
- tiny-gemma3-scaled: HF only, 3 layers with explicit layer_types [sliding, full, sliding], sliding_window 3,
  query_pre_attn_scalar 24 != head_dim 16, legacy top-level rope_theta / rope_local_base_freq config keys.

Usage: python3 tools/reference/gemma3_tiny_fixtures.py [--out Tests/LLMTuneModelsTests/Fixtures/gemma3]
"""

from __future__ import annotations

import argparse
import json
import os

import numpy as np
import torch

import gguf
from transformers import Gemma3ForCausalLM, Gemma3TextConfig

SEED = 4321
TOLERANCE = 1e-4


def randomize(model, gen):
    """Weights that give O(1) logits: HF norm weights are offsets from 1 (the module multiplies by 1 + w)."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("norm.weight"):
                p.copy_(0.2 * torch.randn(p.shape, generator=gen))
            elif "embed_tokens" in name:
                p.copy_(0.15 * torch.randn(p.shape, generator=gen))
            else:
                p.copy_(0.25 * torch.randn(p.shape, generator=gen))


def logits_of(model, ids):
    with torch.no_grad():
        return model(input_ids=torch.tensor(ids)).logits.float().numpy()


def write_golden(folder, name, ids, logits, extra):
    logits.astype("<f4").tofile(os.path.join(folder, name + "_logits.f32"))
    doc = dict(input_ids=ids, logits_file=name + "_logits.f32", logits_shape=list(logits.shape),
               tolerance=TOLERANCE, **extra)
    with open(os.path.join(folder, name + ".json"), "w") as f:
        json.dump(doc, f, indent=1)


def gguf_name(hf):
    top = {"model.embed_tokens.weight": "token_embd.weight", "model.norm.weight": "output_norm.weight"}
    if hf in top:
        return top[hf]
    parts = hf.split(".")
    layer, module = parts[2], ".".join(parts[3:-1])
    inner = {"input_layernorm": "attn_norm", "post_attention_layernorm": "post_attention_norm",
             "pre_feedforward_layernorm": "ffn_norm", "post_feedforward_layernorm": "post_ffw_norm",
             "self_attn.q_proj": "attn_q", "self_attn.k_proj": "attn_k", "self_attn.v_proj": "attn_v",
             "self_attn.o_proj": "attn_output", "self_attn.q_norm": "attn_q_norm", "self_attn.k_norm": "attn_k_norm",
             "mlp.gate_proj": "ffn_gate", "mlp.up_proj": "ffn_up", "mlp.down_proj": "ffn_down"}
    return f"blk.{layer}.{inner[module]}.{parts[-1]}"


def write_gguf(path, cfg, model):
    w = gguf.GGUFWriter(path, arch="gemma3")
    w.add_name("tiny-gemma3")
    w.add_file_type(gguf.LlamaFileType.ALL_F32)
    w.add_context_length(cfg.max_position_embeddings)
    w.add_embedding_length(cfg.hidden_size)
    w.add_block_count(cfg.num_hidden_layers)
    w.add_feed_forward_length(cfg.intermediate_size)
    w.add_head_count(cfg.num_attention_heads)
    w.add_head_count_kv(cfg.num_key_value_heads)
    w.add_key_length(cfg.head_dim)
    w.add_value_length(cfg.head_dim)
    w.add_layer_norm_rms_eps(cfg.rms_norm_eps)
    w.add_rope_freq_base(cfg.rope_parameters["full_attention"]["rope_theta"])
    w.add_sliding_window(cfg.sliding_window)
    w.add_vocab_size(cfg.vocab_size)
    for name, t in model.state_dict().items():
        if name == "lm_head.weight":
            continue  # tied
        data = t.float().numpy().copy()
        if name.endswith("norm.weight"):
            data = data + 1.0  # llama.cpp's convert_hf_to_gguf.py Gemma3Model: norm weights + 1
        w.add_tensor(gguf_name(name), data.astype(np.float32))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def make(out, name, cfg_kwargs, seq_len, gguf_too, legacy_config=None):
    gen = torch.Generator().manual_seed(SEED + len(name))
    cfg = Gemma3TextConfig(**cfg_kwargs)
    cfg._attn_implementation = "eager"
    model = Gemma3ForCausalLM(cfg).eval()
    randomize(model, gen)
    folder = os.path.join(out, name)
    os.makedirs(folder, exist_ok=True)
    model.save_pretrained(folder, safe_serialization=True)
    for extra in ("generation_config.json",):
        p = os.path.join(folder, extra)
        if os.path.exists(p):
            os.remove(p)
    if legacy_config:
        with open(os.path.join(folder, "config.json")) as f:
            doc = json.load(f)
        doc.pop("rope_parameters", None)
        doc.update(legacy_config)
        with open(os.path.join(folder, "config.json"), "w") as f:
            json.dump(doc, f, indent=2, sort_keys=True)
        # The rewritten config must describe the same model.
        reloaded = Gemma3ForCausalLM.from_pretrained(folder, attn_implementation="eager").eval()
    else:
        reloaded = model
    ids = torch.randint(0, cfg.vocab_size, (2, seq_len), generator=gen).tolist()
    logits = logits_of(reloaded, ids)
    assert np.abs(logits - logits_of(model, ids)).max() < 1e-6
    write_golden(folder, "golden", ids, logits,
                 dict(layer_types=cfg.layer_types, max_abs_logit=float(np.abs(logits).max())))
    if gguf_too:
        path = os.path.join(out, name + ".gguf")
        write_gguf(path, cfg, model)
        # transformers' own GGUF loader (which subtracts 1 from the norms) must give the same logits.
        back = Gemma3ForCausalLM.from_pretrained(out, gguf_file=name + ".gguf", attn_implementation="eager",
                                                 sliding_window=cfg.sliding_window,
                                                 query_pre_attn_scalar=cfg.query_pre_attn_scalar).eval()
        d = np.abs(logits_of(back, ids) - logits).max()
        print(f"{name}.gguf via transformers' GGUF loader: max |dlogit| {d:.2e}")
        assert d < 1e-4, d
    print(name, "logits", logits.shape, "max |logit|", np.abs(logits).max())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="Tests/LLMTuneModelsTests/Fixtures/gemma3")
    out = ap.parse_args().out
    os.makedirs(out, exist_ok=True)
    common = dict(vocab_size=96, hidden_size=32, intermediate_size=64, num_attention_heads=2, num_key_value_heads=1,
                  head_dim=16, rms_norm_eps=1e-6, max_position_embeddings=64, tie_word_embeddings=True,
                  hidden_activation="gelu_pytorch_tanh", pad_token_id=0, bos_token_id=2, eos_token_id=1)
    make(out, "tiny-gemma3",
         dict(common, num_hidden_layers=6, sliding_window=4, query_pre_attn_scalar=16,
              rope_parameters={"full_attention": {"rope_type": "default", "rope_theta": 1_000_000.0},
                               "sliding_attention": {"rope_type": "default", "rope_theta": 10_000.0}}),
         seq_len=11, gguf_too=True)
    make(out, "tiny-gemma3-scaled",
         dict(common, num_hidden_layers=3, sliding_window=3, query_pre_attn_scalar=24,
              layer_types=["sliding_attention", "full_attention", "sliding_attention"],
              rope_parameters={"full_attention": {"rope_type": "default", "rope_theta": 50_000.0},
                               "sliding_attention": {"rope_type": "default", "rope_theta": 500.0}}),
         seq_len=9, gguf_too=False, legacy_config={"rope_theta": 50_000.0, "rope_local_base_freq": 500.0})


if __name__ == "__main__":
    main()
