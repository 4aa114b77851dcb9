#!/usr/bin/env bash
# Two "hosts" on one machine: network namespaces rlpp-h0 and rlpp-h1 joined by a veth pair
# (10.77.0.1 and 10.77.0.2), nothing else reachable from them. Rank 0 runs in h0 (the master),
# rank 1 in h1; each is a `rlpp launch` of one node of two, so the ranks meet over their own
# addresses as on two machines. Needs root (ip netns). Removes the namespaces on exit.
#
#   scripts/two-hosts.sh [BUILD_DIR] [RUN_DIR] [train RECIPE [--set ...]]   (default: CartPole PPO)
set -euo pipefail
build="${1:-build}"
run_dir="${2:-runs/two-hosts}"
shift $(( $# < 2 ? $# : 2 ))
rlpp="$(cd "$build" && pwd)/bin/rlpp"
[ -x "$rlpp" ] || { echo "two-hosts: $rlpp not built (make build)" >&2; exit 2; }
[ "$(id -u)" = 0 ] || { echo "two-hosts: needs root for ip netns" >&2; exit 2; }

cleanup() {
  ip netns del rlpp-h0 2>/dev/null || true
  ip netns del rlpp-h1 2>/dev/null || true
}
trap cleanup EXIT
cleanup
ip netns add rlpp-h0
ip netns add rlpp-h1
ip link add rlpp-v0 netns rlpp-h0 type veth peer name rlpp-v1 netns rlpp-h1
ip -n rlpp-h0 addr add 10.77.0.1/24 dev rlpp-v0
ip -n rlpp-h1 addr add 10.77.0.2/24 dev rlpp-v1
for h in 0 1; do
  ip -n "rlpp-h$h" link set lo up
  ip -n "rlpp-h$h" link set "rlpp-v$h" up
done
echo "two-hosts: h0 = 10.77.0.1 (master), h1 = 10.77.0.2"

rm -rf "$run_dir"
common=(--nnodes 2 --nproc-per-node 1 --master-addr 10.77.0.1 --master-port 29400)
if [ $# -gt 0 ]; then
  train=("$@" --out "$run_dir" --quiet --dist-timeout 60)
else
  train=(train configs/cartpole_ppo.toml --set run.total_steps=20480 --out "$run_dir" --quiet --dist-timeout 60)
fi
ip netns exec rlpp-h0 "$rlpp" launch "${common[@]}" --node-rank 0 -- "${train[@]}" &
h0=$!
ip netns exec rlpp-h1 "$rlpp" launch "${common[@]}" --node-rank 1 -- "${train[@]}" &
h1=$!
rc=0
wait "$h0" || rc=$?
wait "$h1" || rc=$?
[ "$rc" = 0 ] || { echo "two-hosts: a host failed (exit $rc)" >&2; exit "$rc"; }
echo "two-hosts: both hosts finished. Traffic over the veth pair (h0's end):"
ip -n rlpp-h0 -s link show rlpp-v0 | sed -n '3,6p'
echo "two-hosts: rank 0's last row:"
tail -n 1 "$run_dir/metrics.jsonl"
ls "$run_dir/checkpoints"
