"""rlpp.envs: rlpp's environments with Gymnasium's vector API.

    envs = rlpp.envs.make("CartPole-v1", num_envs=64)
    obs, infos = envs.reset(seed=1)                  # (64, 4) float32
    obs, rew, term, trunc, infos = envs.step(actions)

Auto-reset is Gymnasium's "same-step" mode: when copy i ends at a step, obs[i] is already the
first observation of its next episode, and infos carries what ended, as Gymnasium's SyncVectorEnv
(autoreset_mode=SAME_STEP) with RecordEpisodeStatistics gives it:
  infos["final_obs"]   object array (N): the last observation of each ended copy, else None
  infos["final_info"]  {} (rlpp's environments have no per-step info), "_final_obs"/"_final_info" masks
  infos["episode"]     {"r": return, "l": length, "t": seconds} (N) arrays, 0 where not ended;
  infos["_episode"]    bool (N)
The keys are present only at steps where some copy ended. obs, rewards (float32), terminated and
truncated are read-only NumPy views of rlpp's buffers: no copy is made, and their contents change
at the next step (copy what you keep, e.g. into a torch rollout buffer, as CleanRL does). The copies
step in C++ with the GIL released. Copy i is seeded with seed + i.
"""
import time

import numpy as np

from ._rlpp import envs as _envs

try:  # Gymnasium's spaces and base classes when it is installed; small stand-ins otherwise
    import gymnasium as _gym
    from gymnasium.vector.utils import batch_space as _batch_space
except ImportError:  # pragma: no cover - exercised only without Gymnasium
    _gym = None


class Box:
    """A 1-D box (stand-in for gymnasium.spaces.Box without Gymnasium)."""

    def __init__(self, low, high, dtype=np.float32):
        self.low, self.high = np.asarray(low, dtype), np.asarray(high, dtype)
        self.shape, self.dtype = self.low.shape, np.dtype(dtype)

    def contains(self, x):
        x = np.asarray(x)
        return x.shape == self.shape and bool(np.all(x >= self.low) and np.all(x <= self.high))


class Discrete:
    """{0, ..., n-1} (stand-in for gymnasium.spaces.Discrete without Gymnasium)."""

    def __init__(self, n):
        self.n, self.shape, self.dtype = int(n), (), np.dtype(np.int64)

    def contains(self, x):
        return int(x) == x and 0 <= int(x) < self.n


def _space(d):
    if d["kind"] == "discrete":
        return _gym.spaces.Discrete(d["n"]) if _gym else Discrete(d["n"])
    low, high = np.asarray(d["low"], np.float32), np.asarray(d["high"], np.float32)
    return _gym.spaces.Box(low, high, dtype=np.float32) if _gym else Box(low, high)


def names():
    """The registered environment ids (`rlpp list envs`)."""
    return _envs.names()


def _check_seed(seed):
    if seed is None:
        return int(np.random.SeedSequence().generate_state(1, np.uint64)[0] >> np.uint64(1))
    if isinstance(seed, (int, np.integer)) and not isinstance(seed, bool) and seed >= 0:
        return int(seed)
    raise ValueError(f"seed must be a non-negative int or None (copy i is seeded with seed + i), got {seed!r}")


_VectorBase = _gym.vector.VectorEnv if _gym else object


class VectorEnv(_VectorBase):
    """N copies of one rlpp environment (Gymnasium's VectorEnv API; see the module's doc)."""

    def __init__(self, name, num_envs=1, num_threads=1, clip_action=True):
        self._env = _envs.VecEnv(name, num_envs, num_threads, clip_action)
        spec = self._env.spec
        self.env_id = spec["id"]
        self.num_envs = self._env.num_envs
        self.max_episode_steps = spec["max_episode_steps"]
        self.single_observation_space = _space(spec["observation"])
        self.single_action_space = _space(spec["action"])
        if _gym:
            self.observation_space = _batch_space(self.single_observation_space, self.num_envs)
            self.action_space = _batch_space(self.single_action_space, self.num_envs)
            self.metadata = {"autoreset_mode": _gym.vector.AutoresetMode.SAME_STEP}
        else:
            self.metadata = {"autoreset_mode": "same_step"}
        self.render_mode = None
        self.closed = False
        self._started = np.zeros(self.num_envs)

    def reset(self, *, seed=None, options=None):
        self._env.reset(_check_seed(seed))
        self._started[:] = time.perf_counter()
        return self._env.obs, {}

    def step(self, actions):
        if isinstance(actions, (list, tuple)):
            actions = np.asarray(actions)
        elif not isinstance(actions, np.ndarray):  # e.g. a torch tensor
            actions = np.asarray(actions)
        self._env.step(actions)
        e = self._env
        terminated, truncated = e.terminated, e.truncated
        done = terminated | truncated
        infos = {}
        if done.any():
            now = time.perf_counter()
            final_obs = np.full(self.num_envs, None, dtype=object)
            for i in np.flatnonzero(done):
                final_obs[i] = e.final_obs[i].copy()
            infos["final_obs"] = final_obs
            infos["_final_obs"] = done.copy()
            infos["final_info"] = {}
            infos["_final_info"] = done.copy()
            infos["episode"] = {
                "r": np.where(done, e.episode_return, 0.0),
                "l": np.where(done, e.episode_length, 0).astype(np.int32),
                "t": np.where(done, np.round(now - self._started, 6), 0.0),
            }
            infos["_episode"] = done.copy()
            self._started[done] = now
        return e.obs, e.reward, terminated, truncated, infos

    def close(self, **kwargs):
        self.closed = True

    def __repr__(self):
        return f"rlpp.envs.VectorEnv({self.env_id!r}, num_envs={self.num_envs})"


def make(name, num_envs=1, num_threads=1, clip_action=True):
    """N copies of environment `name` (rlpp.envs.names()) stepped together; see VectorEnv."""
    return VectorEnv(name, num_envs=num_envs, num_threads=num_threads, clip_action=clip_action)


_EnvBase = _gym.Env if _gym else object


class Env(_EnvBase):
    """One rlpp environment as a plain (non-vector) Gymnasium Env: reset/step without auto-reset."""

    def __init__(self, name, clip_action=True):
        self._vec = VectorEnv(name, num_envs=1, clip_action=clip_action)
        self.observation_space = self._vec.single_observation_space
        self.action_space = self._vec.single_action_space
        self.spec_id = self._vec.env_id
        self.metadata = {"render_modes": []}
        self.render_mode = None

    def reset(self, *, seed=None, options=None):
        if _gym:
            super().reset(seed=seed)  # Gymnasium's own generator: a seedless reset draws the next seed from it
            seed = seed if seed is not None else int(self.np_random.integers(0, 2**62))
        obs, _ = self._vec.reset(seed=_check_seed(seed))
        return obs[0].copy(), {}

    def step(self, action):
        if self._vec.single_action_space.shape == ():  # discrete: one index
            a = np.asarray([action])
        else:
            a = np.asarray(action, dtype=np.float32).reshape(1, -1)
        obs, rew, term, trunc, infos = self._vec.step(a)
        done = bool(term[0] or trunc[0])
        o = infos["final_obs"][0] if done else obs[0].copy()  # the episode's last observation, not the next start
        return o, float(rew[0]), bool(term[0]), bool(trunc[0]), {}

    def close(self):
        pass
