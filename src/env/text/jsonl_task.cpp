#include "rlpp/env/text/jsonl_task.h"

#include <cmath>
#include <fstream>
#include <numeric>
#include <set>

#include <nlohmann/json.hpp>

#include "rlpp/core/error.h"
#include "rlpp/nn/tokenizer/char_tokenizer.h"

namespace rlpp::env::text {

void JsonlOptions::bind(core::Binder& b) {
  b.text("path", path, "JSONL file of {\"prompt\", \"answer\"[, \"solution\", \"grader\"]} lines");
  b.text("grader", grader, "grader for lines without their own (see `rlpp list` graders)");
  b.choice("on_error", on_error, {"skip", "fail"}, "a malformed line is reported and skipped, or rejects the file");
  b.num("test_fraction", test_fraction, "share of problems held out for evaluation", core::Bounds::closed(0.0, 0.9));
  b.integer("split_seed", split_seed, "fixes which problems are held out", core::Bounds::non_negative());
  grading.bind(b);
}

namespace {

std::string key_of(const TaskInstance& t) { return t.prompt + '\x1f' + t.answer; }

bool blank(const std::string& line) { return line.find_first_not_of(" \t\r") == std::string::npos; }

}  // namespace

JsonlTask::JsonlTask(const JsonlOptions& opts) : opts_(opts) {
  core::require(!opts.path.empty(), "jsonl task: option path is required");
  core::require(opts.on_error == "skip" || opts.on_error == "fail",
                "jsonl task: on_error = '" + opts.on_error + "' is not one of: skip, fail");
  default_grader_ = make_grader(opts.grader, opts.grading);
  GraderOptions line_grading = opts.grading;  // per-line graders keep their own extraction
  line_grading.extract = line_grading.compare = "default";

  std::ifstream in(opts.path, std::ios::binary);
  core::require(in.good(), "jsonl task: cannot open '" + opts.path + "'");
  std::vector<TaskInstance> all;
  std::vector<const Grader*> all_graders;
  std::string line;
  for (int64_t line_no = 1; std::getline(in, line); ++line_no) {
    if (blank(line)) continue;
    const auto report = [&](const std::string& reason) {
      const std::string msg = opts.path + ":" + std::to_string(line_no) + ": " + reason;
      if (opts.on_error == "fail") throw core::UserError("jsonl task: " + msg);
      skipped_.push_back(msg);
    };
    const nlohmann::json j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded()) { report("not valid JSON (or not UTF-8)"); continue; }
    if (!j.is_object()) { report("expected a JSON object, got " + std::string(j.type_name())); continue; }
    const auto prompt = j.find("prompt");
    if (prompt == j.end() || !prompt->is_string() || prompt->get<std::string>().empty()) {
      report("\"prompt\" must be a non-empty string");
      continue;
    }
    const Grader* grader = nullptr;
    std::string grader_name = opts.grader;
    if (const auto g = j.find("grader"); g != j.end()) {
      if (!g->is_string() || !grader_registry().contains(g->get<std::string>())) {
        report("\"grader\" must name a grader (one of: " + core::join(grader_registry().names(), ", ") + "), got " +
               g->dump());
        continue;
      }
      grader_name = g->get<std::string>();
      auto& slot = named_graders_[grader_name];
      if (!slot) slot = make_grader(grader_name, line_grading);
      grader = slot.get();
    }
    const auto answer = j.find("answer");
    std::string answer_text;
    if (answer != j.end() && answer->is_string()) {
      answer_text = answer->get<std::string>();
    } else if (answer != j.end() && answer->is_number()) {
      answer_text = answer->dump();
    } else if (answer != j.end() && answer->is_array() && grader_name == "set") {
      answer_text = answer->dump();
    } else {
      report("\"answer\" must be a string or a number (or a list, with the set grader)");
      continue;
    }
    if (answer_text.find_first_not_of(" \t\r\n") == std::string::npos) {
      report("\"answer\" is empty");
      continue;
    }
    std::string solution;
    if (const auto s = j.find("solution"); s != j.end()) {
      if (!s->is_string()) { report("\"solution\" must be a string"); continue; }
      solution = s->get<std::string>();
    } else {
      solution = (grader ? *grader : *default_grader_).render(answer_text);
    }
    all.push_back({prompt->get<std::string>(), answer_text, solution});
    all_graders.push_back(grader);
  }
  core::require(!in.bad(), "jsonl task: error reading '" + opts.path + "'");
  core::require(!all.empty(), "jsonl task: '" + opts.path + "' has no valid problem" +
                                  (skipped_.empty() ? std::string() : " (first error: " + skipped_.front() + ")"));

  // held-out split: a seeded permutation, its first round(fraction * n) entries are the test part
  const int64_t n = static_cast<int64_t>(all.size());
  const int64_t n_test = std::llround(opts.test_fraction * static_cast<double>(n));
  core::require(n_test < n, "jsonl task: '" + opts.path + "' has " + std::to_string(n) +
                                " valid problems, too few for test_fraction = " + std::to_string(opts.test_fraction));
  std::vector<int64_t> perm(static_cast<size_t>(n));
  std::iota(perm.begin(), perm.end(), 0);
  core::Rng rng(static_cast<uint64_t>(opts.split_seed));
  rng.shuffle(perm.data(), n);
  std::vector<bool> is_test(static_cast<size_t>(n), false);
  for (int64_t i = 0; i < n_test; ++i) is_test[static_cast<size_t>(perm[static_cast<size_t>(i)])] = true;

  nn::AlphabetBuilder chars;
  chars.add("\n", opts.path);
  for (size_t i = 0; i < all.size(); ++i) {
    chars.add(all[i].prompt, opts.path);
    chars.add(all[i].answer, opts.path);
    chars.add(all[i].solution, opts.path);
    if (all_graders[i]) line_graders_.emplace(key_of(all[i]), all_graders[i]);
    (is_test[i] ? test_ : train_).push_back(std::move(all[i]));
  }
  alphabet_ = chars.alphabet();
}

TaskInstance JsonlTask::sample(core::Rng& rng) const { return train_[rng.below(train_.size())]; }

const Grader& JsonlTask::grader_for(const TaskInstance& inst) const {
  if (!line_graders_.empty()) {
    const auto it = line_graders_.find(key_of(inst));
    if (it != line_graders_.end()) return *it->second;
  }
  return *default_grader_;
}

double JsonlTask::grade(const TaskInstance& inst, std::string_view response) const {
  return grader_for(inst).grade(response, inst.answer);
}

bool JsonlTask::answer_parses(const TaskInstance& inst, std::string_view response) const {
  return grader_for(inst).extract(response).has_value();
}

std::string JsonlTask::alphabet() const { return alphabet_; }

}  // namespace rlpp::env::text
