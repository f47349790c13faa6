#!/usr/bin/env python3
"""Write a tiny random GPT-2 (GPT2LMHeadModel) and its golden logits for Tests/LLMTuneModelsTests/Fixtures/gpt2.

Oracle: transformers (fp32, CPU, eager attention). Weights are re-drawn with a larger spread than GPT-2's
0.02 initialisation so that the logits are O(1) and every part of the block (LayerNorms, biases, the fused
c_attn, gelu_new MLP, learned positions) moves them measurably.

Writes gpt2/tiny/{config.json, model.safetensors} (HF names; Conv1D weights stored (in, out) as HF does),
gpt2/golden.json and gpt2/golden_logits.f32 (float32 little-endian, row-major (B, T, V)).

Usage: python3 tools/reference/gpt2_make_fixtures.py [--out Tests/LLMTuneModelsTests/Fixtures]
"""

import argparse
import json
import os

import numpy as np
import torch
import transformers
from transformers import GPT2Config, GPT2LMHeadModel

SEED = 4321
B, T = 2, 12


def randomize(model: torch.nn.Module, generator: torch.Generator) -> None:
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("ln_1.weight") or name.endswith("ln_2.weight") or name.endswith("ln_f.weight"):
                p.copy_(1 + 0.2 * torch.randn(p.shape, generator=generator))
            elif p.ndim == 1:
                p.copy_(0.1 * torch.randn(p.shape, generator=generator))
            else:
                p.copy_(0.3 * torch.randn(p.shape, generator=generator))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", default="Tests/LLMTuneModelsTests/Fixtures")
    args = parser.parse_args()
    torch.manual_seed(SEED)
    generator = torch.Generator().manual_seed(SEED)
    config = GPT2Config(vocab_size=96, n_positions=64, n_embd=32, n_layer=2, n_head=4, n_inner=None,
                        activation_function="gelu_new", layer_norm_epsilon=1e-5, resid_pdrop=0.0, embd_pdrop=0.0,
                        attn_pdrop=0.0, tie_word_embeddings=True, bos_token_id=0, eos_token_id=0, attn_implementation="eager")
    model = GPT2LMHeadModel(config).eval()
    randomize(model, generator)
    folder = os.path.join(args.out, "gpt2")
    model.save_pretrained(os.path.join(folder, "tiny"), safe_serialization=True)
    ids = torch.randint(0, config.vocab_size, (B, T), generator=generator)
    with torch.no_grad():
        logits = model(input_ids=ids).logits.float().numpy()   # (B, T, V)
    print("logit std", float(logits.std()), "max", float(np.abs(logits).max()))
    logits.astype("<f4").tofile(os.path.join(folder, "golden_logits.f32"))
    golden = {"input_ids": ids.tolist(), "logits_file": "golden_logits.f32", "logits_shape": list(logits.shape),
              "tolerance": 1e-4, "transformers": transformers.__version__, "torch": torch.__version__}
    with open(os.path.join(folder, "golden.json"), "w") as f:
        json.dump(golden, f, indent=1)


if __name__ == "__main__":
    main()
