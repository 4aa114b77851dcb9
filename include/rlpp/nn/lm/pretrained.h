// Hugging Face checkpoint directories: config.json + model.safetensors (or
// model.safetensors.index.json + shards), as written by transformers' save_pretrained and read by
// its from_pretrained.
#pragma once
#include <torch/torch.h>

#include <cstdint>
#include <map>
#include <string>

#include "rlpp/nn/lm/transformer.h"

namespace rlpp::nn::lm {

constexpr int64_t kDefaultMaxShardBytes = int64_t{5} << 30;  // transformers' default "5GB"

// Builds the model from dir/config.json and loads its weights (converted to fp32), on CPU; move it
// with ->to(device) afterwards. UserError naming the tensor for a missing, unexpected or
// wrongly-shaped tensor (with both shapes).
TransformerLm load_pretrained(const std::string& dir);

// Copies `tensors` (Hugging Face names) into `model`, converting dtype and device. Every parameter
// must be present with its exact shape and no other tensor may be present; `where` names the
// source in messages. A tied model's lm_head.weight in the file is ignored (transformers also
// discards it: the tied head is the embedding), so checkpoints written by any tool load.
void load_weights(TransformerLm& model, const std::map<std::string, torch::Tensor>& tensors, const std::string& where);

// Writes dir/config.json and the weights (fp32, or bf16 with dtype = kBFloat16; sharded into
// files of at most max_shard_bytes with an index when larger). Creates `dir` if needed. Every file
// is written atomically.
void save_pretrained(const std::string& dir, TransformerLm& model, int64_t max_shard_bytes = kDefaultMaxShardBytes,
                     torch::ScalarType dtype = torch::kFloat);

}  // namespace rlpp::nn::lm
