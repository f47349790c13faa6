#!/usr/bin/env python3
"""Golden sentence embeddings of the real all-MiniLM-L6-v2 (Tests/LLMTuneModelsTests/Fixtures/bert/minilm_*).

Oracle: sentence-transformers (the package the model is published for), loading the pulled folder
(`llmtune pull all-minilm-l6-v2`): modules.json = Transformer -> Pooling (1_Pooling/config.json: mean over
non-padding tokens) -> Normalize (L2). Cross-checked here against transformers' AutoModel + explicit mean pooling
+ torch.nn.functional.normalize, and the token ids against HF tokenizers with padding/truncation off.

Writes minilm_golden.json (sentences, token ids incl. [CLS]/[SEP], tolerances) and minilm_embeddings.f32
(float32 little-endian, row-major (20, 384)).

Usage: python3 tools/reference/bert_minilm_golden.py [--model ~/.cache/llmtune/models/all-minilm-l6-v2]
"""

import argparse
import json
import os

import numpy as np
import sentence_transformers
import torch
import transformers
from sentence_transformers import SentenceTransformer
from tokenizers import Tokenizer
from transformers import AutoModel

OUT = "Tests/LLMTuneModelsTests/Fixtures/bert"

SENTENCES = [
    "The cat sits on the mat.",
    "A feline is resting on a rug.",
    "Stock markets fell sharply after the announcement.",
    "The central bank raised interest rates by half a point.",
    "How do I reset my password?",
    "I forgot my login credentials and cannot sign in.",
    "Paris is the capital of France.",
    "Berlin ist die Hauptstadt von Deutschland.",
    "Café crème and croissants for breakfast, s'il vous plaît!",
    "北京是中国的首都。",
    "Quantum entanglement links the states of two particles.",
    "She played the violin beautifully at the concert last night.",
    "Emoji test 😀🎉 with symbols #$%&*",
    "A",
    "This is a considerably longer sentence that keeps going on and on, with several clauses, commas, and "
    "subordinate ideas, so that the encoder has to attend across many more positions than in the short examples.",
    "Fine-tuning language models on a CPU is slow but possible.",
    "Dogs are loyal companions and love to play fetch.",
    "The recipe calls for two cups of flour and three eggs.",
    "UNUSUAL CAPITALISATION and MiXeD cAsE",
    "Machine learning models can be surprisingly brittle.",
]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default=os.path.expanduser("~/.cache/llmtune/models/all-minilm-l6-v2"))
    args = parser.parse_args()
    torch.manual_seed(0)
    st = SentenceTransformer(args.model, device="cpu")
    print(st)
    embeddings = st.encode(SENTENCES, batch_size=8, convert_to_numpy=True, normalize_embeddings=False)  # (20, 384)

    # Independent path: transformers + explicit mean pooling + L2 normalisation.
    tok = Tokenizer.from_file(os.path.join(args.model, "tokenizer.json"))
    tok.no_padding()
    tok.no_truncation()
    ids = [tok.encode(s).ids for s in SENTENCES]
    model = AutoModel.from_pretrained(args.model).eval()
    reference = []
    with torch.no_grad():
        for seq in ids:
            hidden = model(input_ids=torch.tensor([seq])).last_hidden_state[0]   # (T, 384)
            reference.append(torch.nn.functional.normalize(hidden.mean(0), dim=0).numpy())
    reference = np.stack(reference)
    print("max |ST - transformers|", float(np.abs(reference - embeddings).max()))
    assert np.abs(reference - embeddings).max() < 1e-5
    st_ids = st.tokenize(SENTENCES)["input_ids"]
    for i, seq in enumerate(ids):
        assert st_ids[i][:len(seq)].tolist() == seq, i

    os.makedirs(OUT, exist_ok=True)
    embeddings.astype("<f4").tofile(os.path.join(OUT, "minilm_embeddings.f32"))
    golden = {"model": "all-minilm-l6-v2", "sentences": SENTENCES, "input_ids": ids,
              "embeddings_file": "minilm_embeddings.f32", "embeddings_shape": list(embeddings.shape),
              "tolerance": 1e-4, "minimum_cosine": 0.99999,
              "sentence_transformers": sentence_transformers.__version__, "transformers": transformers.__version__,
              "torch": torch.__version__}
    with open(os.path.join(OUT, "minilm_golden.json"), "w", encoding="utf-8") as f:
        json.dump(golden, f, ensure_ascii=False, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
