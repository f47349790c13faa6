#!/usr/bin/env python3
"""Training parity: LLMTune `train` vs PyTorch + PEFT, same init, same batches, same optimizer (issue 4).

usage: peft_train_parity.py [--work DIR] [--llmtune BIN] [--steps 40] [--batch-size 8] [--learning-rate 5e-4]
                            [--held-out 64] [--seq-len 128] [--bases q4_1,fp32] [--threads 2]

What it does (oracle only; nothing here runs inside LLMTune):
 1. Loads SmolLM2-135M-Instruct from the Q4_1 GGUF in transformers (dequantized to fp32) and makes a PEFT LoRA
    adapter on it: r=8, alpha=16, target_modules="all-linear" (lm_head excluded), dropout 0, PEFT's default init
    (A kaiming-uniform, B = 0) under torch.manual_seed(0). Saved as WORK/init: the shared starting point.
 2. Builds the sentiment chat data from the `sentiment` data set (Pang & Lee CSV), with LLMTune's prompt
    (Sources/LLMTuneData/SentimentData.swift): user "Classify the sentiment of this movie review as positive or
    negative.\\nReview: <sentence>", assistant "positive" | "negative". A seeded, label-balanced held-out set
    (WORK/data/valid.jsonl) and steps x batch training records (WORK/data/train.jsonl).
 3. Per base kind runs `llmtune train --init-adapter WORK/init --data WORK/data --schedule constant
    --max-grad-norm 0 --eval-every STEPS --dump-batches WORK/<kind>/batches.jsonl ...` (kind fp32 adds
    --dequantize; q4_1 trains on the Q4_1 weights as stored = QLoRA). The hidden --dump-batches writes every
    batch LLMTune drew (token ids and -100-masked targets, after its shuffling, length bucketing and padding)
    and its validation batches.
 4. PyTorch + PEFT trains from WORK/init on exactly those batches, in that order: torch.optim.AdamW(lr,
    betas (0.9, 0.999), eps 1e-8, weight_decay 0), constant LR, no clipping, fp32, loss = mean cross-entropy over
    targets != -100 of the batch (as LLMTune), no attention mask (LLMTune's model is causal only, padding is at
    the right, so real tokens never see it; the same holds here).
 5. Held-out loss (token-weighted mean CE over the validation batches' targets) is computed in PyTorch for the
    PyTorch-trained adapter and for LLMTune's final adapter (its PEFT adapter_model.safetensors loaded into the
    same PEFT model), with the same code. LLMTune's own val_loss (its own arithmetic, Q4_1 or fp32) is reported too.
Writes WORK/results.json and prints a Markdown table (docs/training-parity.md).
"""
import argparse, csv, json, os, random, subprocess, sys, time

import torch
import torch.nn.functional as F
from safetensors.torch import load_file
from transformers import AutoModelForCausalLM
from peft import LoraConfig, get_peft_model, set_peft_model_state_dict, get_peft_model_state_dict

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
HOME = os.path.expanduser("~/.cache/llmtune")
MODEL_DIR = os.path.join(HOME, "models/smollm2-135m-instruct")
GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
CSV = os.path.join(HOME, "datasets/sentiment/polarity-en-pang&lee2.csv")
INSTRUCTION = "Classify the sentiment of this movie review as positive or negative."


def sentiment_records(seed, held_out, train_count):
    rows = []
    with open(CSV, encoding="utf-8-sig", newline="") as f:
        for label, text in csv.reader(f):
            sentence = " ".join(text.split())
            rows.append((sentence, "positive" if label.strip() in ("1", "positive", "pos") else "negative"))
    rng = random.Random(seed)
    pos = [r for r in rows if r[1] == "positive"]
    neg = [r for r in rows if r[1] == "negative"]
    rng.shuffle(pos)
    rng.shuffle(neg)
    held = [x for pair in zip(pos[: held_out // 2], neg[: held_out // 2]) for x in pair]
    rest = pos[held_out // 2:] + neg[held_out // 2:]
    rng.shuffle(rest)
    return rest[:train_count], held


def write_jsonl(path, records):
    with open(path, "w") as f:
        for sentence, label in records:
            msgs = [{"role": "user", "content": INSTRUCTION + "\nReview: " + sentence},
                    {"role": "assistant", "content": label}]
            f.write(json.dumps({"messages": msgs}, ensure_ascii=False) + "\n")


def read_batches(path):
    train, valid = [], []
    with open(path) as f:
        for line in f:
            b = json.loads(line)
            shape = (b["batch_size"], b["length"])
            item = (torch.tensor(b["inputs"]).view(shape), torch.tensor(b["targets"]).view(shape))
            (train if b["split"] == "train" else valid).append(item)
    return train, valid


def batch_loss(model, inputs, targets):
    logits = model(input_ids=inputs).logits   # (B, T, V)
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]).float(), targets.reshape(-1), ignore_index=-100)


def held_out_loss(model, batches):
    model.eval()
    total, count = 0.0, 0
    with torch.no_grad():
        for inputs, targets in batches:
            n = int((targets != -100).sum())
            if n:
                total += float(batch_loss(model, inputs, targets)) * n
                count += n
    return total / count


def lora_state(model):
    return {k: v.detach().clone() for k, v in get_peft_model_state_dict(model).items()}


def train_pytorch(model, init_state, batches, lr):
    set_peft_model_state_dict(model, init_state)
    model.train()
    params = [p for n, p in model.named_parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0)
    losses = []
    start = time.time()
    for inputs, targets in batches:
        opt.zero_grad(set_to_none=True)
        loss = batch_loss(model, inputs, targets)
        loss.backward()
        opt.step()
        losses.append(loss.item())
        if len(losses) % 10 == 0:
            print(f"  PyTorch step {len(losses)}/{len(batches)} loss {losses[-1]:.4f} ({time.time() - start:.0f} s)",
                  flush=True)
    return losses, time.time() - start


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--work", default="/tmp/llmtune-train-parity")
    p.add_argument("--llmtune", default=os.path.join(ROOT, ".build/release/llmtune"))
    p.add_argument("--steps", type=int, default=40)
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--learning-rate", type=float, default=5e-4)
    p.add_argument("--held-out", type=int, default=64)
    p.add_argument("--seq-len", type=int, default=128)
    p.add_argument("--bases", default="q4_1,fp32")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    os.makedirs(os.path.join(a.work, "data"), exist_ok=True)

    # 1. Base (Q4_1 dequantized to fp32) and the shared PEFT init.
    t = time.time()
    base = AutoModelForCausalLM.from_pretrained(MODEL_DIR, gguf_file=GGUF, dtype=torch.float32,
                                                attn_implementation="eager")
    print(f"transformers loaded {GGUF} as fp32 in {time.time() - t:.0f} s", flush=True)
    torch.manual_seed(a.seed)
    config = LoraConfig(r=8, lora_alpha=16, lora_dropout=0.0, target_modules="all-linear", bias="none",
                        task_type="CAUSAL_LM")
    model = get_peft_model(base, config)
    init_dir = os.path.join(a.work, "init")
    model.save_pretrained(init_dir)
    init_state = lora_state(model)

    # 2. Data.
    train, held = sentiment_records(a.seed, a.held_out, a.steps * a.batch_size)
    write_jsonl(os.path.join(a.work, "data/train.jsonl"), train)
    write_jsonl(os.path.join(a.work, "data/valid.jsonl"), held)

    results = {"date": time.strftime("%Y-%m-%d"), "steps": a.steps, "batch_size": a.batch_size,
               "learning_rate": a.learning_rate, "held_out_records": len(held), "train_records": len(train),
               "runs": {}}
    pytorch_cache = {}   # batches (as a key) -> (losses, seconds, held-out loss); identical batches train once
    for kind in a.bases.split(","):
        out = os.path.join(a.work, kind)
        os.makedirs(out, exist_ok=True)
        dump = os.path.join(out, "batches.jsonl")
        cmd = [a.llmtune, "train", "--model", os.path.join(MODEL_DIR, GGUF), "--data", os.path.join(a.work, "data"),
               "--init-adapter", init_dir, "--steps", str(a.steps), "--batch-size", str(a.batch_size),
               "--learning-rate", str(a.learning_rate), "--schedule", "constant", "--warmup-steps", "0",
               "--max-grad-norm", "0", "--weight-decay", "0", "--eval-every", str(a.steps),
               "--checkpoint-every", "0", "--seq-len", str(a.seq_len), "--seed", str(a.seed),
               "--output", os.path.join(out, "llmtune"), "--dump-batches", dump]
        if kind == "fp32":
            cmd.append("--dequantize")
        print("$ " + " ".join(cmd), flush=True)
        t = time.time()
        subprocess.run(cmd, check=True)
        llmtune_seconds = time.time() - t
        metrics = [json.loads(l) for l in open(os.path.join(out, "llmtune/metrics.jsonl"))]
        llmtune_losses = [m["loss"] for m in metrics]
        llmtune_own_val = next((m["val_loss"] for m in reversed(metrics) if "val_loss" in m), None)

        train_batches, valid_batches = read_batches(dump)
        assert len(train_batches) == a.steps, f"{len(train_batches)} batches dumped for {a.steps} steps"
        key = open(dump).read()
        if key not in pytorch_cache:
            print(f"PyTorch + PEFT: {a.steps} steps on LLMTune's batches", flush=True)
            losses, seconds = train_pytorch(model, init_state, train_batches, a.learning_rate)
            pytorch_cache[key] = (losses, seconds, held_out_loss(model, valid_batches))
        torch_losses, torch_seconds, torch_held = pytorch_cache[key]

        # LLMTune's final adapter, evaluated by the same PyTorch code.
        trained = load_file(os.path.join(out, "llmtune/adapter_model.safetensors"))
        set_peft_model_state_dict(model, trained)
        llmtune_held = held_out_loss(model, valid_batches)
        set_peft_model_state_dict(model, init_state)
        init_held = held_out_loss(model, valid_batches)

        run = {"base": kind, "llmtune_held_out_loss": llmtune_held, "pytorch_held_out_loss": torch_held,
               "relative_difference": abs(llmtune_held - torch_held) / torch_held,
               "llmtune_own_val_loss": llmtune_own_val, "init_held_out_loss": init_held,
               "llmtune_train_losses": llmtune_losses, "pytorch_train_losses": torch_losses,
               "llmtune_wall_seconds": llmtune_seconds, "pytorch_train_seconds": torch_seconds,
               "llmtune_train_seconds": metrics[-1]["elapsed_seconds"],
               "target_tokens": int(sum(int((tg != -100).sum()) for _, tg in train_batches)),
               "tokens": int(sum(inp.numel() for inp, _ in train_batches))}
        results["runs"][kind] = run
        print(json.dumps({k: v for k, v in run.items() if not k.endswith("losses")}, indent=1), flush=True)

    with open(os.path.join(a.work, "results.json"), "w") as f:
        json.dump(results, f, indent=1)
    print("\n| base | held-out loss LLMTune | held-out loss PyTorch | rel. diff | LLMTune own val loss | init | "
          "LLMTune train s | PyTorch train s |")
    print("|---|---|---|---|---|---|---|---|")
    for kind, r in results["runs"].items():
        print(f"| {kind} | {r['llmtune_held_out_loss']:.4f} | {r['pytorch_held_out_loss']:.4f} | "
              f"{100 * r['relative_difference']:.2f}% | {r['llmtune_own_val_loss']:.4f} | {r['init_held_out_loss']:.4f} | "
              f"{r['llmtune_train_seconds']:.0f} | {r['pytorch_train_seconds']:.0f} |")
    for kind, r in results["runs"].items():
        print(f"\n{kind}: step, LLMTune loss, PyTorch loss")
        for i, (x, y) in enumerate(zip(r["llmtune_train_losses"], r["pytorch_train_losses"])):
            print(f"{i + 1:3d} {x:.4f} {y:.4f}")
    worst = max(r["relative_difference"] for r in results["runs"].values())
    print(f"\nworst relative held-out difference {100 * worst:.2f}% ({'within' if worst <= 0.02 else 'ABOVE'} 2%)")
    return 0 if worst <= 0.02 else 1


if __name__ == "__main__":
    sys.exit(main())
