"""Python-side stepping speed of rlpp.envs against Gymnasium's own vector environments, measured in
one run on one machine (docs/results.md). Random actions drawn before timing; steps/s counts
environment steps (num_envs per call).

    PYTHONPATH=build/python .venv/bin/python python/bench/envs_bench.py
"""
import argparse
import time

import numpy as np

import rlpp

try:
    import gymnasium as gym
except ImportError:
    gym = None


def rate(envs, calls, seed=0):
    envs.reset(seed=seed)
    space = envs.action_space
    acts = [space.sample() for _ in range(64)]
    for a in acts[:8]:
        envs.step(a)  # warm-up
    t0 = time.perf_counter()
    for k in range(calls):
        envs.step(acts[k % 64])
    dt = time.perf_counter() - t0
    return calls * envs.num_envs / dt, dt / calls


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--seconds", type=float, default=3.0, help="rough time per measurement")
    args = p.parse_args()
    rows = []

    def measure(label, make, n):
        envs = make(n)
        _, per_call = rate(envs, 50)
        calls = max(50, int(args.seconds / per_call))
        sps, per_call = rate(envs, calls)
        rows.append((label, n, sps, per_call * 1e6))
        print(f"{label:<40} x{n:<4} {sps:>12,.0f} steps/s {per_call * 1e6:>10.1f} us/call", flush=True)

    measure("rlpp.envs CartPole-v1", lambda n: rlpp.envs.make("CartPole-v1", num_envs=n), 64)
    if gym:
        measure("gymnasium SyncVectorEnv CartPole-v1", lambda n: gym.make_vec("CartPole-v1", n, vectorization_mode="sync"), 64)
    measure("rlpp.envs CartPole-v1 (per-call overhead)", lambda n: rlpp.envs.make("CartPole-v1", num_envs=n), 1)
    if gym:
        measure("gymnasium CartPole-v1 (single env, step)", lambda n: gym.make_vec("CartPole-v1", n, vectorization_mode="sync"), 1)
    if "Hopper-v4" in rlpp.envs.names():
        measure("rlpp.envs Hopper-v4", lambda n: rlpp.envs.make("Hopper-v4", num_envs=n), 8)
        measure("rlpp.envs Hopper-v4 (2 threads)", lambda n: rlpp.envs.make("Hopper-v4", num_envs=n, num_threads=2), 8)
        try:
            import mujoco  # noqa: F401  (Gymnasium's MuJoCo envs need the mujoco Python package)
            measure("gymnasium SyncVectorEnv Hopper-v4", lambda n: gym.make_vec("Hopper-v4", n, vectorization_mode="sync"), 8)
        except ImportError:
            print("gymnasium Hopper-v4: not measured (the mujoco Python package is not installed)")


if __name__ == "__main__":
    main()
