// How components (environments' tasks and graders, advantage estimators, policy objectives, KL
// controllers, selectors, samplers, entropy controls, ...) are registered, built from a recipe
// section and described for `rlpp list`.
//
// A component kind has an abstract base (e.g. PolicyObjective). Its registry maps a name to a
// Factory: a function that binds the component's typed options struct with a Binder and
// returns the component. The same factory serves three purposes:
//   * reading: the binder reads (and validates) the recipe section;
//   * describing: the binder only collects the option rows (key, type, default, help);
//   * defaults: an empty recipe gives the paper defaults.
//
// Adding a component = one options struct with `bind`, one function or class, one `add` line in the
// kind's registry function.
#pragma once
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "rlpp/core/config.h"
#include "rlpp/core/registry.h"

namespace rlpp::core {

template <class Base>
using Factory = std::function<std::unique_ptr<Base>(Binder&)>;

// Factory for a component class `Impl : Base` constructed from its options struct.
template <class Base, class Impl, class Options>
Factory<Base> factory_of() {
  return [](Binder& b) -> std::unique_ptr<Base> {
    Options opts;
    opts.bind(b);
    if (b.mode() == Binder::Mode::kDescribe) return nullptr;  // describing builds nothing (no files read)
    return std::make_unique<Impl>(opts);
  };
}

// Builds component `name` from section `section` of `recipe`. Keys in `shared_keys` (the key that
// picks the component, by default `id`) are accepted without being options; any other unknown key
// is a UserError naming the key, the file and the line. `section` is "name" ([name]) or "name[i]"
// (the i-th [[name]] table). With `resolved`, resolved[section] gets
// `name` and every option of the component with its value (given or default).
template <class Base>
std::unique_ptr<Base> build_component(const Registry<Factory<Base>>& registry, const std::string& name,
                                      const Recipe& recipe, const std::string& section,
                                      const std::vector<std::string>& shared_keys = {"id"},
                                      toml::table* resolved = nullptr) {
  const Factory<Base>& make = registry.get(name);
  Binder b = Binder::reader(recipe, section, resolved);
  for (const auto& k : shared_keys) b.passthrough(k);
  std::unique_ptr<Base> out = make(b);
  b.finish();
  recipe.mark_used(section);
  if (resolved) {
    resolved->at_path(section).as_table()->insert_or_assign("name", name);
  }
  return out;
}

// Component `name` with its paper defaults.
template <class Base>
std::unique_ptr<Base> build_default(const Registry<Factory<Base>>& registry, const std::string& name) {
  const Recipe empty;
  Binder b = Binder::reader(empty, name);
  return registry.get(name)(b);
}

// The options of component `name` (key, type, default, help), for listings and docs.
template <class Base>
std::vector<OptionInfo> describe_component(const Registry<Factory<Base>>& registry,
                                                 const std::string& name) {
  Binder b = Binder::describer(name);
  registry.get(name)(b);
  return b.infos();
}

// (name, summary) rows of any registry, in name order.
template <class Entry>
std::vector<std::pair<std::string, std::string>> listing(const Registry<Entry>& registry) {
  std::vector<std::pair<std::string, std::string>> rows;
  for (const auto& n : registry.names()) rows.emplace_back(n, registry.summary(n));
  return rows;
}

}  // namespace rlpp::core
