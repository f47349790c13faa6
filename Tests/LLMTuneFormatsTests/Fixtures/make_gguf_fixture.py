#!/usr/bin/env python3
"""Writes gguf_fixture.gguf with the `gguf` PyPI package's GGUFWriter (the reference writer) and
gguf_fixture_expected.json with what gguf.GGUFReader reads back from it, for LLMTuneFormatsTests.

Run from this folder:  python3 make_gguf_fixture.py
"""
import json

import numpy as np
import gguf
from gguf import GGMLQuantizationType as Q

OUT = "gguf_fixture.gguf"

w = gguf.GGUFWriter(OUT, arch="llama")
w.add_uint8("test.uint8", 200)
w.add_int8("test.int8", -100)
w.add_uint16("test.uint16", 60000)
w.add_int16("test.int16", -30000)
w.add_uint32("test.uint32", 4_000_000_000)
w.add_int32("test.int32", -2_000_000_000)
w.add_float32("test.float32", 0.1)
w.add_uint64("test.uint64", 2**63 + 5)
w.add_int64("test.int64", -(2**62) - 7)
w.add_float64("test.float64", 3.141592653589793)
w.add_bool("test.bool_true", True)
w.add_bool("test.bool_false", False)
w.add_string("test.string", "Grüße, 世界 \U0001F600")
w.add_array("test.int_array", [1, -2, 3, 2**20])
w.add_array("test.float_array", [0.5, -1.25, 1e-3])
w.add_array("test.string_array", ["a", "", "<|im_start|>", "Ġthe"])
w.add_array("test.bool_array", [True, False, True])
w.add_array("test.nested_array", [[1, 2], [3, 4, 5]])
w.add_uint32("llama.block_count", 2)

rng = np.random.default_rng(1234)
tensors = {
    "f32_1d": np.arange(5, dtype=np.float32) * 0.5 - 1.0,                       # (5,)
    "f32_2d": (np.arange(12, dtype=np.float32).reshape(3, 4) - 6.0) / 4.0,      # (3, 4): ne = [4, 3]
    "f32_3d": np.arange(24, dtype=np.float32).reshape(2, 3, 4) * 0.25,          # ne = [4, 3, 2]
    "f16_2d": rng.standard_normal((2, 8)).astype(np.float16),                   # ne = [8, 2]
}
for name, a in tensors.items():
    w.add_tensor(name, a)

bf16_source = rng.standard_normal((2, 4)).astype(np.float32)
bf16 = gguf.quants.quantize(bf16_source, Q.BF16)
w.add_tensor("bf16_2d", bf16, raw_dtype=Q.BF16)

q8_source = rng.standard_normal((2, 64)).astype(np.float32)
q8 = gguf.quants.quantize(q8_source, Q.Q8_0)
w.add_tensor("q8_0_2d", q8, raw_dtype=Q.Q8_0)

q41_source = rng.standard_normal((3, 32)).astype(np.float32)
q41 = gguf.quants.quantize(q41_source, Q.Q4_1)
w.add_tensor("q4_1_2d", q41, raw_dtype=Q.Q4_1)

w.write_header_to_file()
w.write_kv_data_to_file()
w.write_tensors_to_file()
w.close()

# Read it back with the reference reader to record what a correct reader must see.
r = gguf.GGUFReader(OUT)
expected = {"metadata_keys": [], "tensors": [], "data_offset": int(r.data_offset)}
for f in r.fields.values():
    if f.name.startswith("GGUF."):
        continue
    expected["metadata_keys"].append(f.name)
for t in r.tensors:
    entry = {
        "name": t.name,
        "dimensions": [int(d) for d in t.shape],          # ne[0] first, as stored
        "type": int(t.tensor_type),
        "offset": int(t.data_offset) - int(r.data_offset),  # relative to the data section
        "byte_count": int(t.n_bytes),
        "hex": bytes(t.data.tobytes()).hex(),
    }
    if t.tensor_type in (Q.F32, Q.F16, Q.BF16):
        entry["floats"] = [float(x) for x in gguf.quants.dequantize(t.data, t.tensor_type).reshape(-1)]
    expected["tensors"].append(entry)

with open("gguf_fixture_expected.json", "w") as f:
    json.dump(expected, f, indent=1)
print("wrote", OUT, "and gguf_fixture_expected.json")
