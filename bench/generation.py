#!/usr/bin/env python3
"""Prefill and decode speed of LLMTune next to transformers (and llama.cpp when llama-cpp-python is installed),
on the same model, prompt, thread count, in the same invocation. Runs alternate; medians and ratios are printed.

    python3 bench/generation.py [--model smollm2-135m-instruct] [--threads 1 2] [--repeats 3] [--new-tokens 128]

LLMTune runs twice: on the GGUF as loaded (Q4_1 blocks, dequantized on the fly) and on an fp32 copy
(`--dequantize`). transformers loads the same GGUF dequantized to fp32 (its only option).
"""
import argparse, json, os, statistics, subprocess, sys, time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / ".build/release/llmtune"
PROMPT_WORDS = ("The history of computing is a story of people and machines working together. " * 40)


def llmtune(model, prompt, new_tokens, threads, dequantize):
    cmd = [str(BIN), "generate", "--model", model, "--prompt", prompt, "--max-tokens", str(new_tokens),
           "--temperature", "0", "--json", "--ignore-eos"]
    if dequantize:
        cmd.append("--dequantize")
    env = dict(os.environ, LLMTUNE_THREADS=str(threads), OPENBLAS_NUM_THREADS=str(threads))
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True).stdout
    r = json.loads(out.strip().splitlines()[-1])
    return r["prefill_tokens_per_second"], r["decode_tokens_per_second"], r["prompt_tokens"]


class Transformers:
    def __init__(self, gguf_path):
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer
        self.torch = torch
        d, f = os.path.dirname(gguf_path), os.path.basename(gguf_path)
        self.tok = AutoTokenizer.from_pretrained(d, gguf_file=f)
        self.model = AutoModelForCausalLM.from_pretrained(d, gguf_file=f, torch_dtype=torch.float32).eval()

    def run(self, prompt_ids, new_tokens, threads):
        torch = self.torch
        torch.set_num_threads(threads)
        ids = torch.tensor([prompt_ids])
        with torch.no_grad():
            t0 = time.perf_counter()
            self.model(ids)
            prefill = time.perf_counter() - t0
            t0 = time.perf_counter()
            out = self.model.generate(ids, max_new_tokens=new_tokens, min_new_tokens=new_tokens, do_sample=False)
            total = time.perf_counter() - t0
        n = out.shape[1] - ids.shape[1]
        decode = max(total - prefill, 1e-9)
        return len(prompt_ids) / prefill, (n - 1) / decode


class LlamaCpp:
    def __init__(self, gguf_path):
        import llama_cpp  # noqa: F401
        self.path = gguf_path

    def run(self, prompt_ids, new_tokens, threads):
        import llama_cpp
        llm = llama_cpp.Llama(self.path, n_ctx=2048, n_threads=threads, n_threads_batch=threads, verbose=False)
        t0 = time.perf_counter()
        llm.eval(prompt_ids)
        prefill = time.perf_counter() - t0
        t0 = time.perf_counter()
        for _ in range(new_tokens):
            tok = llm.sample(temp=0)
            llm.eval([tok])
        decode = time.perf_counter() - t0
        return len(prompt_ids) / prefill, new_tokens / decode


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="smollm2-135m-instruct")
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--new-tokens", type=int, default=128)
    ap.add_argument("--prompt-tokens", type=int, default=256)
    args = ap.parse_args()

    subprocess.run(["swift", "build", "-c", "release", "--product", "llmtune"], cwd=ROOT, check=True)
    path = subprocess.run([str(BIN), "pull", args.model], capture_output=True, text=True, check=True).stdout.strip().splitlines()[-1]
    hf = Transformers(path)
    ids = hf.tok(PROMPT_WORDS, add_special_tokens=False)["input_ids"][: args.prompt_tokens]
    prompt = hf.tok.decode(ids)
    try:
        lc = LlamaCpp(path)
    except ImportError:
        lc = None
        print("llama-cpp-python not installed: llama.cpp column skipped (figures in ../shared/ASSETS.md)")

    rows = []
    for threads in args.threads:
        res = {k: ([], []) for k in ["llmtune-q4_1", "llmtune-fp32", "transformers-fp32", "llama.cpp-q4_1"]}
        for _ in range(args.repeats):
            for key, fn in [("llmtune-q4_1", lambda: llmtune(args.model, prompt, args.new_tokens, threads, False)[:2]),
                            ("llmtune-fp32", lambda: llmtune(args.model, prompt, args.new_tokens, threads, True)[:2]),
                            ("transformers-fp32", lambda: hf.run(ids, args.new_tokens, threads)),
                            ("llama.cpp-q4_1", (lambda: lc.run(ids, args.new_tokens, threads)) if lc else None)]:
                if fn is None:
                    continue
                p, d = fn()
                res[key][0].append(p)
                res[key][1].append(d)
        base = statistics.median(res["transformers-fp32"][1])
        for key, (p, d) in res.items():
            if p:
                rows.append((threads, key, statistics.median(p), statistics.median(d), statistics.median(d) / base))
    print(f"\nprompt {len(ids)} tokens, {args.new_tokens} new tokens, greedy, medians of {args.repeats} alternating runs")
    print(f"{'threads':>7}  {'engine':<18} {'prefill tok/s':>13} {'decode tok/s':>12} {'decode vs transformers':>22}")
    for t, k, p, d, r in rows:
        print(f"{t:>7}  {k:<18} {p:>13.1f} {d:>12.1f} {r:>21.2f}x")


if __name__ == "__main__":
    sys.exit(main())
