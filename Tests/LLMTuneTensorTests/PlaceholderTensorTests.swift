import XCTest
import LLMTuneTensor
