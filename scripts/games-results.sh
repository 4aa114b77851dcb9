#!/usr/bin/env bash
# The numbers of docs/results.md's "Differentiable games and SGN certificates" section.
# Usage: scripts/games-results.sh [BUILD_DIR]   (Release build with the rlpp program built)
set -euo pipefail
BIN=${1:-build}/bin/rlpp
LQ=configs/games/lq_rotation.toml
MARKOV=configs/games/markov_coordination.toml

echo "== LQ game (2 x 32 dims): Euclidean vs SGN margin, measured Euler rate at h = 0.05 =="
printf "%-6s %-18s %-18s %-10s %-18s\n" lambda euclidean_margin sgn_alpha holds measured_rate
for lambda in 0.1 0.2 0.3 0.5 0.8 1.0 1.2 1.4 1.45 1.6; do
  cert=$("$BIN" certify "$LQ" --coupling "$lambda")
  euclid=$(sed -n 's/^euclidean margin (lambda_min of sym J): \([^ ]*\).*/\1/p' <<<"$cert")
  alpha=$(sed -n 's/^SGN: [A-Z]*  alpha\* = \([^ ]*\).*/\1/p' <<<"$cert")
  holds=$(sed -n 's/^SGN: \([A-Z]*\).*/\1/p' <<<"$cert")
  sim=$("$BIN" simulate "$LQ" --coupling "$lambda" --method euler --step 0.05 --steps 4000)
  rate=$(sed -n 's/^rate per unit time: measured \([^,]*\),.*/\1/p' <<<"$sim")
  printf "%-6s %-18s %-18s %-10s %-18s\n" "$lambda" "$euclid" "$alpha" "$holds" "$rate"
done

echo "== Markov coordination game: Fisher vs Euclidean certificate =="
"$BIN" certify "$MARKOV"
"$BIN" certify "$MARKOV" --geometry euclidean
echo "== NPG at eta = 0.5 * 2 alpha/beta^2 (Fisher) vs Euclidean PG =="
"$BIN" simulate "$MARKOV" --method npg --steps 3000
"$BIN" simulate "$MARKOV" --method euler --steps 3000

echo "== 100 players x 10 dims: certification time (5 runs) =="
for k in 1 2 3 4 5; do "$BIN" certify configs/games/random100x10.json | grep "certified in"; done
