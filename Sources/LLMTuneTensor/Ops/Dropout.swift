// Inverted dropout (Srivastava et al. 2014): zero each element with probability p, scale survivors by
// 1 / (1 - p). The mask comes from the caller's seeded generator, so runs are reproducible.

extension Tensor {
    /// Drops elements with probability `p` (0 <= p < 1); the identity (this very tensor) when p == 0.
    public func dropout(_ p: Float, using rng: inout SeededGenerator) -> Tensor {
        precondition(p >= 0 && p < 1, "dropout probability \(p) outside [0, 1)")
        if p == 0 { return self }
        let keep = 1 / (1 - p)
        let mask = Tensor(uninitialized: shape)   // 0 or 1 / (1 - p)
        let mp = mask.pointer
        rng.drawReplayable { r in for i in 0..<count { mp[i] = r.nextUniform() < p ? 0 : keep } }
        let out = mapBinary(self, mask, MultiplyKernel())
        if Autograd.records(self) {
            out.record("dropout", [self]) { g in [mapBinary(g, mask, MultiplyKernel())] }
        }
        return out
    }
}
