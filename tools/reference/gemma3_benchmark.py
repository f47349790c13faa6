#!/usr/bin/env python3
"""Prefill and decode tokens/s of Gemma-3-270M with `llmtune generate --json` (1 and 2 threads, medians of N).

Prompt: 256 tokens (BOS included); greedy decode of 128 new tokens (fewer if EOS comes first). The thread counts are
run alternately so that the host's speed phases affect both alike (shared/ASSETS.md). llama.cpp's figures for the
same file on this kind of machine: decode 30 / 52 tokens/s, prefill (256 tokens) 307 / 599 tokens/s (1 / 2 threads).

Usage: python3 tools/reference/gemma3_benchmark.py [--binary .build/release/llmtune] [--runs 3]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess

SENTENCE = ("The history of the printing press begins in the fifteenth century, when Johannes Gutenberg combined "
            "movable metal type, oil-based inks and a wooden press adapted from those used for wine and olive oil. "
            "Books became cheaper, literacy spread, and ideas travelled faster than ever before across Europe. ")
PROMPT = (SENTENCE * 6)[:1390]   # 256 Gemma tokens with BOS


def run(binary, model, threads, max_tokens):
    env = dict(os.environ, LLMTUNE_THREADS=str(threads))
    out = subprocess.run([binary, "generate", "-m", model, "--prompt", PROMPT, "--max-tokens", str(max_tokens),
                          "--temperature", "0", "--json"], env=env, check=True, capture_output=True, text=True)
    return json.loads(out.stdout)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", default=".build/release/llmtune")
    ap.add_argument("--model", default="gemma3-270m")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--max-tokens", type=int, default=128)
    args = ap.parse_args()
    results = {1: [], 2: []}
    for _ in range(args.runs):
        for threads in (1, 2):
            r = run(args.binary, args.model, threads, args.max_tokens)
            results[threads].append(r)
            print(threads, "thread(s):", r["prompt_tokens"], "prompt tokens,",
                  round(r["prefill_tokens_per_second"], 1), "prefill tok/s,", len(r["token_ids"]), "new tokens,",
                  round(r["decode_tokens_per_second"], 1), "decode tok/s", flush=True)
    for threads, rs in results.items():
        print(f"median, {threads} thread(s): prefill {statistics.median(r['prefill_tokens_per_second'] for r in rs):.1f}"
              f" tok/s, decode {statistics.median(r['decode_tokens_per_second'] for r in rs):.1f} tok/s")


if __name__ == "__main__":
    main()
