#!/usr/bin/env python3
"""Checks that GGUF files exported by `llmtune export` load in llama.cpp (llama-cpp-python) and that llama.cpp's
greedy output on a fixed chat prompt matches `llmtune generate` with the adapter.

    python3 tools/reference/llamacpp_export_check.py --model smollm2-135m-instruct --adapter runs/quickstart/adapter

Exports the adapter twice (merged all-F32 GGUF, and a GGUF LoRA for llama.cpp's --lora on the original base),
runs llama.cpp greedy on both, and LLMTune greedy with the adapter, then compares the texts. llama.cpp rounds
activations to 8 bits in its quantized dot products, so on the quantized base with --lora a late token may
legitimately differ; the merged F32 file is computed exactly.
"""
import argparse, json, os, subprocess, sys, tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
BIN = ROOT / ".build/release/llmtune"


def llmtune(*args):
    return subprocess.run([str(BIN), *args], capture_output=True, text=True, check=True).stdout


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="smollm2-135m-instruct")
    ap.add_argument("--adapter", required=True)
    ap.add_argument("--prompt", default="Name three famous French painters and one painting by each.")
    ap.add_argument("--max-tokens", type=int, default=32)
    args = ap.parse_args()
    import llama_cpp

    base = llmtune("pull", args.model).strip().splitlines()[-1]
    out = tempfile.mkdtemp(prefix="llmtune-export-")
    merged = os.path.join(out, "merged-f32.gguf")
    lora = os.path.join(out, "adapter-lora.gguf")
    llmtune("export", "--model", args.model, "--adapter", args.adapter, "--out", merged, "--format", "gguf",
            "--quantize", "f32")
    llmtune("export", "--model", args.model, "--adapter", args.adapter, "--out", lora, "--format", "gguf-lora")

    ours = json.loads(llmtune("generate", "--model", args.model, "--adapter", args.adapter, "--chat", "--prompt",
                              args.prompt, "--temperature", "0", "--max-tokens", str(args.max_tokens), "--json"))
    prompt_ids = json.loads(llmtune("tokenize", "--model", args.model, "--json", "--no-special-tokens", "--text",
                                    "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by "
                                    "Hugging Face<|im_end|>\n<|im_start|>user\n" + args.prompt +
                                    "<|im_end|>\n<|im_start|>assistant\n"))["ids"]

    def greedy(path, lora_path=None):
        llm = llama_cpp.Llama(path, lora_path=lora_path, n_ctx=512, n_threads=2, verbose=False)
        ids = []
        llm.eval(prompt_ids)
        for _ in range(args.max_tokens):
            tok = llm.sample(temp=0)
            if tok == llm.token_eos() or tok == 2:
                break
            ids.append(tok)
            llm.eval([tok])
        return ids

    rows = [("llmtune (adapter, Q4_1 base)", ours["token_ids"]),
            ("llama.cpp merged F32 GGUF", greedy(merged)),
            ("llama.cpp Q4_1 base + GGUF LoRA", greedy(base, lora))]
    ok = True
    for name, ids in rows:
        same = ids == ours["token_ids"]
        ok &= same or "LoRA" in name
        print(f"{name:<34} {'same' if same else 'DIFFERENT'}  {ids}")
    print("llmtune text:", repr(ours["text"]))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
