#!/usr/bin/env python3
"""Where the CPU time goes, by kernel family: groups a `perf record` profile of llmtune by symbol.

    perf record -F 999 -g -o train.data .build/release/llmtune train ... --steps 6
    python3 bench/profile_families.py train.data 6        # CPU ms per step (6 steps)
    python3 bench/profile_families.py decode.data 128     # CPU ms per generated token

CPU time is summed over threads (samples / frequency), so with 2 threads it can exceed wall time.
Used for the before/after tables in docs/performance.md.
"""
import collections, re, subprocess, sys

FAMILIES = [
    ("GEMM micro-kernel (fp32, packed)", r"kernel8x32|macroKernel"),
    ("GEMM packing / transposes", r"transposeInto|packPanels|rowBlocks|blocked|sharedB|SIMDGEMM.*scale"),
    ("narrow GEMM (LoRA rank products)", r"narrow"),
    ("matrix-vector (fp32)", r"gemv"),
    ("quantized: dequantize panels", r"DequantizeRows|dequantizeRow"),
    ("quantized: fused decode dots", r"FusedForward|FusedTransposed|RowKernels|dot4|dot2|dot1"),
    ("attention", r"rowDots|accumulateRows|expRow|expShiftedSum|attention|Attention"),
    ("cross-entropy (fused head)", r"CrossEntropy|crossEntropy|logSumExp|rowMax|expSum"),
    ("norms", r"rmsNorm|RMSNorm|layerNorm|columnPartials|scaleRowByWeight"),
    ("element-wise / autograd plumbing", r"mapBinary|mapUnary|addInPlace|swiglu|sigmoid|silu|rotary|Rotary|axpy|"
                                         r"scaled|contiguous|StridedLoop|copy|PendingGradient|backward|GradientNode"),
    ("optimizer", r"AdamW|adamw|SGD|clip"),
    ("kernel: page faults / memory", r"page_fault|clear_page|memset|memcpy|memmove|malloc|free|mmap|munmap|_int_|"
                                     r"zap_|do_anonymous|folio|lru|alloc_pages|rmqueue"),
    ("kernel: scheduling / threads", r"sched|futex|schedule|dispatch|pthread|yield|finish_task|__switch|idle|syscall"),
]


def main():
    data = sys.argv[1]
    units = float(sys.argv[2]) if len(sys.argv) > 2 else 1.0
    report = subprocess.run(["perf", "report", "-i", data, "--no-children", "-n", "--sort", "sym", "--stdio",
                             "--percent-limit", "0"], capture_output=True, text=True, check=True).stdout
    freq = subprocess.run(["perf", "report", "-i", data, "--stdio", "--header-only"], capture_output=True,
                          text=True).stdout
    m = re.search(r"sample_freq \}\s*=\s*(\d+)", freq) or re.search(r"sample_freq\s*=\s*(\d+)", freq)
    hz = int(m.group(1)) if m else 999
    counts, total = collections.Counter(), 0
    for line in report.splitlines():
        m = re.match(r"\s+[0-9.]+%\s+(\d+)\s+\[[.k]\]\s+(.*)", line)
        if not m:
            continue
        n, sym = int(m.group(1)), m.group(2)
        total += n
        family = next((name for name, rx in FAMILIES if re.search(rx, sym)), "other")
        counts[family] += n
    per_unit = 1000.0 / hz / units
    print(f"total {total * per_unit:.1f} CPU-ms per unit ({total} samples at {hz} Hz)")
    for name, n in counts.most_common():
        print(f"{100 * n / max(1, total):6.1f}%  {n * per_unit:9.1f} ms  {name}")


if __name__ == "__main__":
    sys.exit(main())
