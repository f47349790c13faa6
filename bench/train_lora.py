#!/usr/bin/env python3
"""LoRA training throughput and peak memory: LLMTune next to PyTorch + PEFT, same model, data, config, same run.

    python3 bench/train_lora.py [--model smollm2-135m-instruct] [--steps 12] [--threads 2] [--rank 8]

Config (issue 5's baseline): LoRA r=8, alpha 16, all linear layers, batch 4 x 256 tokens, AdamW lr 2e-4, fp32.
LLMTune runs twice: on the Q4_1 base as loaded (QLoRA) and on an fp32 copy (--dequantize). PyTorch loads the same
GGUF dequantized to fp32 through transformers. Each engine runs in its own process; peak RSS is that process's
ru_maxrss. Throughput is the median tokens/s of the steps after the first two.
"""
import argparse, json, os, resource, statistics, subprocess, sys, tempfile, time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / ".build/release/llmtune"


def corpus(n_records):
    """Records of ~300 tokens of real English text (the Pang & Lee sentences, pulled by llmtune)."""
    path = subprocess.run([str(BIN), "pull", "sentiment"], capture_output=True, text=True, check=True).stdout.strip().splitlines()[-1]
    import csv
    sentences = []
    with open(path, newline="", encoding="utf-8", errors="replace") as f:
        for row in csv.reader(f):
            sentences.append(" ".join(row))
    records, i = [], 0
    while len(records) < n_records:
        records.append(" ".join(sentences[i:i + 14]))
        i += 14
    return records


def child_peak_rss_mb(cmd, env):
    """Runs cmd in a child, returns (stdout, peak RSS of that child in MB)."""
    wrapper = ("import resource, subprocess, sys; r = subprocess.run(sys.argv[1:], capture_output=True, text=True); "
               "sys.stdout.write(r.stdout); sys.stderr.write(r.stderr); "
               "print('PEAK_RSS_KB', resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss); sys.exit(r.returncode)")
    r = subprocess.run([sys.executable, "-c", wrapper] + cmd, env=env, capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f"failed: {' '.join(cmd)}\n{r.stderr[-3000:]}")
    peak = int([l for l in r.stdout.splitlines() if l.startswith("PEAK_RSS_KB")][-1].split()[1]) / 1024
    return r.stdout, peak


def run_llmtune(args, data_file, dequantize, env):
    out = tempfile.mkdtemp(prefix="llmtune-bench-")
    cmd = [str(BIN), "train", "--model", args.model, "--data", data_file, "--rank", str(args.rank), "--alpha",
           str(2 * args.rank), "--targets", "all-linear", "--batch-size", "4", "--seq-len", "256", "--steps",
           str(args.steps), "--learning-rate", "2e-4", "--eval-every", "0", "--checkpoint-every", "0",
           "--validation-fraction", "0", "--output", out]
    if dequantize:
        cmd.append("--dequantize")
    _, peak = child_peak_rss_mb(cmd, env)
    rows = [json.loads(l) for l in open(os.path.join(out, "metrics.jsonl")) if l.strip()]
    tps = [r["tokens_per_second"] for r in rows if "tokens_per_second" in r][2:]
    return statistics.median(tps), peak


def torch_worker(args):
    """Runs inside its own process: PyTorch + PEFT training, prints one JSON line."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer
    torch.manual_seed(0)
    torch.set_num_threads(args.threads)
    d, f = os.path.dirname(args.gguf), os.path.basename(args.gguf)
    tok = AutoTokenizer.from_pretrained(d, gguf_file=f)
    model = AutoModelForCausalLM.from_pretrained(d, gguf_file=f, torch_dtype=torch.float32)
    model = get_peft_model(model, LoraConfig(r=args.rank, lora_alpha=2 * args.rank, target_modules="all-linear",
                                             lora_dropout=0.0, task_type="CAUSAL_LM"))
    records = [json.loads(l)["text"] for l in open(args.data_file)]
    ids = [tok(r, add_special_tokens=False)["input_ids"][:256] for r in records]
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=2e-4, weight_decay=0.0)
    model.train()
    rates = []
    for step in range(args.steps):
        batch = ids[(step * 4) % len(ids):][:4]
        T = min(len(x) for x in batch)
        x = torch.tensor([b[:T] for b in batch])
        t0 = time.perf_counter()
        loss = model(input_ids=x, labels=x).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad()
        rates.append(4 * (T - 1) / (time.perf_counter() - t0))
    print(json.dumps({"tokens_per_second": statistics.median(rates[2:])}))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="smollm2-135m-instruct")
    ap.add_argument("--steps", type=int, default=12)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rank", type=int, default=8)
    ap.add_argument("--torch-worker", action="store_true")
    ap.add_argument("--gguf")
    ap.add_argument("--data-file")
    args = ap.parse_args()
    if args.torch_worker:
        return torch_worker(args)

    subprocess.run(["swift", "build", "-c", "release", "--product", "llmtune"], cwd=ROOT, check=True)
    gguf = subprocess.run([str(BIN), "pull", args.model], capture_output=True, text=True, check=True).stdout.strip().splitlines()[-1]
    data_file = os.path.join(tempfile.mkdtemp(prefix="llmtune-bench-data-"), "train.jsonl")
    with open(data_file, "w") as f:
        for r in corpus(4 * args.steps):
            f.write(json.dumps({"text": r}) + "\n")
    env = dict(os.environ, LLMTUNE_THREADS=str(args.threads), OMP_NUM_THREADS=str(args.threads))

    results = {}
    for name, fn in [
        ("llmtune-qlora-q4_1", lambda: run_llmtune(args, data_file, False, env)),
        ("llmtune-lora-fp32", lambda: run_llmtune(args, data_file, True, env)),
        ("pytorch+peft-fp32", lambda: (lambda o: (json.loads([l for l in o[0].splitlines() if l.startswith("{")][-1])["tokens_per_second"], o[1]))(
            child_peak_rss_mb([sys.executable, __file__, "--torch-worker", "--gguf", gguf, "--data-file", data_file,
                               "--steps", str(args.steps), "--threads", str(args.threads), "--rank", str(args.rank)], env))),
    ]:
        results[name] = fn()
    base_tps, base_rss = results["pytorch+peft-fp32"]
    print(f"\nLoRA r={args.rank} all-linear, batch 4 x 256, AdamW, {args.steps} steps, {args.threads} threads")
    print(f"{'engine':<20} {'tokens/s':>9} {'vs PyTorch':>10} {'peak RSS MB':>12} {'vs PyTorch':>10}")
    for name, (tps, rss) in results.items():
        print(f"{name:<20} {tps:>9.1f} {tps / base_tps:>9.2f}x {rss:>12.0f} {rss / base_rss:>9.2f}x")


if __name__ == "__main__":
    sys.exit(main())
