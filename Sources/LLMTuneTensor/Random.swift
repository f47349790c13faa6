// Deterministic pseudo-random numbers: xoshiro256** (Blackman & Vigna, https://prng.di.unimi.it/)
// seeded through splitmix64, plus uniform and Box-Muller Gaussian helpers.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A seeded, reproducible random number generator (xoshiro256**). The same seed gives the same stream on
/// every platform.
public struct SeededGenerator: RandomNumberGenerator, Sendable {
    private var s0: UInt64
    private var s1: UInt64
    private var s2: UInt64
    private var s3: UInt64
    private var spareGaussian: Float?

    /// Expands `seed` into the 256-bit state with splitmix64 (so seeds 0, 1, 2 give unrelated streams).
    public init(seed: UInt64) {
        var x = seed
        func splitmix() -> UInt64 {
            x &+= 0x9E37_79B9_7F4A_7C15
            var z = x
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        s0 = splitmix(); s1 = splitmix(); s2 = splitmix(); s3 = splitmix()
        spareGaussian = nil
    }

    @inline(__always) private static func rotl(_ x: UInt64, _ k: UInt64) -> UInt64 {
        (x << k) | (x >> (64 - k))
    }

    /// The next 64 random bits.
    public mutating func next() -> UInt64 {
        let result = SeededGenerator.rotl(s1 &* 5, 7) &* 9
        let t = s1 << 17
        s2 ^= s0
        s3 ^= s1
        s1 ^= s2
        s0 ^= s3
        s2 ^= t
        s3 = SeededGenerator.rotl(s3, 45)
        return result
    }

    /// Uniform in [0, 1) with 24 random bits.
    public mutating func nextUniform() -> Float {
        Float(next() >> 40) * 0x1p-24
    }

    /// Standard normal (mean 0, variance 1), Box-Muller in Double; the second value of each pair is kept.
    public mutating func nextGaussian() -> Float {
        if let spare = spareGaussian {
            spareGaussian = nil
            return spare
        }
        // u1 in (0, 1] so that log(u1) is finite.
        let u1 = (Double(next() >> 11) + 1) * 0x1p-53
        let u2 = Double(next() >> 11) * 0x1p-53
        let radius = (-2 * log(u1)).squareRoot()
        let angle = 2 * Double.pi * u2
        spareGaussian = Float(radius * sin(angle))
        return Float(radius * cos(angle))
    }
}

extension Tensor {
    /// Normal samples with mean 0 and standard deviation `std`.
    public static func randn(_ shape: [Int], std: Float, using rng: inout SeededGenerator) -> Tensor {
        let t = Tensor(uninitialized: shape)
        let p = t.pointer
        for i in 0..<t.count { p[i] = rng.nextGaussian() * std }
        return t
    }

    /// Uniform samples in [low, high).
    public static func uniform(_ shape: [Int], low: Float, high: Float,
                               using rng: inout SeededGenerator) -> Tensor {
        let t = Tensor(uninitialized: shape)
        let p = t.pointer
        let width = high - low
        for i in 0..<t.count { p[i] = low + width * rng.nextUniform() }
        return t
    }
}
