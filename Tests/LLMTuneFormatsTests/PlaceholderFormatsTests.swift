import XCTest
import LLMTuneFormats
