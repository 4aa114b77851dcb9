#include "rlpp/search/trainers/trainers.h"

namespace rlpp::search {

void register_trainers() {
  auto& reg = train::algorithm_registry();
  if (reg.contains("mcts_dpo")) return;
  reg.add("mcts_dpo", make_mcts_dpo_trainer,
          "MCTS-DPO rounds: MCTS, sibling step pairs, step-level DPO or IPO, reference refresh (arXiv 2405.00451; differs: no depth discount of C, no adaptive label smoothing, a character-level self-evaluation query; docs/search.md)");
  reg.add("mcts_value", make_mcts_value_trainer,
          "AlphaMath rounds: MCTS Q targets train a value head on the shared transformer (+ SFT on verified solutions)");
  reg.add("search_pg", make_search_pg_trainer,
          "policy gradient on searched solutions through the advantage / objective / aggregation registries");
}

}  // namespace rlpp::search
