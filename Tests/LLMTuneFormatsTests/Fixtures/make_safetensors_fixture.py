#!/usr/bin/env python3
"""Writes safetensors fixtures with the `safetensors` PyPI package (the reference writer), for
LLMTuneFormatsTests:
  st_fixture.safetensors          one tensor of every dtype the reader must handle, plus __metadata__
  st_fixture_expected.json        header facts and values as the reference reads them back
  sharded/                        a two-shard checkpoint with model.safetensors.index.json, laid out as
                                  transformers' save_pretrained writes sharded checkpoints
Run from this folder:  python3 make_safetensors_fixture.py
"""
import json
import os
import struct

import torch
from safetensors.torch import save_file, load_file

g = torch.Generator().manual_seed(7)
tensors = {
    "weight.f32": torch.randn(3, 4, generator=g),
    "weight.f16": torch.randn(2, 5, generator=g).half(),
    "weight.bf16": torch.randn(4, 2, generator=g).bfloat16(),
    "vector.f64": torch.tensor([1.5, -2.25, 1e-300], dtype=torch.float64),
    "scalar.f32": torch.tensor(0.75),
    "ids.i64": torch.tensor([[1, -2], [2**40, 7]], dtype=torch.int64),
    "ids.i32": torch.tensor([-5, 6, 2**30], dtype=torch.int32),
    "ids.i16": torch.tensor([-300, 300], dtype=torch.int16),
    "ids.i8": torch.tensor([-128, 127, 0], dtype=torch.int8),
    "bytes.u8": torch.tensor([0, 255, 17], dtype=torch.uint8),
    "mask.bool": torch.tensor([True, False, True, True]),
    "empty.f32": torch.zeros(0, 3),
}
metadata = {"format": "pt", "note": "LLMTune fixture \u00fcn\u00efcode"}
save_file(tensors, "st_fixture.safetensors", metadata=metadata)


def header(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        return n, json.loads(f.read(n))


n, h = header("st_fixture.safetensors")
raw = open("st_fixture.safetensors", "rb").read()
back = load_file("st_fixture.safetensors")
expected = {"header_length": n, "metadata": h.get("__metadata__", {}), "tensors": {}}
for name, info in h.items():
    if name == "__metadata__":
        continue
    b, e = info["data_offsets"]
    entry = dict(info)
    entry["hex"] = raw[8 + n + b: 8 + n + e].hex()
    t = back[name]
    if t.dtype in (torch.float32, torch.float16, torch.bfloat16):
        entry["floats"] = [float(x) for x in t.float().reshape(-1)]
    expected["tensors"][name] = entry
with open("st_fixture_expected.json", "w") as f:
    json.dump(expected, f, indent=1)

# A sharded checkpoint: two shards plus the index, as transformers writes it.
os.makedirs("sharded", exist_ok=True)
shards = {
    "model-00001-of-00002.safetensors": {
        "model.embed_tokens.weight": torch.arange(12, dtype=torch.float32).reshape(4, 3) / 8,
        "model.layers.0.self_attn.q_proj.weight": torch.randn(3, 3, generator=g).bfloat16(),
    },
    "model-00002-of-00002.safetensors": {
        "model.norm.weight": torch.tensor([1.0, 0.5, -0.5], dtype=torch.float16),
        "lm_head.weight": torch.arange(12, dtype=torch.float32).reshape(4, 3) * -1,
    },
}
weight_map = {}
total = 0
for file, tdict in shards.items():
    save_file(tdict, os.path.join("sharded", file), metadata={"format": "pt"})
    for name, t in tdict.items():
        weight_map[name] = file
        total += t.numel() * t.element_size()
with open(os.path.join("sharded", "model.safetensors.index.json"), "w") as f:
    json.dump({"metadata": {"total_size": total}, "weight_map": dict(sorted(weight_map.items()))}, f, indent=2)
with open("sharded_expected.json", "w") as f:
    json.dump({name: {"file": weight_map[name], "floats": [float(x) for x in t.float().reshape(-1)],
                      "shape": list(t.shape)}
               for tdict in shards.values() for name, t in tdict.items()}, f, indent=1)
print("wrote st_fixture.safetensors, st_fixture_expected.json, sharded/, sharded_expected.json")
