#!/usr/bin/env python3
"""50-step LoRA loss curves from PyTorch + PEFT: the unoptimised reference LLMTune's training loop must reproduce
(issue 5: "speed-ups change no numbers"). Oracle only; nothing here runs inside LLMTune.

Writes Tests/LLMTuneTrainingTests/Fixtures/loss_curve/ (about 200 KB):
  model/config.json, model/model.safetensors  a tiny random Llama (hidden 32, 3 layers, 4 heads, 2 kv heads,
                                               head_dim 8, intermediate 64, vocab 256, tied embeddings), fp32
  init-adapter/                                PEFT LoRA r=4, alpha=8 (scale 2), dropout 0, on q,k,v,o,gate,up,down
                                               of every layer; A and B random and NON-zero, so that both get a
                                               gradient from step 1; F32
  curve.json                                   the training arguments, the micro-batches, and per base kind
                                               ("fp32", "q4_1", "q8_0") the loss, gradient norm (before clipping)
                                               and learning rate of each of the 50 optimizer steps; for the
                                               quantized kinds, per-matrix sums of the dequantized weights;
                                               "fp32_learning_rate_2e-3" (the same at 2x the learning rate);
                                               "fp32_wide": 10 steps on one wide batch (see widen), large enough
                                               that LLMTune's kernels run multi-threaded

The training loop is LLMTune's Trainer (Sources/LLMTuneTraining/Trainer.swift) written in PyTorch:
  - the micro-batches are served in order and cycled (LLMTune's FixedBatches); each optimizer step takes
    GRAD_ACCUM of them; the step's loss is  sum over its micro-batches of CE_sum / N  where N is the step's
    number of targets != -100 (= LLMTune's token-weighted accumulation: mean loss of micro-batch i weighted by
    n_i / N), and so is the gradient;
  - no attention mask: LLMTune's model is causal only and padding is at the right (pad targets are -100);
  - torch.nn.utils.clip_grad_norm_(max_norm 6.0) (LLMTune's GradientClipping: same formula, norm before
    clipping is reported);
  - torch.optim.AdamW(betas (0.9, 0.999), eps 1e-8, weight_decay 0.01): LLMTune's AdamW defaults;
  - transformers' get_cosine_with_min_lr_schedule_with_warmup(warmup 5, 50 steps, min_lr_rate 0.1), stepped
    after each optimizer step: LLMTune's LearningRateSchedule (cosine, warmup_steps 5, min ratio 0.1); step 0
    runs at learning rate 0.
Quantized kinds: the seven projection weights of every layer are encoded with the `gguf` package's
gguf.quants.quantize (the same bytes as LLMTune's Quantizer for Q4_1 / Q8_0, see the LLMTuneKernels tests), decoded
with gguf.quants.dequantize, and PyTorch trains on those fp32 values (LLMTune's QLoRA computes in fp32 on the
decoded blocks). The embedding (= the tied output head) stays fp32.

The script writes the files, reloads them (transformers + PeftModel.from_pretrained) and checks that training
from the files gives bit-identical curves; it also records the curve of a 2x learning rate (the Swift test's
proof that it can fail).

Usage, from the repository root (about 10 s):  python3 tools/reference/lora_loss_curve_fixtures.py
"""
import importlib.metadata, json, os, re, shutil, sys

os.environ.setdefault("HF_HUB_OFFLINE", "1")   # everything is local; no Hub look-ups for the adapter's base name

import numpy as np
import torch
import torch.nn.functional as F

import gguf
import peft
import transformers
from peft import LoraConfig, PeftModel, get_peft_model, get_peft_model_state_dict, set_peft_model_state_dict
from transformers import LlamaConfig, LlamaForCausalLM, get_cosine_with_min_lr_schedule_with_warmup

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "Tests/LLMTuneTrainingTests/Fixtures/loss_curve")
TARGETS = ["down_proj", "gate_proj", "k_proj", "o_proj", "q_proj", "up_proj", "v_proj"]

# The training run (LLMTune TrainingArguments field names in comments).
STEPS = 50                 # steps
GRAD_ACCUM = 2             # gradient_accumulation
LEARNING_RATE = 1e-3       # learning_rate
WARMUP = 5                 # warmup_steps
MIN_LR_RATIO = 0.1         # min_learning_rate_ratio, schedule cosine
BETAS = (0.9, 0.999)       # betas
EPS = 1e-8                 # eps
WEIGHT_DECAY = 0.01        # weight_decay
MAX_GRAD_NORM = 6.0        # max_grad_norm (the norms are 5-8 here: about half the steps are clipped)
MICRO_BATCHES = 20         # distinct micro-batches, cycled (100 are drawn)
BATCH_SIZE = 3
PAD = 0
EOS = 2
WIDE_STEPS = 10            # the "wide" run: one batch of all micro-batches' rows, twice (see widen)
WIDE_COPIES = 2


def make_model(seed):
    cfg = LlamaConfig(vocab_size=256, hidden_size=32, intermediate_size=64, num_hidden_layers=3,
                      num_attention_heads=4, num_key_value_heads=2, head_dim=8, max_position_embeddings=64,
                      hidden_act="silu", rms_norm_eps=1e-5, rope_theta=10000.0, tie_word_embeddings=True,
                      attention_bias=False, mlp_bias=False, bos_token_id=1, eos_token_id=EOS, pad_token_id=PAD)
    torch.manual_seed(seed)
    cfg._attn_implementation = "eager"
    model = LlamaForCausalLM(cfg)
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():   # weights giving logits of magnitude ~1-5 (as make_tiny_llama_fixtures.py)
        for name, p in model.named_parameters():
            if name.endswith("norm.weight"):
                p.copy_(1.0 + 0.1 * torch.randn(p.shape, generator=g))
            elif "embed_tokens" in name:
                p.copy_(0.3 * torch.randn(p.shape, generator=g))
            else:
                p.copy_(0.2 * torch.randn(p.shape, generator=g))
    return model


def make_batches(seed):
    """Micro-batches of records "prompt -> answer <eos>": prompt 3-6 random ids, answer = the prompt reversed
    plus one (learnable), loss on the answer and eos only, right padding with PAD (target -100)."""
    rng = np.random.default_rng(seed)
    batches = []
    for _ in range(MICRO_BATCHES):
        records = []
        for _ in range(BATCH_SIZE):
            prompt = [int(x) for x in rng.integers(3, 250, size=int(rng.integers(3, 7)))]
            answer = [t + 1 for t in reversed(prompt)][: int(rng.integers(2, len(prompt) + 1))] + [EOS]
            records.append((prompt, answer))
        T = max(len(p) + len(a) for p, a in records) - 1
        inputs, targets = [], []
        for prompt, answer in records:
            seq = prompt + answer
            inp = seq[:-1] + [PAD] * (T - (len(seq) - 1))
            tgt = [-100] * (len(prompt) - 1) + answer + [-100] * (T - (len(seq) - 1))
            assert len(inp) == T and len(tgt) == T
            inputs += inp
            targets += tgt
        batches.append({"batch_size": BATCH_SIZE, "length": T, "inputs": inputs, "targets": targets})
    return batches


def widen(batches, copies=WIDE_COPIES):
    """One wide batch: every row of every micro-batch, right-padded to the longest, `copies` times over (enough
    rows, B·T > 1000, that LLMTune's kernels split their work over threads)."""
    T = max(b["length"] for b in batches)
    inputs, targets = [], []
    for _ in range(copies):
        for b in batches:
            L = b["length"]
            for r in range(b["batch_size"]):
                inputs += b["inputs"][r * L:(r + 1) * L] + [PAD] * (T - L)
                targets += b["targets"][r * L:(r + 1) * L] + [-100] * (T - L)
    return {"batch_size": len(inputs) // T, "length": T, "inputs": inputs, "targets": targets}


def as_tensors(b):
    shape = (b["batch_size"], b["length"])
    return torch.tensor(b["inputs"]).view(shape), torch.tensor(b["targets"]).view(shape)


def train(model, init_state, batches, learning_rate, steps=STEPS, accumulation=GRAD_ACCUM):
    """LLMTune's Trainer loop (see the module docstring). Returns losses, gradient norms, learning rates."""
    set_peft_model_state_dict(model, init_state)
    model.train()
    params = [p for _, p in model.named_parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=learning_rate, betas=BETAS, eps=EPS, weight_decay=WEIGHT_DECAY)
    sched = get_cosine_with_min_lr_schedule_with_warmup(opt, num_warmup_steps=WARMUP, num_training_steps=steps,
                                                        min_lr_rate=MIN_LR_RATIO)
    tensors = [as_tensors(b) for b in batches]
    losses, norms, rates = [], [], []
    drawn = 0
    for _ in range(steps):
        opt.zero_grad(set_to_none=True)
        micro = [tensors[(drawn + j) % len(tensors)] for j in range(accumulation)]
        drawn += accumulation
        total = sum(int((t != -100).sum()) for _, t in micro)
        step_loss = 0.0
        for inputs, targets in micro:
            logits = model(input_ids=inputs).logits   # (B, T, V)
            ce = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1), ignore_index=-100,
                                 reduction="sum")
            (ce / total).backward()
            step_loss += float(ce.detach()) / total
        norm = torch.nn.utils.clip_grad_norm_(params, MAX_GRAD_NORM)
        rates.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
        losses.append(step_loss)
        norms.append(float(norm))
    return losses, norms, rates


def quantize_projections(model, kind):
    """Replaces every projection weight by its `kind` (GGML) encoding, decoded; returns per-matrix checks."""
    qtype = {"q4_1": gguf.GGMLQuantizationType.Q4_1, "q8_0": gguf.GGMLQuantizationType.Q8_0}[kind]
    checks = {}
    with torch.no_grad():
        for name, p in model.named_parameters():
            if not any(f".{t}." in name for t in TARGETS) or "lora_" in name:
                continue
            w = p.detach().numpy().astype(np.float32)
            blocks = gguf.quants.quantize(w, qtype)
            back = gguf.quants.dequantize(blocks, qtype).reshape(w.shape).astype(np.float32)
            p.copy_(torch.from_numpy(back))
            key = name.replace("base_model.model.", "").replace(".base_layer", "").removesuffix(".weight")
            checks[key] = {"sum": float(back.astype(np.float64).sum()),
                           "sum_of_squares": float((back.astype(np.float64) ** 2).sum()),
                           "first": [float(v) for v in back.reshape(-1)[:4]],
                           "max_abs_change": float(np.abs(back - w).max())}
    return checks


def peft_model(base):
    return get_peft_model(base, LoraConfig(r=4, lora_alpha=8, target_modules=TARGETS, lora_dropout=0.0,
                                           bias="none", task_type="CAUSAL_LM"))


def randomize_lora(model, seed):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "lora_A" in name:
                p.copy_(0.2 * torch.randn(p.shape, generator=g))
            elif "lora_B" in name:
                p.copy_(0.05 * torch.randn(p.shape, generator=g))


def dump_json(doc):
    """Indented JSON with innermost lists of numbers on one line."""
    text = json.dumps(doc, indent=1)
    return re.sub(r"\[[-0-9.,e\s]*\]", lambda m: re.sub(r"\s+", " ", m.group(0)).replace("[ ", "[").replace(" ]", "]"),
                  text) + "\n"


def main():
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    shutil.rmtree(OUT, ignore_errors=True)
    os.makedirs(OUT)

    base = make_model(seed=5)
    model_dir = os.path.join(OUT, "model")
    base.save_pretrained(model_dir, safe_serialization=True)
    for extra in ["generation_config.json"]:
        if os.path.exists(os.path.join(model_dir, extra)):
            os.remove(os.path.join(model_dir, extra))

    model = peft_model(base)
    randomize_lora(model, seed=11)
    adapter_dir = os.path.join(OUT, "init-adapter")
    model.save_pretrained(adapter_dir)
    if os.path.exists(os.path.join(adapter_dir, "README.md")):
        os.remove(os.path.join(adapter_dir, "README.md"))   # PEFT's model card template
    cfg = json.load(open(os.path.join(adapter_dir, "adapter_config.json")))
    cfg["base_model_name_or_path"] = "loss_curve/model"
    cfg["target_modules"] = sorted(cfg["target_modules"])   # PEFT writes a set: fix the order
    json.dump(cfg, open(os.path.join(adapter_dir, "adapter_config.json"), "w"), indent=2, sort_keys=True)

    batches = make_batches(seed=21)
    curves = {}

    def run(kind, learning_rate=LEARNING_RATE, wide=False):
        """Loads model + adapter from the written files, quantizes for the quantized kinds, trains."""
        m = LlamaForCausalLM.from_pretrained(model_dir, dtype=torch.float32, attn_implementation="eager")
        m = PeftModel.from_pretrained(m, adapter_dir, is_trainable=True)
        checks = quantize_projections(m, kind) if kind != "fp32" else None
        init_state = {k: v.detach().clone() for k, v in get_peft_model_state_dict(m).items()}
        if wide:
            losses, norms, rates = train(m, init_state, [widen(batches)], learning_rate, WIDE_STEPS, 1)
        else:
            losses, norms, rates = train(m, init_state, batches, learning_rate)
        return losses, norms, rates, checks

    # The in-memory model (before saving) and the reloaded files must give the same fp32 curve.
    direct = train(model, {k: v.detach().clone() for k, v in get_peft_model_state_dict(model).items()}, batches,
                   LEARNING_RATE)
    for kind in ["fp32", "q4_1", "q8_0"]:
        losses, norms, rates, checks = run(kind)
        if kind == "fp32":
            worst = max(abs(a - b) for a, b in zip(losses, direct[0]))
            assert worst < 1e-6, f"reloaded files train differently from the in-memory model ({worst:.2e})"
        curves[kind] = {"losses": losses, "gradient_norms": norms, "learning_rates": rates}
        if checks:
            curves[kind]["dequantized_weights"] = checks
    wrong = run("fp32", 2 * LEARNING_RATE)[0]
    curves["fp32_learning_rate_2e-3"] = {"losses": wrong}
    wide = widen(batches)
    losses, norms, rates, _ = run("fp32", wide=True)
    curves["fp32_wide"] = {"steps": WIDE_STEPS, "gradient_accumulation": 1, "copies": WIDE_COPIES,
                           "batch_size": wide["batch_size"], "length": wide["length"],
                           "input_sum": sum(wide["inputs"]), "target_count": sum(t != -100 for t in wide["targets"]),
                           "losses": losses, "gradient_norms": norms, "learning_rates": rates}

    doc = {
        "generator": "tools/reference/lora_loss_curve_fixtures.py",
        "versions": {"torch": torch.__version__, "transformers": transformers.__version__, "peft": peft.__version__,
                     "gguf": importlib.metadata.version("gguf"), "numpy": np.__version__},
        "arguments": {"steps": STEPS, "gradient_accumulation": GRAD_ACCUM, "learning_rate": LEARNING_RATE,
                      "schedule": "cosine", "warmup_steps": WARMUP, "min_learning_rate_ratio": MIN_LR_RATIO,
                      "betas": list(BETAS), "eps": EPS, "weight_decay": WEIGHT_DECAY, "max_grad_norm": MAX_GRAD_NORM,
                      "optimizer": "adamw", "dropout": 0.0},
        "lora": {"r": 4, "lora_alpha": 8, "targets": TARGETS},
        "tolerance": 1e-4,
        "batches": batches,
        "curves": curves,
    }
    with open(os.path.join(OUT, "curve.json"), "w") as f:
        f.write(dump_json(doc))

    size = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(OUT) for f in fs)
    print(f"wrote {OUT} ({size / 1024:.0f} KB)")
    for kind, c in curves.items():
        l = c["losses"]
        print(f"{kind:24s} loss {l[0]:.5f} -> {l[-1]:.5f}; max |diff vs fp32| {max(abs(a - b) for a, b in zip(l, curves['fp32']['losses'])):.2e}")
    n = curves["fp32"]["gradient_norms"]
    print(f"gradient norms {min(n):.3f}..{max(n):.3f}; clipped at {sum(x > MAX_GRAD_NORM for x in n)} of {STEPS} steps")
    return 0


if __name__ == "__main__":
    sys.exit(main())
