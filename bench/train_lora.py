#!/usr/bin/env python3
"""LoRA training throughput and peak memory: LLMTune next to PyTorch + PEFT, same model, data, config, same run.

    python3 bench/train_lora.py [--model smollm2-135m-instruct] [--steps 12] [--threads 2] [--rank 8]

Config (issue 5's baseline): LoRA r=8, alpha 16, all linear layers, batch 4 x 256 tokens, AdamW lr 2e-4, fp32.
LLMTune runs twice: on the Q4_1 base as loaded (QLoRA) and on an fp32 copy (--dequantize). PyTorch loads the same
GGUF dequantized to fp32 through transformers. Each engine runs in its own process; peak RSS is that process's
ru_maxrss. Throughput is the median tokens/s of the steps after the first two; with --repeats the engines run
alternately and the table shows the median over repeats.

Model FLOPs utilisation (MFU) = model FLOP/s / the GEMM ceiling measured in the same run: the faster of
`llmtune doctor --measure` and torch.mm on the same 1024x1536x576 product with the same threads. Model FLOPs per
token: 4 per frozen weight (forward + input gradient, no weight gradient), 6 per LoRA weight, attention 3 x 2·T·H·D
per layer (causal). PyTorch's peak is also shown for its training phase alone (the high-water mark reset after
loading, which for a GGUF includes transformers' dequantization).
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
    mm_a, mm_b = torch.randn(1024, 576), torch.randn(1536, 576)
    mm_times = []
    for i in range(10):
        t0 = time.perf_counter()
        torch.mm(mm_a, mm_b.t())
        if i:
            mm_times.append(time.perf_counter() - t0)
    torch_gflops = 2 * 1024 * 1536 * 576 / statistics.median(mm_times) / 1e9
    with open("/proc/self/clear_refs", "w") as f:  # reset VmHWM: what follows is the training phase
        f.write("5")
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
    hwm = [int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM")][0] / 1024
    print(json.dumps({"tokens_per_second": statistics.median(rates[2:]), "training_peak_mb": hwm,
                      "gemm_gflops": torch_gflops}))


def model_flops_per_token(gguf_path, rank, seq_len=256):
    """Model FLOPs of one trained token (see the module docstring), from the GGUF's llama.* metadata."""
    from gguf import GGUFReader
    reader = GGUFReader(gguf_path)

    def value(key):
        f = reader.fields[key]
        return f.parts[f.data[0]][0]

    d, ff = int(value("llama.embedding_length")), int(value("llama.feed_forward_length"))
    layers, heads = int(value("llama.block_count")), int(value("llama.attention.head_count"))
    kv_heads = int(value("llama.attention.head_count_kv"))
    vocab = len(reader.fields["tokenizer.ggml.tokens"].data)
    hd = d // heads
    shapes = [(d, d), (d, kv_heads * hd), (d, kv_heads * hd), (d, d), (d, ff), (d, ff), (ff, d)]  # (in, out)
    frozen = layers * sum(i * o for i, o in shapes) + vocab * d
    lora = layers * sum(rank * (i + o) for i, o in shapes)
    attention = 3 * layers * 2 * seq_len * heads * hd
    return 4 * frozen + 6 * lora + attention


def llmtune_gemm_gflops(env):
    out = subprocess.run([str(BIN), "doctor", "--measure", "--json"], env=env, capture_output=True, text=True,
                         check=True).stdout
    return json.loads(out)["gemm_gflops"]


def run_torch(args, gguf, data_file, env):
    out, peak = child_peak_rss_mb([sys.executable, __file__, "--torch-worker", "--gguf", gguf, "--data-file",
                                   data_file, "--steps", str(args.steps), "--threads", str(args.threads),
                                   "--rank", str(args.rank)], env)
    r = json.loads([l for l in out.splitlines() if l.startswith("{")][-1])
    return r["tokens_per_second"], peak, r["training_peak_mb"], r["gemm_gflops"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="smollm2-135m-instruct")
    ap.add_argument("--steps", type=int, default=12)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rank", type=int, default=8)
    ap.add_argument("--repeats", type=int, default=3)
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
    flops = model_flops_per_token(gguf, args.rank)

    runs = {"llmtune-qlora-q4_1": [], "llmtune-lora-fp32": [], "pytorch+peft-fp32": []}
    ceilings, torch_training_peaks = [], []
    for _ in range(args.repeats):  # alternate engines so that a slow phase of the host hits all of them
        ceilings.append(llmtune_gemm_gflops(env))
        runs["llmtune-qlora-q4_1"].append(run_llmtune(args, data_file, False, env))
        runs["llmtune-lora-fp32"].append(run_llmtune(args, data_file, True, env))
        tps, peak, training_peak, torch_gflops = run_torch(args, gguf, data_file, env)
        runs["pytorch+peft-fp32"].append((tps, peak))
        torch_training_peaks.append(training_peak)
        ceilings.append(torch_gflops)
    med = statistics.median
    results = {name: (med(t for t, _ in rs), med(p for _, p in rs)) for name, rs in runs.items()}
    ceiling = max(ceilings)
    base_tps, base_rss = results["pytorch+peft-fp32"]
    print(f"\nLoRA r={args.rank} all-linear, batch 4 x 256, AdamW, {args.steps} steps, {args.threads} threads, "
          f"medians of {args.repeats} alternating runs")
    print(f"model FLOPs per token {flops / 1e6:.0f} M; GEMM ceiling {ceiling:.0f} GFLOP/s (best of llmtune doctor "
          f"--measure {max(ceilings[0::2]):.0f}, torch.mm {max(ceilings[1::2]):.0f})")
    print(f"{'engine':<20} {'tokens/s':>9} {'vs PyTorch':>10} {'MFU':>6} {'peak RSS MB':>12} {'vs PyTorch':>10}")
    for name, (tps, rss) in results.items():
        mfu = tps * flops / 1e9 / ceiling
        print(f"{name:<20} {tps:>9.1f} {tps / base_tps:>9.2f}x {mfu:>6.0%} {rss:>12.0f} {rss / base_rss:>9.2f}x")
    print(f"PyTorch peak RSS of the training phase alone (after loading): {med(torch_training_peaks):.0f} MB")


if __name__ == "__main__":
    sys.exit(main())
