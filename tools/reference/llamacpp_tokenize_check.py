#!/usr/bin/env python3
"""Checks LLMTune's tokenizer goldens against llama.cpp itself (llama-cpp-python), for the GGUF they came from.

    python3 tools/reference/llamacpp_tokenize_check.py GGUF GOLDEN_JSON

GOLDEN_JSON is a tokenizer golden whose `cases` hold {text, ids_no_special} (compared without BOS, e.g.
Tests/LLMTuneTokenizersTests/Fixtures/golden_smollm2.json) or {text, ids} (compared with the model's BOS rule, e.g.
Tests/LLMTuneTokenizersTests/Fixtures/sentencepiece/gemma3_golden.json); the Swift tests compare LLMTune against
the same files. llama.cpp parses special tokens in the text (parse_special=True).
Prints every disagreement and exits 1 if there is one.
"""
import json, sys

import llama_cpp


def main(gguf, golden_path):
    golden = json.load(open(golden_path))
    llm = llama_cpp.Llama(gguf, vocab_only=True, verbose=False)
    bad = 0
    for case in golden["cases"]:
        text = case["text"]
        plain = "ids_no_special" in case
        expected = case["ids_no_special"] if plain else case["ids"]
        ids = llm.tokenize(text.encode("utf-8"), add_bos=not plain, special=True)
        if ids != expected:
            bad += 1
            print(f"DIFFERENT {text!r}\n  llama.cpp {ids}\n  golden    {expected}")
    print(f"{len(golden['cases']) - bad} of {len(golden['cases'])} texts tokenized identically by llama.cpp")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
