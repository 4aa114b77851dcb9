#!/usr/bin/env bash
# Downloads (on a Debian machine with apt) the .deb files that the GPU machine lacks for rlpp's
# build — toml++, PCRE2, ICU, Eigen — into .gpu-debs/ (git-ignored), to be carried to that machine
# and unpacked into a private prefix by scripts/gpu-check.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p .gpu-debs
cd .gpu-debs
apt-get download libtomlplusplus-dev libtomlplusplus3 \
  libpcre2-dev libpcre2-8-0 libpcre2-16-0 libpcre2-32-0 libpcre2-posix3 \
  libicu-dev libicu72 icu-devtools \
  libeigen3-dev
ls -1 "$PWD"
