"""Soft actor-critic in the style of CleanRL's sac_continuous_action.py, on rlpp's vector environments.

The loop follows CleanRL's file: the same networks (256-256 ReLU twin Q and a tanh-Gaussian actor
with log-std bounded to [-5, 2]), hyperparameters (buffer 1e6, batch 256, learning_starts 5000,
q_lr 1e-3, policy_lr 3e-4, tau 0.005, policy_frequency 2 with that many actor steps, autotuned
alpha toward -|A|), and update order (critics, then the delayed actor and alpha, then Polyak). The
environment is rlpp's MuJoCo Hopper through the Python module (same dynamics as `rlpp train`), and
the replay buffer a small NumPy ring in place of Stable-Baselines3's (uniform sampling, the true
final observation stored where an episode was truncated, `done` = terminated).

It is the Python side of scripts/offpolicy-bench.sh, which runs it next to `rlpp train
configs/hopper_sac.toml` (both backends) with the same thread count:

    PYTHONPATH=build/python python3 python/examples/sac_continuous.py --total-timesteps 8000 --threads 1
    PYTHONPATH=build/python python3 python/examples/sac_continuous.py --bench-updates 200 --threads 1

It prints one JSON line at the end: env steps/s after learning_starts (or gradient steps/s with
--bench-updates) and the last training return.
"""
import argparse
import json
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

import rlpp

LOG_STD_MIN, LOG_STD_MAX = -5.0, 2.0


class SoftQ(nn.Module):
    def __init__(self, n_obs, n_act):
        super().__init__()
        self.fc1 = nn.Linear(n_obs + n_act, 256)
        self.fc2 = nn.Linear(256, 256)
        self.fc3 = nn.Linear(256, 1)

    def forward(self, obs, act):
        x = torch.cat([obs, act], 1)
        return self.fc3(F.relu(self.fc2(F.relu(self.fc1(x)))))


class Actor(nn.Module):
    def __init__(self, n_obs, n_act, low, high):
        super().__init__()
        self.fc1 = nn.Linear(n_obs, 256)
        self.fc2 = nn.Linear(256, 256)
        self.fc_mean = nn.Linear(256, n_act)
        self.fc_logstd = nn.Linear(256, n_act)
        self.register_buffer("action_scale", torch.tensor((high - low) / 2.0, dtype=torch.float32))
        self.register_buffer("action_bias", torch.tensor((high + low) / 2.0, dtype=torch.float32))

    def forward(self, obs):
        h = F.relu(self.fc2(F.relu(self.fc1(obs))))
        log_std = torch.tanh(self.fc_logstd(h))
        return self.fc_mean(h), LOG_STD_MIN + 0.5 * (LOG_STD_MAX - LOG_STD_MIN) * (log_std + 1)

    def get_action(self, obs):
        mean, log_std = self(obs)
        normal = torch.distributions.Normal(mean, log_std.exp())
        x = normal.rsample()  # reparameterised
        y = torch.tanh(x)
        action = y * self.action_scale + self.action_bias
        log_prob = normal.log_prob(x) - torch.log(self.action_scale * (1 - y.pow(2)) + 1e-6)
        return action, log_prob.sum(1, keepdim=True), torch.tanh(mean) * self.action_scale + self.action_bias


class Replay:
    """Uniform replay of single-env transitions (Stable-Baselines3's ReplayBuffer, n_envs = 1)."""

    def __init__(self, size, n_obs, n_act):
        self.obs = np.zeros((size, n_obs), np.float32)
        self.next_obs = np.zeros((size, n_obs), np.float32)
        self.act = np.zeros((size, n_act), np.float32)
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
        return (t(self.obs[idx]), t(self.act[idx]), t(self.next_obs[idx]), t(self.rew[idx]), t(self.done[idx]))


class Sac:
    def __init__(self, n_obs, n_act, low, high, args):
        self.args = args
        self.actor = Actor(n_obs, n_act, low, high)
        self.qf1, self.qf2 = SoftQ(n_obs, n_act), SoftQ(n_obs, n_act)
        self.qf1_target, self.qf2_target = SoftQ(n_obs, n_act), SoftQ(n_obs, n_act)
        self.qf1_target.load_state_dict(self.qf1.state_dict())
        self.qf2_target.load_state_dict(self.qf2.state_dict())
        self.q_optimizer = torch.optim.Adam(list(self.qf1.parameters()) + list(self.qf2.parameters()), lr=args.q_lr)
        self.actor_optimizer = torch.optim.Adam(list(self.actor.parameters()), lr=args.policy_lr)
        if args.autotune:
            self.target_entropy = -float(n_act)
            self.log_alpha = torch.zeros(1, requires_grad=True)
            self.alpha = self.log_alpha.exp().item()
            self.a_optimizer = torch.optim.Adam([self.log_alpha], lr=args.q_lr)
        else:
            self.alpha = args.alpha

    def update(self, batch, global_step):
        args = self.args
        obs, act, next_obs, rew, done = batch
        with torch.no_grad():
            next_act, next_log_pi, _ = self.actor.get_action(next_obs)
            min_next = torch.min(self.qf1_target(next_obs, next_act), self.qf2_target(next_obs, next_act))
            min_next = min_next - self.alpha * next_log_pi
            next_q = rew.flatten() + (1 - done.flatten()) * args.gamma * min_next.view(-1)
        qf1_a = self.qf1(obs, act).view(-1)
        qf2_a = self.qf2(obs, act).view(-1)
        qf1_loss, qf2_loss = F.mse_loss(qf1_a, next_q), F.mse_loss(qf2_a, next_q)
        qf_loss = qf1_loss + qf2_loss
        self.q_optimizer.zero_grad()
        qf_loss.backward()
        self.q_optimizer.step()
        stats = {"qf_loss": qf_loss}
        if global_step % args.policy_frequency == 0:  # delayed, then policy_frequency steps to make up
            for _ in range(args.policy_frequency):
                pi, log_pi, _ = self.actor.get_action(obs)
                min_q_pi = torch.min(self.qf1(obs, pi), self.qf2(obs, pi))
                actor_loss = ((self.alpha * log_pi) - min_q_pi).mean()
                self.actor_optimizer.zero_grad()
                actor_loss.backward()
                self.actor_optimizer.step()
                stats["actor_loss"] = actor_loss
                if args.autotune:
                    with torch.no_grad():
                        _, log_pi, _ = self.actor.get_action(obs)
                    alpha_loss = (-self.log_alpha.exp() * (log_pi + self.target_entropy)).mean()
                    self.a_optimizer.zero_grad()
                    alpha_loss.backward()
                    self.a_optimizer.step()
                    self.alpha = self.log_alpha.exp().item()
        if global_step % args.target_network_frequency == 0:
            for net, target in ((self.qf1, self.qf1_target), (self.qf2, self.qf2_target)):
                for p, tp in zip(net.parameters(), target.parameters()):
                    tp.data.copy_(args.tau * p.data + (1 - args.tau) * tp.data)
        return stats


def bench_updates(args):
    """Gradient steps per second on a buffer of random Hopper-shaped transitions (11 obs, 3 actions)."""
    n_obs, n_act = 11, 3
    sac = Sac(n_obs, n_act, -np.ones(n_act, np.float32), np.ones(n_act, np.float32), args)
    rb = Replay(10_000, n_obs, n_act)
    rng = np.random.default_rng(args.seed)
    for _ in range(10_000):
        rb.add(rng.normal(size=n_obs), rng.normal(size=n_obs), np.tanh(rng.normal(size=n_act)), rng.normal(), 0.0)
    for step in range(10):  # warm-up
        sac.update(rb.sample(args.batch_size), step)
    start, cpu = time.perf_counter(), time.process_time()
    for step in range(args.bench_updates):
        sac.update(rb.sample(args.batch_size), step)
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    print(json.dumps({"updates_per_s": args.bench_updates / elapsed, "updates_per_cpu_s": args.bench_updates / cpu,
                      "updates": args.bench_updates, "threads": torch.get_num_threads()}))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--env-id", default="Hopper-v4")
    p.add_argument("--total-timesteps", type=int, default=1_000_000)
    p.add_argument("--buffer-size", type=int, default=1_000_000)
    p.add_argument("--gamma", type=float, default=0.99)
    p.add_argument("--tau", type=float, default=0.005)
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument("--learning-starts", type=int, default=5000)
    p.add_argument("--policy-lr", type=float, default=3e-4)
    p.add_argument("--q-lr", type=float, default=1e-3)
    p.add_argument("--policy-frequency", type=int, default=2)
    p.add_argument("--target-network-frequency", type=int, default=1)
    p.add_argument("--alpha", type=float, default=0.2)
    p.add_argument("--autotune", type=lambda s: s.lower() in ("1", "true", "yes"), default=True)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--threads", type=int, default=1, help="torch intra-op threads")
    p.add_argument("--bench-updates", type=int, default=0, help="only time this many gradient steps")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    np.random.seed(args.seed)
    if args.bench_updates:
        return bench_updates(args)

    envs = rlpp.envs.make(args.env_id, num_envs=1)
    space = envs.single_action_space
    n_obs, n_act = int(np.prod(envs.single_observation_space.shape)), int(np.prod(space.shape))
    low, high = np.asarray(space.low, np.float32), np.asarray(space.high, np.float32)
    sac = Sac(n_obs, n_act, low, high, args)
    rb = Replay(args.buffer_size, n_obs, n_act)
    obs, _ = envs.reset(seed=args.seed)
    obs = np.array(obs)
    returns, t_learn, start = [], None, time.perf_counter()
    for global_step in range(args.total_timesteps):
        if global_step < args.learning_starts:
            actions = np.random.uniform(low, high, size=(1, n_act)).astype(np.float32)
        else:
            with torch.no_grad():
                actions, _, _ = sac.actor.get_action(torch.Tensor(obs))
            actions = actions.numpy()
        next_obs, rewards, terminations, truncations, infos = envs.step(actions)
        if "episode" in infos and infos["_episode"][0]:
            returns.append(float(infos["episode"]["r"][0]))
        real_next_obs = np.array(next_obs)
        if truncations[0] or terminations[0]:
            real_next_obs[0] = infos["final_obs"][0]
        rb.add(obs[0], real_next_obs[0], actions[0], rewards[0], float(terminations[0]))
        obs = np.array(next_obs)
        if global_step > args.learning_starts:
            if t_learn is None:
                t_learn, cpu_learn, step_learn = time.perf_counter(), time.process_time(), global_step
            stats = sac.update(rb.sample(args.batch_size), global_step)
            if global_step % 100 == 0:  # CleanRL logs the losses (one .item() each) every 100 steps
                _ = {k: v.item() for k, v in stats.items()}
    end, cpu_end = time.perf_counter(), time.process_time()
    after = (args.total_timesteps - step_learn) / (end - t_learn) if t_learn else float("nan")
    after_cpu = (args.total_timesteps - step_learn) / (cpu_end - cpu_learn) if t_learn else float("nan")
    print(json.dumps({"steps": args.total_timesteps, "wall_s": end - start, "env_steps_per_s_after_learning_starts": after,
                      "env_steps_per_cpu_s_after_learning_starts": after_cpu,
                      "threads": torch.get_num_threads(),
                      "return_mean_last_10": float(np.mean(returns[-10:])) if returns else None}))


if __name__ == "__main__":
    main()
