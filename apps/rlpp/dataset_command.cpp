// `rlpp dataset collect | info | merge`: D4RL-layout HDF5 datasets (docs/datasets.md).
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <map>
#include <memory>
#include <string>

#include "command.h"
#include "rlpp/core/error.h"
#include "rlpp/env/registry.h"
#include "rlpp/train/offline/collect.h"
#include "rlpp/train/offline/d4rl_dataset.h"
#include "rlpp/train/offline/episodes.h"

namespace {

namespace off = rlpp::train::offline;

struct DatasetArgs {
  CLI::App *collect = nullptr, *info = nullptr, *merge = nullptr;
  off::CollectRequest req;
  std::string out;
  std::string file;
  std::string first, second;
  std::string references;  // "" = the table of the source tree
};

std::map<std::string, off::ReferenceReturns> references(const std::string& path) {
  const std::string p = path.empty() ? off::default_reference_returns_path() : path;
  std::error_code ec;
  if (path.empty() && !std::filesystem::exists(p, ec)) return {};  // an installed binary without its source tree
  return off::read_reference_returns(p);
}

void print_summary(const off::D4rlDataset& d, const std::string& references_path) {
  const auto eps = off::split_episodes(d);
  const auto s = off::return_stats(eps);
  int64_t terminals = 0, timeouts = 0;
  for (int64_t i = 0; i < d.size(); ++i) {
    terminals += d.terminals[static_cast<size_t>(i)];
    timeouts += d.timeouts[static_cast<size_t>(i)];
  }
  std::cout << "transitions " << d.size() << "  obs_dim " << d.obs_dim << "  act_dim " << d.act_dim << "\n";
  if (!d.meta.env_name.empty()) std::cout << "env " << d.meta.env_name << "\n";
  if (!d.meta.policy.empty()) std::cout << "policy " << d.meta.policy << "\n";
  if (d.meta.seed >= 0) std::cout << "seed " << d.meta.seed << "\n";
  if (!d.meta.rlpp_version.empty()) std::cout << "rlpp_version " << d.meta.rlpp_version << "\n";
  if (!d.meta.rlpp_commit.empty()) std::cout << "rlpp_commit " << d.meta.rlpp_commit << "\n";
  std::cout << "episodes " << s.episodes << " complete (" << terminals << " terminal, " << timeouts << " timeout)"
            << ", " << s.incomplete << " incomplete\n";
  if (s.episodes == 0) return;
  char line[256];
  std::snprintf(line, sizeof line, "return mean %.2f  std %.2f  min %.2f  max %.2f", s.mean, s.std, s.min, s.max);
  std::cout << line << "\n";
  const auto table = references(references_path);
  const auto it = table.find(d.meta.env_name);
  if (it != table.end()) {
    std::snprintf(line, sizeof line, "normalized_score %.1f  (random %.2f, expert %.2f)",
                  off::normalized_score(s.mean, it->second.random, it->second.expert), it->second.random,
                  it->second.expert);
    std::cout << line << "\n";
  }
}

int run_dataset(DatasetArgs& a, const std::atomic<bool>& stop) {
  if (a.collect->parsed()) {
    auto d = off::collect_dataset(a.req, stop);
    off::write_d4rl(a.out, d);
    std::cout << "wrote " << a.out << "\n";
    print_summary(d, a.references);
    return stop.load() ? 130 : 0;
  }
  if (a.info->parsed()) {
    const auto d = off::read_d4rl(a.file);
    if (!d.meta.env_name.empty() && rlpp::env::registry().contains(d.meta.env_name)) {
      rlpp::env::VecEnvOptions o;
      off::check_matches(d, rlpp::env::make(d.meta.env_name, o)->spec(), a.file);
    }
    print_summary(d, a.references);
    return 0;
  }
  if (a.merge->parsed()) {
    const auto c = off::concatenate(off::read_d4rl(a.first), off::read_d4rl(a.second));
    off::write_d4rl(a.out, c);
    std::cout << "wrote " << a.out << "\n";
    print_summary(c, a.references);
    return 0;
  }
  throw rlpp::core::UserError("rlpp dataset: name a subcommand: collect, info or merge");
}

const bool kRegistered = rlpp::cli::register_command(
    [](CLI::App& app, const std::atomic<bool>& stop) {
      auto a = std::make_shared<DatasetArgs>();
      auto* ds = app.add_subcommand("dataset", "D4RL-layout HDF5 datasets: collect, info, merge");
      ds->require_subcommand(1, 1);
      a->collect = ds->add_subcommand("collect", "record a dataset from a policy acting in an environment");
      a->collect->add_option("--env", a->req.env, "Gymnasium id (rlpp list envs); default: the run's");
      a->collect->add_option("--policy", a->req.policy, "'random', or a ppo/props run directory or checkpoint")
          ->required();
      a->collect->add_option("--steps", a->req.steps, "transitions to record")->required()->check(CLI::Range(1, 100000000));
      a->collect->add_option("--seed", a->req.seed, "seed of the environment and of the policy's sampling");
      a->collect->add_option("--noise", a->req.noise,
                             "Box actions: std of Gaussian noise added; discrete: probability of a random action")
          ->check(CLI::Range(0.0, 100.0));
      a->collect->add_flag("--deterministic", a->req.deterministic, "the run's mean/argmax action, not a sample");
      a->collect->add_flag("--quiet", a->req.quiet, "no progress line");
      a->collect->add_option("--out", a->out, "output HDF5 file")->required();
      a->collect->add_option("--references", a->references, "reference-returns TOML (default: configs/d4rl_reference_returns.toml)");
      a->collect->footer("Examples:\n  rlpp dataset collect --env Hopper-v4 --policy random --steps 1000000 --seed 1 --out hopper-random.hdf5\n"
                         "  rlpp dataset collect --policy runs/hopper-expert-1m --steps 1000000 --out hopper-expert.hdf5");
      a->info = ds->add_subcommand("info", "validate a dataset and print its size, episodes, returns and score");
      a->info->add_option("file", a->file, "HDF5 file")->required();
      a->info->add_option("--references", a->references, "reference-returns TOML (default: configs/d4rl_reference_returns.toml)");
      a->info->footer("Example:\n  rlpp dataset info hopper-expert.hdf5");
      a->merge = ds->add_subcommand("merge", "concatenate two datasets of one environment (medium-expert)");
      a->merge->add_option("first", a->first, "HDF5 file")->required();
      a->merge->add_option("second", a->second, "HDF5 file")->required();
      a->merge->add_option("--out", a->out, "output HDF5 file")->required();
      a->merge->add_option("--references", a->references, "reference-returns TOML (default: configs/d4rl_reference_returns.toml)");
      a->merge->footer("Example:\n  rlpp dataset merge hopper-medium.hdf5 hopper-expert.hdf5 --out hopper-medium-expert.hdf5");
      ds->footer("Examples:\n  rlpp dataset collect --env Hopper-v4 --policy random --steps 100000 --out hopper-random.hdf5\n"
                 "  rlpp dataset collect --policy runs/hopper-expert --steps 1000000 --out hopper-expert.hdf5\n"
                 "  rlpp dataset info hopper-expert.hdf5\n"
                 "  rlpp dataset merge hopper-medium.hdf5 hopper-expert.hdf5 --out hopper-medium-expert.hdf5");
      return rlpp::cli::Command{ds, [a, &stop] { return run_dataset(*a, stop); }};
    },
    75);

}  // namespace
