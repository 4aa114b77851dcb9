#!/usr/bin/env bash
# Installs every Debian package that rlpp's build and tests need. Idempotent: checks first and
# calls apt-get only for what is missing. Runs as root (or via sudo) with no prompts.
# Then makes the git-ignored Python venv .venv (Debian's python3 3.11, system site packages) with
# the pinned PyPI packages that only the fixture scripts use: Gymnasium, whose MuJoCo model files
# scripts/gymnasium-fixtures.py copies into tests/env/mujoco/fixtures/. The build and the tests
# need no Python. Set RLPP_SKIP_VENV=1 to skip this step.
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
  python3-venv python3-numpy python3-typing-extensions  # .venv for the fixture scripts (below)
)

# Gymnasium 1.0.0 is the first release with the v5 MuJoCo tasks; its model files are those of
# the v4 and v5 tasks rlpp reproduces (unchanged through 1.2.2). numpy and typing-extensions come
# from Debian (system site packages); the rest is pinned and installed with --no-deps, so pip
# never pulls anything else (torch in particular).
venv_packages=(gymnasium==1.0.0 cloudpickle==3.0.0 farama-notifications==0.0.4)

make_venv() {
  if [ "${RLPP_SKIP_VENV:-0}" = 1 ]; then return 0; fi
  local root venv
  root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
  venv="$root/.venv"
  if [ ! -x "$venv/bin/python" ]; then
    echo "setup-deps: making $venv"
    /usr/bin/python3 -m venv --system-site-packages "$venv"
  fi
  local want have
  want="$(printf '%s\n' "${venv_packages[@]}" | sort)"
  have="$("$venv/bin/python" -m pip freeze --local 2>/dev/null | tr 'A-Z_' 'a-z-' | sort)"
  if [ -z "$(comm -23 <(tr 'A-Z_' 'a-z-' <<<"$want" | sort) <(echo "$have"))" ]; then
    echo "setup-deps: venv packages present"
    return 0
  fi
  echo "setup-deps: installing ${venv_packages[*]} into $venv"
  "$venv/bin/python" -m pip install -q --no-deps --only-binary :all: "${venv_packages[@]}"
  "$venv/bin/python" -c "import gymnasium"
}

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "setup-deps: all ${#packages[@]} packages present"
  make_venv
  exit 0
fi

sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then sudo_cmd=(sudo); fi
echo "setup-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
make_venv
