import XCTest
import LLMTuneHub
