// swift-tools-version:6.0
// LLMTune: adapt pretrained language models on a CPU, in Swift.
// Layers, each depending only on those above it:
//   LLMTuneKernels     BLAS, SIMD GEMM, elementwise kernels, GGUF quantized blocks
//   LLMTuneTensor      Float32 tensor, views, reverse-mode autograd, the closed op set
//   LLMTuneFormats     GGUF reader, safetensors reader/writer (mmap)
//   LLMTuneTokenizers  byte-level BPE, tokenizer.json / GGUF vocabularies, chat templates
//   LLMTuneModels      weight loading, architecture registry, Llama family
//   LLMTuneGeneration  KV-cached generation, sampling, scoring
//   LLMTuneHub         pulling and caching the known real models
//   llmtune            the command line (wiring only)
import PackageDescription

let release: [SwiftSetting] = [
    .unsafeFlags(["-Ounchecked", "-target-cpu", "native"], .when(configuration: .release)),
]

let package = Package(
    name: "LLMTune",
    platforms: [.macOS(.v14)],
    products: [
        .library(name: "LLMTune", targets: [
            "LLMTuneKernels", "LLMTuneTensor", "LLMTuneFormats", "LLMTuneTokenizers",
            "LLMTuneModels", "LLMTuneGeneration", "LLMTuneHub",
        ]),
        .executable(name: "llmtune", targets: ["llmtune"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        .target(name: "LLMTuneKernels", swiftSettings: release),
        .target(name: "LLMTuneTensor", dependencies: ["LLMTuneKernels"], swiftSettings: release),
        .target(name: "LLMTuneFormats", dependencies: ["LLMTuneKernels"], swiftSettings: release),
        .target(name: "LLMTuneTokenizers", dependencies: ["LLMTuneFormats"], swiftSettings: release),
        .target(name: "LLMTuneModels",
                dependencies: ["LLMTuneTensor", "LLMTuneFormats", "LLMTuneTokenizers"],
                swiftSettings: release),
        .target(name: "LLMTuneGeneration", dependencies: ["LLMTuneModels"], swiftSettings: release),
        .target(name: "LLMTuneHub", dependencies: ["LLMTuneFormats"], swiftSettings: release),
        .executableTarget(name: "llmtune", dependencies: [
            "LLMTuneGeneration", "LLMTuneHub",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ], swiftSettings: release),
        .testTarget(name: "LLMTuneKernelsTests", dependencies: ["LLMTuneKernels"],
                    resources: [.copy("Fixtures")]),
        .testTarget(name: "LLMTuneTensorTests", dependencies: ["LLMTuneTensor"]),
        .testTarget(name: "LLMTuneFormatsTests", dependencies: ["LLMTuneFormats"], exclude: ["Fixtures"]),
        .testTarget(name: "LLMTuneTokenizersTests", dependencies: ["LLMTuneTokenizers"],
                    resources: [.copy("Fixtures")]),
        .testTarget(name: "LLMTuneModelsTests", dependencies: ["LLMTuneModels", "LLMTuneGeneration", "LLMTuneHub"],
                    resources: [.copy("Fixtures")]),
        .testTarget(name: "LLMTuneGenerationTests", dependencies: ["LLMTuneGeneration", "LLMTuneHub"]),
        .testTarget(name: "LLMTuneHubTests", dependencies: ["LLMTuneHub"]),
    ],
    swiftLanguageModes: [.v5]
)
