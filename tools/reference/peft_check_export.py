#!/usr/bin/env python3
"""Checks files written by `llmtune export` with the reference tools (oracle only).

usage: peft_check_export.py --logits F32 --ids JSON [--hf DIR] [--gguf FILE] [--gguf-lora FILE --base-gguf FILE]
                            [--tolerance 1e-4]
  --logits/--ids  the expected logits (float32 little-endian, (rows, T, vocab)) of base + adapter for the ids
  --hf DIR        a merged Hugging Face folder: transformers loads it (model and, when present, tokenizer) and
                  its logits must equal the expected ones
  --gguf FILE     a merged GGUF: the `gguf` package reads it, transformers loads it (gguf_file=, which un-permutes
                  q/k) and its logits must equal the expected ones
  --gguf-lora F   a llama.cpp LoRA GGUF: metadata and shapes as llama.cpp expects; with --base-gguf and --gguf,
                  base + alpha/r * B @ A (llama.cpp's maths, in the GGUF row order) must equal the merged GGUF
Exits 1 on any failure.
"""
import argparse, json, os, sys
import numpy as np
import torch
from gguf import GGUFReader
from gguf.quants import dequantize
from transformers import AutoModelForCausalLM, AutoTokenizer

failures = []


def check(ok, message):
    print(("ok   " if ok else "FAIL ") + message)
    if not ok:
        failures.append(message)


def logits_of(model, ids):
    with torch.no_grad():
        return model(torch.tensor(ids)).logits.float().numpy().reshape(-1)


def tensors(path):
    r = GGUFReader(path)
    return r, {t.name: dequantize(t.data, t.tensor_type).reshape([int(d) for d in reversed(t.shape)]) for t in r.tensors}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--logits", required=True)
    p.add_argument("--ids", required=True)
    p.add_argument("--hf")
    p.add_argument("--gguf")
    p.add_argument("--gguf-lora")
    p.add_argument("--base-gguf")
    p.add_argument("--tolerance", type=float, default=1e-4)
    a = p.parse_args()
    ids = json.load(open(a.ids))
    if isinstance(ids, dict):
        ids = ids["input_ids"]
    expected = np.fromfile(a.logits, dtype="<f4")
    if a.hf:
        m = AutoModelForCausalLM.from_pretrained(a.hf, attn_implementation="eager").eval()
        d = float(np.abs(logits_of(m, ids) - expected).max())
        check(d <= a.tolerance, f"transformers loads {a.hf}: max |logit difference| {d:.3g}")
        if os.path.exists(os.path.join(a.hf, "tokenizer.json")):
            tok = AutoTokenizer.from_pretrained(a.hf)
            check(len(tok) > 0, f"transformers loads its tokenizer ({len(tok)} tokens, {type(tok).__name__})")
    if a.gguf:
        r, _ = tensors(a.gguf)
        check(r.fields["general.architecture"].contents() == "llama", "merged GGUF: general.architecture llama")
        m = AutoModelForCausalLM.from_pretrained(os.path.dirname(os.path.abspath(a.gguf)),
                                                 gguf_file=os.path.basename(a.gguf), attn_implementation="eager").eval()
        d = float(np.abs(logits_of(m, ids) - expected).max())
        check(d <= a.tolerance, f"transformers loads {a.gguf}: max |logit difference| {d:.3g}")
    if a.gguf_lora:
        r, lora = tensors(a.gguf_lora)
        f = r.fields
        check(f["general.type"].contents() == "adapter", "gguf-lora: general.type adapter")
        check(f["adapter.type"].contents() == "lora", "gguf-lora: adapter.type lora")
        alpha = float(f["adapter.lora.alpha"].contents())
        names = sorted({n.rsplit(".", 1)[0] for n in lora})
        check(all(n + ".lora_a" in lora and n + ".lora_b" in lora for n in names), f"gguf-lora: {len(names)} A/B pairs")
        if a.base_gguf and a.gguf:
            _, base = tensors(a.base_gguf)
            _, merged = tensors(a.gguf)
            worst = 0.0
            for n in names:
                A, B = lora[n + ".lora_a"], lora[n + ".lora_b"]   # (r, in), (out, r)
                check(A.shape[0] == B.shape[1] and A.shape[1] == base[n].shape[1] and B.shape[0] == base[n].shape[0],
                      f"{n}: lora_a {A.shape}, lora_b {B.shape} for weight {base[n].shape}")
                w = base[n].astype(np.float64) + alpha / A.shape[0] * (B.astype(np.float64) @ A.astype(np.float64))
                worst = max(worst, float(np.abs(w - merged[n]).max()))
            check(worst <= 1e-5, f"base + alpha/r * B @ A equals the merged GGUF (max |difference| {worst:.3g})")
    print("FAILED" if failures else "OK")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
