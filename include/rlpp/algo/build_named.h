// Building the component a recipe section names: `[section] name = "…"` plus its options.
#pragma once
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "rlpp/algo/component.h"

namespace rlpp::algo {

// The component a recipe section picks by its `name` key (`default_name` when the key is absent),
// built from the section's other keys. An unknown name is a UserError naming `section.name` and
// where it was set, and listing the valid names.
template <class Base>
std::unique_ptr<Base> build_named(const core::Registry<Factory<Base>>& registry, const core::Recipe& recipe,
                                  const std::string& section, const std::string& default_name,
                                  toml::table* resolved = nullptr) {
  const std::string name = recipe.get_string(section, "name", default_name);
  if (!registry.contains(name)) {
    try {
      registry.get(name);
    } catch (const core::UserError& e) {
      throw core::UserError(recipe.origin(section + ".name") + ": " + section + ".name: " + e.what());
    }
  }
  return build_component(registry, name, recipe, section, {"name"}, resolved);
}

// The components of an array of tables `[[section]]`, in order, each picked by its required `name`
// key: (name, component) pairs; none when the recipe has no such array. resolved[section] becomes
// the same array with every option of each.
template <class Base>
std::vector<std::pair<std::string, std::unique_ptr<Base>>> build_list(const core::Registry<Factory<Base>>& registry,
                                                                      const core::Recipe& recipe,
                                                                      const std::string& section,
                                                                      toml::table* resolved = nullptr) {
  std::vector<std::pair<std::string, std::unique_ptr<Base>>> out;
  recipe.mark_used(section);
  if (!recipe.has_section(section)) return out;
  const toml::array* items = recipe.table()[section].as_array();
  if (!items || !items->is_array_of_tables()) {
    throw core::UserError(recipe.origin(section) + ": '" + section + "' must be an array of tables: [[" + section +
                          "]] name = \"...\" (rlpp list " + section + ")");
  }
  for (size_t i = 0; i < items->size(); ++i) {
    const std::string item = section + "[" + std::to_string(i) + "]";
    const std::string name = recipe.get_string(item, "name", "");
    if (name.empty()) {
      throw core::UserError(recipe.origin(item) + ": every [[" + section + "]] needs name = \"...\"; valid: " +
                            core::join(registry.names(), ", "));
    }
    out.emplace_back(name, build_named(registry, recipe, item, name, resolved));
  }
  return out;
}

}  // namespace rlpp::algo
