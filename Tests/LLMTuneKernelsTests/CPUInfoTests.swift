// CPU model / feature detection: parsing a /proc/cpuinfo sample and sanity of the live values.
import XCTest
@testable import LLMTuneKernels

final class CPUInfoTests: XCTestCase {
    let sample = """
        processor\t: 0
        vendor_id\t: AuthenticAMD
        model name\t: AMD EPYC 9454 48-Core Processor
        flags\t\t: fpu sse2 avx avx2 fma f16c avx512f avx512bw avx512_bf16 AVX512VL
        bugs\t\t: sysret_ss_attrs

        processor\t: 1
        model name\t: Something Else
        flags\t\t: fpu
        """

    func testParsesFirstProcessorOfProcCPUInfo() {
        let info = CPUInfo.parseProcCPUInfo(sample, logicalCores: 2)
        XCTAssertEqual(info.modelName, "AMD EPYC 9454 48-Core Processor")
        XCTAssertEqual(info.logicalCores, 2)
        XCTAssertTrue(info.hasAVX2)
        XCTAssertTrue(info.hasFMA)
        XCTAssertTrue(info.hasF16C)
        XCTAssertTrue(info.hasAVX512F)
        XCTAssertTrue(info.hasAVX512BW)
        XCTAssertTrue(info.hasAVX512BF16)
        XCTAssertFalse(info.hasAVX512FP16)
        XCTAssertTrue(info.has("AVX512VL"), "flags are case-insensitive")
        XCTAssertEqual(info.notablePresent, ["avx", "avx2", "fma", "f16c", "avx512f", "avx512bw", "avx512vl", "avx512_bf16"])
        XCTAssertEqual(info.description,
                       "AMD EPYC 9454 48-Core Processor, 2 logical cores, avx avx2 fma f16c avx512f avx512bw avx512vl avx512_bf16")
    }

    func testARMStyleCPUInfo() {
        let arm = "processor\t: 0\nFeatures\t: fp asimd evtstrm aes fphp asimdhp\nCPU part\t: 0xd0c\n"
        let info = CPUInfo.parseProcCPUInfo(arm, logicalCores: 4)
        XCTAssertEqual(info.modelName, "unknown")
        XCTAssertTrue(info.has("asimd"))
        XCTAssertTrue(info.has("asimdhp"))
        XCTAssertFalse(info.hasAVX2)
    }

    func testCurrentCPU() {
        let cpu = CPUInfo.current
        XCTAssertGreaterThanOrEqual(cpu.logicalCores, 1)
        XCTAssertFalse(cpu.modelName.isEmpty)
        #if os(Linux) && arch(x86_64)
        XCTAssertTrue(cpu.has("sse2"), "every x86-64 CPU has SSE2: \(cpu)")
        #endif
    }
}
