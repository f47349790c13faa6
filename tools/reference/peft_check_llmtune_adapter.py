#!/usr/bin/env python3
"""Loads an adapter written by LLMTune in Python PEFT and compares logits with LLMTune's.

usage: peft_check_llmtune_adapter.py ADAPTER_DIR [--model HF_MODEL_DIR] [--logits FILE] [--ids JSON] [--tolerance T]

ADAPTER_DIR holds adapter_config.json + adapter_model.safetensors (PEFT layout). By default the base model is the
tiny-llama fixture, the logits file is ADAPTER_DIR/llmtune_logits.f32 (float32 little-endian, row-major
(rows, T, vocab)) and the ids ADAPTER_DIR/llmtune_ids.json ([[ids], ...]), both written by LLMTune's test.
Prints the max |difference| and exits 1 when it exceeds the tolerance (default 1e-4). Oracle only.
"""
import argparse, json, os, sys
import numpy as np
import torch
from transformers import AutoModelForCausalLM
from peft import PeftModel

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("adapter")
    p.add_argument("--model", default=os.path.join(ROOT, "Tests/LLMTuneAdaptersTests/Fixtures/tiny-llama"))
    p.add_argument("--logits")
    p.add_argument("--ids")
    p.add_argument("--tolerance", type=float, default=1e-4)
    a = p.parse_args()
    ids = json.load(open(a.ids or os.path.join(a.adapter, "llmtune_ids.json")))
    theirs = np.fromfile(a.logits or os.path.join(a.adapter, "llmtune_logits.f32"), dtype="<f4")
    base = AutoModelForCausalLM.from_pretrained(a.model, attn_implementation="eager").eval()
    model = PeftModel.from_pretrained(base, a.adapter).eval()
    with torch.no_grad():
        ours = model(torch.tensor(ids)).logits.float().numpy().reshape(-1)
    if ours.shape != theirs.shape:
        print(f"FAIL: {theirs.size} LLMTune logits, PEFT produced {ours.size}")
        return 1
    diff = float(np.abs(ours - theirs).max())
    n_lora = sum(1 for n, _ in model.named_parameters() if "lora_A" in n)
    print(f"PEFT loaded {n_lora} LoRA modules from {a.adapter}; max |PEFT - LLMTune| logit difference = {diff:.3g}")
    if diff > a.tolerance:
        print(f"FAIL: above tolerance {a.tolerance}")
        return 1
    print("OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
