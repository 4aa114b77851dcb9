#include "rlpp/env/pool.h"

#include <cstring>
#include <sstream>

namespace rlpp::env::detail {

namespace {

constexpr char kMagic[8] = {'R', 'L', 'P', 'P', 'V', 'E', 'N', 'V'};
constexpr char kTrailer[8] = {'R', 'L', 'P', 'P', 'E', 'N', 'D', '.'};
// An id longer than this is not an id: the length field is corrupt.
constexpr uint32_t kMaxIdLength = 1024;

std::string where(const std::string& id) { return "environment state (" + id + "): "; }

template <class T>
void expect_equal(const std::string& id, const char* what, T saved, T mine) {
  if (saved != mine) {
    std::ostringstream msg;
    msg << where(id) << "saved with " << what << " = " << saved << ", but this batch has " << what
        << " = " << mine;
    throw core::UserError(msg.str());
  }
}

}  // namespace

void write_bytes(std::ostream& out, const void* data, size_t bytes) {
  out.write(static_cast<const char*>(data), static_cast<std::streamsize>(bytes));
}

void read_bytes(std::istream& in, void* data, size_t bytes, const std::string& id,
                const char* what) {
  in.read(static_cast<char*>(data), static_cast<std::streamsize>(bytes));
  if (!in || static_cast<size_t>(in.gcount()) != bytes) {
    throw core::UserError(where(id) + "truncated while reading " + what);
  }
}

void write_pool_header(std::ostream& out, const PoolStateHeader& h) {
  write_bytes(out, kMagic, sizeof(kMagic));
  write_bytes(out, &kPoolStateVersion, sizeof(kPoolStateVersion));
  const uint32_t len = static_cast<uint32_t>(h.id.size());
  write_bytes(out, &len, sizeof(len));
  write_bytes(out, h.id.data(), h.id.size());
  write_bytes(out, &h.num_envs, sizeof(h.num_envs));
  write_bytes(out, &h.obs_dim, sizeof(h.obs_dim));
  write_bytes(out, &h.act_dim, sizeof(h.act_dim));
  write_bytes(out, &h.state_bytes, sizeof(h.state_bytes));
}

void read_pool_header(std::istream& in, const PoolStateHeader& expected) {
  const std::string& id = expected.id;
  char magic[sizeof(kMagic)];
  read_bytes(in, magic, sizeof(magic), id, "the magic number");
  if (std::memcmp(magic, kMagic, sizeof(kMagic)) != 0) {
    throw core::UserError(where(id) + "bad magic number: not an rlpp environment state");
  }
  uint32_t version = 0;
  read_bytes(in, &version, sizeof(version), id, "the version");
  if (version != kPoolStateVersion) {
    throw core::UserError(where(id) + "unsupported version " + std::to_string(version) +
                          " (this build reads version " + std::to_string(kPoolStateVersion) + ")");
  }
  uint32_t len = 0;
  read_bytes(in, &len, sizeof(len), id, "the id length");
  if (len > kMaxIdLength) {
    throw core::UserError(where(id) + "malformed id length " + std::to_string(len));
  }
  std::string saved_id(len, '\0');
  read_bytes(in, saved_id.data(), len, id, "the id");
  if (saved_id != id) {
    throw core::UserError(where(id) + "saved for environment '" + saved_id + "', cannot load it into '" +
                          id + "'");
  }
  PoolStateHeader h;
  read_bytes(in, &h.num_envs, sizeof(h.num_envs), id, "num_envs");
  read_bytes(in, &h.obs_dim, sizeof(h.obs_dim), id, "obs_dim");
  read_bytes(in, &h.act_dim, sizeof(h.act_dim), id, "act_dim");
  read_bytes(in, &h.state_bytes, sizeof(h.state_bytes), id, "the state size");
  expect_equal(id, "num_envs", h.num_envs, expected.num_envs);
  expect_equal(id, "obs_dim", h.obs_dim, expected.obs_dim);
  expect_equal(id, "act_dim", h.act_dim, expected.act_dim);
  expect_equal(id, "state size (bytes)", h.state_bytes, expected.state_bytes);
}

void write_pool_trailer(std::ostream& out) { write_bytes(out, kTrailer, sizeof(kTrailer)); }

void read_pool_trailer(std::istream& in, const std::string& id) {
  char trailer[sizeof(kTrailer)];
  read_bytes(in, trailer, sizeof(trailer), id, "the end marker");
  if (std::memcmp(trailer, kTrailer, sizeof(kTrailer)) != 0) {
    throw core::UserError(where(id) + "bad end marker: the data is corrupt or from another layout");
  }
}

void write_rng(std::ostream& out, const core::Rng& rng) {
  const core::Rng::Snapshot snap = rng.snapshot();
  write_bytes(out, snap.s.data(), sizeof(uint64_t) * snap.s.size());
  write_bytes(out, &snap.spare, sizeof(snap.spare));
  const uint8_t has_spare = snap.has_spare ? 1 : 0;
  write_bytes(out, &has_spare, 1);
}

void read_rng(std::istream& in, core::Rng* rng, const std::string& id) {
  core::Rng::Snapshot snap{};
  read_bytes(in, snap.s.data(), sizeof(uint64_t) * snap.s.size(), id, "a generator state");
  read_bytes(in, &snap.spare, sizeof(snap.spare), id, "a generator state");
  uint8_t has_spare = 0;
  read_bytes(in, &has_spare, 1, id, "a generator state");
  if (has_spare > 1) throw_bad_state(id, "malformed generator state");
  // xoshiro256** never leaves the all-zero state, and never reaches it.
  if ((snap.s[0] | snap.s[1] | snap.s[2] | snap.s[3]) == 0) {
    throw_bad_state(id, "generator state is all zeros");
  }
  snap.has_spare = has_spare == 1;
  rng->restore(snap);
}

void throw_bad_state(const std::string& id, const std::string& message) {
  throw core::UserError(where(id) + message);
}

void throw_bad_discrete_action(const std::string& id, int64_t copy, float action, int64_t n) {
  std::ostringstream msg;
  msg << id << ": action " << action << " of copy " << copy << " is not a valid action; expected an integer in [0, "
      << n - 1 << "]";
  throw core::UserError(msg.str());
}

void throw_bad_box_action(const std::string& id, int64_t copy, int64_t dim, float action) {
  std::ostringstream msg;
  msg << id << ": action component " << dim << " of copy " << copy << " is " << action
      << "; box actions must be finite";
  throw core::UserError(msg.str());
}

}  // namespace rlpp::env::detail

namespace rlpp::env {

namespace {

template <class T>
void write_vector(std::ostream& out, const std::vector<T>& v) {
  detail::write_bytes(out, v.data(), v.size() * sizeof(T));
}


}  // namespace

void VecEnv::clear_step_buffers() {
  std::fill(reward_.begin(), reward_.end(), 0.0f);
  std::fill(terminated_.begin(), terminated_.end(), uint8_t{0});
  std::fill(truncated_.begin(), truncated_.end(), uint8_t{0});
  std::fill(final_obs_.begin(), final_obs_.end(), 0.0f);
  std::fill(episode_return_.begin(), episode_return_.end(), 0.0);
  std::fill(episode_length_.begin(), episode_length_.end(), 0);
}

void VecEnv::write_buffers(std::ostream& out) const {
  write_vector(out, obs_);
  write_vector(out, reward_);
  write_vector(out, terminated_);
  write_vector(out, truncated_);
  write_vector(out, final_obs_);
  write_vector(out, episode_return_);
  write_vector(out, episode_length_);
}

VecEnv::Buffers VecEnv::read_buffers(std::istream& in, const std::string& id) const {
  const size_t n = static_cast<size_t>(num_envs_), d = static_cast<size_t>(obs_floats_);
  Buffers b;
  b.obs = detail::read_vector<float>(in, n * d, id, "obs");
  b.reward = detail::read_vector<float>(in, n, id, "reward");
  b.terminated = detail::read_vector<uint8_t>(in, n, id, "terminated");
  b.truncated = detail::read_vector<uint8_t>(in, n, id, "truncated");
  b.final_obs = detail::read_vector<float>(in, n * d, id, "final_obs");
  b.episode_return = detail::read_vector<double>(in, n, id, "episode_return");
  b.episode_length = detail::read_vector<int>(in, n, id, "episode_length");
  for (size_t i = 0; i < n; ++i) {
    if (b.terminated[i] > 1 || b.truncated[i] > 1 || b.episode_length[i] < 0) {
      detail::throw_bad_state(id, "malformed done flags or episode length for copy " + std::to_string(i));
    }
  }
  return b;
}

void VecEnv::set_buffers(Buffers&& b) {
  obs_ = std::move(b.obs);
  reward_ = std::move(b.reward);
  terminated_ = std::move(b.terminated);
  truncated_ = std::move(b.truncated);
  final_obs_ = std::move(b.final_obs);
  episode_return_ = std::move(b.episode_return);
  episode_length_ = std::move(b.episode_length);
}

}  // namespace rlpp::env
