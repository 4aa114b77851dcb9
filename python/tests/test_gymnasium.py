"""rlpp.envs against Gymnasium itself (skipped where Gymnasium is not installed): its environment
checker on the single-env view of every rlpp environment, and the vector API stepped side by side
with gymnasium.vector.SyncVectorEnv in its same-step auto-reset mode."""
import math
import warnings

import numpy as np
import pytest

import rlpp

gym = pytest.importorskip("gymnasium")
from gymnasium.utils.env_checker import check_env  # noqa: E402
from gymnasium.vector import AutoresetMode, SyncVectorEnv  # noqa: E402


@pytest.mark.parametrize("name", rlpp.envs.names())
def test_gymnasium_env_checker_passes(name):
    env = rlpp.envs.Env(name)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        check_env(env, skip_render_check=True)
    # Advice the checker also gives Gymnasium's own versions of these environments: unbounded Box
    # observations (MuJoCo's) and action boxes other than [-1, 1] (Pendulum's [-2, 2], ...).
    advice = ("infinity", "symmetric and normalized")
    problems = [str(w.message) for w in caught if not any(a in str(w.message) for a in advice)]
    assert not problems, problems


def sync_state(gym_env, name, obs_row):
    """Puts a Gymnasium env in the state rlpp's observation row shows."""
    u = gym_env.unwrapped
    if name == "CartPole-v1":
        u.state = np.asarray(obs_row, dtype=np.float64)
        u.steps_beyond_terminated = None
    else:  # Pendulum-v1: obs = (cos th, sin th, thdot)
        u.state = np.array([math.atan2(obs_row[1], obs_row[0]), obs_row[2]])


@pytest.mark.parametrize("name,steps", [("CartPole-v1", 400), ("Pendulum-v1", 450)])
def test_vector_api_matches_gymnasium_side_by_side(name, steps):
    n = 4
    ours = rlpp.envs.make(name, num_envs=n, clip_action=False)
    theirs = SyncVectorEnv([lambda: gym.make(name) for _ in range(n)], autoreset_mode=AutoresetMode.SAME_STEP)
    assert ours.metadata["autoreset_mode"] == theirs.metadata["autoreset_mode"]
    assert ours.single_observation_space.shape == theirs.single_observation_space.shape
    assert type(ours.single_action_space) is type(theirs.single_action_space)
    assert ours.action_space.shape == theirs.action_space.shape
    obs, info = ours.reset(seed=5)
    theirs.reset(seed=5)
    assert info == {}
    for i, e in enumerate(theirs.envs):
        sync_state(e, name, obs[i])
    rng = np.random.default_rng(0)
    dones = 0
    for _ in range(steps):
        before = obs.copy()
        a = ours.action_space.sample() if name == "CartPole-v1" else rng.uniform(-2, 2, (n, 1)).astype(np.float32)
        obs, rew, term, trunc, info = ours.step(a)
        gobs, grew, gterm, gtrunc, ginfo = theirs.step(a)
        np.testing.assert_array_equal(term, gterm)
        np.testing.assert_array_equal(trunc, gtrunc)
        np.testing.assert_allclose(rew, grew, rtol=1e-4, atol=1e-4)
        done = term | trunc
        assert set(k for k in info if "episode" not in k) == set(ginfo), (info.keys(), ginfo.keys())
        for i in range(n):
            if done[i]:
                np.testing.assert_allclose(info["final_obs"][i], ginfo["final_obs"][i], rtol=1e-4, atol=1e-4)
                assert info["_final_obs"][i] and ginfo["_final_obs"][i]
            else:
                np.testing.assert_allclose(obs[i], gobs[i], rtol=1e-4, atol=1e-4)
            sync_state(theirs.envs[i], name, obs[i])  # a new episode starts from rlpp's first observation
        dones += int(done.sum())
        del before
    assert dones > 0
