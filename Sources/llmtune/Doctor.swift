// `llmtune doctor`: what this machine gives LLMTune (BLAS and its kernel, threads, CPU features).
import ArgumentParser
import Foundation
import LLMTuneKernels

struct Doctor: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show the BLAS in use, its core type, threads and CPU features.")

    @Flag(help: "Print one JSON object.")
    var json = false

    @Flag(help: "Also time a 1024x1536x576 matrix product (a training step's shape) and report its GFLOP/s: the ceiling that benchmarks' model FLOPs utilisation is measured against.")
    var measure = false

    func run() throws {
        let cpu = CPUInfo.current
        let report = DoctorReport(cpu: cpu.modelName, cores: cpu.logicalCores, features: cpu.notablePresent,
                                  blas: BLAS.status.description, blasCore: BLAS.shared?.coreName,
                                  blasThreads: BLAS.shared?.threads, kernelThreads: Parallel.threads,
                                  gemm: GEMM.backendDescription,
                                  gemmGigaflops: measure ? GEMM.measuredGigaflops() : nil)
        if json {
            try printJSON(report)
            return
        }
        print("CPU           \(report.cpu) (\(report.cores) logical cores)")
        print("features      \(report.features.joined(separator: " "))")
        print("BLAS          \(report.blas)")
        print("BLAS core     \(report.blasCore ?? "-")  threads \(report.blasThreads.map(String.init) ?? "-")")
        print("GEMM          \(report.gemm)")
        print("threads       \(report.kernelThreads) (LLMTUNE_THREADS)")
        if let g = report.gemmGigaflops {
            print(String(format: "GEMM measured %.0f GFLOP/s (1024x1536x576, %d threads, median of 9)", g, report.kernelThreads))
        }
    }
}

struct DoctorReport: Encodable {
    var cpu: String
    var cores: Int
    var features: [String]
    var blas: String
    var blasCore: String?
    var blasThreads: Int?
    var kernelThreads: Int
    var gemm: String
    var gemmGigaflops: Double?

    enum CodingKeys: String, CodingKey {
        case cpu, cores, features, blas, blasCore = "blas_core", blasThreads = "blas_threads"
        case kernelThreads = "kernel_threads", gemm, gemmGigaflops = "gemm_gflops"
    }
}
