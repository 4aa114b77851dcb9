// Training checkpoints: a LibTorch archive (zip) of named tensors and sub-archives, written
// atomically (temp file + rename) to RUN_DIR/checkpoints/update_NNNNNNN.pt. Holds whatever the
// trainer needs to continue bit-identically: model, optimizer, generators, environment state,
// normaliser statistics, counters.
#pragma once
#include <torch/torch.h>

#include <string>
#include <vector>

#include "rlpp/core/rng.h"
#include "rlpp/env/vec_env.h"
#include "rlpp/train/running_mean_std.h"

namespace rlpp::train {

class CheckpointWriter {
 public:
  CheckpointWriter();
  void put_int(const std::string& key, int64_t v);
  void put_ints(const std::string& key, const std::vector<int64_t>& v);
  void put_doubles(const std::string& key, const std::vector<double>& v);
  void put_floats(const std::string& key, const std::vector<float>& v);
  void put_bytes(const std::string& key, const std::string& bytes);
  void put_rng(const std::string& key, const core::Rng& rng);
  void put_rms(const std::string& key, const RunningMeanStd& rms);
  // The control trainers' shared pieces: a batch of environments (VecEnv::save) and a reward
  // scaler (statistics and running returns).
  void put_env(const std::string& key, env::VecEnv& envs);
  void put_reward_scaler(const std::string& key, const RewardScaler& scaler);
  // A nested archive (e.g. the learner's model and optimizer).
  torch::serialize::OutputArchive& child(const std::string& key);

  // Writes RUN_DIR/checkpoints/update_<update>.pt atomically and keeps the newest `keep` files.
  // Returns the path written.
  std::string commit(const std::string& run_dir, int64_t update, int keep);
  // The archive as the bytes of a checkpoint file (e.g. one rank's part, sent to rank 0).
  std::string bytes();

 private:
  torch::serialize::OutputArchive archive_;
  std::vector<std::pair<std::string, std::unique_ptr<torch::serialize::OutputArchive>>> children_;
};

// "" when the checkpoint file at `path` is intact (every entry's CRC-32 matches), else what is wrong.
std::string checkpoint_damage(const std::string& path);

class CheckpointReader {
 public:
  // Opens a checkpoint file; a missing, damaged (CRC-32 mismatch) or malformed file is a UserError
  // naming it.
  explicit CheckpointReader(const std::string& path);
  // The same from the bytes of a checkpoint (CheckpointWriter::bytes(), or a file rank 0 read and
  // sent); `name` stands for the path in errors.
  struct Bytes {
    std::string data;
    std::string name;
  };
  explicit CheckpointReader(const Bytes& bytes);
  bool has(const std::string& key);
  int64_t get_int(const std::string& key);
  // The following check the stored length against `expected` (UserError on mismatch).
  std::vector<int64_t> get_ints(const std::string& key, size_t expected);
  std::vector<double> get_doubles(const std::string& key, size_t expected);
  std::vector<float> get_floats(const std::string& key, size_t expected);
  std::string get_bytes(const std::string& key);
  void get_rng(const std::string& key, core::Rng* rng);
  void get_rms(const std::string& key, RunningMeanStd* rms);
  void get_env(const std::string& key, env::VecEnv* envs);
  void get_reward_scaler(const std::string& key, RewardScaler* scaler);
  // UserError naming the file unless its "version" entry is `expected`.
  void require_version(int64_t expected);
  torch::serialize::InputArchive& child(const std::string& key);
  const std::string& path() const { return path_; }

 private:
  torch::Tensor tensor(const std::string& key);
  void open(const std::string& bytes);
  std::string path_;
  torch::serialize::InputArchive archive_;
  std::vector<std::pair<std::string, std::unique_ptr<torch::serialize::InputArchive>>> children_;
};

}  // namespace rlpp::train
