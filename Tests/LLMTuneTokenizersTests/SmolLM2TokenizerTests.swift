// The real SmolLM2-135M-Instruct tokenizer, loaded from the GGUF's metadata, against transformers /
// HF tokenizers goldens (Fixtures/golden_smollm2.json). Skipped when the model file is absent.

import Foundation
import XCTest
@testable import LLMTuneTokenizers
import LLMTuneFormats

final class SmolLM2TokenizerTests: XCTestCase {
    nonisolated(unsafe) static var cached: (BPETokenizer, [String: GGUFValue])?

    func loadTokenizer() throws -> (BPETokenizer, [String: GGUFValue]) {
        if let cached = Self.cached { return cached }
        guard let url = smolLM2GGUFURL() else {
            throw XCTSkip("SmolLM2-135M-Instruct GGUF not found (set LLMTUNE_SMOLLM2_GGUF)")
        }
        let metadata = try TestGGUFMetadataReader.read(url)
        let tokenizer = try BPETokenizer.load(ggufMetadata: metadata, source: url.lastPathComponent)
        Self.cached = (tokenizer, metadata)
        return (tokenizer, metadata)
    }

    func testVocabularyAndSpecialTokens() throws {
        let (tokenizer, _) = try loadTokenizer()
        let golden = try Fixtures.decode(SmolLM2Golden.self, "golden_smollm2.json")
        XCTAssertEqual(tokenizer.vocabularySize, golden.vocabulary_size)
        XCTAssertEqual(tokenizer.bosTokenId, golden.bos_token_id)
        XCTAssertEqual(tokenizer.eosTokenIds.first, golden.eos_token_id)
        XCTAssertEqual(tokenizer.padTokenId, golden.pad_token_id)
        XCTAssertEqual(tokenizer.eosTokenIds, [2, 0])  // <|im_end|>, then <|endoftext|> as end of generation
        XCTAssertEqual(tokenizer.token(for: 1), "<|im_start|>")
        XCTAssertEqual(tokenizer.skippedMergeCount, 0)
        XCTAssertFalse(tokenizer.addsBOSToken)  // tokenizer.ggml.add_bos_token = false
        XCTAssertEqual(tokenizer.chatTemplateSource, golden.chat_template)
    }

    func testEncodeMatchesGoldens() throws {
        let (tokenizer, _) = try loadTokenizer()
        let golden = try Fixtures.decode(SmolLM2Golden.self, "golden_smollm2.json")
        XCTAssertGreaterThanOrEqual(golden.cases.count, 40)
        for item in golden.cases {
            XCTAssertEqual(tokenizer.encode(item.text, addSpecialTokens: true), item.ids, item.text.debugDescription)
        }
        // llama.cpp's "smollm": every digit on its own, and "x  1" keeps the double space as one token.
        XCTAssertEqual(tokenizer.encode("1969").count, 4)
    }

    func testDecodeMatchesGoldens() throws {
        let (tokenizer, _) = try loadTokenizer()
        let golden = try Fixtures.decode(SmolLM2Golden.self, "golden_smollm2.json")
        for item in golden.cases {
            XCTAssertEqual(tokenizer.decode(item.ids, skipSpecialTokens: false), item.decoded)
            XCTAssertEqual(tokenizer.decode(item.ids, skipSpecialTokens: true), item.decoded_skip_special)
        }
    }

    func testChatTemplateMatchesApplyChatTemplate() throws {
        let (tokenizer, _) = try loadTokenizer()
        let golden = try Fixtures.decode(SmolLM2Golden.self, "golden_smollm2.json")
        let template = try ChatTemplate.resolve(jinja: tokenizer.chatTemplateSource)
        XCTAssertEqual(template.kind, .chatML)
        XCTAssertEqual(template.defaultSystemPrompt, "You are a helpful AI assistant named SmolLM, trained by Hugging Face")
        XCTAssertEqual(template.jinjaSource, golden.chat_template)
        for chat in golden.chats {
            let text = template.render(messages: chat.chatMessages, addGenerationPrompt: chat.add_generation_prompt)
            XCTAssertEqual(text, chat.text)
            XCTAssertEqual(template.encode(chat.chatMessages, tokenizer: tokenizer,
                                           addGenerationPrompt: chat.add_generation_prompt), chat.ids)
        }
    }

    func testStreamingDecodeOfGoldens() throws {
        let (tokenizer, _) = try loadTokenizer()
        let golden = try Fixtures.decode(SmolLM2Golden.self, "golden_smollm2.json")
        for item in golden.cases {
            var decoder = StreamingDecoder(tokenizer: tokenizer, skipSpecialTokens: false)
            var text = ""
            for id in item.ids {
                let chunk = decoder.append(id)
                XCTAssertFalse(chunk.unicodeScalars.contains("\u{FFFD}"), item.text.debugDescription)
                text += chunk
            }
            text += decoder.finish()
            XCTAssertEqual(Array(text.utf8), Array(item.decoded.utf8))
        }
    }

    /// Not a timing assertion: prints encode throughput on ~1 MB of text (with -c release -Xswiftc -enable-testing). Two inputs:
    /// sentences with numbers (mostly cache hits) and text decoded from random tokens (mostly new words).
    func testEncodeThroughput() throws {
        let (tokenizer, _) = try loadTokenizer()
        let golden = try Fixtures.decode(SmolLM2Golden.self, "golden_smollm2.json")
        #if DEBUG
        let size = 100_000  // debug builds are ~10x slower
        #else
        let size = 1_000_000
        #endif
        var sentences = ""
        var k = 0
        while sentences.utf8.count < size {
            sentences += golden.cases[k % golden.cases.count].text + " The quick brown fox \(k) jumps over the lazy dog. "
            k += 1
        }
        var generator = SplitMix64(seed: 5)
        var randomIds: [Int] = []
        var randomText = ""
        while randomText.utf8.count < size {
            let chunk = (0..<4096).map { _ in 17 + Int(generator.next() % UInt64(tokenizer.vocabularySize - 17)) }
            randomIds += chunk
            randomText += tokenizer.decode(chunk)
        }
        for (name, text) in [("sentences", sentences), ("random-token text", randomText)] {
            let start = Date()
            let ids = tokenizer.encode(text)
            let seconds = Date().timeIntervalSince(start)
            print("SmolLM2 encode \(name): \(text.utf8.count) bytes -> \(ids.count) tokens in "
                  + String(format: "%.3f s", seconds))
            XCTAssertEqual(tokenizer.decode(ids), text)
        }
        let start = Date()
        let decoded = tokenizer.decode(randomIds)
        print("SmolLM2 decode: \(randomIds.count) tokens in " + String(format: "%.3f s", Date().timeIntervalSince(start)))
        XCTAssertEqual(decoded, randomText)
    }
}
