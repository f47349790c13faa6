// Masks on a real (tiny) byte-level BPE tokenizer with the ChatML template: every format, multi-turn chat,
// train-on-prompt, EOS, BPE merges across the prompt/completion boundary, truncation and dropping.
// Expected tokens come from encoding the expected full text; expected masks are located independently
// (the end-of-turn ids, prompt-only encodings), not by the code under test.

import Foundation
import XCTest
@testable import LLMTuneData
import LLMTuneTokenizers

final class ExampleEncoderTests: XCTestCase {
    var tokenizer: BPETokenizer!
    let imEnd = 2

    override func setUpWithError() throws {
        tokenizer = try DataFixtures.tokenizer()
        XCTAssertEqual(tokenizer.eosTokenIds.first, imEnd)
        XCTAssertEqual(tokenizer.id(for: "<|im_end|>"), imEnd)
    }

    private func encoder(_ options: DatasetOptions = DatasetOptions()) -> ExampleEncoder {
        ExampleEncoder(tokenizer: tokenizer, options: options)
    }

    private func targetText(_ example: TokenizedExample) -> String {
        tokenizer.decode(zip(example.tokens, example.lossMask).filter(\.1).map(\.0))
    }

    func testMultiTurnChatMLMasksEveryAssistantTurnAndItsEndToken() throws {
        let messages: [ChatMessage] = [.system("Be brief."), .user("What is 2+2?"), .assistant("4"),
                                       .user("And 3+3?"), .assistant("6")]
        let example = try encoder().encode(.chat(messages))
        let rendered = "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nWhat is 2+2?<|im_end|>\n"
            + "<|im_start|>assistant\n4<|im_end|>\n<|im_start|>user\nAnd 3+3?<|im_end|>\n"
            + "<|im_start|>assistant\n6<|im_end|>\n"
        XCTAssertEqual(example.tokens, tokenizer.encode(rendered, addSpecialTokens: false))
        let ends = example.tokens.indices.filter { example.tokens[$0] == imEnd }
        XCTAssertEqual(ends.count, 5)
        // Targets: "4" + <|im_end|> (third end) and "6" + <|im_end|> (fifth end); the "\n"s are not.
        let expected = Set([ends[2] - 1, ends[2], ends[4] - 1, ends[4]])
        XCTAssertEqual(Set(example.lossMask.indices.filter { example.lossMask[$0] }), expected)
        XCTAssertEqual(tokenizer.decode([example.tokens[ends[2] - 1], example.tokens[ends[4] - 1]]), "46")
        XCTAssertEqual(example.tokens.last, tokenizer.encode("\n", addSpecialTokens: false).last)
        XCTAssertFalse(example.lossMask.last!)
    }

    func testChatTargetsDecodeToAssistantContent() throws {
        let example = try encoder().encode(.chat([.user("Hi"), .assistant("Hello there")]))
        XCTAssertEqual(targetText(example), "Hello there<|im_end|>")
        XCTAssertEqual(example.targetCount, tokenizer.encode("Hello there", addSpecialTokens: false).count + 1)
    }

    func testTrainOnPromptMakesEveryTokenATarget() throws {
        let example = try encoder(DatasetOptions(trainOnPrompt: true)).encode(.chat([.user("Hi"), .assistant("Yo")]))
        XCTAssertTrue(example.lossMask.allSatisfy { $0 })
        let completion = try encoder(DatasetOptions(trainOnPrompt: true))
            .encode(.promptCompletion(prompt: "Q:", completion: " A"))
        XCTAssertEqual(completion.lossMask, [Bool](repeating: true, count: completion.count))
    }

    func testPromptCompletionIsPlainConcatenationPlusEOS() throws {
        let prompt = "Q: 1+1?\nA:", completion = " 2"
        let example = try encoder().encode(.promptCompletion(prompt: prompt, completion: completion))
        let promptCount = tokenizer.encode(prompt, addSpecialTokens: false).count
        XCTAssertEqual(example.tokens, tokenizer.encode(prompt + completion, addSpecialTokens: false) + [imEnd])
        XCTAssertEqual(example.lossMask, [Bool](repeating: false, count: promptCount)
            + [Bool](repeating: true, count: example.count - promptCount))
        let noEOS = try encoder(DatasetOptions(addEOS: false)).encode(.promptCompletion(prompt: prompt,
                                                                                        completion: completion))
        XCTAssertEqual(noEOS.tokens, Array(example.tokens.dropLast()))
    }

    func testPromptCompletionAsChat() throws {
        let example = try encoder(DatasetOptions(promptCompletionAsChat: true))
            .encode(.promptCompletion(prompt: "Ping", completion: "Pong"))
        XCTAssertEqual(example.tokens, tokenizer.encode(
            "<|im_start|>user\nPing<|im_end|>\n<|im_start|>assistant\nPong<|im_end|>\n", addSpecialTokens: false))
        XCTAssertEqual(targetText(example), "Pong<|im_end|>")
    }

    func testAlpacaUsesTheStanfordPrompt() throws {
        XCTAssertEqual(ExampleEncoder.alpacaPrompt(instruction: "Add the numbers.", input: "2 and 3"),
                       "Below is an instruction that describes a task, paired with an input that provides further "
                       + "context. Write a response that appropriately completes the request.\n\n### Instruction:\n"
                       + "Add the numbers.\n\n### Input:\n2 and 3\n\n### Response:\n")
        XCTAssertEqual(ExampleEncoder.alpacaPrompt(instruction: "Name a color.", input: ""),
                       "Below is an instruction that describes a task. Write a response that appropriately "
                       + "completes the request.\n\n### Instruction:\nName a color.\n\n### Response:\n")
        let example = try encoder().encode(.instruction(instruction: "Add the numbers.", input: "2 and 3", output: "5"))
        let prompt = ExampleEncoder.alpacaPrompt(instruction: "Add the numbers.", input: "2 and 3")
        XCTAssertEqual(example.tokens, tokenizer.encode(prompt + "5", addSpecialTokens: false) + [imEnd])
        XCTAssertEqual(targetText(example), "5<|im_end|>")
        XCTAssertEqual(example.lossMask.firstIndex(of: true), tokenizer.encode(prompt, addSpecialTokens: false).count)
    }

    func testTextIsAllTargets() throws {
        let example = try encoder().encode(.text("The quick brown fox."))
        XCTAssertEqual(example.tokens, tokenizer.encode("The quick brown fox.", addSpecialTokens: false) + [imEnd])
        XCTAssertTrue(example.lossMask.allSatisfy { $0 })
    }

    func testMergeAcrossBoundaryFallsBackToPieces() throws {
        // "word " + "the end": the full text tokenizes "Ġthe" across the boundary.
        let content = RecordContent.promptCompletion(prompt: "word ", completion: "the end")
        let (example, piecewise) = try encoder().encodeReporting(content)
        XCTAssertTrue(piecewise)
        let promptIds = tokenizer.encode("word ", addSpecialTokens: false)
        XCTAssertEqual(example.tokens, promptIds + tokenizer.encode("the end", addSpecialTokens: false) + [imEnd])
        XCTAssertEqual(example.lossMask.firstIndex(of: true), promptIds.count)
        XCTAssertEqual(targetText(example), "the end<|im_end|>")
        let aligned = try encoder().encodeReporting(.promptCompletion(prompt: "word", completion: " the end"))
        XCTAssertFalse(aligned.piecewise)
    }

    func testOtherTemplatesMaskByRenderedOffsets() throws {
        let messages: [ChatMessage] = [.user("Hi"), .assistant("Hello there"), .user("More"), .assistant("Done")]
        let llama = try encoder(DatasetOptions(chatTemplate: "llama3")).encode(.chat(messages))
        // The tiny vocabulary has no <|eot_id|> token: the text is still split exactly; EOS is appended.
        XCTAssertEqual(targetText(llama), "Hello there<|eot_id|>Done<|eot_id|><|im_end|>")
        let gemma = try encoder(DatasetOptions(chatTemplate: "gemma")).encode(.chat(messages))
        XCTAssertEqual(targetText(gemma), "Hello there<end_of_turn>Done<end_of_turn><|im_end|>")
        // Mistral and Alpaca end assistant turns with the tokenizer's EOS text (<|im_end|> here): no extra EOS.
        let mistral = try encoder(DatasetOptions(chatTemplate: "mistral")).encode(.chat(messages))
        XCTAssertEqual(targetText(mistral), "Hello there<|im_end|>Done<|im_end|>")
        let alpaca = try encoder(DatasetOptions(chatTemplate: "alpaca")).encode(.chat(messages))
        XCTAssertEqual(targetText(alpaca), "Hello there<|im_end|>Done<|im_end|>")
        XCTAssertTrue(tokenizer.decode(alpaca.tokens).contains("### Instruction:\nMore\n\n### Response:\nDone"))
        // Gemma renders the tokenizer's BOS text (here <|im_start|>) itself; it is not a target.
        XCTAssertEqual(gemma.tokens.first, tokenizer.bosTokenId)
        XCTAssertEqual(gemma.lossMask.first, false)
    }

    func testTruncationKeepsTheStartAndDropCounts() throws {
        let records = [
            DatasetRecord(content: .promptCompletion(prompt: "short", completion: " answer"),
                          format: .promptCompletion),
            DatasetRecord(content: .promptCompletion(prompt: "a much longer prompt with many words in it",
                                                     completion: " and its answer"), format: .promptCompletion),
            DatasetRecord(content: .text("the words and the times and the history of the program"), format: .text),
        ]
        let full = try records.map { try encoder().encode($0.content) }
        let maxLength = full[0].count + 1
        XCTAssertGreaterThan(full[1].lossMask.firstIndex(of: true)!, maxLength)  // prompt alone is over the limit
        XCTAssertGreaterThan(full[2].count, maxLength)

        let truncated = try DatasetLoader.examples(from: records, tokenizer: tokenizer,
                                                   options: DatasetOptions(maxLength: maxLength))
        // Record 1 loses its whole completion: no target left, dropped. Record 2 is cut to the limit.
        XCTAssertEqual(truncated.report.truncated, 2)
        XCTAssertEqual(truncated.report.dropped, 1)
        let cut = TokenizedExample(tokens: Array(full[2].tokens.prefix(maxLength)),
                                   lossMask: Array(full[2].lossMask.prefix(maxLength)))
        XCTAssertEqual(truncated.examples, [full[0], cut])
        let dropped = try DatasetLoader.examples(from: records, tokenizer: tokenizer,
                                                 options: DatasetOptions(maxLength: maxLength, overLength: .drop))
        XCTAssertEqual(dropped.examples, [full[0]])
        XCTAssertEqual(dropped.report.dropped, 2)
        XCTAssertEqual(dropped.report.truncated, 0)
        XCTAssertEqual(dropped.report.completionTokens, full[0].targetCount)
        XCTAssertEqual(dropped.report.promptTokens, full[0].count - full[0].targetCount)
    }

    func testUnknownTemplateNameIsAClearError() throws {
        let error = datasetError { try encoder(DatasetOptions(chatTemplate: "nope")).encode(.chat([.user("a"),
                                                                                                   .assistant("b")])) }
        guard case .chatTemplate(let message)? = error else { return XCTFail("expected chatTemplate error") }
        XCTAssertTrue(message.contains("chatml"), message)
        // Non-chat records do not need the template.
        XCTAssertNoThrow(try encoder(DatasetOptions(chatTemplate: "nope")).encode(.text("fine")))
    }
}
