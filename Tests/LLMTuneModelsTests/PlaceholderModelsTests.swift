import XCTest
import LLMTuneModels
