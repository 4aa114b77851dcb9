#include "rlpp/train/catalog.h"

#include <sstream>

#include "rlpp/algo/advantage.h"
#include "rlpp/algo/allocation.h"
#include "rlpp/algo/aggregation.h"
#include "rlpp/algo/kl.h"
#include "rlpp/algo/objective.h"
#include "rlpp/algo/selector.h"
#include "rlpp/env/registry.h"
#include "rlpp/env/text/grader.h"
#include "rlpp/env/text/task.h"
#include "rlpp/sample/sampler.h"
#include "rlpp/train/lm/entropy_control.h"
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
      {"tasks", rows_of(env::text::task_registry())},
      {"graders", rows_of(env::text::grader_registry())},
      {"algorithms", rows_of(algorithm_registry())},
      {"advantages", algo::list_advantages()},
      {"objectives", algo::list_objectives()},
      {"aggregations", algo::list_aggregations()},
      {"kl", algo::list_kl_estimators()},
      {"kl_controllers", algo::list_kl_controllers()},
      {"entropy_controls", rows_of(lm::entropy_control_registry())},
      {"selectors", algo::list_selectors()},
      {"allocations", algo::list_allocations()},
      {"samplers", sample::list_samplers()},
  };
}

namespace {

// A markdown table cell: '|' would end the cell.
std::string cell(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == '|') out += '\\';
    out += c;
  }
  return out;
}

// One kind's table of names, then an options table for each component that has options.
template <class Base>
void markdown_kind(std::ostringstream& md, const std::string& title, const std::string& kind,
                   const core::Registry<core::Factory<Base>>& reg) {
  md << "### " << title << " (`rlpp list " << kind << "`)\n\n| name | summary |\n| --- | --- |\n";
  for (const auto& n : reg.names()) md << "| `" << n << "` | " << cell(reg.summary(n)) << " |\n";
  md << "\n";
  for (const auto& n : reg.names()) {
    const auto opts = core::describe_component(reg, n);
    if (opts.empty()) continue;
    md << "`" << n << "` options:\n\n| key | type | default | meaning |\n| --- | --- | --- | --- |\n";
    for (const auto& o : opts) {
      md << "| `" << o.key << "` | " << o.type << " | `" << o.default_value << "` | " << cell(o.help) << " |\n";
    }
    md << "\n";
  }
}

void markdown_names(std::ostringstream& md, const std::string& title, const std::string& kind, const CatalogRows& rows) {
  md << "### " << title << " (`rlpp list " << kind << "`)\n\n| name | summary |\n| --- | --- |\n";
  for (const auto& [n, summary] : rows) md << "| `" << n << "` | " << cell(summary) << " |\n";
  md << "\n";
}

}  // namespace

std::string catalog_markdown() {
  std::ostringstream md;
  markdown_names(md, "Environments", "envs", rows_of(env::registry()));
  markdown_kind(md, "Tasks", "tasks", env::text::task_registry());
  markdown_kind(md, "Graders", "graders", env::text::grader_registry());
  markdown_names(md, "Algorithms (trainers)", "algorithms", rows_of(algorithm_registry()));
  markdown_kind(md, "Advantage estimators", "advantages", algo::advantage_registry());
  markdown_kind(md, "Policy objectives", "objectives", algo::objective_registry());
  markdown_names(md, "Aggregations", "aggregations", algo::list_aggregations());
  markdown_names(md, "KL estimators", "kl", algo::list_kl_estimators());
  markdown_kind(md, "KL coefficient controllers", "kl_controllers", algo::kl_controller_registry());
  markdown_kind(md, "Entropy controls", "entropy_controls", lm::entropy_control_registry());
  markdown_kind(md, "Selectors and off-policy correction", "selectors", algo::selector_registry());
  markdown_kind(md, "Rollout allocations", "allocations", algo::allocation_registry());
  markdown_kind(md, "Samplers", "samplers", sample::sampler_registry());
  return md.str();
}

}  // namespace rlpp::train
