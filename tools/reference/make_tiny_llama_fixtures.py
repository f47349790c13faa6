#!/usr/bin/env python3
"""Write tiny random Llama-family models and their golden logits for Tests/LLMTuneModelsTests/Fixtures.

Oracles: transformers (fp32, CPU, eager attention) for the HF directories, cross-checked against the
independent numpy forward in numpy_llama.py; the GGUF files are written with the `gguf` package
(GGUFWriter) using llama.cpp's convert_hf_to_gguf.py Q/K row permutation and are read back, dequantized
and run through the numpy forward with interleaved rope (and through transformers' own GGUF loader).

Usage: python3 tools/reference/make_tiny_llama_fixtures.py [--out Tests/LLMTuneModelsTests/Fixtures]
Layout of everything written here: Tests/LLMTuneModelsTests/Fixtures/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys

import numpy as np
import torch

import gguf
import transformers
from safetensors.numpy import load_file
from transformers import (LlamaConfig, LlamaForCausalLM, MistralConfig, MistralForCausalLM, Qwen2Config,
                          Qwen2ForCausalLM)

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from numpy_llama import (LlamaHyper, LlamaNumpy, hf_name_to_gguf, load_gguf_llama,  # noqa: E402
                         permute_for_interleaved_rope, unpermute_from_interleaved_rope)

SEED = 1234
SEQ_LEN = 12
TOLERANCE = 1e-4  # suggested absolute tolerance on logits for an fp32 implementation

COMMON = dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
              num_key_value_heads=2, max_position_embeddings=128, hidden_act="silu")

MODELS = {
    "tiny-llama": (LlamaConfig, LlamaForCausalLM,
                   dict(COMMON, vocab_size=256, rope_theta=10000.0, rms_norm_eps=1e-5, tie_word_embeddings=False)),
    "tiny-llama-tied": (LlamaConfig, LlamaForCausalLM,
                        dict(COMMON, vocab_size=256, rope_theta=100000.0, rms_norm_eps=1e-5,
                             tie_word_embeddings=True)),
    "tiny-mistral": (MistralConfig, MistralForCausalLM,
                     dict(COMMON, vocab_size=128, rope_theta=10000.0, rms_norm_eps=1e-5, sliding_window=6,
                          tie_word_embeddings=False)),
    "tiny-qwen2": (Qwen2Config, Qwen2ForCausalLM,
                   dict(COMMON, vocab_size=128, rope_theta=1000000.0, rms_norm_eps=1e-6, tie_word_embeddings=True,
                        use_sliding_window=False)),
}

# Config files written in the legacy (transformers 4 / most Hub checkpoints) form, with a top-level
# "rope_theta" instead of transformers 5's "rope_parameters": a loader must accept both.
LEGACY_ROPE_CONFIG = {"tiny-llama-tied", "tiny-qwen2"}


def randomize(model: torch.nn.Module, gen: torch.Generator) -> None:
    """Replace the 0.02-std init by weights that give logits of magnitude ~1-5."""
    with torch.no_grad():
        for name, p in model.named_parameters():  # tied lm_head appears once (as embed_tokens)
            if name.endswith("norm.weight"):
                p.copy_(1.0 + 0.1 * torch.randn(p.shape, generator=gen))
            elif "embed_tokens" in name or "lm_head" in name:
                p.copy_(0.3 * torch.randn(p.shape, generator=gen))
            elif name.endswith(".bias"):
                p.copy_(0.2 * torch.randn(p.shape, generator=gen))
            else:
                p.copy_(0.2 * torch.randn(p.shape, generator=gen))


def hyper_from_config(cfg, rope_style: str = "half") -> LlamaHyper:
    return LlamaHyper(vocab_size=cfg.vocab_size, hidden_size=cfg.hidden_size,
                      intermediate_size=cfg.intermediate_size, num_layers=cfg.num_hidden_layers,
                      num_heads=cfg.num_attention_heads, num_kv_heads=cfg.num_key_value_heads,
                      rope_theta=float(cfg.rope_parameters["rope_theta"]), rms_norm_eps=cfg.rms_norm_eps,
                      rope_style=rope_style, sliding_window=getattr(cfg, "sliding_window", None),
                      tied_embeddings=cfg.tie_word_embeddings)


def write_golden(json_path: str, bin_path: str, ids: np.ndarray, logits: np.ndarray, extra: dict) -> None:
    logits32 = np.ascontiguousarray(logits, dtype="<f4")
    logits32.tofile(bin_path)
    doc = {
        "input_ids": ids.tolist(),
        "logits_file": os.path.basename(bin_path),
        "logits_shape": list(logits32.shape),
        "logits_dtype": "float32 little-endian, row-major (batch, position, vocab), no header",
        "tolerance": TOLERANCE,
        "argmax_last": [int(np.argmax(logits32[b, -1])) for b in range(ids.shape[0])],
        "logits_0_0_first8": [float(v) for v in logits32[0, 0, :8]],
        "logits_1_last_first8": [float(v) for v in logits32[1, -1, :8]],
        "max_abs_logit": float(np.abs(logits32).max()),
        "generator": "tools/reference/make_tiny_llama_fixtures.py",
        "versions": {"torch": torch.__version__, "transformers": transformers.__version__,
                     "gguf": _gguf_version(), "numpy": np.__version__},
    }
    doc.update(extra)
    with open(json_path, "w") as f:
        f.write(dump_json(doc))


def dump_json(doc) -> str:
    """Indented JSON with innermost lists of numbers kept on one line."""
    text = json.dumps(doc, indent=1)

    def collapse(match: re.Match) -> str:
        return re.sub(r"\s+", " ", match.group(0)).replace("[ ", "[").replace(" ]", "]")

    return re.sub(r"\[[-0-9.,e\s]*\]", collapse, text) + "\n"


def _gguf_version() -> str:
    from importlib.metadata import version
    return version("gguf")


def torch_logits(model, ids: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        return model(torch.tensor(ids, dtype=torch.long)).logits.float().numpy()


def make_hf_model(name: str, out_dir: str, report: dict) -> tuple:
    cfg_cls, model_cls, kwargs = MODELS[name]
    torch.manual_seed(SEED)
    gen = torch.Generator().manual_seed(SEED + sum(map(ord, name)))
    cfg = cfg_cls(**kwargs)
    cfg._attn_implementation = "eager"
    model = model_cls(cfg).eval()
    randomize(model, gen)
    model.config.use_cache = True

    ids = torch.randint(0, cfg.vocab_size, (2, SEQ_LEN), generator=gen).numpy()
    logits = torch_logits(model, ids)  # (2, T, V), one batched call
    single = torch_logits(model, ids[:1])  # row 0 alone must equal row 0 of the batch
    d_single = float(np.abs(single[0] - logits[0]).max())

    path = os.path.join(out_dir, name)
    os.makedirs(path, exist_ok=True)
    model.save_pretrained(path, safe_serialization=True)
    for extra_file in ("generation_config.json",):
        p = os.path.join(path, extra_file)
        if os.path.exists(p):
            os.remove(p)
    cfg_path = os.path.join(path, "config.json")
    with open(cfg_path) as f:
        cfg_json = json.load(f)
    if name in LEGACY_ROPE_CONFIG:
        rope = cfg_json.pop("rope_parameters")
        cfg_json["rope_theta"] = rope["rope_theta"]
        cfg_json["rope_scaling"] = None
    with open(cfg_path, "w") as f:
        json.dump(cfg_json, f, indent=2, sort_keys=True)
        f.write("\n")

    # Reload from disk (checks the config rewrite and the safetensors) and recompute.
    reloaded = model_cls.from_pretrained(path, attn_implementation="eager", dtype=torch.float32).eval()
    d_reload = float(np.abs(torch_logits(reloaded, ids) - logits).max())
    assert d_reload < 1e-6, (name, d_reload)

    # Independent numpy forward from the saved safetensors.
    weights = load_file(os.path.join(path, "model.safetensors"))
    hyper = hyper_from_config(reloaded.config)
    ref = LlamaNumpy(hyper, weights)
    d_numpy = float(np.abs(ref.logits(ids) - logits).max())
    assert d_numpy < 1e-4, (name, d_numpy)

    # Mutations a wrong implementation could make: each must move the logits far beyond the tolerance.
    mutations = {}
    for label, change in (("rope_interleaved_instead_of_half", dict(rope_style="interleaved")),
                          ("rope_theta_x10", dict(rope_theta=hyper.rope_theta * 10)),
                          ("no_sliding_window", dict(sliding_window=None)),
                          ("rms_eps_1e-2", dict(rms_norm_eps=1e-2))):
        if label == "no_sliding_window" and hyper.sliding_window is None:
            continue
        h2 = LlamaHyper(**{**hyper.__dict__, **change})
        mutations[label] = float(np.abs(LlamaNumpy(h2, weights).logits(ids) - logits).max())
    if any(k.endswith(".bias") for k in weights):
        nobias = {k: v for k, v in weights.items() if not k.endswith(".bias")}
        mutations["no_qkv_bias"] = float(np.abs(LlamaNumpy(hyper, nobias).logits(ids) - logits).max())
    if not hyper.tied_embeddings:
        mutations["tied_instead_of_lm_head"] = float(
            np.abs(LlamaNumpy(LlamaHyper(**{**hyper.__dict__, "tied_embeddings": True}), weights).logits(ids)
                   - logits).max())
    assert all(v > 100 * TOLERANCE for v in mutations.values()), (name, mutations)

    write_golden(os.path.join(path, "golden.json"), os.path.join(path, "golden_logits.f32"), ids, logits,
                 {"model": name, "model_class": model_cls.__name__, "attn_implementation": "eager",
                  "rope_theta": hyper.rope_theta, "sliding_window": hyper.sliding_window,
                  "tie_word_embeddings": hyper.tied_embeddings})
    report[name] = {"max|numpy-torch|": d_numpy, "max|single-batch|": d_single, "max|reload|": d_reload,
                    "max_abs_logit": float(np.abs(logits).max()), "logit_std": float(logits.std()),
                    "mutation_min_diff": min(mutations.values()), "mutations": mutations,
                    "params": sum(p.numel() for p in model.parameters())}
    return model, cfg, ids, logits, weights, hyper


def write_tiny_gguf(path: str, cfg, weights: dict, qtype: gguf.GGMLQuantizationType) -> None:
    """GGUF v3, arch llama, Q/K rows permuted like convert_hf_to_gguf.py, 1-D tensors always F32."""
    w = gguf.GGUFWriter(path, arch="llama")
    w.add_name("tiny-llama")
    w.add_file_type(gguf.LlamaFileType.ALL_F32 if qtype == gguf.GGMLQuantizationType.F32
                    else gguf.LlamaFileType.MOSTLY_Q8_0)
    w.add_context_length(cfg.max_position_embeddings)
    w.add_embedding_length(cfg.hidden_size)
    w.add_block_count(cfg.num_hidden_layers)
    w.add_feed_forward_length(cfg.intermediate_size)
    w.add_head_count(cfg.num_attention_heads)
    w.add_head_count_kv(cfg.num_key_value_heads)
    w.add_rope_freq_base(float(cfg.rope_parameters["rope_theta"]))
    w.add_layer_norm_rms_eps(cfg.rms_norm_eps)
    w.add_rope_dimension_count(cfg.hidden_size // cfg.num_attention_heads)
    w.add_vocab_size(cfg.vocab_size)
    # Minimal byte-level tokenizer: 256 tokens, token i is byte i in GPT-2's byte-to-unicode alphabet.
    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre("default")
    byte_to_char = gpt2_bytes_to_unicode()
    w.add_token_list([byte_to_char[b] for b in range(256)])
    w.add_token_types([gguf.TokenType.NORMAL] * 256)
    assert cfg.vocab_size == 256
    for hf_name, tensor in weights.items():
        data = np.ascontiguousarray(tensor, dtype=np.float32)
        if hf_name.endswith("self_attn.q_proj.weight"):
            data = permute_for_interleaved_rope(data, cfg.num_attention_heads)
        elif hf_name.endswith("self_attn.k_proj.weight"):
            data = permute_for_interleaved_rope(data, cfg.num_key_value_heads)
        name = hf_name_to_gguf(hf_name)
        if data.ndim == 2 and qtype != gguf.GGMLQuantizationType.F32:
            q = gguf.quants.quantize(data, qtype)
            w.add_tensor(name, q, raw_dtype=qtype)
        else:
            w.add_tensor(name, data)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def gpt2_bytes_to_unicode() -> dict[int, str]:
    printable = (list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1))
                 + list(range(ord("®"), ord("ÿ") + 1)))
    mapping, extra = {}, 0
    for b in range(256):
        if b in printable:
            mapping[b] = chr(b)
        else:
            mapping[b] = chr(256 + extra)
            extra += 1
    return mapping


def make_ggufs(out_dir: str, model, cfg, ids, logits, weights, report: dict) -> None:
    # F32: same weights, so the golden is tiny-llama/golden.json.
    f32_path = os.path.join(out_dir, "tiny-llama.gguf")
    write_tiny_gguf(f32_path, cfg, weights, gguf.GGMLQuantizationType.F32)
    hyper, gw, meta = load_gguf_llama(f32_path)
    assert hyper.rope_style == "interleaved" and not hyper.tied_embeddings
    d_interleaved = float(np.abs(LlamaNumpy(hyper, gw).logits(ids) - logits).max())
    h_half = LlamaHyper(**{**hyper.__dict__, "rope_style": "half"})
    d_half_on_permuted = float(np.abs(LlamaNumpy(h_half, gw).logits(ids) - logits).max())
    assert d_interleaved < 1e-4 and d_half_on_permuted > 1e-2, (d_interleaved, d_half_on_permuted)
    tf_gguf = LlamaForCausalLM.from_pretrained(out_dir, gguf_file="tiny-llama.gguf", dtype=torch.float32,
                                               attn_implementation="eager").eval()
    d_tf_gguf = float(np.abs(torch_logits(tf_gguf, ids) - logits).max())
    assert d_tf_gguf < 1e-4, d_tf_gguf
    report["tiny-llama.gguf"] = {"max|numpy(interleaved, GGUF rows)-golden|": d_interleaved,
                                 "max|numpy(rotate-half on permuted rows)-golden| (must be large)":
                                     d_half_on_permuted,
                                 "max|transformers(gguf_file)-golden|": d_tf_gguf,
                                 "bytes": os.path.getsize(f32_path)}

    # Q8_0: 2-D tensors quantized, norms F32; golden from the dequantized weights.
    q8_path = os.path.join(out_dir, "tiny-llama-q8_0.gguf")
    write_tiny_gguf(q8_path, cfg, weights, gguf.GGMLQuantizationType.Q8_0)
    hyper_q, gw_q, _ = load_gguf_llama(q8_path)
    numpy_q8 = LlamaNumpy(hyper_q, gw_q).logits(ids)
    # Same dequantized weights, un-permuted, in the transformers model -> golden.
    hf_state = {}
    for k, v in gw_q.items():
        if k.endswith("self_attn.q_proj.weight"):
            v = unpermute_from_interleaved_rope(v, cfg.num_attention_heads)
        elif k.endswith("self_attn.k_proj.weight"):
            v = unpermute_from_interleaved_rope(v, cfg.num_key_value_heads)
        hf_state[k] = torch.from_numpy(np.array(v, dtype=np.float32))
    missing, unexpected = model.load_state_dict(hf_state, strict=False)
    assert not unexpected and all("rotary" in m for m in missing), (missing, unexpected)
    q8_logits = torch_logits(model, ids)
    d_q8_numpy = float(np.abs(numpy_q8 - q8_logits).max())
    d_q8_vs_f32 = float(np.abs(q8_logits - logits).max())
    assert d_q8_numpy < 1e-4 and d_q8_vs_f32 > 1e-3, (d_q8_numpy, d_q8_vs_f32)
    write_golden(os.path.join(out_dir, "tiny-llama-q8_0.golden.json"),
                 os.path.join(out_dir, "tiny-llama-q8_0.golden_logits.f32"), ids, q8_logits,
                 {"model": "tiny-llama-q8_0.gguf", "model_class": "LlamaForCausalLM",
                  "attn_implementation": "eager", "rope_theta": hyper_q.rope_theta, "sliding_window": None,
                  "tie_word_embeddings": False,
                  "note": "weights = gguf.quants.dequantize of the Q8_0 tensors (norms F32), Q/K un-permuted "
                          "into transformers LlamaForCausalLM; same input_ids as tiny-llama/golden.json"})
    report["tiny-llama-q8_0.gguf"] = {"max|numpy(interleaved)-transformers|": d_q8_numpy,
                                      "max|q8 golden - f32 golden| (quantization effect)": d_q8_vs_f32,
                                      "bytes": os.path.getsize(q8_path)}


def main() -> None:
    here = os.path.dirname(os.path.abspath(__file__))
    default_out = os.path.join(here, "..", "..", "Tests", "LLMTuneModelsTests", "Fixtures")
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", default=os.path.normpath(default_out))
    args = parser.parse_args()
    torch.set_num_threads(1)
    os.makedirs(args.out, exist_ok=True)
    report: dict = {}
    made = {name: make_hf_model(name, args.out, report) for name in MODELS}
    model, cfg, ids, logits, weights, _ = made["tiny-llama"]
    make_ggufs(args.out, model, cfg, ids, logits, weights, report)
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
