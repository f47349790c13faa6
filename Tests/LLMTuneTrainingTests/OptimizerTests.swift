import XCTest
import LLMTuneTraining
