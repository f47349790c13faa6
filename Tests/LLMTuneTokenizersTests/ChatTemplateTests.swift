// Built-in chat templates against transformers' Jinja rendering of the official templates
// (Fixtures/chat_templates.json), detection from a checkpoint's Jinja, and error messages.

import XCTest
@testable import LLMTuneTokenizers

final class ChatTemplateTests: XCTestCase {
    func testRendersMatchJinja() throws {
        let golden = try Fixtures.decode(ChatTemplateGolden.self, "chat_templates.json")
        XCTAssertEqual(Set(golden.renders.compactMap(\.template)), Set(ChatTemplate.builtInNames))
        for render in golden.renders {
            let name = try XCTUnwrap(render.template)
            let source = try XCTUnwrap(golden.templates.first { $0.name == name })
            var template = try XCTUnwrap(ChatTemplate.named(name))
            XCTAssertEqual(template.bosToken, source.bos_token)
            XCTAssertEqual(template.eosToken == source.eos_token || source.eos_token.isEmpty, true)
            template.eosToken = source.eos_token.isEmpty ? template.eosToken : source.eos_token
            let text = template.render(messages: render.chatMessages, addGenerationPrompt: render.add_generation_prompt)
            XCTAssertEqual(text, render.text, "\(name), generation prompt \(render.add_generation_prompt)")
        }
    }

    func testJinjaSourcesAreTheRenderedOnes() throws {
        let golden = try Fixtures.decode(ChatTemplateGolden.self, "chat_templates.json")
        for source in golden.templates {
            XCTAssertEqual(try XCTUnwrap(ChatTemplate.named(source.name)).jinjaSource, source.jinja, source.name)
        }
    }

    func testDetectionFromJinja() throws {
        let golden = try Fixtures.decode(ChatTemplateGolden.self, "chat_templates.json")
        for source in golden.templates {
            XCTAssertEqual(ChatTemplate.detect(fromJinja: source.jinja)?.kind, ChatTemplate.named(source.name)?.kind)
        }
        // Llama-2 uses [INST] with <<SYS>>: not Mistral.
        XCTAssertNil(ChatTemplate.detect(fromJinja: "{{ '[INST] <<SYS>>\\n' + system + '\\n<</SYS>>' }}"))
        XCTAssertNil(ChatTemplate.detect(fromJinja: "{{ 'Cutting Knowledge Date' }}<|start_header_id|>"))
        XCTAssertNil(ChatTemplate.detect(fromJinja: "{{ messages }}"))
        // Qwen2.5-style: the default system prompt sits in the else branch.
        let qwen = "{%- if messages[0]['role'] == 'system' %}{{- '<|im_start|>system\\n' + messages[0]['content'] + "
            + "'<|im_end|>\\n' }}{%- else %}{{- '<|im_start|>system\\nYou are Qwen, created by Alibaba Cloud. You are a "
            + "helpful assistant.<|im_end|>\\n' }}{%- endif %}"
        XCTAssertEqual(ChatTemplate.detect(fromJinja: qwen)?.defaultSystemPrompt,
                       "You are Qwen, created by Alibaba Cloud. You are a helpful assistant.")
        XCTAssertNil(ChatTemplate.detect(fromJinja: ChatTemplate.chatMLJinja)?.defaultSystemPrompt)
    }

    func testResolveErrorsListBuiltIns() {
        XCTAssertThrowsError(try ChatTemplate.resolve(jinja: "{{ messages }}")) { error in
            let message = "\(error)"
            for name in ChatTemplate.builtInNames { XCTAssertTrue(message.contains(name), message) }
        }
        XCTAssertThrowsError(try ChatTemplate.resolve(jinja: nil, name: "vicuna")) { error in
            XCTAssertEqual(error as? TokenizerError,
                           .unknownChatTemplateName(name: "vicuna", builtIns: ChatTemplate.builtInNames))
        }
        XCTAssertEqual(try ChatTemplate.resolve(jinja: "{{ messages }}", name: "Llama-3").kind, .llama3)
        XCTAssertEqual(try ChatTemplate.resolve(jinja: ChatTemplate.gemmaJinja, bosToken: "<B>").bosToken, "<B>")
    }

    func testLlama3EncodingHasOneBOS() throws {
        let tokenizer = try Fixtures.tinyTokenizer("tiny_llama3")
        XCTAssertThrowsError(try tokenizer.resolveChatTemplate())  // tiny_llama3 ships no template
        let template = try tokenizer.resolveChatTemplate(name: "llama3")
        XCTAssertEqual(template.bosToken, "<|begin_of_text|>")
        XCTAssertTrue(template.rendersBOS)
        let ids = template.encode([.user("Hi")], tokenizer: tokenizer, addGenerationPrompt: true)
        XCTAssertEqual(ids.filter { $0 == tokenizer.bosTokenId }.count, 1)
        XCTAssertEqual(ids.first, tokenizer.bosTokenId)
        XCTAssertEqual(tokenizer.decode(ids), template.render(messages: [.user("Hi")], addGenerationPrompt: true))
    }

    func testTokenizerTemplateFromConfig() throws {
        let tokenizer = try Fixtures.tinyTokenizer("tiny_smollm")
        let template = try tokenizer.resolveChatTemplate()
        XCTAssertEqual(template, .chatML)
        let ids = template.encode([.user("Hi")], tokenizer: tokenizer, addGenerationPrompt: true)
        XCTAssertEqual(ids.first, tokenizer.id(for: "<|im_start|>"))
        XCTAssertEqual(ids.filter { $0 == tokenizer.id(for: "<|im_end|>") }.count, 1)
    }

    func testJinjaTrimIsPythonStrip() {
        XCTAssertEqual(jinjaTrim(" \t\u{1C}x y\u{A0}\n"), "x y")
        XCTAssertEqual(jinjaTrim("\u{200B}x"), "\u{200B}x")  // zero-width space is not whitespace
    }
}
