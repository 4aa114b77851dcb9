// Building the component a recipe section names: `[section] name = "…"` plus its options.
#pragma once
#include <memory>
#include <string>

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

}  // namespace rlpp::algo
