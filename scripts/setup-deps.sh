#!/usr/bin/env bash
# Installs every Debian package that rlpp's build and tests need. Idempotent: checks first and
# calls apt-get only for what is missing. Runs as root (or via sudo) with no prompts.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config git
  libtorch-dev                      # LibTorch 1.13 (CPU)
  libopenblas0-openmp               # optimised BLAS for LibTorch (the default reference BLAS is ~10x slower)
  nlohmann-json3-dev                # JSON (metrics, checkpoints' metadata)
  libtomlplusplus-dev               # TOML recipes
  libcli11-dev                      # command line
  libgtest-dev libgmock-dev         # unit tests
  libbenchmark-dev                  # micro-benchmarks
  libeigen3-dev                     # fast small-MLP path
  libpcre2-dev                      # tokenizers: pre-tokenisation regex (Unicode classes)
  libicu-dev                        # tokenizers: NFC normalisation (Qwen2's normalizer)
  libplplot-dev plplot-driver-cairo # PNG learning curves
  libprotobuf-dev protobuf-compiler # independent decoding of TensorBoard event files in tests
  libmujoco-dev                     # MuJoCo 2.2.2: Hopper-v4 and the other MuJoCo environments
  libcpp-httplib-dev                # HTTP: `rlpp serve` and the agent harness's chat-completions client
  clang-14 libclang-rt-14-dev       # libFuzzer + sanitizers for scripts/fuzz.sh (the normal build uses GCC)
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "setup-deps: all ${#packages[@]} packages present"
  exit 0
fi

sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then sudo_cmd=(sudo); fi
echo "setup-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
