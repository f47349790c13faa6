#!/usr/bin/env python3
"""Golden fixtures for LLMTuneAdaptersTests (oracle only; never used at runtime).

Writes into Tests/LLMTuneAdaptersTests/Fixtures:
  tiny-llama/{config.json,model.safetensors}, tiny-llama.gguf   copies of LLMTuneModelsTests fixtures (same weights;
                                                                the GGUF keeps llama.cpp's permuted q/k rows)
  peft-tiny-llama/            PEFT LoRA r=4 alpha=8 on q,k,v,o,gate,up,down, random non-zero A and B, F32
  peft-tiny-llama.logits.f32  logits of base+adapter (PEFT, eval mode), float32 (2, 12, 256) row-major
  peft-rslora-bf16/           PEFT LoRA r=2 alpha=4 use_rslora, q_proj,k_proj, layers_to_transform [1], saved BF16
  peft-rslora-bf16.logits.f32
  mlx-tiny-llama/             mlx-lm layout written with numpy: adapters.safetensors (lora_a (in, r), lora_b (r, out))
                              for q/k/v_proj of both layers, adapter_config.json lora_parameters scale 2.5
  mlx-tiny-llama.logits.f32   logits of W + scale * (lora_a @ lora_b)^T (transformers forward)
  adapters.json               input ids and a summary
Run from the repository root: python3 tools/reference/peft_make_fixtures.py   (about 5 s)
"""
import json, os, shutil, sys
import numpy as np
import torch
from safetensors.numpy import save_file
from safetensors.torch import load_file, save_file as save_torch
from transformers import AutoModelForCausalLM
import peft
from peft import LoraConfig, get_peft_model

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SRC = os.path.join(ROOT, "Tests/LLMTuneModelsTests/Fixtures")
OUT = os.path.join(ROOT, "Tests/LLMTuneAdaptersTests/Fixtures")
TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]


def base_model():
    m = AutoModelForCausalLM.from_pretrained(os.path.join(OUT, "tiny-llama"), attn_implementation="eager")
    return m.eval()


def logits_of(model, ids):
    with torch.no_grad():
        return model(torch.tensor(ids)).logits.float().numpy()


def randomize_lora(model, seed, std_a=0.3, std_b=0.3, dtype=None):
    g = torch.Generator().manual_seed(seed)
    for name, p in model.named_parameters():
        if "lora_A" in name or "lora_B" in name:
            std = std_a if "lora_A" in name else std_b
            v = torch.randn(p.shape, generator=g) * std
            if dtype is not None:
                v = v.to(dtype).float()   # the golden sees exactly the values the file will hold
            with torch.no_grad():
                p.copy_(v)


def main():
    os.makedirs(os.path.join(OUT, "tiny-llama"), exist_ok=True)
    for f in ["config.json", "model.safetensors"]:
        shutil.copyfile(os.path.join(SRC, "tiny-llama", f), os.path.join(OUT, "tiny-llama", f))
    shutil.copyfile(os.path.join(SRC, "tiny-llama.gguf"), os.path.join(OUT, "tiny-llama.gguf"))
    ids = json.load(open(os.path.join(SRC, "tiny-llama/golden.json")))["input_ids"]
    base = logits_of(base_model(), ids)
    summary = {"input_ids": ids, "logits_shape": list(base.shape), "peft_version": peft.__version__,
               "torch": torch.__version__, "adapters": {}}

    # 1. PEFT, all seven projections, F32.
    m = get_peft_model(base_model(), LoraConfig(r=4, lora_alpha=8, target_modules=TARGETS, lora_dropout=0.0,
                                                 task_type="CAUSAL_LM"))
    randomize_lora(m, 1)
    m.eval()
    out = logits_of(m, ids)
    d = os.path.join(OUT, "peft-tiny-llama")
    shutil.rmtree(d, ignore_errors=True)
    m.save_pretrained(d)
    os.remove(os.path.join(d, "README.md"))   # PEFT's model card template
    cfg = json.load(open(os.path.join(d, "adapter_config.json")))
    cfg["base_model_name_or_path"] = "tiny-llama"
    cfg["target_modules"] = sorted(cfg["target_modules"])   # PEFT writes a set: fix the order
    json.dump(cfg, open(os.path.join(d, "adapter_config.json"), "w"), indent=2, sort_keys=True)
    out.astype("<f4").tofile(os.path.join(OUT, "peft-tiny-llama.logits.f32"))
    # PEFT must reload its own files to the same logits.
    from peft import PeftModel
    again = PeftModel.from_pretrained(base_model(), d).eval()
    assert np.abs(logits_of(again, ids) - out).max() == 0
    summary["adapters"]["peft-tiny-llama"] = {"r": 4, "lora_alpha": 8, "scale": 2.0, "targets": TARGETS,
                                             "max_abs_logit_change_vs_base": float(np.abs(out - base).max())}

    # 2. PEFT rsLoRA on layer 1 q/k only, stored as BF16.
    m = get_peft_model(base_model(), LoraConfig(r=2, lora_alpha=4, target_modules=["q_proj", "k_proj"],
                                                 use_rslora=True, layers_to_transform=[1], task_type="CAUSAL_LM"))
    randomize_lora(m, 2, dtype=torch.bfloat16)
    m.eval()
    out = logits_of(m, ids)
    d = os.path.join(OUT, "peft-rslora-bf16")
    shutil.rmtree(d, ignore_errors=True)
    m.save_pretrained(d)
    w = load_file(os.path.join(d, "adapter_model.safetensors"))
    save_torch({k: v.to(torch.bfloat16) for k, v in w.items()}, os.path.join(d, "adapter_model.safetensors"),
               metadata={"format": "pt"})
    os.remove(os.path.join(d, "README.md"))   # PEFT's model card template
    cfg = json.load(open(os.path.join(d, "adapter_config.json")))
    cfg["base_model_name_or_path"] = "tiny-llama"
    cfg["target_modules"] = sorted(cfg["target_modules"])   # PEFT writes a set: fix the order
    json.dump(cfg, open(os.path.join(d, "adapter_config.json"), "w"), indent=2, sort_keys=True)
    again = PeftModel.from_pretrained(base_model(), d).eval()
    assert np.abs(logits_of(again, ids) - out).max() < 1e-6
    out.astype("<f4").tofile(os.path.join(OUT, "peft-rslora-bf16.logits.f32"))
    summary["adapters"]["peft-rslora-bf16"] = {"r": 2, "lora_alpha": 4, "use_rslora": True,
                                              "scale": 4 / np.sqrt(2), "layers_to_transform": [1],
                                              "max_abs_logit_change_vs_base": float(np.abs(out - base).max())}

    # 3. mlx-lm layout (mlx_lm/tuner/lora.py: y = linear(x) + scale * (x @ lora_a) @ lora_b).
    rng = np.random.default_rng(3)
    model = base_model()
    tensors, r, scale = {}, 4, 2.5
    for layer in range(2):
        for proj in ["q_proj", "k_proj", "v_proj"]:
            lin = getattr(model.model.layers[layer].self_attn, proj)
            out_f, in_f = lin.weight.shape
            a = (rng.standard_normal((in_f, r)) * 0.3).astype(np.float32)
            b = (rng.standard_normal((r, out_f)) * 0.3).astype(np.float32)
            key = f"model.layers.{layer}.self_attn.{proj}"
            tensors[key + ".lora_a"] = a
            tensors[key + ".lora_b"] = b
            with torch.no_grad():
                lin.weight += torch.from_numpy(scale * (a @ b).T)
    d = os.path.join(OUT, "mlx-tiny-llama")
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    save_file(tensors, os.path.join(d, "adapters.safetensors"), metadata={"format": "mlx"})
    json.dump({"fine_tune_type": "lora", "num_layers": 2, "model": "tiny-llama",
               "lora_parameters": {"rank": r, "scale": scale, "dropout": 0.0}},
              open(os.path.join(d, "adapter_config.json"), "w"), indent=2)
    out = logits_of(model, ids)
    out.astype("<f4").tofile(os.path.join(OUT, "mlx-tiny-llama.logits.f32"))
    summary["adapters"]["mlx-tiny-llama"] = {"r": r, "scale": scale,
                                            "max_abs_logit_change_vs_base": float(np.abs(out - base).max())}
    json.dump(summary, open(os.path.join(OUT, "adapters.json"), "w"), indent=1)
    print(json.dumps(summary["adapters"], indent=1))


if __name__ == "__main__":
    main()
