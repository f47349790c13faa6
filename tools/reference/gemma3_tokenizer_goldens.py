#!/usr/bin/env python3
"""Golden tokenizations for the SentencePiece-style BPE tokenizer (Tests/LLMTuneTokenizersTests/Fixtures/sentencepiece).

1. gemma3_golden.json: the real Gemma-3-270M GGUF (`llmtune pull gemma3-270m`), tokenized by transformers'
   tokenizer built from that GGUF (AutoTokenizer.from_pretrained(dir, gguf_file=...), the HF tokenizers BPE with
   byte fallback that transformers derives from the file).
2. tiny_gemma/: a tiny Gemma-style tokenizer that runs in every test: a few hundred pieces of the Gemma vocabulary
   (specials, byte tokens, whitespace runs, pieces used by the texts below), re-numbered in Gemma's order.
   - tiny_gemma/tokenizer.json: HF tokenizers BPE(byte_fallback) with merges from transformers.generate_merges in
     id order, normalizer Replace(" " -> "▁"), decoder Replace/ByteFallback/Fuse, post-processor "<bos> $A",
     the way transformers builds GemmaTokenizer from a GGUF (whitespace-run pieces respelled as "▁▁...").
   - tiny_gemma.gguf: the same vocabulary as llama.cpp GGUF metadata (tokenizer.ggml.model "llama", scores, token
     types, whitespace runs as user-defined "  " pieces), no tensors.
   - tiny_golden.json: ids from the tokenizer.json (the oracle for both Swift loaders).

Usage: python3 tools/reference/gemma3_tokenizer_goldens.py [--gguf PATH]
"""

from __future__ import annotations

import argparse
import json
import os

import gguf
from tokenizers import AddedToken, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors
from transformers import AutoTokenizer
from transformers.tokenization_utils_base import generate_merges

OUT = "Tests/LLMTuneTokenizersTests/Fixtures/sentencepiece"

TEXTS = [
    "The capital of France is",
    "Hello, world!",
    "  leading spaces and trailing   ",
    "multiple    spaces\tand\ttabs\t\t\tand\n\nnewlines\n\n\n",
    "naïve café résumé façade Ångström",
    "日本語のテキストと中文字符",
    "Привет, как дела?",
    "emoji: 😀🎉👍🏽 👨‍👩‍👧‍👦",
    "def fibonacci(n):\n    if n < 2:\n        return n\n    return fibonacci(n - 1) + fibonacci(n - 2)\n",
    "for (int i = 0; i < 10; ++i) { printf(\"%d\\n\", i); }",
    "1234567890 3.14159 1,000,000 0x1F 2025-11-28",
    "<start_of_turn>user\nWhat is 2+2?<end_of_turn>\n<start_of_turn>model\n",
    "text with <bos> and <eos> inside",
    "<div class=\"x\"></div> <b>bold</b>",
    "URL: https://example.com/path?q=1&r=2#frag",
    "a",
    " ",
    "",
    "\n",
    "Mixed CASE words, UPPERCASE, lowercase.",
    "don't won't it's we're they'll",
    "🙂",
    "\u00a0non-breaking\u00a0space and zero\u200bwidth",
    "ǅ Ǉ ﬁ ﬀ ℌ",
    "ελληνικά και العربية و עברית",
    "한국어 텍스트",
    "tab\tseparated\tvalues",
    "trailing newline\n",
    "   ",
    "x  y   z    w",
    "The quick brown fox jumps over the lazy dog. " * 3,
    "Ünïcödé ŝtrïñg wïth dïäcrïtïcs",
    "math: ∑ x² ≤ ∞, α β γ",
    "\u0000\u0001 control \u007f chars",
    "Thé Ǆ 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 𝟙𝟚𝟛",
]


def gguf_tokenizer_fields(path):
    r = gguf.GGUFReader(path)
    f = r.fields["tokenizer.ggml.tokens"]
    tokens = [bytes(f.parts[i]).decode("utf-8") for i in f.data]
    s = r.fields["tokenizer.ggml.scores"]
    scores = [float(s.parts[i][0]) for i in s.data]
    t = r.fields["tokenizer.ggml.token_type"]
    types = [int(t.parts[i][0]) for i in t.data]
    return tokens, scores, types


def real_goldens(gguf_path):
    tok = AutoTokenizer.from_pretrained(os.path.dirname(gguf_path), gguf_file=os.path.basename(gguf_path))
    cases = []
    for text in TEXTS:
        ids = tok(text, add_special_tokens=True)["input_ids"]
        cases.append(dict(text=text, ids=ids, decoded_skip_special=tok.decode(ids, skip_special_tokens=True)))
    doc = dict(source=os.path.basename(gguf_path), oracle="transformers AutoTokenizer(gguf_file=...)",
               vocabulary_size=len(tok), bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id,
               cases=cases)
    with open(os.path.join(OUT, "gemma3_golden.json"), "w") as f:
        json.dump(doc, f, ensure_ascii=False, indent=1)
    return tok


def tiny(gguf_path, real_tok):
    tokens, scores, types = gguf_tokenizer_fields(gguf_path)
    keep = set(range(0, 8)) | {105, 106, 107, 108, 109} | set(range(138, 142)) | set(range(168, 171))
    keep |= {i for i, t in enumerate(types) if t == 6}  # byte tokens
    keep |= {tokens.index(x) for x in ["<div>", "</div>"] if x in tokens}
    # Pieces that the real tokenizer uses on the texts, and every piece that splits into two kept halves,
    # so that merges chain the way they do in the full vocabulary.
    used = set()
    for text in TEXTS:
        used |= set(real_tok(text, add_special_tokens=False)["input_ids"])
    keep |= used
    index = {t: i for i, t in enumerate(tokens)}
    for i in sorted(used):
        piece = tokens[i]
        for a in range(len(piece)):
            for b in range(a + 1, len(piece) + 1):
                sub = piece[a:b]
                if sub in index and types[index[sub]] == 1:
                    keep.add(index[sub])
    old_ids = sorted(keep)
    new_tokens = [tokens[i] for i in old_ids]
    new_scores = [scores[i] for i in old_ids]
    new_types = [types[i] for i in old_ids]
    os.makedirs(os.path.join(OUT, "tiny_gemma"), exist_ok=True)

    # GGUF (llama.cpp view).
    w = gguf.GGUFWriter(os.path.join(OUT, "tiny_gemma.gguf"), arch="gemma3")
    w.add_tokenizer_model("llama")
    w.add_tokenizer_pre("default")
    w.add_token_list(new_tokens)
    w.add_token_scores(new_scores)
    w.add_token_types(new_types)
    w.add_bos_token_id(new_tokens.index("<bos>"))
    w.add_eos_token_id(new_tokens.index("<eos>"))
    w.add_unk_token_id(new_tokens.index("<unk>"))
    w.add_pad_token_id(new_tokens.index("<pad>"))
    w.add_add_bos_token(True)
    w.add_add_eos_token(False)
    w.add_add_space_prefix(False)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()

    # tokenizer.json (transformers' GGUF -> GemmaTokenizer conversion).
    respelled = ["\u2581" * len(t) if " " in t and not t.strip() else t for t in new_tokens]
    vocab = {t: i for i, t in enumerate(respelled)}
    merges = generate_merges(vocab, {t: -i for i, t in enumerate(respelled)})
    tk = Tokenizer(models.BPE(vocab=vocab, merges=merges, unk_token="<unk>", fuse_unk=True, byte_fallback=True))
    tk.normalizer = normalizers.Replace(" ", "\u2581")
    tk.pre_tokenizer = pre_tokenizers.Split(pattern=" ", behavior="merged_with_previous", invert=False)
    tk.decoder = decoders.Sequence([decoders.Replace("\u2581", " "), decoders.ByteFallback(), decoders.Fuse()])
    control = [AddedToken(t, normalized=False, special=True) for t, ty in zip(respelled, new_types) if ty == 3]
    tk.add_special_tokens(control)
    user = [AddedToken(t, normalized=False, special=False) for t, ty in zip(respelled, new_types)
            if ty == 4 and t in vocab and not set(t) <= {"\u2581"}]
    tk.add_tokens(user)
    bos = vocab["<bos>"]
    tk.post_processor = processors.TemplateProcessing(single="<bos> $A", special_tokens=[("<bos>", bos)])
    tk.save(os.path.join(OUT, "tiny_gemma", "tokenizer.json"))
    cases = []
    for text in TEXTS:
        ids = tk.encode(text).ids
        cases.append(dict(text=text, ids=ids, decoded_skip_special=tk.decode(ids, skip_special_tokens=True)))
    with open(os.path.join(OUT, "tiny_golden.json"), "w") as f:
        json.dump(dict(vocabulary_size=len(new_tokens), cases=cases), f, ensure_ascii=False, indent=1)
    print("tiny vocabulary", len(new_tokens), "merges", len(merges))


def variants():
    """Llama-2 / Mistral-style spellings of the tiny vocabulary: prefix space from a Prepend normalizer or from a
    Metaspace pre-tokenizer, Strip decoder; plus the GGUF with add_space_prefix = true (llama.cpp's prefix)."""
    tokens, scores, types = gguf_tokenizer_fields(os.path.join(OUT, "tiny_gemma.gguf"))
    base = Tokenizer.from_file(os.path.join(OUT, "tiny_gemma", "tokenizer.json"))
    strip = decoders.Sequence([decoders.Replace("\u2581", " "), decoders.ByteFallback(), decoders.Fuse(),
                               decoders.Strip(" ", 1, 0)])
    out = {}
    for name in ("tiny_llama2", "tiny_metaspace"):
        tk = Tokenizer.from_str(base.to_str())
        if name == "tiny_llama2":
            tk.normalizer = normalizers.Sequence([normalizers.Prepend("\u2581"), normalizers.Replace(" ", "\u2581")])
            tk.pre_tokenizer = None
        else:
            tk.normalizer = None
            tk.pre_tokenizer = pre_tokenizers.Metaspace(replacement="\u2581", prepend_scheme="first", split=False)
        tk.decoder = strip
        os.makedirs(os.path.join(OUT, name), exist_ok=True)
        tk.save(os.path.join(OUT, name, "tokenizer.json"))
        cases = []
        for text in TEXTS:
            ids = tk.encode(text).ids
            cases.append(dict(text=text, ids=ids, decoded_skip_special=tk.decode(ids, skip_special_tokens=True)))
        out[name] = dict(vocabulary_size=tk.get_vocab_size(), cases=cases)
    with open(os.path.join(OUT, "variants_golden.json"), "w") as f:
        json.dump(out, f, ensure_ascii=False, indent=1)
    w = gguf.GGUFWriter(os.path.join(OUT, "tiny_prefix.gguf"), arch="llama")
    w.add_tokenizer_model("llama")
    w.add_token_list(tokens)
    w.add_token_scores(scores)
    w.add_token_types(types)
    w.add_bos_token_id(tokens.index("<bos>"))
    w.add_eos_token_id(tokens.index("<eos>"))
    w.add_unk_token_id(tokens.index("<unk>"))
    w.add_add_bos_token(True)
    w.add_add_space_prefix(True)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--variants-only", action="store_true")
    ap.add_argument("--gguf", default=os.path.expanduser(
        "~/.cache/llmtune/models/gemma3-270m/gemma-3-270m-q4_k_m.gguf"))
    args = ap.parse_args()
    os.makedirs(OUT, exist_ok=True)
    if not args.variants_only:
        tok = real_goldens(args.gguf)
        tiny(args.gguf, tok)
    variants()


if __name__ == "__main__":
    main()
