import XCTest
import LLMTuneData
