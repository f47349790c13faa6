#!/usr/bin/env python3
"""Per-token log-probabilities and a greedy continuation of the real Gemma-3-270M GGUF (Q4_K_M mix) for
Tests/LLMTuneModelsTests/Fixtures/gemma3/gemma3_270m_golden.json.

Oracle: transformers AutoModelForCausalLM.from_pretrained(dir, gguf_file=name) in fp32 with eager attention: the
GGUF tensors dequantized with gguf.quants (bit-identical to ggml), norm weights minus 1 (llama.cpp stores 1 + w),
Gemma3TextConfig defaults for what the file does not say (sliding-window pattern 6, local rope base 1e4,
query_pre_attn_scalar 256 = head_dim). One text is longer than the 512-token sliding window.
Tokenizer: transformers' tokenizer built from the same GGUF, BOS added (Gemma's add_bos_token = true).

Usage: python3 tools/reference/gemma3_reference.py [--gguf PATH]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os

import torch
import transformers
from transformers import AutoModelForCausalLM, AutoTokenizer

OUT = "Tests/LLMTuneModelsTests/Fixtures/gemma3/gemma3_270m_golden.json"

LONG = ("The history of the printing press begins in the fifteenth century, when Johannes Gutenberg combined "
        "movable metal type, oil-based inks and a wooden press adapted from those used for wine and olive oil. "
        "Books became cheaper, literacy spread, and ideas travelled faster than ever before across Europe. ")

TEXTS = [
    ("france", "The capital of France is Paris, and the capital of Germany is Berlin."),
    ("code", "def add(a, b):\n    return a + b\n\nprint(add(2, 3))\n"),
    ("multilingual", "Bonjour tout le monde! ¿Cómo estás? 日本語も少し話せます。"),
    ("story", "Once upon a time, in a small village by the sea, there lived an old fisherman who"),
    ("long", LONG * 12),
]


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--gguf", default=os.path.expanduser(
        "~/.cache/llmtune/models/gemma3-270m/gemma-3-270m-q4_k_m.gguf"))
    args = ap.parse_args()
    folder, name = os.path.dirname(args.gguf), os.path.basename(args.gguf)
    tok = AutoTokenizer.from_pretrained(folder, gguf_file=name)
    model = AutoModelForCausalLM.from_pretrained(folder, gguf_file=name, dtype=torch.float32,
                                                 attn_implementation="eager").eval()
    cfg = model.config
    print("layer_types", cfg.layer_types, "sliding_window", cfg.sliding_window, "rope", cfg.rope_parameters,
          "query_pre_attn_scalar", cfg.query_pre_attn_scalar)
    texts = []
    with torch.no_grad():
        for label, text in TEXTS:
            ids = tok(text, add_special_tokens=True)["input_ids"]
            logits = model(input_ids=torch.tensor([ids])).logits[0].double()
            logp = torch.log_softmax(logits, dim=-1)
            lp = [float(logp[i, ids[i + 1]]) for i in range(len(ids) - 1)]
            texts.append(dict(name=label, text=text, input_ids=ids, logprobs=lp))
            print(label, len(ids), "tokens, mean logprob", sum(lp) / len(lp))
        prompt = tok("The capital of France is", add_special_tokens=True)["input_ids"]
        out = model.generate(torch.tensor([prompt]), max_new_tokens=12, do_sample=False)[0].tolist()
    generated = out[len(prompt):]
    doc = dict(model_file=name, model_sha256=sha256(args.gguf), generator="tools/reference/gemma3_reference.py",
               oracle="transformers AutoModelForCausalLM.from_pretrained(dir, gguf_file=name), fp32, eager",
               versions=dict(transformers=transformers.__version__, torch=torch.__version__),
               texts=texts,
               generate=dict(prompt="The capital of France is", prompt_ids=prompt, generated_ids=generated,
                             generated_text=tok.decode(generated)))
    print("greedy:", repr(tok.decode(generated)))
    with open(OUT, "w") as f:
        json.dump(doc, f, ensure_ascii=False, indent=1)


if __name__ == "__main__":
    main()
