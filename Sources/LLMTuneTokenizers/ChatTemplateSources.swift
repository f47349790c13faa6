// The Jinja sources of the built-in chat templates, exactly as the golden fixtures were rendered from
// (Tests/LLMTuneTokenizersTests/Fixtures/make_fixtures.py). ChatML, Llama-3 and Gemma-3 are the official
// templates; Mistral is Mistral-7B-Instruct-v0.2's with a system turn folded into the first user turn;
// Alpaca is this project's definition. Useful to write a checkpoint's tokenizer_config.json.

extension ChatTemplate {
    /// The Jinja form of this template (uses `bos_token` / `eos_token`).
    public var jinjaSource: String {
        switch kind {
        case .chatML:
            guard let system = defaultSystemPrompt else { return Self.chatMLJinja }
            // SmolLM2-Instruct's form.
            return "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}"
                + "{{ '<|im_start|>system\n" + jinjaEscaped(system) + "<|im_end|>\n' }}{% endif %}"
                + String(Self.chatMLJinja.dropFirst("{% for message in messages %}".count))
        case .llama3:
            return Self.llama3Jinja
        case .gemma:
            return Self.gemmaJinja
        case .mistral:
            return Self.mistralJinja
        case .alpaca:
            let standard = ChatTemplate.alpaca.defaultSystemPrompt ?? ""
            guard let system = defaultSystemPrompt, system != standard else { return Self.alpacaJinja }
            return Self.alpacaJinja.replacingFirstLiteral("'" + standard + "'", with: "'" + jinjaEscaped(system) + "'")
        }
    }

    static let chatMLJinja =
        "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<"
        + "|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% e"
        + "ndif %}"

    static let llama3Jinja =
        "{% set loop_messages = messages %}{% for message in loop_messages %}{% set content = '<|start_he"
        + "ader_id|>' + message['role'] + '<|end_header_id|>\n\n'+ message['content'] | trim + '<|eot_id|>'"
        + " %}{% if loop.index0 == 0 %}{% set content = bos_token + content %}{% endif %}{{ content }}{% en"
        + "dfor %}{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}{%"
        + " endif %}"

    static let gemmaJinja =
        "{{ bos_token }}\n{%- if messages[0]['role'] == 'system' -%}\n    {%- if messages[0]['content'] i"
        + "s string -%}\n        {%- set first_user_prefix = messages[0]['content'] + '\n\n' -%}\n    {%- e"
        + "lse -%}\n        {%- set first_user_prefix = messages[0]['content'][0]['text'] + '\n\n' -%}\n   "
        + " {%- endif -%}\n    {%- set loop_messages = messages[1:] -%}\n{%- else -%}\n    {%- set first_us"
        + "er_prefix = \"\" -%}\n    {%- set loop_messages = messages -%}\n{%- endif -%}\n{%- for message i"
        + "n loop_messages -%}\n    {%- if (message['role'] == 'user') != (loop.index0 % 2 == 0) -%}\n     "
        + "   {{ raise_exception(\"Conversation roles must alternate user/assistant/user/assistant/...\") }"
        + "}\n    {%- endif -%}\n    {%- if (message['role'] == 'assistant') -%}\n        {%- set role = \""
        + "model\" -%}\n    {%- else -%}\n        {%- set role = message['role'] -%}\n    {%- endif -%}\n  "
        + "  {{ '<start_of_turn>' + role + '\n' + (first_user_prefix if loop.first else \"\") }}\n    {%- i"
        + "f message['content'] is string -%}\n        {{ message['content'] | trim }}\n    {%- elif messag"
        + "e['content'] is iterable -%}\n        {%- for item in message['content'] -%}\n            {%- if"
        + " item['type'] == 'image' -%}\n                {{ '<start_of_image>' }}\n            {%- elif ite"
        + "m['type'] == 'text' -%}\n                {{ item['text'] | trim }}\n            {%- endif -%}\n "
        + "       {%- endfor -%}\n    {%- else -%}\n        {{ raise_exception(\"Invalid content type\") }}"
        + "\n    {%- endif -%}\n    {{ '<end_of_turn>\n' }}\n{%- endfor -%}\n{%- if add_generation_prompt -"
        + "%}\n    {{'<start_of_turn>model\n'}}\n{%- endif -%}\n"

    static let mistralJinja =
        "{{ bos_token }}{% if messages[0]['role'] == 'system' %}{% set system_prefix = messages[0]['conte"
        + "nt'] + '\n\n' %}{% set loop_messages = messages[1:] %}{% else %}{% set system_prefix = '' %}{% s"
        + "et loop_messages = messages %}{% endif %}{% for message in loop_messages %}{% if (message['role'"
        + "] == 'user') != (loop.index0 % 2 == 0) %}{{ raise_exception('Conversation roles must alternate u"
        + "ser/assistant/user/assistant/...') }}{% endif %}{% if message['role'] == 'user' %}{{ '[INST] ' +"
        + " (system_prefix if loop.first else '') + message['content'] + ' [/INST]' }}{% elif message['role"
        + "'] == 'assistant' %}{{ message['content'] + eos_token}}{% else %}{{ raise_exception('Only user a"
        + "nd assistant roles are supported!') }}{% endif %}{% endfor %}"

    static let alpacaJinja =
        "{% if messages[0]['role'] == 'system' %}{% set system_message = messages[0]['content'] %}{% set "
        + "loop_messages = messages[1:] %}{% else %}{% set system_message = 'Below is an instruction that d"
        + "escribes a task. Write a response that appropriately completes the request.' %}{% set loop_messa"
        + "ges = messages %}{% endif %}{{ system_message + '\n\n' }}{% for message in loop_messages %}{% if"
        + " message['role'] == 'user' %}{{ '### Instruction:\n' + message['content'] + '\n\n' }}{% elif mes"
        + "sage['role'] == 'assistant' %}{{ '### Response:\n' + message['content'] + eos_token + '\n\n' }}{"
        + "% endif %}{% endfor %}{% if add_generation_prompt %}{{ '### Response:\n' }}{% endif %}"

}

/// A string's text inside a single-quoted Jinja literal.
private func jinjaEscaped(_ text: String) -> String {
    var out = ""
    for character in text {
        switch character {
        case "\\": out += "\\\\"
        case "'": out += "\\'"
        default: out.append(character)
        }
    }
    return out
}

extension String {
    fileprivate func replacingFirstLiteral(_ target: String, with replacement: String) -> String {
        let bytes = Array(utf8)
        let pattern = Array(target.utf8)
        guard !pattern.isEmpty, bytes.count >= pattern.count else { return self }
        for start in 0...(bytes.count - pattern.count) where bytes[start..<(start + pattern.count)].elementsEqual(pattern) {
            return String(decoding: bytes[..<start], as: UTF8.self) + replacement
                + String(decoding: bytes[(start + pattern.count)...], as: UTF8.self)
        }
        return self
    }
}
