import XCTest
import LLMTuneKernels
