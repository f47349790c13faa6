import XCTest
import LLMTuneAdapters
