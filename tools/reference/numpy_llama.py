"""Independent numpy forward pass of a Llama-family decoder (Llama, Mistral, Qwen2, SmolLM2).

Oracle only: used by make_tiny_llama_fixtures.py and smollm2_reference.py to cross-check transformers
and to compute goldens from GGUF weights. Written from the published architecture (RMSNorm, rotary
position embedding, grouped-query attention, SwiGLU MLP), not from the transformers code path, so an
agreement between both is evidence that a golden is right.

Weights use HF names and HF layouts: every linear weight is [out, in] and y = x W^T (+ b).
Everything is computed in float64 regardless of the dtype of the weights.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class LlamaHyper:
    vocab_size: int
    hidden_size: int
    intermediate_size: int
    num_layers: int
    num_heads: int
    num_kv_heads: int
    rope_theta: float
    rms_norm_eps: float
    head_dim: int = 0
    # "half": HF rotate-half (pairs (i, i + d/2)); "interleaved": llama.cpp NORM mode (pairs (2i, 2i+1)),
    # which is what GGUF files whose attn_q / attn_k rows were permuted by convert_hf_to_gguf.py expect.
    rope_style: str = "half"
    sliding_window: int | None = None  # key k is visible from query q iff q - window < k <= q
    tied_embeddings: bool = False

    def __post_init__(self) -> None:
        if self.head_dim == 0:
            self.head_dim = self.hidden_size // self.num_heads


def permute_for_interleaved_rope(w: np.ndarray, n_head: int) -> np.ndarray:
    """The row permutation llama.cpp's convert_hf_to_gguf.py applies to q_proj (n_head = heads) and
    k_proj (n_head = kv heads): within each head, rows [0..d/2) and [d/2..d) are interleaved so that
    rotate-half pairs (i, i + d/2) become adjacent pairs (2i, 2i + 1). Works for weights and biases."""
    return (w.reshape(n_head, 2, w.shape[0] // n_head // 2, *w.shape[1:])
            .swapaxes(1, 2)
            .reshape(w.shape))


def unpermute_from_interleaved_rope(w: np.ndarray, n_head: int) -> np.ndarray:
    """Inverse of permute_for_interleaved_rope."""
    return (w.reshape(n_head, w.shape[0] // n_head // 2, 2, *w.shape[1:])
            .swapaxes(1, 2)
            .reshape(w.shape))


def _rms_norm(x: np.ndarray, w: np.ndarray, eps: float) -> np.ndarray:
    var = np.mean(x * x, axis=-1, keepdims=True)
    return x / np.sqrt(var + eps) * w


def _rope(x: np.ndarray, positions: np.ndarray, theta: float, style: str) -> np.ndarray:
    # x: (B, H, T, D)
    d = x.shape[-1]
    inv_freq = 1.0 / (theta ** (np.arange(0, d, 2, dtype=np.float64) / d))  # (D/2,)
    ang = positions[:, None].astype(np.float64) * inv_freq[None, :]  # (T, D/2)
    cos, sin = np.cos(ang), np.sin(ang)
    if style == "half":
        a, b = x[..., : d // 2], x[..., d // 2:]
        return np.concatenate([a * cos - b * sin, b * cos + a * sin], axis=-1)
    if style == "interleaved":
        a, b = x[..., 0::2], x[..., 1::2]
        out = np.empty_like(x)
        out[..., 0::2] = a * cos - b * sin
        out[..., 1::2] = b * cos + a * sin
        return out
    raise ValueError(f"unknown rope style {style}")


def _silu(x: np.ndarray) -> np.ndarray:
    return x / (1.0 + np.exp(-x))


def _linear(x: np.ndarray, weights: dict, name: str) -> np.ndarray:
    y = x @ weights[name + ".weight"].T
    bias = weights.get(name + ".bias")
    if bias is not None:
        y = y + bias
    return y


class LlamaNumpy:
    """Full-sequence forward (no cache). `weights` maps HF names to float arrays."""

    def __init__(self, hyper: LlamaHyper, weights: dict[str, np.ndarray]):
        self.h = hyper
        self.w = {k: np.asarray(v, dtype=np.float64) for k, v in weights.items()}
        if hyper.tied_embeddings or "lm_head.weight" not in self.w:
            self.w["lm_head.weight"] = self.w["model.embed_tokens.weight"]

    def logits(self, input_ids: np.ndarray) -> np.ndarray:
        """input_ids (B, T) int -> logits (B, T, V) float64. Positions are 0..T-1 for every row."""
        h, w = self.h, self.w
        ids = np.asarray(input_ids)
        if ids.ndim == 1:
            ids = ids[None, :]
        bsz, t = ids.shape
        hd, nh, nkv = h.head_dim, h.num_heads, h.num_kv_heads
        rep = nh // nkv
        positions = np.arange(t)
        q_idx = positions[:, None]
        k_idx = positions[None, :]
        visible = k_idx <= q_idx
        if h.sliding_window is not None:
            visible &= k_idx > q_idx - h.sliding_window
        x = w["model.embed_tokens.weight"][ids]  # (B, T, C)
        for layer in range(h.num_layers):
            p = f"model.layers.{layer}."
            xn = _rms_norm(x, w[p + "input_layernorm.weight"], h.rms_norm_eps)
            q = _linear(xn, w, p + "self_attn.q_proj").reshape(bsz, t, nh, hd).transpose(0, 2, 1, 3)
            k = _linear(xn, w, p + "self_attn.k_proj").reshape(bsz, t, nkv, hd).transpose(0, 2, 1, 3)
            v = _linear(xn, w, p + "self_attn.v_proj").reshape(bsz, t, nkv, hd).transpose(0, 2, 1, 3)
            q = _rope(q, positions, h.rope_theta, h.rope_style)  # (B, H, T, D)
            k = _rope(k, positions, h.rope_theta, h.rope_style)  # (B, KV, T, D)
            k = np.repeat(k, rep, axis=1)  # query head j reads kv head j // rep
            v = np.repeat(v, rep, axis=1)
            scores = q @ k.transpose(0, 1, 3, 2) / np.sqrt(hd)  # (B, H, T, T)
            scores = np.where(visible, scores, -np.inf)
            scores -= scores.max(axis=-1, keepdims=True)
            probs = np.exp(scores)
            probs /= probs.sum(axis=-1, keepdims=True)
            att = (probs @ v).transpose(0, 2, 1, 3).reshape(bsz, t, nh * hd)  # (B, T, H*D)
            x = x + _linear(att, w, p + "self_attn.o_proj")
            xn = _rms_norm(x, w[p + "post_attention_layernorm.weight"], h.rms_norm_eps)
            mlp = _silu(_linear(xn, w, p + "mlp.gate_proj")) * _linear(xn, w, p + "mlp.up_proj")
            x = x + _linear(mlp, w, p + "mlp.down_proj")
        x = _rms_norm(x, w["model.norm.weight"], h.rms_norm_eps)
        return x @ w["lm_head.weight"].T  # (B, T, V)


def log_softmax(x: np.ndarray) -> np.ndarray:
    m = x.max(axis=-1, keepdims=True)
    return x - m - np.log(np.sum(np.exp(x - m), axis=-1, keepdims=True))


# GGUF (llama arch) tensor name -> HF name, per /work/shared/NOTES.md.
GGUF_TO_HF_LAYER = {
    "attn_norm": "input_layernorm",
    "attn_q": "self_attn.q_proj",
    "attn_k": "self_attn.k_proj",
    "attn_v": "self_attn.v_proj",
    "attn_output": "self_attn.o_proj",
    "ffn_norm": "post_attention_layernorm",
    "ffn_gate": "mlp.gate_proj",
    "ffn_up": "mlp.up_proj",
    "ffn_down": "mlp.down_proj",
}
GGUF_TO_HF_GLOBAL = {"token_embd": "model.embed_tokens", "output_norm": "model.norm", "output": "lm_head"}


def gguf_name_to_hf(name: str) -> str:
    base, suffix = name.rsplit(".", 1)  # suffix: weight | bias
    if base.startswith("blk."):
        _, layer, part = base.split(".", 2)
        return f"model.layers.{layer}.{GGUF_TO_HF_LAYER[part]}.{suffix}"
    return f"{GGUF_TO_HF_GLOBAL[base]}.{suffix}"


def hf_name_to_gguf(name: str) -> str:
    inverse_layer = {v: k for k, v in GGUF_TO_HF_LAYER.items()}
    inverse_global = {v: k for k, v in GGUF_TO_HF_GLOBAL.items()}
    base, suffix = name.rsplit(".", 1)
    if base.startswith("model.layers."):
        _, _, layer, part = base.split(".", 3)
        return f"blk.{layer}.{inverse_layer[part]}.{suffix}"
    return f"{inverse_global[base]}.{suffix}"


def load_gguf_llama(path: str) -> tuple[LlamaHyper, dict[str, np.ndarray], dict]:
    """Read a llama-arch GGUF, dequantize every tensor to float32 with gguf.quants.dequantize and return
    (hyper with rope_style="interleaved", HF-named weights in GGUF row order, raw metadata dict)."""
    import gguf

    reader = gguf.GGUFReader(path)
    meta: dict = {}
    for key, f in reader.fields.items():
        if key.startswith("tokenizer.ggml.") and key in ("tokenizer.ggml.tokens", "tokenizer.ggml.merges",
                                                         "tokenizer.ggml.token_type", "tokenizer.ggml.scores"):
            continue
        try:
            meta[key] = f.contents()
        except Exception:  # pragma: no cover - exotic field
            pass
    arch = meta["general.architecture"]
    weights = {}
    for t in reader.tensors:
        data = gguf.quants.dequantize(t.data, t.tensor_type)
        shape = tuple(int(n) for n in reversed(t.shape.tolist()))  # ne reversed = numpy (rows, cols)
        weights[gguf_name_to_hf(t.name)] = np.asarray(data, dtype=np.float32).reshape(shape)
    n_layers = int(meta[f"{arch}.block_count"])
    hidden = int(meta[f"{arch}.embedding_length"])
    heads = int(meta[f"{arch}.attention.head_count"])
    hyper = LlamaHyper(
        vocab_size=weights["model.embed_tokens.weight"].shape[0],
        hidden_size=hidden,
        intermediate_size=int(meta[f"{arch}.feed_forward_length"]),
        num_layers=n_layers,
        num_heads=heads,
        num_kv_heads=int(meta.get(f"{arch}.attention.head_count_kv", heads)),
        rope_theta=float(meta.get(f"{arch}.rope.freq_base", 10000.0)),
        rms_norm_eps=float(meta[f"{arch}.attention.layer_norm_rms_epsilon"]),
        rope_style="interleaved",
        tied_embeddings="lm_head.weight" not in weights,
    )
    return hyper, weights, meta
