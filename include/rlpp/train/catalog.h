// Every registry of rlpp, by kind, for `rlpp list [kind]`.
#pragma once
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace rlpp::train {

using CatalogRows = std::vector<std::pair<std::string, std::string>>;  // (name, summary)

// kind ("envs", "algorithms", "advantages", "objectives", "aggregations", "kl", "kl_controllers") -> rows.
std::map<std::string, CatalogRows> catalog();

}  // namespace rlpp::train
