// A batch of N environments stepped together (EnvPool-style). The batch owns its buffers; one
// call steps all N copies and writes observations, rewards and flags into them.
//
// Auto-reset ("same-step"): when copy i terminates or is truncated at a step, obs() row i
// already holds the first observation of its next episode, final_obs() row i keeps the last
// observation of the finished episode (for bootstrapping on truncation), and
// episode_return()/episode_length() row i hold the finished episode's totals.
//
// Seeding: reset(seed) seeds copy i with seed + i; each copy then draws from its own generator,
// so results do not depend on how the batch is split across threads.
#pragma once
#include <cstdint>
#include <cstring>
#include <iosfwd>
#include <memory>
#include <string>
#include <vector>

#include "rlpp/env/space.h"

namespace rlpp::env {

// One copy's running episode, which the batch's bookkeeping (VecEnv::record_step) advances.
struct EpisodeCounters {
  double ret = 0.0;  // reward sum of the current episode
  int steps = 0;     // steps taken in the current episode
};

class VecEnv {
 public:
  virtual ~VecEnv() = default;

  virtual const Spec& spec() const = 0;
  int num_envs() const { return num_envs_; }
  int64_t obs_dim() const { return spec().observation.dim; }
  int64_t act_dim() const { return spec().action.flat_dim(); }

  // Resets every copy; copy i is seeded with seed + i.
  virtual void reset(uint64_t seed) = 0;
  // actions: (N, act_dim) floats; a discrete action is its index. Box actions are clipped to the
  // box before the environment sees them unless VecEnvOptions::clip_action is false (the caller
  // keeps the unclipped action).
  virtual void step(const float* actions) = 0;

  const float* obs() const { return obs_.data(); }              // (N, obs_dim)
  const float* reward() const { return reward_.data(); }        // (N)
  const uint8_t* terminated() const { return terminated_.data(); }  // (N)
  const uint8_t* truncated() const { return truncated_.data(); }    // (N)
  const float* final_obs() const { return final_obs_.data(); }  // (N, obs_dim), rows where done
  const double* episode_return() const { return episode_return_.data(); }  // (N), rows where done
  const int* episode_length() const { return episode_length_.data(); }     // (N), rows where done

  // Whole mutable state (every copy's state and generator, step counters, running returns), so
  // that a checkpointed run resumes bit-identically.
  virtual void save(std::ostream& out) const = 0;
  virtual void load(std::istream& in) = 0;

 protected:
  explicit VecEnv(int num_envs, int64_t obs_dim);

  // The bookkeeping of every batch, after copy i stepped (its new observation already in obs row
  // i) with reward r and terminal flag `term`: the reward and flags of row i, with Gymnasium's
  // TimeLimit (truncated once the episode reaches max_steps, also on a terminating step; then
  // both flags are set and terminated wins for bootstrapping). Returns true when the episode
  // ended: final_obs row i then holds the last observation, the episode's totals are recorded and
  // `ep` restarts; the caller resets the copy and writes its first observation into obs row i.
  bool record_step(int64_t i, double r, bool term, int max_steps, EpisodeCounters& ep) {
    ep.ret += r;
    const int len = ++ep.steps;
    const bool trunc = len >= max_steps;
    reward_[static_cast<size_t>(i)] = static_cast<float>(r);
    terminated_[static_cast<size_t>(i)] = term;
    truncated_[static_cast<size_t>(i)] = trunc;
    if (!term && !trunc) return false;
    std::memcpy(final_obs_.data() + i * obs_floats_, obs_.data() + i * obs_floats_, sizeof(float) * obs_floats_);
    episode_return_[static_cast<size_t>(i)] = ep.ret;
    episode_length_[static_cast<size_t>(i)] = len;
    ep = EpisodeCounters{};
    return true;
  }

  // After a reset: every copy's reward, flags, final observation and episode totals zero (the
  // observations are the copies' first ones, written by the subclass).
  void clear_step_buffers();

  // The batch buffers below in a saved state (after the subclass's own), and back: read_buffers
  // checks sizes and flags (UserError naming `id`) and changes nothing until everything is read;
  // then set_buffers installs them.
  struct Buffers {
    std::vector<float> obs, reward, final_obs;
    std::vector<uint8_t> terminated, truncated;
    std::vector<double> episode_return;
    std::vector<int> episode_length;
  };
  void write_buffers(std::ostream& out) const;
  Buffers read_buffers(std::istream& in, const std::string& id) const;
  void set_buffers(Buffers&& b);

  int num_envs_;
  int64_t obs_floats_;  // obs_dim
  std::vector<float> obs_;
  std::vector<float> reward_;
  std::vector<uint8_t> terminated_;
  std::vector<uint8_t> truncated_;
  std::vector<float> final_obs_;
  std::vector<double> episode_return_;
  std::vector<int> episode_length_;
};

// Options every environment batch accepts.
struct VecEnvOptions {
  int num_envs = 1;
  int num_threads = 1;  // >1: step copies on a thread pool (for expensive envs such as MuJoCo)
  // Box actions. true: clipped to the box before the environment sees them, as Gymnasium's
  // ClipAction wrapper does (CleanRL wraps every continuous task in it), so a reward that
  // penalises the action (MountainCarContinuous's 0.1 a^2, MuJoCo's control cost) sees the
  // clipped one. false: the environment gets the raw action, as a bare Gymnasium env does; it
  // clips only what its own dynamics clip (MountainCarContinuous's force, MuJoCo's ctrlrange,
  // Pendulum's torque) and penalises the raw action.
  bool clip_action = true;
  // A simulator with shifted dynamics (H2O, Niu et al. 2022, arXiv 2206.13464 §5: the "simulator"
  // differs from the "real" environment by gravity ×2, friction ×0.3, ...): the MuJoCo model's
  // gravity (opt.gravity) and every geom's friction (sliding, torsional, rolling) are multiplied
  // by these when a batch is made. 1 leaves the model untouched; another value for an environment
  // that is not MuJoCo is a UserError.
  double gravity_scale = 1.0;
  double friction_scale = 1.0;
  // H2O's joint-noise simulator (its code's joint_noise_std): every step, copy i's generator adds
  // N(0, action_noise_std²) to each action component the environment receives (after the box
  // clip of clip_action), so MuJoCo applies the noisy control (clamped to ctrlrange as usual) and
  // the control cost sees it; the trainer still records the action it chose. 0 draws nothing.
  // MuJoCo only, like the scales.
  double action_noise_std = 0.0;

  bool shifts_dynamics() const { return gravity_scale != 1.0 || friction_scale != 1.0 || action_noise_std != 0.0; }
};

// UserError naming `env_id` and the offending value unless num_envs >= 1, num_threads >= 1, the
// dynamics scales are finite and > 0 and action_noise_std is finite and >= 0.
void check_vec_env_options(const VecEnvOptions& opts, const std::string& env_id);

}  // namespace rlpp::env
