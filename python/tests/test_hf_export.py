"""python/examples/hf_export.py: an rlpp model directory with a character tokenizer, as Hugging Face
loads it. Independent references: transformers' tokenizer and forward, and hand-computed ids."""
import json
import os
import shutil
import subprocess
import sys

import pytest

pytest.importorskip("transformers")
pytest.importorskip("tokenizers")

ALPHABET = "0123456789+-*=\n"  # configs/lm_arithmetic.toml's task alphabet


@pytest.fixture
def hf_export(source_dir):
    sys.path.insert(0, os.path.join(source_dir, "python", "examples"))
    import hf_export as module

    yield module
    sys.path.remove(os.path.join(source_dir, "python", "examples"))


@pytest.fixture
def model_dir(source_dir, tmp_path):
    """The random Llama fixture (vocab 96) with an rlpp character tokenizer over ids 0..17."""
    src = os.path.join(source_dir, "tests", "fixtures", "lm", "llama3_gqa")
    out = tmp_path / "model"
    out.mkdir()
    for name in ("config.json", "model.safetensors"):
        shutil.copyfile(os.path.join(src, name), out / name)
    tok = {"format": "rlpp-char-tokenizer", "version": 1, "alphabet": ALPHABET,
           "special_tokens": ["<pad>", "<bos>", "<eos>"], "bos_token": "<bos>", "eos_token": "<eos>",
           "pad_token": "<pad>", "unk_token": None}
    (out / "rlpp_tokenizer.json").write_text(json.dumps(tok))
    return str(out)


def test_export_tokenizes_like_rlpp_and_gives_rlpps_logprobs(hf_export, model_dir, tmp_path):
    import transformers

    out = str(tmp_path / "hf")
    hf_export.export(model_dir, out)
    tok = transformers.AutoTokenizer.from_pretrained(out)
    # Hand ids: specials 0..2, then alphabet character j -> 3 + j.
    ids = tok("<bos>12+3=\n4<eos>", add_special_tokens=False)["input_ids"]
    assert ids == [1, 4, 5, 13, 6, 16, 17, 7, 2]
    assert tok.decode(ids, skip_special_tokens=True) == "12+3=\n4"
    assert (tok.bos_token_id, tok.eos_token_id, tok.pad_token_id) == (1, 2, 0)
    assert tok(["<bos>1+2=", "<bos>10+20="], padding=True)["input_ids"][0][:2] == [0, 0]  # left padding
    # transformers' forward of the copied weights against rlpp's (tolerance of the fixture tests).
    assert hf_export.check(model_dir, out) < 1e-4


def test_bad_input_exits_2(source_dir, tmp_path):
    script = os.path.join(source_dir, "python", "examples", "hf_export.py")
    r = subprocess.run([sys.executable, script, str(tmp_path / "missing"), str(tmp_path / "hf")],
                       capture_output=True, text=True)
    assert r.returncode == 2
    assert "has no config.json" in r.stderr
