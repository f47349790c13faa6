#!/usr/bin/env python3
"""Golden WordPiece tokenizations for Tests/LLMTuneTokenizersTests/Fixtures/wordpiece.

Oracle: HF `tokenizers` (the Rust implementation transformers' BertTokenizerFast wraps), with padding and
truncation switched off (tokenizer.json of all-MiniLM-L6-v2 asks for fixed 128-token padding, which is a
batching concern, not tokenization).

Writes
- tiny/tokenizer.json: a small WordPiece vocabulary trained here (BertNormalizer lowercase + accent strip,
  BertPreTokenizer, [CLS] $A [SEP], WordPiece decoder), always available to the tests;
- tiny_cased/tokenizer.json: the same vocabulary with lowercase off, strip_accents on, CJK splitting off;
- golden_tiny.json / golden_tiny_cased.json: ids (with and without special tokens), tokens, decodes;
- golden_minilm.json: the same for the real all-MiniLM-L6-v2 tokenizer.json (the 466 KB file is not copied
  here; the Swift test loads it from the pulled model, `llmtune pull all-minilm-l6-v2`).

Usage: python3 tools/reference/bert_wordpiece_fixtures.py [--minilm ~/.cache/llmtune/models/all-minilm-l6-v2]
"""

import argparse
import json
import os

import tokenizers
from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers

OUT = "Tests/LLMTuneTokenizersTests/Fixtures/wordpiece"

TEXTS = [
    "Hello, world!",
    "The quick brown fox jumps over the lazy dog.",
    "I can't believe it's not butter; we're sure you'll love it, don't you?",
    "Café crème, naïve façade, résumé, Ångström, Øresund, Straße.",
    "ÀÉÎÕÜ àéîõü ñ Ñ ç Ç",
    "日本語のテキストと中文字符混在。",
    "北京是中国的首都，上海是最大的城市。",
    "한국어 문장도 있습니다.",
    "Emoji: 😀🎉👍🏽 and ❤️ plus 🇫🇷 flags",
    "Punctuation!!! ...?? (parens) [brackets] {braces} <angle> \"quotes\" 'single' `back`",
    "Symbols: $100 + 5% = #hash @user ^caret |pipe ~tilde & and * star / slash \\ back _under",
    "supercalifragilisticexpialidocious antidisestablishmentarianism pneumonoultramicroscopicsilicovolcanoconiosis",
    "a" * 101,
    "b" * 100,
    "MiXeD CaSe WoRdS, ALL CAPS, and lowercase.",
    "Tabs\tand\nnewlines\r\nand  multiple   spaces",
    "Zero\u200bwidth\u200djoiners and soft\u00adhyphen",
    "Non\u00a0breaking\u2003em space\u3000ideographic",
    "control\x00nul\x07bell\x7fdel\ufffdreplacement",
    "Greek ΣΊΣΥΦΟΣ and Turkish İstanbul ıi",
    "Fullwidth ＡＢＣ ａｂｃ １２３ and ﬁ ligature",
    "Numbers 3.14159, 1,000,000 and 2024-06-01T12:00:00Z",
    "https://example.com/path?query=1&b=2#frag email@test.org",
    "[CLS] special tokens [SEP] inside [MASK] text [PAD] and [UNK]",
    "unknownwordzzqx with rare ǅ and ẞ characters",
    "Combining: e\u0301 a\u0308 n\u0303 versus é ä ñ",
    "Arabic: مرحبا بالعالم and Hebrew: שלום",
    "Русский текст с заглавными Буквами",
    "Ext E ideograph \U0002B820 and Ext B \U00020000 and compat \uF900",
    "   leading and trailing spaces   ",
    "",
    "—em dash– en dash… ellipsis «guillemets» „low quotes“",
    "x" * 30 + "é" * 75,
    "I'm here; they've gone; you're done; it's fine; he doesn't know.",
]

CORPUS = TEXTS + [
    "the quick brown fox jumps over the lazy dog and the cat sat on the mat",
    "hello world this is a small training corpus for a tiny wordpiece vocabulary",
    "tokenization splits words into pieces such as token ##ization and piece ##s",
    "café creme naive facade resume angstrom strasse",
    "中文 日本 北京 上海 城市 首都",
]


def tiny_tokenizer(lowercase: bool, strip_accents, chinese: bool, vocab=None) -> Tokenizer:
    model = models.WordPiece(vocab=vocab, unk_token="[UNK]", max_input_chars_per_word=100) if vocab \
        else models.WordPiece(unk_token="[UNK]", max_input_chars_per_word=100)
    tok = Tokenizer(model)
    tok.normalizer = normalizers.BertNormalizer(clean_text=True, handle_chinese_chars=chinese,
                                                strip_accents=strip_accents, lowercase=lowercase)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.decoder = decoders.WordPiece(prefix="##", cleanup=True)
    return tok


def add_post(tok: Tokenizer) -> None:
    cls, sep = tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")
    tok.post_processor = processors.TemplateProcessing(single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1",
                                                       special_tokens=[("[CLS]", cls), ("[SEP]", sep)])


def golden(tok: Tokenizer, name: str) -> dict:
    tok.no_padding()
    tok.no_truncation()
    cases = []
    for text in TEXTS:
        with_special = tok.encode(text, add_special_tokens=True)
        plain = tok.encode(text, add_special_tokens=False)
        cases.append({"text": text, "ids": with_special.ids, "ids_no_special": plain.ids, "tokens": with_special.tokens,
                      "decoded": tok.decode(with_special.ids, skip_special_tokens=False),
                      "decoded_skip_special": tok.decode(with_special.ids, skip_special_tokens=True)})
    return {"tokenizer": name, "tokenizers_version": tokenizers.__version__,
            "vocabulary_size": tok.get_vocab_size(with_added_tokens=True), "cases": cases}


def write(path: str, value: dict) -> None:
    with open(path, "w", encoding="utf-8") as f:
        json.dump(value, f, ensure_ascii=False, indent=1)
        f.write("\n")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--minilm", default=os.path.expanduser("~/.cache/llmtune/models/all-minilm-l6-v2"))
    args = parser.parse_args()

    tok = tiny_tokenizer(lowercase=True, strip_accents=None, chinese=True)
    trainer = trainers.WordPieceTrainer(vocab_size=400, min_frequency=1, show_progress=False,
                                        special_tokens=["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"],
                                        continuing_subword_prefix="##")
    tok.train_from_iterator(CORPUS, trainer)
    add_post(tok)
    os.makedirs(os.path.join(OUT, "tiny"), exist_ok=True)
    tok.save(os.path.join(OUT, "tiny", "tokenizer.json"))
    write(os.path.join(OUT, "golden_tiny.json"), golden(tok, "tiny"))

    cased = tiny_tokenizer(lowercase=False, strip_accents=True, chinese=False, vocab=tok.get_vocab())
    for special in ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]:
        cased.add_special_tokens([special])
    add_post(cased)
    os.makedirs(os.path.join(OUT, "tiny_cased"), exist_ok=True)
    cased.save(os.path.join(OUT, "tiny_cased", "tokenizer.json"))
    write(os.path.join(OUT, "golden_tiny_cased.json"), golden(cased, "tiny_cased"))

    path = os.path.join(args.minilm, "tokenizer.json")
    if os.path.exists(path):
        write(os.path.join(OUT, "golden_minilm.json"), golden(Tokenizer.from_file(path), "all-minilm-l6-v2"))
    else:
        print("skipped MiniLM goldens:", path, "not found")


if __name__ == "__main__":
    main()
