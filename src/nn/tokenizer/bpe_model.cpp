#include "rlpp/nn/tokenizer/bpe_model.h"

#include <algorithm>
#include <cstdio>
#include <functional>
#include <queue>

#include "nn/tokenizer/unicode.h"
#include "rlpp/core/error.h"

namespace rlpp::nn {

namespace {
// Code points are what BPE starts from; a byte that is not UTF-8 counts as one symbol.
size_t symbol_length_at(std::string_view word, size_t pos) {
  size_t len = utf8_length_at(word, pos);
  return len == 0 ? 1 : len;
}
}  // namespace

BpeModel::BpeModel(std::unordered_map<std::string, int64_t> vocab,
                   const std::vector<std::pair<std::string, std::string>>& merges,
                   BpeOptions options, const std::string& where)
    : vocab_(std::move(vocab)), options_(std::move(options)) {
  int64_t max_id = -1;
  for (const auto& [token, id] : vocab_) {
    if (id < 0 || id > kMaxTokenId)
      throw core::UserError(where + ": vocab id " + std::to_string(id) + " of '" + token + "' is out of range [0, " +
                            std::to_string(kMaxTokenId) + "]");
    max_id = std::max(max_id, id);
  }
  tokens_.assign(static_cast<size_t>(max_id + 1), std::string());
  has_token_.assign(static_cast<size_t>(max_id + 1), false);
  for (const auto& [token, id] : vocab_) {
    if (has_token_[id]) {
      throw core::UserError(where + ": vocab id " + std::to_string(id) + " is used by both '" +
                            tokens_[id] + "' and '" + token + "'");
    }
    tokens_[id] = token;
    has_token_[id] = true;
  }
  for (size_t rank = 0; rank < merges.size(); ++rank) {
    const auto& [a, b] = merges[rank];
    auto ia = vocab_.find(a), ib = vocab_.find(b), ir = vocab_.find(a + b);
    const std::string missing = ia == vocab_.end() ? a : ib == vocab_.end() ? b : a + b;
    if (ia == vocab_.end() || ib == vocab_.end() || ir == vocab_.end()) {
      throw core::UserError(where + ": merge " + std::to_string(rank) + " ('" + a + "', '" + b +
                            "') needs '" + missing + "', which is not in the vocab");
    }
    // a pair listed twice keeps its last rank, as the Hugging Face loader does
    merges_[pair_key(ia->second, ib->second)] = Merge{static_cast<int32_t>(rank), ir->second};
  }
  if (options_.unk_token) {
    auto it = vocab_.find(*options_.unk_token);
    core::require(it != vocab_.end(),
                  where + ": unk_token '" + *options_.unk_token + "' is not in the vocab");
    unk_id_ = it->second;
  }
}

std::optional<int64_t> BpeModel::token_to_id(std::string_view token) const {
  auto it = vocab_.find(std::string(token));
  if (it == vocab_.end()) return std::nullopt;
  return it->second;
}

const std::string* BpeModel::id_to_token(int64_t id) const {
  if (id < 0 || id >= static_cast<int64_t>(tokens_.size()) || !has_token_[id]) return nullptr;
  return &tokens_[id];
}

void BpeModel::tokenize(std::string_view word, std::vector<int64_t>* out) const {
  if (word.empty()) return;
  if (options_.ignore_merges) {
    auto it = vocab_.find(std::string(word));
    if (it != vocab_.end()) {
      out->push_back(it->second);
      return;
    }
  }
  if (word.size() > kCacheMaxWordBytes) {
    merge_word(word, out);
    return;
  }
  std::string key(word);
  {
    std::lock_guard<std::mutex> lock(cache_mutex_);
    auto it = cache_.find(key);
    if (it != cache_.end()) {
      out->insert(out->end(), it->second.begin(), it->second.end());
      return;
    }
  }
  std::vector<int64_t> ids;
  merge_word(word, &ids);
  out->insert(out->end(), ids.begin(), ids.end());
  std::lock_guard<std::mutex> lock(cache_mutex_);
  if (cache_.size() >= kCacheCapacity) cache_.clear();
  cache_.emplace(std::move(key), std::move(ids));
}

void BpeModel::merge_word(std::string_view word, std::vector<int64_t>* out) const {
  // Symbols form a doubly linked list over positions so that a merge is O(1); the heap holds
  // candidate merges ordered by (rank, position), and stale entries are skipped when popped.
  struct Symbol {
    int64_t id;
    int prev, next;
    bool alive;
  };
  std::vector<Symbol> symbols;
  bool last_was_unk = false;
  std::string ch;
  for (size_t pos = 0; pos < word.size();) {
    size_t len = symbol_length_at(word, pos);
    ch.assign(word.data() + pos, len);
    pos += len;
    auto it = vocab_.find(ch);
    std::vector<int64_t> ids;
    if (it != vocab_.end()) {
      ids.push_back(it->second);
    } else if (options_.byte_fallback) {
      for (unsigned char b : ch) {
        char name[8];
        std::snprintf(name, sizeof(name), "<0x%02X>", b);
        auto bt = vocab_.find(name);
        if (bt == vocab_.end()) {
          ids.clear();
          break;
        }
        ids.push_back(bt->second);
      }
    }
    if (ids.empty()) {  // unknown character
      if (unk_id_ < 0) continue;
      if (options_.fuse_unk && last_was_unk) continue;
      ids.push_back(unk_id_);
      last_was_unk = true;
    } else {
      last_was_unk = false;
    }
    for (int64_t id : ids) {
      int n = static_cast<int>(symbols.size());
      symbols.push_back(Symbol{id, n - 1, n + 1, true});
    }
  }
  if (symbols.empty()) return;
  symbols.back().next = -1;

  struct Candidate {
    int32_t rank;
    int pos;
    int64_t left, right, result;
    bool operator>(const Candidate& o) const {
      return rank != o.rank ? rank > o.rank : pos > o.pos;
    }
  };
  std::priority_queue<Candidate, std::vector<Candidate>, std::greater<Candidate>> heap;
  auto push = [&](int pos) {
    if (pos < 0 || symbols[pos].next < 0) return;
    int nxt = symbols[pos].next;
    auto it = merges_.find(pair_key(symbols[pos].id, symbols[nxt].id));
    if (it != merges_.end()) {
      heap.push(Candidate{it->second.rank, pos, symbols[pos].id, symbols[nxt].id, it->second.result});
    }
  };
  for (int i = 0; i + 1 < static_cast<int>(symbols.size()); ++i) push(i);
  while (!heap.empty()) {
    Candidate c = heap.top();
    heap.pop();
    Symbol& left = symbols[c.pos];
    if (!left.alive || left.next < 0 || left.id != c.left) continue;
    Symbol& right = symbols[left.next];
    if (right.id != c.right) continue;
    left.id = c.result;
    right.alive = false;
    left.next = right.next;
    if (right.next >= 0) symbols[right.next].prev = c.pos;
    if (left.prev >= 0) push(left.prev);
    push(c.pos);
  }
  for (int i = 0; i >= 0; i = symbols[i].next) out->push_back(symbols[i].id);
}

}  // namespace rlpp::nn
