#include "command.h"

#include <algorithm>
#include <utility>

namespace rlpp::cli {

namespace {
std::vector<std::pair<int, CommandAdder>>& adders() {
  static std::vector<std::pair<int, CommandAdder>> list;  // function-local: safe during static initialisation
  return list;
}
}  // namespace

bool register_command(CommandAdder adder, int help_rank) {
  adders().emplace_back(help_rank, std::move(adder));
  return true;
}

std::vector<CommandAdder> registered_commands() {
  // The files' static initialisers run in link order; the help order must not depend on it.
  auto ranked = adders();
  std::stable_sort(ranked.begin(), ranked.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<CommandAdder> out;
  for (auto& [rank, adder] : ranked) out.push_back(std::move(adder));
  return out;
}

}  // namespace rlpp::cli
