#include "rlpp/train/catalog.h"

#include "rlpp/algo/advantage.h"
#include "rlpp/algo/aggregation.h"
#include "rlpp/algo/kl.h"
#include "rlpp/algo/objective.h"
#include "rlpp/env/registry.h"
#include "rlpp/train/trainer.h"

namespace rlpp::train {

template <class Entry>
static CatalogRows rows_of(const core::Registry<Entry>& reg) {
  CatalogRows rows;
  for (const auto& n : reg.names()) rows.emplace_back(n, reg.summary(n));
  return rows;
}

std::map<std::string, CatalogRows> catalog() {
  return {
      {"envs", rows_of(env::registry())},
      {"algorithms", rows_of(algorithm_registry())},
      {"advantages", algo::list_advantages()},
      {"objectives", algo::list_objectives()},
      {"aggregations", algo::list_aggregations()},
      {"kl", algo::list_kl_estimators()},
      {"kl_controllers", algo::list_kl_controllers()},
  };
}

}  // namespace rlpp::train
