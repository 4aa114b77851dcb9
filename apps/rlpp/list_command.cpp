// `rlpp list`: the registered components (environments, algorithms, objectives, ...) by kind, or
// the algo components with every option as markdown.
#include <iomanip>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "command.h"
#include "rlpp/core/error.h"
#include "rlpp/core/strings.h"
#include "rlpp/train/catalog.h"

namespace {

int run_list(const std::string& kind, bool markdown) {
  if (markdown) {
    std::cout << rlpp::train::catalog_markdown();
    return 0;
  }
  const auto all = rlpp::train::catalog();
  std::vector<std::string> kinds;
  for (const auto& [k, v] : all) kinds.push_back(k);
  if (!kind.empty() && !all.count(kind)) {
    throw rlpp::core::UserError("unknown kind '" + kind + "'" + rlpp::core::did_you_mean(kind, kinds) +
                                "; valid: " + rlpp::core::join(kinds, ", "));
  }
  for (const auto& [k, rows] : all) {
    if (!kind.empty() && k != kind) continue;
    std::cout << k << ":\n";
    for (const auto& [name, summary] : rows) {
      std::cout << "  " << std::left << std::setw(28) << name << " " << summary << "\n";
    }
  }
  return 0;
}

struct ListArgs {
  std::string kind;
  bool markdown = false;
};

const bool kRegistered = rlpp::cli::register_command(
    [](CLI::App& app, const std::atomic<bool>&) {
      auto a = std::make_shared<ListArgs>();
      auto* list = app.add_subcommand("list", "list registered components");
      list->add_option("kind", a->kind,
                       "envs, tasks, graders, algorithms, advantages, objectives, aggregations, kl, kl_controllers, "
                       "entropy_controls, selectors, allocations or samplers (default: all)");
      list->add_flag("--markdown", a->markdown,
                     "every kind with every option and default, as markdown (docs/objectives.md)");
      list->footer("Examples:\n  rlpp list objectives\n  rlpp list --markdown");
      return rlpp::cli::Command{list, [a] { return run_list(a->kind, a->markdown); }, false};
    },
    40);

}  // namespace
