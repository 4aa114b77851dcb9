#include "rlpp/train/lm/lm_data.h"

#include <algorithm>
#include <cmath>
#include <set>

#include <nlohmann/json.hpp>

#include "core/text_lines.h"
#include "rlpp/core/error.h"
#include "rlpp/core/fs.h"
#include "rlpp/nn/tokenizer/char_tokenizer.h"

namespace rlpp::train::lm {

void LmDataOptions::bind(core::Binder& b) {
  b.choice("source", source, {"task", "jsonl", "text"}, "where examples come from");
  b.text("path", path, "data file (source = jsonl or text)");
  b.choice("target", target, {"solution", "answer"}, "task: train on the worked solution or the bare answer");
  b.choice("on_error", on_error, {"skip", "fail"}, "jsonl: skip malformed lines (reported) or stop");
  b.num("eval_fraction", eval_fraction, "file sources: fraction of examples held out", core::Bounds{0.0, 1.0, false, true});
  b.integer("eval_examples", eval_examples, "task: held-out set size", core::Bounds::closed(1, 1 << 24));
  b.integer("eval_seed", eval_seed, "task: seed of the held-out set", core::Bounds::non_negative());
  b.flag("add_bos", add_bos, "prepend the tokenizer's BOS token (when it has one)");
  b.flag("add_eos", add_eos, "end every sequence with the tokenizer's EOS token (when it has one)");
}

namespace {

std::vector<TextExample> read_jsonl(const std::string& path, bool fail_on_error, int64_t* skipped, std::string* report) {
  const std::string data = core::read_file(path);
  std::vector<TextExample> out;
  std::vector<int> bad;
  std::string first_reason;
  for (const core::TextLine& line : core::split_lines(data)) {
    if (line.text.find_first_not_of(" \t") == std::string_view::npos) continue;
    std::string reason;
    TextExample ex;
    try {
      const auto j = nlohmann::json::parse(line.text);
      if (!j.is_object()) {
        reason = "not a JSON object";
      } else if (j.contains("text")) {
        if (!j["text"].is_string()) reason = "\"text\" is not a string";
        else ex.response = j["text"].get<std::string>();
      } else {
        const char* rkey = j.contains("response") ? "response" : "completion";
        if (!j.contains("prompt") || !j.contains(rkey)) reason = "needs \"text\", or \"prompt\" and \"response\"";
        else if (!j["prompt"].is_string() || !j[rkey].is_string()) reason = "\"prompt\"/\"response\" must be strings";
        else {
          ex.prompt = j["prompt"].get<std::string>();
          ex.response = j[rkey].get<std::string>();
        }
      }
    } catch (const nlohmann::json::exception& e) {
      reason = "invalid JSON";
    }
    if (reason.empty() && ex.prompt.empty() && ex.response.empty()) reason = "empty example";
    if (!reason.empty()) {
      core::require(!fail_on_error, path + ":" + std::to_string(line.number) + ": " + reason +
                                        " (data.on_error = \"skip\" skips such lines)");
      if (bad.empty()) first_reason = reason;
      bad.push_back(line.number);
      continue;
    }
    out.push_back(std::move(ex));
  }
  *skipped = static_cast<int64_t>(bad.size());
  if (!bad.empty()) {
    std::string lines;
    for (size_t i = 0; i < bad.size() && i < 20; ++i) lines += (i ? "," : "") + std::to_string(bad[i]);
    if (bad.size() > 20) lines += ",...";
    *report = path + ": skipped " + std::to_string(bad.size()) + " malformed line(s): " + lines + " (first: " + first_reason + ")";
  }
  return out;
}

std::vector<TextExample> read_text(const std::string& path) {
  const std::string data = core::read_file(path);
  std::vector<TextExample> out;
  std::string doc;
  for (const core::TextLine& line : core::split_lines(data)) {
    if (line.text.find_first_not_of(" \t") == std::string_view::npos) {
      if (!doc.empty()) out.push_back({"", doc, {}});
      doc.clear();
    } else {
      if (!doc.empty()) doc += '\n';
      doc += line.text;
    }
  }
  if (!doc.empty()) out.push_back({"", doc, {}});
  return out;
}

}  // namespace

LmData::LmData(const LmDataOptions& opts, const core::Recipe& recipe, toml::table* resolved) : opts_(opts) {
  core::require(!recipe.table().at_path("data.task"),
                recipe.origin("data.task") + ": the task is spelled [task] name = \"...\" (its options beside the name)");
  if (opts.source == "task") {
    task_ = env::text::make_task(recipe.get_string("task", "name", "arithmetic"), recipe, "task", resolved);
    for (auto& inst : env::text::make_split(*task_, opts.eval_examples, static_cast<uint64_t>(opts.eval_seed))) {
      eval_.push_back({inst.prompt, opts.target == "solution" ? inst.solution : inst.answer, inst});
    }
    return;
  }
  core::require(!opts.path.empty(), "data.path is required when data.source = \"" + opts.source + "\"");
  std::vector<TextExample> all = opts.source == "jsonl" ? read_jsonl(opts.path, opts.on_error == "fail", &skipped_, &skipped_report_)
                                                        : read_text(opts.path);
  core::require(!all.empty(), opts.path + ": no examples");
  const auto n_eval = static_cast<size_t>(std::floor(opts.eval_fraction * static_cast<double>(all.size())));
  core::require(n_eval < all.size(), opts.path + ": data.eval_fraction = " + std::to_string(opts.eval_fraction) +
                                         " leaves no training examples out of " + std::to_string(all.size()));
  eval_.assign(all.end() - static_cast<std::ptrdiff_t>(n_eval), all.end());
  all.resize(all.size() - n_eval);
  train_ = std::move(all);
}

TextExample LmData::next(core::Rng& rng) {
  if (task_) {
    env::text::TaskInstance inst = task_->sample(rng);
    TextExample ex{inst.prompt, opts_.target == "solution" ? inst.solution : inst.answer, {}};
    ex.instance = std::move(inst);
    return ex;
  }
  if (cursor_ >= static_cast<int64_t>(order_.size())) {  // a new epoch in a fresh order
    order_.resize(train_.size());
    for (size_t i = 0; i < order_.size(); ++i) order_[i] = static_cast<int64_t>(i);
    rng.shuffle(order_.data(), static_cast<int64_t>(order_.size()));
    cursor_ = 0;
  }
  return train_[static_cast<size_t>(order_[static_cast<size_t>(cursor_++)])];
}

std::string LmData::alphabet() const {
  if (task_) return task_->alphabet();
  // Whole characters (code points), not bytes: valid non-ASCII text gets one token per character.
  nn::AlphabetBuilder chars;
  for (const auto* set : {&train_, &eval_}) {
    for (const auto& ex : *set) {
      chars.add(ex.prompt, opts_.path);
      chars.add(ex.response, opts_.path);
    }
  }
  return chars.alphabet();
}

LmExample LmData::tokenize(const TextExample& ex, const nn::Tokenizer& tok) const {
  LmExample out;
  if (opts_.add_bos && tok.bos_id >= 0) out.prompt.push_back(tok.bos_id);
  const auto p = tok.encode(ex.prompt);
  out.prompt.insert(out.prompt.end(), p.begin(), p.end());
  out.response = tok.encode(ex.response);
  if (opts_.add_eos && tok.eos_id >= 0) out.response.push_back(tok.eos_id);
  return out;
}

void LmData::save(CheckpointWriter& w) const {
  w.put_int("data/order_size", static_cast<int64_t>(order_.size()));
  w.put_ints("data/order", order_);
  w.put_int("data/cursor", cursor_);
}

void LmData::load(CheckpointReader& r) {
  const int64_t n = r.get_int("data/order_size");
  core::require(n == 0 || n == static_cast<int64_t>(train_.size()),
                "checkpoint '" + r.path() + "': its data order covers " + std::to_string(n) + " examples, the data has " +
                    std::to_string(train_.size()) + " (was the data file changed?)");
  order_ = r.get_ints("data/order", static_cast<size_t>(n));
  cursor_ = r.get_int("data/cursor");
}

}  // namespace rlpp::train::lm
