#include "rlpp/env/mujoco/mujoco_pool.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <istream>
#include <ostream>
#include <stdexcept>

#include "rlpp/core/error.h"
#include "rlpp/env/pool.h"  // detail:: byte I/O, generator I/O and error helpers shared with Pool<E>

namespace rlpp::env::mujoco {

namespace {

constexpr char kMagic[8] = {'R', 'L', 'P', 'P', 'M', 'U', 'J', 'O'};
constexpr uint32_t kStateVersion = 1;
constexpr int kMaxActDim = 64;

int checked_num_envs(const VecEnvOptions& opts, const std::string& id) {
  check_vec_env_options(opts, id);
  return opts.num_envs;
}


}  // namespace

MujocoPool::MujocoPool(std::unique_ptr<const MujocoTask> task, const VecEnvOptions& opts)
    : VecEnv(checked_num_envs(opts, task->spec().id), task->spec().observation.dim),
      task_(std::move(task)),
      copies_(static_cast<size_t>(opts.num_envs)),
      clip_action_(opts.clip_action),
      action_noise_std_(opts.action_noise_std) {
  if (act_dim() > kMaxActDim) throw std::logic_error(spec().id + ": more than 64 actuators");
  for (Copy& c : copies_) {
    c.data = mj_makeData(task_->model());
    if (c.data == nullptr) throw std::runtime_error(spec().id + ": mj_makeData failed");
  }
  const int threads = std::min(opts.num_threads, opts.num_envs);
  if (threads > 1) threads_ = std::make_unique<core::ThreadPool>(threads);
}

MujocoPool::~MujocoPool() {
  for (Copy& c : copies_) mj_deleteData(c.data);
}

template <class F>
void MujocoPool::for_each_range(F&& fn) {
  if (threads_) {
    threads_->parallel_for(num_envs_, fn);
  } else {
    fn(int64_t{0}, static_cast<int64_t>(num_envs_));
  }
}

void MujocoPool::reset(uint64_t seed) {
  const int64_t d_obs = obs_dim();
  const mjModel* m = task_->model();
  for_each_range([&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      Copy& c = copies_[static_cast<size_t>(i)];
      c.rng.reseed(seed + static_cast<uint64_t>(i));
      mj_resetData(m, c.data);
      task_->reset(c.data, c.rng);
      task_->observe(c.data, obs_.data() + i * d_obs);
      c.ep = EpisodeCounters{};
    }
  });
  clear_step_buffers();
  started_ = true;
}

void MujocoPool::step(const float* actions) {  // actions: (N, act_dim)
  if (!started_) throw std::logic_error(spec().id + ": step() called before reset()");
  const int64_t n = num_envs_ * act_dim();
  // Refused before any copy moves: the batch is never half-stepped.
  for (int64_t k = 0; k < n; ++k) {
    if (!std::isfinite(actions[k])) {
      detail::throw_bad_box_action(spec().id, k / act_dim(), k % act_dim(), actions[k]);
    }
  }
  for_each_range([&](int64_t begin, int64_t end) { step_range(actions, begin, end); });
}

void MujocoPool::step_range(const float* actions, int64_t begin, int64_t end) {
  const int64_t d_obs = obs_dim(), d_act = act_dim();
  const std::vector<float>& low = spec().action.low;
  const std::vector<float>& high = spec().action.high;
  const int max_steps = spec().max_episode_steps;
  const mjModel* m = task_->model();
  for (int64_t i = begin; i < end; ++i) {
    Copy& c = copies_[static_cast<size_t>(i)];
    double a[kMaxActDim];
    for (int64_t k = 0; k < d_act; ++k) {
      const float u = actions[i * d_act + k];
      a[k] = clip_action_ ? std::min(std::max(u, low[k]), high[k]) : u;
    }
    if (action_noise_std_ > 0.0) {
      for (int64_t k = 0; k < d_act; ++k) a[k] += action_noise_std_ * c.rng.normal();
    }
    bool term = false;
    const double r = task_->step(c.data, a, &term);
    float* o = obs_.data() + i * d_obs;
    task_->observe(c.data, o);
    if (record_step(i, r, term, max_steps, c.ep)) {
      mj_resetData(m, c.data);
      task_->reset(c.data, c.rng);
      task_->observe(c.data, o);
    }
  }
}

void MujocoPool::save(std::ostream& out) const {
  const mjModel* m = task_->model();
  const std::string& id = spec().id;
  detail::write_bytes(out, kMagic, sizeof(kMagic));
  detail::write_bytes(out, &kStateVersion, sizeof(kStateVersion));
  const uint32_t id_len = static_cast<uint32_t>(id.size());
  detail::write_bytes(out, &id_len, sizeof(id_len));
  detail::write_bytes(out, id.data(), id.size());
  const int32_t dims[4] = {num_envs_, m->nq, m->nv, m->na};
  detail::write_bytes(out, dims, sizeof(dims));
  const uint8_t started = started_ ? 1 : 0;
  detail::write_bytes(out, &started, 1);
  for (const Copy& c : copies_) {
    detail::write_bytes(out, &c.data->time, sizeof(double));
    detail::write_bytes(out, c.data->qpos, sizeof(double) * m->nq);
    detail::write_bytes(out, c.data->qvel, sizeof(double) * m->nv);
    detail::write_bytes(out, c.data->act, sizeof(double) * m->na);
    detail::write_bytes(out, c.data->qacc_warmstart, sizeof(double) * m->nv);
    detail::write_rng(out, c.rng);
    const int32_t steps = c.ep.steps;
    detail::write_bytes(out, &steps, sizeof(steps));
    detail::write_bytes(out, &c.ep.ret, sizeof(c.ep.ret));
  }
  write_buffers(out);
  detail::write_pool_trailer(out);
  if (!out) throw core::UserError(id + ": writing the environment state failed");
}

void MujocoPool::load(std::istream& in) {
  const mjModel* m = task_->model();
  const std::string& id = spec().id;
  char magic[8];
  detail::read_bytes(in, magic, sizeof(magic), id, "magic number");
  if (std::memcmp(magic, kMagic, sizeof(magic)) != 0) {
    detail::throw_bad_state(id, "not a MuJoCo environment state (bad magic number)");
  }
  uint32_t version = 0;
  detail::read_bytes(in, &version, sizeof(version), id, "version");
  if (version != kStateVersion) {
    detail::throw_bad_state(id, "state version " + std::to_string(version) + ", expected " +
                                    std::to_string(kStateVersion));
  }
  uint32_t id_len = 0;
  detail::read_bytes(in, &id_len, sizeof(id_len), id, "id length");
  if (id_len > 256) detail::throw_bad_state(id, "id length " + std::to_string(id_len));
  std::string saved_id(id_len, '\0');
  detail::read_bytes(in, saved_id.data(), id_len, id, "id");
  int32_t dims[4] = {};
  detail::read_bytes(in, dims, sizeof(dims), id, "sizes");
  if (saved_id != id || dims[0] != num_envs_ || dims[1] != m->nq || dims[2] != m->nv ||
      dims[3] != m->na) {
    detail::throw_bad_state(id, "saved state is for " + saved_id + " with num_envs " +
                                    std::to_string(dims[0]) + ", nq " + std::to_string(dims[1]) +
                                    ", nv " + std::to_string(dims[2]) + ", na " +
                                    std::to_string(dims[3]));
  }
  uint8_t started = 0;
  detail::read_bytes(in, &started, 1, id, "started flag");
  if (started > 1) detail::throw_bad_state(id, "started flag is " + std::to_string(started));

  struct Saved {
    double time = 0;
    std::vector<double> qpos, qvel, act, warm;
    core::Rng rng;
    int32_t steps = 0;
    double ret = 0;
  };
  std::vector<Saved> saved(copies_.size());
  for (size_t i = 0; i < saved.size(); ++i) {
    Saved& s = saved[i];
    detail::read_bytes(in, &s.time, sizeof(double), id, "time");
    s.qpos = detail::read_vector<double>(in, static_cast<size_t>(m->nq), id, "qpos");
    s.qvel = detail::read_vector<double>(in, static_cast<size_t>(m->nv), id, "qvel");
    s.act = detail::read_vector<double>(in, static_cast<size_t>(m->na), id, "act");
    s.warm = detail::read_vector<double>(in, static_cast<size_t>(m->nv), id, "qacc_warmstart");
    detail::read_rng(in, &s.rng, id);
    detail::read_bytes(in, &s.steps, sizeof(s.steps), id, "step counter");
    detail::read_bytes(in, &s.ret, sizeof(s.ret), id, "running return");
    if (s.steps < 0 || s.steps >= spec().max_episode_steps) {
      detail::throw_bad_state(id, "copy " + std::to_string(i) + " has step counter " +
                                      std::to_string(s.steps));
    }
  }
  Buffers buffers = read_buffers(in, id);
  detail::read_pool_trailer(in, id);
  const size_t n = copies_.size();

  for (size_t i = 0; i < n; ++i) {
    Copy& c = copies_[i];
    const Saved& s = saved[i];
    mj_resetData(m, c.data);
    c.data->time = s.time;
    std::copy(s.qpos.begin(), s.qpos.end(), c.data->qpos);
    std::copy(s.qvel.begin(), s.qvel.end(), c.data->qvel);
    std::copy(s.act.begin(), s.act.end(), c.data->act);
    std::copy(s.warm.begin(), s.warm.end(), c.data->qacc_warmstart);
    mj_forward(m, c.data);
    c.rng = s.rng;
    c.ep = EpisodeCounters{s.ret, s.steps};
  }
  set_buffers(std::move(buffers));
  started_ = started == 1;
}

}  // namespace rlpp::env::mujoco
