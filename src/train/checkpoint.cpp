#include "rlpp/train/checkpoint.h"

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <iomanip>
#include <sstream>

#include "rlpp/core/error.h"
#include "rlpp/core/fs.h"
#include "rlpp/core/zip_check.h"

namespace rlpp::train {

namespace fs = std::filesystem;

CheckpointWriter::CheckpointWriter() = default;

void CheckpointWriter::put_int(const std::string& key, int64_t v) { put_ints(key, {v}); }

void CheckpointWriter::put_ints(const std::string& key, const std::vector<int64_t>& v) {
  archive_.write(key, torch::tensor(v, torch::kInt64));
}

void CheckpointWriter::put_doubles(const std::string& key, const std::vector<double>& v) {
  archive_.write(key, torch::tensor(v, torch::kFloat64));
}

void CheckpointWriter::put_floats(const std::string& key, const std::vector<float>& v) {
  archive_.write(key, torch::tensor(v, torch::kFloat32));
}

void CheckpointWriter::put_bytes(const std::string& key, const std::string& bytes) {
  torch::Tensor t = torch::empty({static_cast<int64_t>(bytes.size())}, torch::kUInt8);
  if (!bytes.empty()) std::memcpy(t.data_ptr<uint8_t>(), bytes.data(), bytes.size());
  archive_.write(key, t);
}

void CheckpointWriter::put_rng(const std::string& key, const core::Rng& rng) {
  const auto snap = rng.snapshot();
  std::vector<int64_t> words;
  for (uint64_t w : snap.s) words.push_back(static_cast<int64_t>(w));
  int64_t spare_bits = 0;
  std::memcpy(&spare_bits, &snap.spare, sizeof(double));
  words.push_back(spare_bits);
  words.push_back(snap.has_spare ? 1 : 0);
  put_ints(key, words);
}

void CheckpointWriter::put_rms(const std::string& key, const RunningMeanStd& rms) {
  put_doubles(key + ".mean", rms.mean());
  put_doubles(key + ".var", rms.var());
  put_doubles(key + ".count", {rms.count()});
}

void CheckpointWriter::put_env(const std::string& key, env::VecEnv& envs) {
  std::ostringstream state;
  envs.save(state);
  put_bytes(key, state.str());
}

void CheckpointWriter::put_reward_scaler(const std::string& key, const RewardScaler& scaler) {
  put_rms(key, scaler.stats());
  put_doubles(key + "_returns", scaler.returns());
}

torch::serialize::OutputArchive& CheckpointWriter::child(const std::string& key) {
  children_.emplace_back(key, std::make_unique<torch::serialize::OutputArchive>());
  return *children_.back().second;
}

std::string CheckpointWriter::bytes() {
  for (auto& [key, child] : children_) archive_.write(key, *child);
  children_.clear();
  std::ostringstream out;
  archive_.save_to(out);
  return out.str();
}

std::string CheckpointWriter::commit(const std::string& run_dir, int64_t update, int keep) {
  const fs::path dir = fs::path(run_dir) / "checkpoints";
  core::ensure_output_dir(dir.string());
  std::ostringstream name;
  name << "update_" << std::setw(7) << std::setfill('0') << update << ".pt";
  const fs::path path = dir / name.str();
  core::atomic_write_file(path.string(), bytes());

  // Keep the newest `keep` checkpoints (names sort by update number).
  std::vector<fs::path> all;
  for (const auto& e : fs::directory_iterator(dir)) {
    const std::string f = e.path().filename().string();
    if (f.rfind("update_", 0) == 0 && e.path().extension() == ".pt") all.push_back(e.path());
  }
  std::sort(all.begin(), all.end());
  for (size_t i = 0; i + static_cast<size_t>(std::max(keep, 1)) < all.size(); ++i) fs::remove(all[i]);
  return path.string();
}

std::string checkpoint_damage(const std::string& path) {
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) return "it does not exist or is not a regular file";
  const std::string bytes = core::read_file(path);
  return core::zip_integrity_error(bytes);
}

CheckpointReader::CheckpointReader(const std::string& path) : path_(path) {
  std::error_code ec;
  core::require(fs::is_regular_file(path, ec), "checkpoint '" + path + "' does not exist or is not a regular file");
  // LibTorch's reader ignores the archive's CRCs: check them first, so flipped bytes inside a
  // tensor are refused instead of loaded.
  open(core::read_file(path));
}

CheckpointReader::CheckpointReader(const Bytes& bytes) : path_(bytes.name) { open(bytes.data); }

void CheckpointReader::open(const std::string& bytes) {
  const std::string damage = core::zip_integrity_error(bytes);
  if (!damage.empty()) throw core::UserError("checkpoint '" + path_ + "' is damaged: " + damage);
  try {
    std::istringstream in(bytes);
    archive_.load_from(in);
  } catch (const c10::Error& e) {
    throw core::UserError("checkpoint '" + path_ + "' is not a readable rlpp checkpoint (" +
                          std::string(e.what_without_backtrace()) + ")");
  }
}

bool CheckpointReader::has(const std::string& key) {
  torch::Tensor t;
  return archive_.try_read(key, t);
}

torch::Tensor CheckpointReader::tensor(const std::string& key) {
  torch::Tensor t;
  if (!archive_.try_read(key, t)) {
    throw core::UserError("checkpoint '" + path_ + "' has no entry '" + key + "'");
  }
  return t.contiguous();
}

int64_t CheckpointReader::get_int(const std::string& key) { return get_ints(key, 1)[0]; }

template <class T>
static std::vector<T> to_vector(const torch::Tensor& t, torch::ScalarType type, size_t expected,
                                const std::string& path, const std::string& key) {
  if (t.scalar_type() != type || static_cast<size_t>(t.numel()) != expected) {
    throw core::UserError("checkpoint '" + path + "': entry '" + key + "' has " + std::to_string(t.numel()) +
                          " values of type " + std::string(c10::toString(t.scalar_type())) + ", expected " +
                          std::to_string(expected) + " of type " + std::string(c10::toString(type)) +
                          " (was it written for another recipe?)");
  }
  return std::vector<T>(t.data_ptr<T>(), t.data_ptr<T>() + t.numel());
}

std::vector<int64_t> CheckpointReader::get_ints(const std::string& key, size_t expected) {
  return to_vector<int64_t>(tensor(key), torch::kInt64, expected, path_, key);
}

std::vector<double> CheckpointReader::get_doubles(const std::string& key, size_t expected) {
  return to_vector<double>(tensor(key), torch::kFloat64, expected, path_, key);
}

std::vector<float> CheckpointReader::get_floats(const std::string& key, size_t expected) {
  return to_vector<float>(tensor(key), torch::kFloat32, expected, path_, key);
}

std::string CheckpointReader::get_bytes(const std::string& key) {
  const torch::Tensor t = tensor(key);
  core::require(t.scalar_type() == torch::kUInt8, "checkpoint '" + path_ + "': entry '" + key + "' is not bytes");
  return std::string(reinterpret_cast<const char*>(t.data_ptr<uint8_t>()), static_cast<size_t>(t.numel()));
}

void CheckpointReader::get_rng(const std::string& key, core::Rng* rng) {
  const auto w = get_ints(key, 6);
  core::Rng::Snapshot snap;
  for (int i = 0; i < 4; ++i) snap.s[i] = static_cast<uint64_t>(w[i]);
  std::memcpy(&snap.spare, &w[4], sizeof(double));
  snap.has_spare = w[5] != 0;
  rng->restore(snap);
}

void CheckpointReader::get_rms(const std::string& key, RunningMeanStd* rms) {
  const size_t d = static_cast<size_t>(rms->dim());
  auto mean = get_doubles(key + ".mean", d);
  auto var = get_doubles(key + ".var", d);
  const double count = get_doubles(key + ".count", 1)[0];
  rms->set(std::move(mean), std::move(var), count);
}

torch::serialize::InputArchive& CheckpointReader::child(const std::string& key) {
  children_.emplace_back(key, std::make_unique<torch::serialize::InputArchive>());
  if (!archive_.try_read(key, *children_.back().second)) {
    throw core::UserError("checkpoint '" + path_ + "' has no section '" + key + "'");
  }
  return *children_.back().second;
}

void CheckpointReader::get_env(const std::string& key, env::VecEnv* envs) {
  std::istringstream state(get_bytes(key));
  envs->load(state);
}

void CheckpointReader::get_reward_scaler(const std::string& key, RewardScaler* scaler) {
  get_rms(key, &scaler->stats());
  scaler->returns() = get_doubles(key + "_returns", scaler->returns().size());
}

void CheckpointReader::require_version(int64_t expected) {
  const int64_t version = get_int("version");
  core::require(version == expected, path_ + ": checkpoint version " + std::to_string(version) +
                                         " is not supported (expected " + std::to_string(expected) + ")");
}

}  // namespace rlpp::train
