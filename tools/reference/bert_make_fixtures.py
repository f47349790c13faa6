#!/usr/bin/env python3
"""Write a tiny random BERT encoder (BertModel) and its golden last hidden states for
Tests/LLMTuneModelsTests/Fixtures/bert.

Oracle: transformers (fp32, CPU, eager attention). Weights are re-drawn with a larger spread than BERT's
0.02 initialisation so that every part (word / position / token-type embeddings, post-LayerNorms, the erf
GELU intermediate, the attention padding mask) moves the outputs measurably.

The golden batch has two sequences of different lengths: the shorter is right-padded with [PAD] (id 0) and
masked by attention_mask; the second sequence uses token type 1 for its second half. The golden holds the
last hidden state of EVERY position, padded ones included (they attend to the unmasked keys only), plus the
mean-pooled, L2-normalised sentence embeddings (sentence-transformers' Pooling(mean) + Normalize).

Writes bert/tiny/{config.json, model.safetensors}, bert/golden.json, bert/golden_hidden.f32 (float32
little-endian, row-major (B, T, C)).

Usage: python3 tools/reference/bert_make_fixtures.py [--out Tests/LLMTuneModelsTests/Fixtures]
"""

import argparse
import json
import os

import numpy as np
import torch
import transformers
from transformers import BertConfig, BertModel

SEED = 2468
LENGTHS = [7, 12]


def randomize(model: torch.nn.Module, generator: torch.Generator) -> None:
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "LayerNorm.weight" in name:
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
    config = BertConfig(vocab_size=100, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                        intermediate_size=64, max_position_embeddings=64, type_vocab_size=2, hidden_act="gelu",
                        layer_norm_eps=1e-12, hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0,
                        pad_token_id=0, attn_implementation="eager")
    model = BertModel(config, add_pooling_layer=False).eval()
    randomize(model, generator)
    folder = os.path.join(args.out, "bert")
    model.save_pretrained(os.path.join(folder, "tiny"), safe_serialization=True)
    T = max(LENGTHS)
    ids = torch.zeros((len(LENGTHS), T), dtype=torch.long)
    mask = torch.zeros((len(LENGTHS), T), dtype=torch.long)
    types = torch.zeros((len(LENGTHS), T), dtype=torch.long)
    for b, n in enumerate(LENGTHS):
        ids[b, :n] = torch.randint(1, config.vocab_size, (n,), generator=generator)
        mask[b, :n] = 1
    types[1, LENGTHS[1] // 2:LENGTHS[1]] = 1
    with torch.no_grad():
        hidden = model(input_ids=ids, attention_mask=mask, token_type_ids=types).last_hidden_state  # (B, T, C)
        m = mask.unsqueeze(-1).float()
        pooled = (hidden * m).sum(1) / m.sum(1).clamp(min=1e-9)
        embeddings = torch.nn.functional.normalize(pooled, p=2, dim=1)
    hidden = hidden.float().numpy()
    print("hidden std", float(hidden.std()))
    hidden.astype("<f4").tofile(os.path.join(folder, "golden_hidden.f32"))
    golden = {"input_ids": [ids[b, :n].tolist() for b, n in enumerate(LENGTHS)],
              "token_type_ids": [types[b, :n].tolist() for b, n in enumerate(LENGTHS)],
              "hidden_file": "golden_hidden.f32", "hidden_shape": list(hidden.shape),
              "embeddings": embeddings.numpy().tolist(), "tolerance": 1e-4,
              "transformers": transformers.__version__, "torch": torch.__version__}
    with open(os.path.join(folder, "golden.json"), "w") as f:
        json.dump(golden, f, indent=1)


if __name__ == "__main__":
    main()
