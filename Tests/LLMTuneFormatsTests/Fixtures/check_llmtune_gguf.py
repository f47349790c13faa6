#!/usr/bin/env python3
"""Reads the GGUF file that GGUFWriterTests.testRoundTrip writes (GGUFWriterTests.sampleWriter) with the
reference reader, gguf.GGUFReader, and checks every value. Not run by the Swift tests; run it by hand:

  LLMTUNE_FORMATS_EXPORT_DIR=/tmp/llmtune-export swift test --filter GGUFWriterTests/testRoundTrip
  python3 check_llmtune_gguf.py /tmp/llmtune-export/llmtune_written.gguf

The same export also leaves llmtune_written.safetensors (SafetensorsTests.testRoundTripAndWriterErrors);
pass it as a second argument to check it with safetensors.torch.load_file.
"""
import sys

import numpy as np
import gguf
from gguf import GGMLQuantizationType as Q


def field(r, key):
    f = r.fields[key]
    if f.types[0] == gguf.GGUFValueType.ARRAY:
        if len(f.types) == 1:  # the reader records no element type for an empty array
            return []
        if f.types[1] == gguf.GGUFValueType.STRING:
            return [bytes(f.parts[i]).decode("utf-8") for i in f.data]
        if f.types[1] == gguf.GGUFValueType.ARRAY:
            return "nested"
        return [x.item() for i in f.data for x in f.parts[i]]
    if f.types[0] == gguf.GGUFValueType.STRING:
        return bytes(f.parts[f.data[0]]).decode("utf-8")
    return f.parts[f.data[0]][0].item()


def check_gguf(path):
    r = gguf.GGUFReader(path)
    expect = {
        "general.architecture": "llama", "general.alignment": 64,
        "t.u8": 255, "t.i8": -128, "t.u16": 65535, "t.i16": -32768, "t.u32": 4294967295, "t.i32": -7,
        "t.u64": 2**64 - 1, "t.i64": -(2**63), "t.f32": -2.5, "t.f64": 1e-300, "t.bool": True,
        "t.str": 'héllo "world"\n', "t.strs": ["<s>", "Ġa", ""], "t.floats": [0.25, -1.0],
        "t.nested": "nested", "t.empty": [],
    }
    keys = [k for k in r.fields if not k.startswith("GGUF.")]
    assert keys == list(expect), keys
    for k, v in expect.items():
        got = field(r, k)
        assert got == v, (k, got, v)
    assert r.alignment == 64, r.alignment
    t = {x.name: x for x in r.tensors}
    assert list(t) == ["matrix", "quant", "half", "nothing"], list(t)
    assert list(t["matrix"].shape) == [3, 2] and t["matrix"].tensor_type == Q.F32
    assert t["matrix"].data.reshape(-1).tolist() == [1, 2, 3, 4, 5, 6]
    assert t["quant"].tensor_type == Q.Q8_0 and list(t["quant"].shape) == [32, 2]
    q8 = bytes(t["quant"].data.tobytes())
    assert q8 == bytes((i * 37 + 11) % 256 for i in range(68)), q8.hex()
    assert t["half"].tensor_type == Q.F16 and t["half"].data.tolist() == [1, -2, 0.5, 65504]
    assert t["nothing"].tensor_type == Q.Q4_0 and t["nothing"].n_bytes == 0
    for x in r.tensors:
        assert x.data_offset % 64 == 0, (x.name, x.data_offset)
    print(f"OK: {path} read by gguf.GGUFReader {len(keys)} keys, {len(t)} tensors")


def check_safetensors(path):
    import torch
    from safetensors.torch import load_file
    from safetensors import safe_open
    d = load_file(path)
    assert d["a"].shape == (2, 3) and d["a"].dtype == torch.float32
    assert d["a"].reshape(-1).tolist() == [1, -2, 3.5, 0.125, 7, 8]
    assert d["b"].tolist() == [1, 2, 3] and d["b"].dtype == torch.uint8
    q = d['name with "quotes"\n']
    assert q.dtype == torch.bfloat16 and q.float().tolist() == [1, -2, 3.140625]
    with safe_open(path, "pt") as f:
        assert f.metadata() == {"format": "pt", "weird\tkey": 'v\\al"ue'}, f.metadata()
    print(f"OK: {path} read by safetensors.torch.load_file")


if __name__ == "__main__":
    check_gguf(sys.argv[1])
    if len(sys.argv) > 2:
        check_safetensors(sys.argv[2])
