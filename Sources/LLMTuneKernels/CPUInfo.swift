// What the CPU is and which vector instructions it has: from /proc/cpuinfo on Linux, sysctl on macOS.
// Used by `llmtune doctor` and to pick OpenBLAS's kernel family before the library loads.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The host CPU: model name, instruction-set flags and core count.
public struct CPUInfo: Sendable, CustomStringConvertible {
    /// Model name, e.g. "AMD EPYC 9454" or "Apple M2" ("unknown" when the system does not say).
    public let modelName: String
    /// Feature flags, lower-cased, in the Linux /proc/cpuinfo spelling ("avx2", "fma", "avx512f", "avx512_bf16").
    public let features: Set<String>
    /// Logical processors online.
    public let logicalCores: Int

    public init(modelName: String, features: Set<String>, logicalCores: Int) {
        self.modelName = modelName
        self.features = features
        self.logicalCores = logicalCores
    }

    /// The CPU this process runs on (read once).
    public static let current: CPUInfo = detect()

    /// Whether the CPU reports `feature` (case-insensitive, /proc/cpuinfo spelling).
    public func has(_ feature: String) -> Bool { features.contains(feature.lowercased()) }

    public var hasAVX2: Bool { has("avx2") }
    public var hasFMA: Bool { has("fma") }
    public var hasF16C: Bool { has("f16c") }
    public var hasAVX512F: Bool { has("avx512f") }
    public var hasAVX512BW: Bool { has("avx512bw") }
    public var hasAVX512BF16: Bool { has("avx512_bf16") }
    public var hasAVX512FP16: Bool { has("avx512_fp16") }

    /// The flags that matter for these kernels, in a fixed order, those present only.
    public static let notableFeatures = [
        "sse4_2", "avx", "avx2", "fma", "f16c", "avx512f", "avx512bw", "avx512vl", "avx512_vnni",
        "avx512_bf16", "avx512_fp16", "amx_bf16", "amx_tile", "neon", "asimd", "fphp", "asimdhp", "bf16", "i8mm",
    ]

    /// The notable flags this CPU has.
    public var notablePresent: [String] { CPUInfo.notableFeatures.filter { features.contains($0) } }

    /// One line for `llmtune doctor`: "AMD EPYC, 2 logical cores, avx avx2 fma f16c avx512f ...".
    public var description: String {
        let flags = notablePresent
        return "\(modelName), \(logicalCores) logical cores" + (flags.isEmpty ? "" : ", " + flags.joined(separator: " "))
    }

    /// Parses the text of /proc/cpuinfo: the first "model name" (or "Hardware"/"CPU part" fallback) and the
    /// first "flags" / "Features" line.
    public static func parseProcCPUInfo(_ text: String, logicalCores: Int) -> CPUInfo {
        var model: String?
        var flags: Set<String>?
        for line in text.split(separator: "\n", omittingEmptySubsequences: true) {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let key = line[..<colon].trimmingSpaces()
            let value = line[line.index(after: colon)...].trimmingSpaces()
            if model == nil, key == "model name" || key == "Hardware" || key == "Model" {
                model = value
            } else if flags == nil, key == "flags" || key == "Features" {
                flags = Set(value.lowercased().split(separator: " ").map(String.init))
            }
            if model != nil && flags != nil { break }
        }
        return CPUInfo(modelName: model ?? "unknown", features: flags ?? [], logicalCores: logicalCores)
    }

    static func detect() -> CPUInfo {
        let cores = max(1, ProcessInfoLite.activeProcessorCount)
        #if os(Linux)
        guard let text = readWholeFile("/proc/cpuinfo") else {
            return CPUInfo(modelName: "unknown", features: [], logicalCores: cores)
        }
        return parseProcCPUInfo(text, logicalCores: cores)
        #elseif canImport(Darwin)
        let model = sysctlString("machdep.cpu.brand_string") ?? "unknown"
        var flags = Set<String>()
        for key in ["machdep.cpu.features", "machdep.cpu.leaf7_features", "machdep.cpu.extfeatures"] {
            for f in (sysctlString(key) ?? "").lowercased().split(separator: " ") {
                flags.insert(f == "avx1.0" ? "avx" : String(f))
            }
        }
        #if arch(arm64)
        flags.insert("neon")
        flags.insert("asimd")
        if sysctlInt("hw.optional.arm.FEAT_FP16") == 1 { flags.insert("fphp"); flags.insert("asimdhp") }
        if sysctlInt("hw.optional.arm.FEAT_BF16") == 1 { flags.insert("bf16") }
        if sysctlInt("hw.optional.arm.FEAT_I8MM") == 1 { flags.insert("i8mm") }
        #endif
        return CPUInfo(modelName: model, features: flags, logicalCores: cores)
        #else
        return CPUInfo(modelName: "unknown", features: [], logicalCores: cores)
        #endif
    }
}

extension Substring {
    func trimmingSpaces() -> String {
        var s = self
        while let f = s.first, f == " " || f == "\t" { s.removeFirst() }
        while let l = s.last, l == " " || l == "\t" || l == "\r" { s.removeLast() }
        return String(s)
    }
}

/// Reads a whole (possibly size-less, like /proc files) file as UTF-8, nil when it cannot be opened.
func readWholeFile(_ path: String) -> String? {
    guard let f = fopen(path, "r") else { return nil }
    defer { fclose(f) }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 65536)
    while true {
        let got = chunk.withUnsafeMutableBytes { fread($0.baseAddress, 1, $0.count, f) }
        if got <= 0 { break }
        bytes.append(contentsOf: chunk[0..<got])
    }
    return String(decoding: bytes, as: UTF8.self)
}

#if canImport(Darwin)
func sysctlString(_ name: String) -> String? {
    var size = 0
    guard sysctlbyname(name, nil, &size, nil, 0) == 0, size > 0 else { return nil }
    var buffer = [CChar](repeating: 0, count: size)
    guard sysctlbyname(name, &buffer, &size, nil, 0) == 0 else { return nil }
    return String(cString: buffer)
}

func sysctlInt(_ name: String) -> Int? {
    var value: Int32 = 0
    var size = MemoryLayout<Int32>.size
    guard sysctlbyname(name, &value, &size, nil, 0) == 0 else { return nil }
    return Int(value)
}
#endif
