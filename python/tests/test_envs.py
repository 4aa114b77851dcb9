"""rlpp.envs: transitions against NumPy re-derivations, zero-copy views, the GIL, bad input."""
import math
import threading
import time

import numpy as np
import pytest

import rlpp


def cartpole_step(s, action):
    """Gymnasium's CartPole-v1 (Barto, Sutton & Anderson 1983), explicit Euler, in float64."""
    x, x_dot, theta, theta_dot = (float(v) for v in s)
    gravity, masscart, masspole, length, force_mag, tau = 9.8, 1.0, 0.1, 0.5, 10.0, 0.02
    total_mass, polemass_length = masscart + masspole, masspole * length
    force = force_mag if action == 1 else -force_mag
    cos, sin = math.cos(theta), math.sin(theta)
    temp = (force + polemass_length * theta_dot**2 * sin) / total_mass
    thetaacc = (gravity * sin - cos * temp) / (length * (4.0 / 3.0 - masspole * cos**2 / total_mass))
    xacc = temp - polemass_length * thetaacc * cos / total_mass
    x, x_dot = x + tau * x_dot, x_dot + tau * xacc
    theta, theta_dot = theta + tau * theta_dot, theta_dot + tau * thetaacc
    terminated = x < -2.4 or x > 2.4 or theta < -12 * 2 * math.pi / 360 or theta > 12 * 2 * math.pi / 360
    return np.array([x, x_dot, theta, theta_dot]), 1.0, terminated


def pendulum_step(th, thdot, u):
    """Gymnasium's Pendulum-v1 in float64: (new th, new thdot, reward)."""
    g, m, l, dt = 10.0, 1.0, 1.0, 0.05
    u = min(max(u, -2.0), 2.0)
    norm = ((th + math.pi) % (2 * math.pi)) - math.pi
    cost = norm**2 + 0.1 * thdot**2 + 0.001 * u**2
    thdot = min(max(thdot + (3 * g / (2 * l) * math.sin(th) + 3.0 / (m * l**2) * u) * dt, -8.0), 8.0)
    return th + thdot * dt, thdot, -cost


def test_cartpole_transitions_match_a_numpy_rederivation():
    envs = rlpp.envs.make("CartPole-v1", num_envs=8)
    obs, infos = envs.reset(seed=3)
    assert obs.shape == (8, 4) and obs.dtype == np.float32 and infos == {}
    rng = np.random.default_rng(0)
    ended = 0
    for _ in range(300):
        before = obs.copy()
        actions = rng.integers(0, 2, size=8)
        obs, rew, term, trunc, infos = envs.step(actions)
        for i in range(8):
            want, want_r, want_term = cartpole_step(before[i], actions[i])
            got = infos["final_obs"][i] if (term[i] or trunc[i]) else obs[i]
            np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
            assert rew[i] == want_r and bool(term[i]) == want_term
            ended += int(term[i])
    assert ended > 10  # random actions end many episodes: the terminal rule was exercised


def test_pendulum_transitions_and_truncation_match_a_numpy_rederivation():
    envs = rlpp.envs.make("Pendulum-v1", num_envs=3)
    obs, _ = envs.reset(seed=11)
    rng = np.random.default_rng(1)
    for t in range(1, 201):
        before = obs.copy()
        u = rng.uniform(-3, 3, size=(3, 1)).astype(np.float32)  # beyond the box: clipped
        obs, rew, term, trunc, infos = envs.step(u)
        for i in range(3):
            th = math.atan2(before[i, 1], before[i, 0])
            nth, nthdot, r = pendulum_step(th, float(before[i, 2]), float(u[i, 0]))
            got = infos["final_obs"][i] if trunc[i] else obs[i]
            np.testing.assert_allclose(got, [math.cos(nth), math.sin(nth), nthdot], rtol=1e-4, atol=1e-4)
            assert rew[i] == pytest.approx(r, rel=1e-4, abs=1e-4)
        assert not term.any()
        assert trunc.all() == (t == 200)  # Pendulum-v1's 200-step limit
    np.testing.assert_array_equal(infos["episode"]["l"], [200, 200, 200])
    assert infos["_episode"].all()


def test_episode_statistics_sum_the_rewards_of_each_episode():
    envs = rlpp.envs.make("CartPole-v1", num_envs=4)
    envs.reset(seed=0)
    running, lengths = np.zeros(4), np.zeros(4, dtype=int)
    seen = 0
    rng = np.random.default_rng(2)
    for _ in range(200):
        _, rew, term, trunc, infos = envs.step(rng.integers(0, 2, size=4))
        running += rew
        lengths += 1
        done = term | trunc
        if done.any():
            np.testing.assert_array_equal(infos["_episode"], done)
            np.testing.assert_allclose(infos["episode"]["r"][done], running[done])
            np.testing.assert_array_equal(infos["episode"]["l"][done], lengths[done])
            assert (infos["episode"]["r"][~done] == 0).all()
            assert all((o is None) == (not d) for o, d in zip(infos["final_obs"], done))
            running[done], lengths[done] = 0, 0
            seen += int(done.sum())
        else:
            assert infos == {}
    assert seen > 5


def test_observations_view_rlpp_buffers_without_copying():
    envs = rlpp.envs.make("CartPole-v1", num_envs=16)
    obs0, _ = envs.reset(seed=1)
    first = obs0.copy()
    obs1, rew, term, trunc, _ = envs.step(np.zeros(16, dtype=np.int64))
    # The same memory each call: the arrays are views of the batch's buffer, not copies.
    assert obs0.__array_interface__["data"][0] == obs1.__array_interface__["data"][0]
    assert np.shares_memory(obs0, obs1)
    assert not np.array_equal(obs0, first)  # the earlier view now shows the new step
    assert not obs1.flags.writeable and not rew.flags.writeable
    with pytest.raises(ValueError):
        obs1[0, 0] = 1.0


def test_stepping_releases_the_gil():
    envs = rlpp.envs.make("CartPole-v1", num_envs=400_000)
    envs.reset(seed=0)
    actions = np.zeros(400_000, dtype=np.int64)
    envs.step(actions)  # warm the buffers
    inside = []

    def stepper():
        t0 = time.perf_counter()
        envs.step(actions)
        inside.append((t0, time.perf_counter()))

    ticks = []
    t = threading.Thread(target=stepper)
    t.start()
    while t.is_alive():
        ticks.append(time.perf_counter())
    t.join()
    (t0, t1), = inside
    during = [x for x in ticks if t0 < x < t1]
    # With the GIL held through the call, this thread could not run inside it at all.
    assert t1 - t0 > 0.005 and len(during) > 100, (t1 - t0, len(during))


def test_seeding_is_reproducible_and_copies_are_offset():
    a = rlpp.envs.make("CartPole-v1", num_envs=3)
    b = rlpp.envs.make("CartPole-v1", num_envs=1)
    oa, _ = a.reset(seed=7)
    ob, _ = b.reset(seed=8)
    np.testing.assert_array_equal(oa[1], ob[0])  # copy i is seeded with seed + i
    oa2, _ = a.reset(seed=7)
    np.testing.assert_array_equal(oa2[0], rlpp.envs.make("CartPole-v1", num_envs=1).reset(seed=7)[0][0])


def test_bad_input_is_a_value_error():
    with pytest.raises(ValueError, match="CartPol-v1"):
        rlpp.envs.make("CartPol-v1")
    with pytest.raises(ValueError, match="num_envs"):
        rlpp.envs.make("CartPole-v1", num_envs=0)
    envs = rlpp.envs.make("CartPole-v1", num_envs=2)
    envs.reset(seed=0)
    with pytest.raises(ValueError, match="shape"):
        envs.step(np.zeros(3))
    with pytest.raises(ValueError, match="Discrete"):
        envs.step(np.array([0, 2]))
    with pytest.raises(ValueError, match="seed"):
        envs.reset(seed=-1)
    h = rlpp.envs.make("Pendulum-v1", num_envs=2)
    h.reset(seed=0)
    with pytest.raises(ValueError, match=r"\(2, 1\)"):
        h.step(np.zeros(2))


def test_every_environment_steps():
    for name in rlpp.envs.names():
        envs = rlpp.envs.make(name, num_envs=2)
        obs, _ = envs.reset(seed=0)
        assert obs.shape == (2,) + envs.single_observation_space.shape
        for _ in range(3):
            obs, rew, term, trunc, _ = envs.step(np.stack([envs.single_action_space.sample() for _ in range(2)])
                                                 if hasattr(envs.single_action_space, "sample") else np.zeros(2))
            assert np.isfinite(obs).all() and np.isfinite(rew).all()
