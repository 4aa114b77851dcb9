"""DQN in the style of CleanRL's dqn.py, on Gymnasium's CartPole-v1, for speed comparisons with rlpp.

The loop follows CleanRL's file line by line: a 120-84 ReLU Q network, Adam at 2.5e-4, buffer 10k,
batch 128, learning_starts 10k, a gradient step every 10 env steps, a hard target copy every 500,
epsilon 1 -> 0.05 over half the run (one draw per step, the Q network evaluated only for greedy
steps), MSE loss, the loss and mean Q read with .item() every 100 steps (CleanRL's logging). The
environment is Gymnasium's CartPole-v1 in a one-env SyncVectorEnv with same-step autoreset (the
true final observation stored), as CleanRL with Gymnasium 0.29. Differences: the replay buffer is
a small NumPy ring in place of Stable-Baselines3's (not installed here; uniform sampling, done =
terminated), no TensorBoard writer, and the target is Double DQN's (--double-q, default on, as
rlpp's configs/cartpole_dqn.toml; one more forward per step; --double-q false is CleanRL's).

It is the Python side of scripts/dqn-bench.sh, which runs it next to `rlpp train
configs/cartpole_dqn.toml` (both backends) on one thread:

    python3 python/examples/dqn_cartpole.py --total-timesteps 100000 --threads 1
    python3 python/examples/dqn_cartpole.py --bench-updates 2000 --threads 1

It prints one JSON line at the end: env steps/s over the whole loop (wall and CPU seconds) and the
mean return of the last 100 episodes (or gradient steps/s with --bench-updates).
"""
import argparse
import json
import random
import time

import gymnasium as gym
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


class QNetwork(nn.Module):
    def __init__(self, n_obs, n_act):
        super().__init__()
        self.network = nn.Sequential(nn.Linear(n_obs, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, n_act))

    def forward(self, x):
        return self.network(x)


def linear_schedule(start_e, end_e, duration, t):
    slope = (end_e - start_e) / duration
    return max(slope * t + start_e, end_e)


class Replay:
    """Uniform replay of single-env transitions (Stable-Baselines3's ReplayBuffer, n_envs = 1)."""

    def __init__(self, size, n_obs):
        self.obs = np.zeros((size, n_obs), np.float32)
        self.next_obs = np.zeros((size, n_obs), np.float32)
        self.act = np.zeros((size, 1), np.int64)
        self.rew = np.zeros((size, 1), np.float32)
        self.done = np.zeros((size, 1), np.float32)
        self.size, self.pos, self.full = size, 0, False

    def add(self, obs, next_obs, act, rew, done):
        self.obs[self.pos], self.next_obs[self.pos], self.act[self.pos] = obs, next_obs, act
        self.rew[self.pos], self.done[self.pos] = rew, done
        self.pos = (self.pos + 1) % self.size
        self.full = self.full or self.pos == 0

    def sample(self, n):
        idx = np.random.randint(0, self.size if self.full else self.pos, size=n)
        t = torch.from_numpy
        return t(self.obs[idx]), t(self.act[idx]), t(self.next_obs[idx]), t(self.rew[idx]), t(self.done[idx])


class Dqn:
    def __init__(self, n_obs, n_act, args):
        self.args = args
        self.q_network = QNetwork(n_obs, n_act)
        self.optimizer = torch.optim.Adam(self.q_network.parameters(), lr=args.learning_rate)
        self.target_network = QNetwork(n_obs, n_act)
        self.target_network.load_state_dict(self.q_network.state_dict())

    def update(self, batch, global_step):
        obs, act, next_obs, rew, done = batch
        with torch.no_grad():
            next_target = self.target_network(next_obs)
            if self.args.double_q:  # Double DQN: the online network picks the action
                a_star = self.q_network(next_obs).argmax(dim=1, keepdim=True)
                target_max = next_target.gather(1, a_star).squeeze(1)
            else:  # CleanRL's dqn.py
                target_max, _ = next_target.max(dim=1)
            td_target = rew.flatten() + self.args.gamma * target_max * (1 - done.flatten())
        old_val = self.q_network(obs).gather(1, act).squeeze()
        loss = F.mse_loss(td_target, old_val)
        if global_step % 100 == 0:  # CleanRL writes these to TensorBoard every 100 steps
            _ = (loss.item(), old_val.mean().item())
        self.optimizer.zero_grad()
        loss.backward()
        self.optimizer.step()

    def update_target(self):
        tau = self.args.tau
        for tp, p in zip(self.target_network.parameters(), self.q_network.parameters()):
            tp.data.copy_(tau * p.data + (1.0 - tau) * tp.data)


def bench_updates(args):
    """Gradient steps per second on a buffer of random CartPole-shaped transitions (4 obs, 2 actions)."""
    n_obs, n_act = 4, 2
    dqn = Dqn(n_obs, n_act, args)
    rb = Replay(args.buffer_size, n_obs)
    rng = np.random.default_rng(args.seed)
    for _ in range(args.buffer_size):
        rb.add(rng.normal(size=n_obs), rng.normal(size=n_obs), rng.integers(0, n_act), 1.0, 0.0)
    steps_per_target = args.target_network_frequency // args.train_frequency
    for step in range(10):  # warm-up
        dqn.update(rb.sample(args.batch_size), step * args.train_frequency)
    start, cpu = time.perf_counter(), time.process_time()
    for step in range(args.bench_updates):
        dqn.update(rb.sample(args.batch_size), step * args.train_frequency)
        if step % steps_per_target == 0:
            dqn.update_target()
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    print(json.dumps({"updates_per_s": args.bench_updates / elapsed, "updates_per_cpu_s": args.bench_updates / cpu,
                      "updates": args.bench_updates, "threads": torch.get_num_threads()}))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--env-id", default="CartPole-v1")
    p.add_argument("--total-timesteps", type=int, default=500_000)
    p.add_argument("--learning-rate", type=float, default=2.5e-4)
    p.add_argument("--buffer-size", type=int, default=10_000)
    p.add_argument("--gamma", type=float, default=0.99)
    p.add_argument("--tau", type=float, default=1.0)
    p.add_argument("--target-network-frequency", type=int, default=500)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--start-e", type=float, default=1.0)
    p.add_argument("--end-e", type=float, default=0.05)
    p.add_argument("--exploration-fraction", type=float, default=0.5)
    p.add_argument("--learning-starts", type=int, default=10_000)
    p.add_argument("--train-frequency", type=int, default=10)
    p.add_argument("--double-q", type=lambda s: s.lower() in ("1", "true", "yes"), default=True)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--threads", type=int, default=1, help="torch intra-op threads")
    p.add_argument("--bench-updates", type=int, default=0, help="only time this many gradient steps")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    random.seed(args.seed)
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)
    if args.bench_updates:
        return bench_updates(args)

    def make_env():
        env = gym.make(args.env_id)
        env = gym.wrappers.RecordEpisodeStatistics(env)
        env.action_space.seed(args.seed)
        return env

    envs = gym.vector.SyncVectorEnv([make_env], autoreset_mode=gym.vector.AutoresetMode.SAME_STEP)
    n_obs, n_act = int(np.prod(envs.single_observation_space.shape)), int(envs.single_action_space.n)
    dqn = Dqn(n_obs, n_act, args)
    rb = Replay(args.buffer_size, n_obs)
    obs, _ = envs.reset(seed=args.seed)
    returns = []
    start, cpu_start = time.perf_counter(), time.process_time()
    for global_step in range(args.total_timesteps):
        epsilon = linear_schedule(args.start_e, args.end_e, args.exploration_fraction * args.total_timesteps, global_step)
        if random.random() < epsilon:
            actions = np.array([envs.single_action_space.sample() for _ in range(envs.num_envs)])
        else:
            q_values = dqn.q_network(torch.Tensor(obs))
            actions = torch.argmax(q_values, dim=1).cpu().numpy()
        next_obs, rewards, terminations, truncations, infos = envs.step(actions)
        real_next_obs = next_obs.copy()
        if terminations[0] or truncations[0]:
            returns.append(float(infos["final_info"]["episode"]["r"][0]))
            real_next_obs[0] = infos["final_obs"][0]
        rb.add(obs[0], real_next_obs[0], actions[0], rewards[0], float(terminations[0]))
        obs = next_obs
        if global_step > args.learning_starts:
            if global_step % args.train_frequency == 0:
                dqn.update(rb.sample(args.batch_size), global_step)
            if global_step % args.target_network_frequency == 0:
                dqn.update_target()
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    print(json.dumps({"steps": args.total_timesteps, "wall_s": wall, "cpu_s": cpu,
                      "env_steps_per_s": args.total_timesteps / wall, "env_steps_per_cpu_s": args.total_timesteps / cpu,
                      "threads": torch.get_num_threads(), "episodes": len(returns),
                      "return_mean_100": float(np.mean(returns[-100:])) if returns else None}))


if __name__ == "__main__":
    main()
