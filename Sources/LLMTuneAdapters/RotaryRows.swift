// llama.cpp's Q/K row permutation (convert_hf_to_gguf.py, LlamaModel.permute): within each head of D rows,
// GGUF row 2i holds HF row i and GGUF row 2i + 1 holds HF row i + D/2. LoRA B matrices and merged weights of
// q_proj / k_proj move between the two orders when they cross the HF / GGUF boundary (shared/NOTES.md).
import LLMTuneModels

enum RotaryRowOrder {
    /// Rows of a (heads · headDim, columns) row-major matrix from GGUF (permuted) order to HF order.
    static func toHuggingFace(_ m: [Float], heads: Int, headDim: Int, columns: Int) -> [Float] {
        reorder(m, heads: heads, headDim: headDim, columns: columns, toHF: true)
    }

    /// Rows from HF order to GGUF (permuted) order.
    static func toGGUF(_ m: [Float], heads: Int, headDim: Int, columns: Int) -> [Float] {
        reorder(m, heads: heads, headDim: headDim, columns: columns, toHF: false)
    }

    private static func reorder(_ m: [Float], heads: Int, headDim D: Int, columns: Int, toHF: Bool) -> [Float] {
        precondition(m.count == heads * D * columns, "\(m.count) values for \(heads)x\(D) rows of \(columns)")
        var out = [Float](repeating: 0, count: m.count)
        let half = D / 2
        m.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                for h in 0..<heads {
                    for i in 0..<half {
                        for (hf, gguf) in [(i, 2 * i), (i + half, 2 * i + 1)] {
                            let from = h * D + (toHF ? gguf : hf), to = h * D + (toHF ? hf : gguf)
                            for c in 0..<columns { dst[to * columns + c] = src[from * columns + c] }
                        }
                    }
                }
            }
        }
        return out
    }

    /// The head count of `path`'s rows when they are permuted in `layout`: query heads for q_proj, key/value
    /// heads for k_proj, nil for every other module.
    static func heads(of path: String, _ layout: PermutedRotaryRows) -> Int? {
        if path.hasSuffix("q_proj") { return layout.queryHeads }
        if path.hasSuffix("k_proj") { return layout.keyValueHeads }
        return nil
    }
}
