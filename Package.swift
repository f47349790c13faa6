// swift-tools-version:6.0
// LLMTune: adapt pretrained language models on a CPU, in Swift.
// Layers, each depending only on those above it:
//   LLMTuneKernels     BLAS, SIMD GEMM, elementwise kernels, GGUF quantized blocks
//   LLMTuneTensor      Float32 tensor, views, reverse-mode autograd, the closed op set
//   LLMTuneFormats     GGUF reader, safetensors reader/writer (mmap)
//   LLMTuneTokenizers  byte-level BPE, tokenizer.json / GGUF vocabularies, chat templates
//   LLMTuneModels      weight loading, architecture registry, Llama family
//   LLMTuneAdapters    LoRA (and later the PEFT family): layers, PEFT / mlx-lm files, merging, export
//   LLMTuneData        instruction / chat / text data sets -> (tokens, loss mask), batching
//   LLMTuneTraining    optimizers, schedules, the trainer, checkpoints, metrics and reports
//   LLMTuneGeneration  KV-cached generation, sampling, scoring
//   LLMTuneEvaluation  perplexity, multiple-choice and generation tasks, reports
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
            "LLMTuneModels", "LLMTuneAdapters", "LLMTuneData", "LLMTuneTraining", "LLMTuneGeneration",
            "LLMTuneEvaluation", "LLMTuneHub",
        ]),
        .executable(name: "llmtune", targets: ["llmtune"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "5.0.0"),
    ],
    targets: [
        .target(name: "LLMTuneKernels", swiftSettings: release),
        .target(name: "LLMTuneTensor", dependencies: ["LLMTuneKernels"], swiftSettings: release),
        .target(name: "LLMTuneFormats", dependencies: ["LLMTuneKernels"], swiftSettings: release),
        .target(name: "LLMTuneTokenizers", dependencies: ["LLMTuneFormats"], swiftSettings: release),
        .target(name: "LLMTuneModels",
                dependencies: ["LLMTuneTensor", "LLMTuneFormats", "LLMTuneTokenizers"],
                swiftSettings: release),
        .target(name: "LLMTuneAdapters", dependencies: ["LLMTuneModels"], swiftSettings: release),
        .target(name: "LLMTuneData", dependencies: ["LLMTuneTokenizers"], swiftSettings: release),
        .target(name: "LLMTuneTraining", dependencies: ["LLMTuneAdapters", "LLMTuneData"], swiftSettings: release),
        .target(name: "LLMTuneGeneration", dependencies: ["LLMTuneModels"], swiftSettings: release),
        .target(name: "LLMTuneEvaluation", dependencies: ["LLMTuneGeneration", "LLMTuneData"],
                swiftSettings: release),
        .target(name: "LLMTuneHub", dependencies: ["LLMTuneFormats"], swiftSettings: release),
        .executableTarget(name: "llmtune", dependencies: [
            "LLMTuneGeneration", "LLMTuneTraining", "LLMTuneEvaluation", "LLMTuneHub",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Yams", package: "Yams"),
        ], swiftSettings: release),
        .testTarget(name: "LLMTuneKernelsTests", dependencies: ["LLMTuneKernels"],
                    resources: [.copy("Fixtures")]),
        .testTarget(name: "LLMTuneTensorTests", dependencies: ["LLMTuneTensor"]),
        .testTarget(name: "LLMTuneFormatsTests", dependencies: ["LLMTuneFormats"], exclude: ["Fixtures"]),
        .testTarget(name: "LLMTuneTokenizersTests", dependencies: ["LLMTuneTokenizers"],
                    resources: [.copy("Fixtures")]),
        .testTarget(name: "LLMTuneModelsTests", dependencies: ["LLMTuneModels", "LLMTuneGeneration", "LLMTuneHub"],
                    resources: [.copy("Fixtures")]),
        .testTarget(name: "LLMTuneAdaptersTests", dependencies: ["LLMTuneAdapters", "LLMTuneHub"],
                    resources: [.copy("Fixtures")]),
        .testTarget(name: "LLMTuneDataTests", dependencies: ["LLMTuneData", "LLMTuneHub"],
                    resources: [.copy("Fixtures")]),
        .testTarget(name: "LLMTuneTrainingTests", dependencies: ["LLMTuneTraining", "LLMTuneHub"], exclude: ["Fixtures"]),
        .testTarget(name: "LLMTuneGenerationTests", dependencies: ["LLMTuneGeneration", "LLMTuneHub"]),
        .testTarget(name: "LLMTuneEvaluationTests", dependencies: ["LLMTuneEvaluation", "LLMTuneHub"],
                    resources: [.copy("Fixtures")]),
        .testTarget(name: "LLMTuneHubTests", dependencies: ["LLMTuneHub"]),
    ],
    swiftLanguageModes: [.v5]
)
