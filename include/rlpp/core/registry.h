// Name -> factory registries. Every component kind (environments, algorithms, objectives, ...)
// has one. A registry refuses a duplicate name and, on an unknown name, lists the valid ones.
#pragma once
#include <map>
#include <string>
#include <vector>

#include "rlpp/core/error.h"
#include "rlpp/core/strings.h"

namespace rlpp::core {

template <class Entry>
class Registry {
 public:
  explicit Registry(std::string kind) : kind_(std::move(kind)) {}

  // Adds `entry` under `name`; a second registration of the same name is a programming error.
  void add(const std::string& name, Entry entry, std::string summary = "") {
    if (entries_.count(name)) throw std::logic_error(kind_ + " '" + name + "' registered twice");
    entries_.emplace(name, Item{std::move(entry), std::move(summary)});
  }

  bool contains(const std::string& name) const { return entries_.count(name) > 0; }

  // The entry for `name`; UserError naming the valid choices otherwise.
  const Entry& get(const std::string& name) const {
    auto it = entries_.find(name);
    if (it == entries_.end()) {
      throw UserError("unknown " + kind_ + " '" + name + "'" + did_you_mean(name, names()) +
                      "; valid: " + join(names(), ", "));
    }
    return it->second.entry;
  }

  std::vector<std::string> names() const {
    std::vector<std::string> out;
    for (const auto& [k, v] : entries_) out.push_back(k);
    return out;
  }
  const std::string& summary(const std::string& name) const { return entries_.at(name).summary; }
  const std::string& kind() const { return kind_; }

 private:
  struct Item {
    Entry entry;
    std::string summary;
  };
  std::string kind_;
  std::map<std::string, Item> entries_;
};

}  // namespace rlpp::core
