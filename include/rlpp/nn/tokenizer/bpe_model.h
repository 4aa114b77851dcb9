// The BPE model of a tokenizer.json: a vocabulary plus ranked merges (Sennrich et al., 2016,
// arXiv:1508.07909). A pre-token is split into characters and the adjacent pair with the lowest
// merge rank is merged, leftmost first, until no ranked pair remains.
#pragma once
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace rlpp::nn {

// Ids index dense per-id tables (tokens, decoded text, embedding rows), so a file's largest id sets
// their size: an id above this is a corrupt file, not a vocabulary (the largest published ones have
// about 2.6e5 tokens), and is refused before anything that large is allocated.
constexpr int64_t kMaxTokenId = (int64_t{1} << 22) - 1;

struct BpeOptions {
  std::optional<std::string> unk_token;  // characters outside the vocab -> this; none: dropped
  bool fuse_unk = false;                  // consecutive unknown characters -> one unk
  bool byte_fallback = false;             // unknown characters -> their <0xNN> byte tokens
  bool ignore_merges = false;             // Llama-3: a pre-token found in the vocab is one token
};

class BpeModel {
 public:
  // Throws core::UserError naming `where` on duplicate ids, ids outside [0, kMaxTokenId], merges
  // whose parts or result are not in the vocab, or an unk_token missing from the vocab.
  BpeModel(std::unordered_map<std::string, int64_t> vocab,
           const std::vector<std::pair<std::string, std::string>>& merges, BpeOptions options,
           const std::string& where);

  // Appends the ids of one pre-token (a string over the model's alphabet, e.g. byte-level chars).
  void tokenize(std::string_view word, std::vector<int64_t>* out) const;

  std::optional<int64_t> token_to_id(std::string_view token) const;
  const std::string* id_to_token(int64_t id) const;  // nullptr when no token has that id
  int64_t max_id() const { return static_cast<int64_t>(tokens_.size()) - 1; }

 private:
  struct Merge {
    int32_t rank;
    int64_t result;
  };
  static uint64_t pair_key(int64_t a, int64_t b) {
    return (static_cast<uint64_t>(a) << 32) | static_cast<uint64_t>(b);
  }
  void merge_word(std::string_view word, std::vector<int64_t>* out) const;

  std::unordered_map<std::string, int64_t> vocab_;
  std::vector<std::string> tokens_;  // id -> token ("" for unused ids)
  std::vector<bool> has_token_;
  std::unordered_map<uint64_t, Merge> merges_;
  BpeOptions options_;
  int64_t unk_id_ = -1;

  // pre-token -> ids: text repeats the same words, and BPE is the costly step
  static constexpr size_t kCacheCapacity = 1 << 16;
  static constexpr size_t kCacheMaxWordBytes = 256;
  mutable std::mutex cache_mutex_;
  mutable std::unordered_map<std::string, std::vector<int64_t>> cache_;
};

}  // namespace rlpp::nn
