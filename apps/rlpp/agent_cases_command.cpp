// `rlpp agent-cases`: generate C³-format tool-use dialogues (and their golden SFT trajectories), or
// validate a case file. Argument parsing only; the work is in rlpp/env/agent.
#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <string>

#include <nlohmann/json.hpp>

#include "command.h"
#include "rlpp/core/error.h"
#include "rlpp/core/fs.h"
#include "rlpp/env/agent/case_generator.h"
#include "rlpp/env/agent/case_validation.h"
#include "rlpp/env/agent/golden_trajectory.h"
#include "rlpp/nn/tokenizer/char_tokenizer.h"

namespace {

using json = nlohmann::json;
namespace agent = rlpp::env::agent;

struct AgentCasesRequest {
  agent::GeneratorOptions gen;
  std::string out, sft_out, alphabet_out, validate, cases;
  std::string chat_format = "plain", tool_style = "compact";
};

std::vector<json> read_cases(const std::string& path, const std::atomic<bool>& stop) {
  int64_t n = 0;
  const auto report = agent::validate_case_file(path, &n, &stop);
  if (!report.empty())
    throw rlpp::core::UserError(std::to_string(report.size()) + " problem(s) in " + path + ", first: " + report.front() +
                                " (run `rlpp agent-cases --validate " + path + "` for all)");
  std::vector<json> out;
  agent::CaseFileReader in(path);
  std::string line;
  while (!stop.load() && in.next(&line))
    if (line.find_first_not_of(" \t\r") != std::string::npos) out.push_back(json::parse(line));
  return out;
}

// Fails (UserError, exit 2) unless `path` can be created: its directory exists and takes a new
// file, and it is not itself a directory. Checked for every output before any is written.
void check_output_file(const std::string& path, const std::string& option) {
  namespace fs = std::filesystem;
  std::error_code ec;
  rlpp::core::require(!fs::is_directory(path, ec), option + " " + path + ": is a directory");
  const fs::path dir = fs::path(path).parent_path().empty() ? fs::path(".") : fs::path(path).parent_path();
  rlpp::core::require(fs::is_directory(dir, ec), option + " " + path + ": directory " + dir.string() + " does not exist");
  const std::string probe = rlpp::core::temp_path_for(path);
  const bool writable = std::ofstream(probe).good();
  fs::remove(probe, ec);
  rlpp::core::require(writable, option + " " + path + ": cannot create a file in " + dir.string());
}

constexpr int kExitStopped = 130;

int run_agent_cases(const AgentCasesRequest& r, const std::atomic<bool>& stop) {
  if (!r.validate.empty()) {
    int64_t n = 0;
    const auto report = agent::validate_case_file(r.validate, &n, &stop);
    std::set<std::string> bad_lines;
    for (const auto& line : report) {
      std::fprintf(stderr, "%s\n", line.c_str());
      bad_lines.insert(line.substr(0, line.find(": ", r.validate.size() + 1)));
    }
    if (stop.load()) {
      std::fprintf(stderr, "agent-cases: stopped after %lld case(s) of %s\n", static_cast<long long>(n), r.validate.c_str());
      return kExitStopped;
    }
    std::printf("%s: %lld case(s), %zu malformed\n", r.validate.c_str(), static_cast<long long>(n), bad_lines.size());
    return bad_lines.empty() ? 0 : rlpp::core::kExitUserError;
  }
  rlpp::core::require(!r.out.empty() || !r.sft_out.empty(), "agent-cases: give --out and/or --sft-out (or --validate FILE)");
  const auto format = rlpp::nn::chat_format_from_name(r.chat_format);
  const auto style = rlpp::nn::tool_style_from_name(r.tool_style);
  if (!r.out.empty()) check_output_file(r.out, "--out");
  if (!r.sft_out.empty()) check_output_file(r.sft_out, "--sft-out");
  if (!r.alphabet_out.empty()) check_output_file(r.alphabet_out, "--alphabet-out");
  const std::vector<json> cases = r.cases.empty() ? agent::generate_cases(r.gen) : read_cases(r.cases, stop);
  if (stop.load()) return kExitStopped;

  // Everything is built in memory first: an error in any part writes no file at all.
  std::string text;
  std::map<std::string, int64_t> per_type;
  int64_t tasks = 0, true_multi = 0;
  for (const json& c : cases) {
    text += c.dump() + "\n";
    for (size_t t = 0; t < c.at("type").size(); ++t) {
      ++per_type[c.at("type")[t].get<std::string>()];
      ++tasks;
      if (c.contains("turn_type") && c.at("turn_type")[t] == true) ++true_multi;
    }
  }
  std::string sft;
  rlpp::nn::AlphabetBuilder chars;
  int64_t examples = 0;
  if (!r.sft_out.empty() || !r.alphabet_out.empty()) {
    for (const json& c : cases) {
      const std::string where = "case " + (c.contains("id") ? c.at("id").dump() : std::string("?"));
      for (const auto& ex : agent::golden_sft_examples(c, format, style)) {
        sft += agent::sft_jsonl_line(ex) + "\n";
        chars.add(ex.prompt, where);
        chars.add(ex.response, where);
        ++examples;
      }
      if (stop.load()) return kExitStopped;
    }
  }
  const std::string alphabet = chars.alphabet();

  if (!r.out.empty()) rlpp::core::atomic_write_file(r.out, text);
  if (!r.sft_out.empty()) rlpp::core::atomic_write_file(r.sft_out, sft);
  if (!r.alphabet_out.empty())
    rlpp::core::atomic_write_file(r.alphabet_out, json{{"alphabet", alphabet}, {"num_chars", chars.size()}}.dump() + "\n");

  std::printf("%zu dialogue(s), %lld task(s):", cases.size(), static_cast<long long>(tasks));
  for (const auto& [type, n] : per_type) std::printf(" %s %lld", type.c_str(), static_cast<long long>(n));
  std::printf("; true multi-turn %lld of %lld later tasks\n", static_cast<long long>(true_multi),
              static_cast<long long>(tasks - static_cast<int64_t>(cases.size())));
  if (!r.out.empty()) std::printf("cases: %s\n", r.out.c_str());
  if (!r.sft_out.empty())
    std::printf("sft: %s (%lld examples, %s format, %s tools)\n", r.sft_out.c_str(), static_cast<long long>(examples),
                r.chat_format.c_str(), r.tool_style.c_str());
  if (!r.alphabet_out.empty()) std::printf("alphabet: %s (%zu characters)\n", r.alphabet_out.c_str(), chars.size());
  return 0;
}

const bool kRegistered = rlpp::cli::register_command([](CLI::App& app, const std::atomic<bool>& stop) {
  auto r = std::make_shared<AgentCasesRequest>();
  auto* sub = app.add_subcommand("agent-cases", "generate C3-format tool-use dialogues and golden SFT data, or validate a case file");
  sub->add_option("--out", r->out, "write the cases here (JSONL, one dialogue per line)");
  sub->add_option("--seed", r->gen.seed, "generator seed (same seed, same file)");
  sub->add_option("--per-path", r->gen.per_path, "dialogues per task-type path")->check(CLI::Range(1, 1000000));
  sub->add_option("--min-tasks", r->gen.min_tasks, "shortest path (tasks per dialogue)")->check(CLI::Range(1, 4));
  sub->add_option("--max-tasks", r->gen.max_tasks, "longest path; all 4^L paths for L = min..max")->check(CLI::Range(1, 4));
  sub->add_option("--distractors", r->gen.distractor_tools, "tools offered beyond those the golden calls use")
      ->check(CLI::Range(0, 14));
  sub->add_option("--cases", r->cases, "read (and validate) cases from this file instead of generating");
  sub->add_option("--sft-out", r->sft_out, "write golden trajectories as SFT JSONL {prompt, response}");
  sub->add_option("--chat-format", r->chat_format, "SFT chat format: plain (character models), chatml, llama3");
  sub->add_option("--tool-style", r->tool_style, "tools in the system message: compact or full");
  sub->add_option("--alphabet-out", r->alphabet_out, "write the SFT texts' characters as JSON {alphabet, num_chars}");
  sub->add_option("--validate", r->validate, "validate a case file: report each malformed case by line, exit 2 if any");
  return rlpp::cli::Command{sub, [r, &stop] { return run_agent_cases(*r, stop); }, true};  // SIGTERM stops validation
}, 210);

}  // namespace
