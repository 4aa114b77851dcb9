// The safetensors tensor file format (https://github.com/huggingface/safetensors), and Hugging
// Face's sharded checkpoints built from it.
//
// File layout:  [u64 little-endian N] [N bytes JSON header] [byte buffer]
//   header = {"<name>": {"dtype": "F32", "shape": [d0, d1, ...], "data_offsets": [begin, end]}, ...,
//             "__metadata__": {"<key>": "<value>", ...}}   (metadata optional, strings only)
//   offsets are relative to the start of the byte buffer; the regions tile it exactly (no holes, no
//   overlaps); tensors are row-major, little-endian.
// Sharded: "<base>.safetensors.index.json" = {"metadata": {"total_size": bytes},
//                                             "weight_map": {"<name>": "<shard file>", ...}}.
// Every file read here is validated; a malformed one is a core::UserError naming file and tensor.
#pragma once
#include <torch/torch.h>

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace rlpp::nn::lm {

using NamedTensors = std::vector<std::pair<std::string, torch::Tensor>>;

constexpr const char* kSafetensorsFile = "model.safetensors";
constexpr const char* kSafetensorsIndexFile = "model.safetensors.index.json";
constexpr int64_t kMaxSafetensorsHeaderBytes = 100'000'000;  // larger headers are rejected as corrupt

struct SafetensorsContent {
  std::map<std::string, torch::Tensor> tensors;  // CPU tensors in the file's dtype
  std::map<std::string, std::string> metadata;   // "__metadata__"
};

// Reads and validates one .safetensors file. Dtypes: F64 F32 F16 BF16 I64 I32 I16 I8 U8 BOOL.
SafetensorsContent read_safetensors(const std::string& path);

// Writes `tensors` (any device; dtypes as above) atomically (temp file + rename). When `dtype` is
// given, floating-point tensors are converted to it first (kFloat or kBFloat16 for checkpoints).
// Names must be unique and non-empty.
void write_safetensors(const std::string& path, const NamedTensors& tensors,
                       const std::map<std::string, std::string>& metadata = {},
                       c10::optional<torch::ScalarType> dtype = c10::nullopt);

// Bytes a tensor takes in a file (after the optional dtype conversion of write_safetensors).
int64_t safetensors_nbytes(const torch::Tensor& t, c10::optional<torch::ScalarType> dtype = c10::nullopt);

// Loads the checkpoint in `dir`: model.safetensors when present (as transformers prefers it),
// otherwise model.safetensors.index.json and all its shards. Every tensor of a shard must be listed
// in the index for that shard and every listed tensor must be present; names are unique overall.
std::map<std::string, torch::Tensor> read_safetensors_checkpoint(const std::string& dir);

// Writes a checkpoint into `dir` (which must exist): one model.safetensors when the total fits in
// `max_shard_bytes` (or it is <= 0), else model-0000i-of-0000n.safetensors shards of at most
// max_shard_bytes each (a single larger tensor gets a shard of its own) plus the index. Tensors keep
// their order; files of an earlier save that this one replaces are removed after the new ones are
// in place. Metadata {"format": "pt"} is always written (transformers requires it).
void write_safetensors_checkpoint(const std::string& dir, const NamedTensors& tensors, int64_t max_shard_bytes,
                                  c10::optional<torch::ScalarType> dtype = c10::nullopt);

}  // namespace rlpp::nn::lm
