// Built-in chat templates, rendered in Swift (no Jinja engine). Each reproduces, character for
// character, the official Jinja template of its family as transformers' apply_chat_template renders it:
// ChatML (OpenHermes / Qwen / SmolLM2, optional default system prompt), Llama-3 (Meta-Llama-3-Instruct),
// Gemma (gemma-3-it; also gemma-2/7b for conversations without a system turn), Mistral
// (Mistral-7B-Instruct-v0.2, system folded into the first user turn as llama.cpp does), Alpaca (Stanford
// Alpaca preamble; there is no official Jinja template). `jinjaSource` gives each as Jinja.
//
// BOS: templates whose official Jinja starts with `bos_token` (Llama-3, Gemma, Mistral) render the BOS
// text themselves; encode their output with `addSpecialTokens: false` (as apply_chat_template does), or
// use `encode(_:tokenizer:addGenerationPrompt:)`, which does that.

/// One message of a conversation.
public struct ChatMessage: Sendable, Equatable, Codable {
    /// "system", "user" or "assistant".
    public var role: String
    public var content: String

    public init(role: String, content: String) {
        self.role = role
        self.content = content
    }

    public static func system(_ content: String) -> ChatMessage { ChatMessage(role: "system", content: content) }
    public static func user(_ content: String) -> ChatMessage { ChatMessage(role: "user", content: content) }
    public static func assistant(_ content: String) -> ChatMessage { ChatMessage(role: "assistant", content: content) }
}

/// A chat format.
public struct ChatTemplate: Sendable, Equatable {
    /// The template families.
    public enum Kind: String, Sendable, CaseIterable {
        case chatML = "chatml", llama3, gemma, mistral, alpaca
    }

    public var kind: Kind
    /// BOS text written by templates that start with `bos_token`.
    public var bosToken: String
    /// EOS text written after assistant turns by Mistral and Alpaca.
    public var eosToken: String
    /// ChatML / Alpaca: system prompt used when the conversation has none (SmolLM2-Instruct has one).
    public var defaultSystemPrompt: String?

    public init(kind: Kind, bosToken: String, eosToken: String, defaultSystemPrompt: String? = nil) {
        self.kind = kind
        self.bosToken = bosToken
        self.eosToken = eosToken
        self.defaultSystemPrompt = defaultSystemPrompt
    }

    public static let chatML = ChatTemplate(kind: .chatML, bosToken: "", eosToken: "<|im_end|>")
    public static let llama3 = ChatTemplate(kind: .llama3, bosToken: "<|begin_of_text|>", eosToken: "<|eot_id|>")
    public static let gemma = ChatTemplate(kind: .gemma, bosToken: "<bos>", eosToken: "<eos>")
    public static let mistral = ChatTemplate(kind: .mistral, bosToken: "<s>", eosToken: "</s>")
    public static let alpaca = ChatTemplate(
        kind: .alpaca, bosToken: "", eosToken: "</s>",
        defaultSystemPrompt: "Below is an instruction that describes a task. "
            + "Write a response that appropriately completes the request.")

    /// The built-ins, in the order they are listed to users.
    public static let builtIns: [ChatTemplate] = [.chatML, .llama3, .gemma, .mistral, .alpaca]

    /// Names accepted by `named(_:)`.
    public static var builtInNames: [String] { Kind.allCases.map(\.rawValue) }

    /// A built-in by name ("chatml", "llama3", "gemma", "mistral", "alpaca"; case-insensitive, "-" and "_" ignored).
    public static func named(_ name: String) -> ChatTemplate? {
        let key = name.lowercased().filter { $0 != "-" && $0 != "_" }
        return builtIns.first { $0.kind.rawValue == key }
    }

    /// Whether the rendered text begins with the BOS text (then encode without adding special tokens).
    public var rendersBOS: Bool { !bosToken.isEmpty && (kind == .llama3 || kind == .gemma || kind == .mistral) }

    // MARK: Rendering

    /// The prompt text of a conversation, ending with the assistant header when `addGenerationPrompt`
    /// (Mistral has none: a conversation ending in a user turn already ends with `[/INST]`). Unlike the
    /// Jinja originals, rendering never fails: Gemma and Mistral do not check that roles alternate.
    public func render(messages: [ChatMessage], addGenerationPrompt: Bool) -> String {
        switch kind {
        case .chatML: return renderChatML(messages, addGenerationPrompt)
        case .llama3: return renderLlama3(messages, addGenerationPrompt)
        case .gemma: return renderGemma(messages, addGenerationPrompt)
        case .mistral: return renderMistral(messages)
        case .alpaca: return renderAlpaca(messages, addGenerationPrompt)
        }
    }

    /// Renders and encodes a conversation (special tokens in the text become their ids; no BOS is added by
    /// the tokenizer's post-processing, as in transformers' apply_chat_template).
    public func encode(_ messages: [ChatMessage], tokenizer: any Tokenizer, addGenerationPrompt: Bool) -> [Int] {
        tokenizer.encode(render(messages: messages, addGenerationPrompt: addGenerationPrompt), addSpecialTokens: false)
    }

    private func renderChatML(_ messages: [ChatMessage], _ generation: Bool) -> String {
        var out = ""
        if let system = defaultSystemPrompt, let first = messages.first, first.role != "system" {
            out += "<|im_start|>system\n" + system + "<|im_end|>\n"
        }
        for message in messages {
            out += "<|im_start|>" + message.role + "\n" + message.content + "<|im_end|>\n"
        }
        if generation { out += "<|im_start|>assistant\n" }
        return out
    }

    private func renderLlama3(_ messages: [ChatMessage], _ generation: Bool) -> String {
        var out = ""
        for (index, message) in messages.enumerated() {
            if index == 0 { out += bosToken }
            out += "<|start_header_id|>" + message.role + "<|end_header_id|>\n\n" + jinjaTrim(message.content)
                + "<|eot_id|>"
        }
        if generation { out += "<|start_header_id|>assistant<|end_header_id|>\n\n" }
        return out
    }

    private func renderGemma(_ messages: [ChatMessage], _ generation: Bool) -> String {
        var out = bosToken
        var turns = messages[...]
        var firstUserPrefix = ""
        if let first = messages.first, first.role == "system" {
            firstUserPrefix = first.content + "\n\n"
            turns = messages.dropFirst()
        }
        for (index, message) in turns.enumerated() {
            let role = message.role == "assistant" ? "model" : message.role
            out += "<start_of_turn>" + role + "\n" + (index == 0 ? firstUserPrefix : "")
            out += jinjaTrim(message.content) + "<end_of_turn>\n"
        }
        if generation { out += "<start_of_turn>model\n" }
        return out
    }

    private func renderMistral(_ messages: [ChatMessage]) -> String {
        var out = bosToken
        var turns = messages[...]
        var systemPrefix = ""
        if let first = messages.first, first.role == "system" {
            systemPrefix = first.content + "\n\n"
            turns = messages.dropFirst()
        }
        for (index, message) in turns.enumerated() {
            if message.role == "assistant" {
                out += message.content + eosToken
            } else {
                out += "[INST] " + (index == 0 ? systemPrefix : "") + message.content + " [/INST]"
            }
        }
        return out
    }

    private func renderAlpaca(_ messages: [ChatMessage], _ generation: Bool) -> String {
        var turns = messages[...]
        var system = defaultSystemPrompt ?? ""
        if let first = messages.first, first.role == "system" {
            system = first.content
            turns = messages.dropFirst()
        }
        var out = system + "\n\n"
        for message in turns {
            if message.role == "assistant" {
                out += "### Response:\n" + message.content + eosToken + "\n\n"
            } else if message.role == "user" {
                out += "### Instruction:\n" + message.content + "\n\n"
            }
        }
        if generation { out += "### Response:\n" }
        return out
    }

    // MARK: Detection

    /// Recognizes a checkpoint's Jinja template by its markers: `<|im_start|>` -> ChatML (with the default
    /// system prompt it writes, if any), `<|start_header_id|>` -> Llama-3, `<start_of_turn>` -> Gemma,
    /// `[INST]` -> Mistral (not Llama-2's `<<SYS>>`), `### Instruction` -> Alpaca. nil otherwise.
    public static func detect(fromJinja jinja: String) -> ChatTemplate? {
        if jinja.contains("<|im_start|>") {
            var template = ChatTemplate.chatML
            template.defaultSystemPrompt = defaultChatMLSystemPrompt(in: jinja)
            return template
        }
        if jinja.contains("<|start_header_id|>") {
            // Llama-3.1+ templates inject a dated system prompt that this renderer does not write.
            if jinja.contains("Cutting Knowledge Date") { return nil }
            return .llama3
        }
        if jinja.contains("<start_of_turn>") { return .gemma }
        if jinja.contains("[INST]") {
            if jinja.contains("<<SYS>>") || jinja.contains("[SYSTEM_PROMPT]") || jinja.contains("[AVAILABLE_TOOLS]") {
                return nil
            }
            return .mistral
        }
        if jinja.contains("### Instruction") { return .alpaca }
        return nil
    }

    /// The checkpoint's template if recognized, else `fallback` by name; throws with the list of built-ins.
    /// `bosToken` / `eosToken` (the tokenizer's) replace the built-in defaults when given.
    public static func resolve(jinja: String?, name: String? = nil, bosToken: String? = nil, eosToken: String? = nil)
        throws -> ChatTemplate {
        var template: ChatTemplate
        if let name {
            guard let named = named(name) else {
                throw TokenizerError.unknownChatTemplateName(name: name, builtIns: builtInNames)
            }
            template = named
        } else if let jinja, let detected = detect(fromJinja: jinja) {
            template = detected
        } else {
            throw TokenizerError.unrecognizedChatTemplate(excerpt: String((jinja ?? "(none)").prefix(80)),
                                                          builtIns: builtInNames)
        }
        if let bosToken, template.rendersBOS { template.bosToken = bosToken }
        if let eosToken, template.kind == .mistral || template.kind == .alpaca { template.eosToken = eosToken }
        return template
    }

    /// A literal system prompt written after `<|im_start|>system\n` (e.g. SmolLM2's
    /// "You are a helpful AI assistant named SmolLM, trained by Hugging Face").
    static func defaultChatMLSystemPrompt(in jinja: String) -> String? {
        let marker = "<|im_start|>system"
        var rest = Substring(jinja)
        while let range = rest.range(ofLiteral: marker) {
            var after = rest[range.upperBound...]
            if after.hasPrefix("\\n") {
                after = after.dropFirst(2)
            } else if after.hasPrefix("\n") {
                after = after.dropFirst(1)
            } else {
                rest = after
                continue
            }
            if let end = after.range(ofLiteral: "<|im_end|>") {
                let candidate = after[..<end.lowerBound]
                // A literal, not an expression such as `' + messages[0]['content'] + '`.
                if !candidate.isEmpty && !candidate.contains("'") && !candidate.contains("\"")
                    && !candidate.contains("{") && !candidate.contains("}") {
                    return String(candidate).replacingJinjaEscapes()
                }
            }
            rest = after
        }
        return nil
    }
}

/// Jinja's `trim` filter: Python's `str.strip()` (White_Space plus U+001C...U+001F).
func jinjaTrim(_ text: String) -> String {
    func isPythonSpace(_ scalar: Unicode.Scalar) -> Bool {
        scalar.properties.isWhitespace || (0x1C...0x1F).contains(scalar.value)
    }
    var scalars = Substring(text).unicodeScalars
    while let first = scalars.first, isPythonSpace(first) { scalars.removeFirst() }
    while let last = scalars.last, isPythonSpace(last) { scalars.removeLast() }
    return String(scalars)
}

extension StringProtocol {
    /// First occurrence of a literal (byte-wise).
    fileprivate func range(ofLiteral literal: String) -> Range<Index>? {
        guard let first = literal.first else { return nil }
        var index = startIndex
        while let found = self[index...].firstIndex(of: first) {
            if self[found...].hasPrefix(literal) {
                return found..<self.index(found, offsetBy: literal.count)
            }
            index = self.index(after: found)
        }
        return nil
    }

    /// `\n`, `\t`, `\\`, `\'` written inside a Jinja string literal.
    fileprivate func replacingJinjaEscapes() -> String {
        var out = ""
        var escaping = false
        for character in self {
            if escaping {
                switch character {
                case "n": out.append("\n")
                case "t": out.append("\t")
                default: out.append(character)
                }
                escaping = false
            } else if character == "\\" {
                escaping = true
            } else {
                out.append(character)
            }
        }
        return out
    }
}

extension Tokenizer {
    /// The chat template to use with this tokenizer: the built-in named `name` if given, else the one
    /// recognized in the checkpoint's own Jinja template; BOS / EOS texts are this tokenizer's.
    /// Throws (listing the built-ins) when neither applies.
    public func resolveChatTemplate(name: String? = nil) throws -> ChatTemplate {
        try ChatTemplate.resolve(jinja: chatTemplateSource, name: name, bosToken: bosToken, eosToken: eosToken)
    }
}
