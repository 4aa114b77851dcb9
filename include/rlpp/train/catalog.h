// Every registry of rlpp, by kind, for `rlpp list [kind]`.
#pragma once
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace rlpp::train {

using CatalogRows = std::vector<std::pair<std::string, std::string>>;  // (name, summary)

// kind ("envs", "tasks", "graders", "algorithms", "advantages", "objectives", "aggregations",
// "kl", "kl_controllers", "entropy_controls", "selectors", "allocations", "samplers") -> rows.
std::map<std::string, CatalogRows> catalog();

// Every kind as markdown: per kind a table of names and summaries, then each component's options
// with their defaults (kinds whose components have options). docs/objectives.md carries this text
// between its GENERATED markers; a test keeps the two identical (`rlpp list --markdown` prints it).
std::string catalog_markdown();

}  // namespace rlpp::train
