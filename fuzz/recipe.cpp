// Fuzz entry: TOML recipes (core::Recipe, core::Binder).
#include <cmath>
#include <string>
#include <vector>

#include "fuzz/fuzz_targets.h"
#include "rlpp/core/config.h"
#include "rlpp/core/error.h"

namespace rlpp::fuzz {

namespace {

// One option of every kind the Binder reads, with the bounds components use.
struct AllKinds {
  double lr = 3e-4;
  float coef = 0.5f;
  int64_t steps = 1000;
  int layers = 2;
  bool flag = false;
  std::string name = "run";
  std::string mode = "clip";
  std::vector<int64_t> sizes{64, 64};
  std::vector<std::string> tags;
  std::vector<std::string> parts{"a"};

  void bind(core::Binder& b) {
    b.num("lr", lr, "learning rate", core::Bounds::positive());
    b.num("coef", coef, "coefficient", core::Bounds::unit());
    b.integer("steps", steps, "steps", core::Bounds::at_least(1));
    b.integer("layers", layers, "layers");
    b.flag("flag", flag, "a switch");
    b.text("name", name, "a name");
    b.choice("mode", mode, {"clip", "kl", "none"}, "a choice");
    b.integers("sizes", sizes, "layer sizes", core::Bounds::positive());
    b.texts("tags", tags, "free strings");
    b.texts("parts", parts, "strings from a set", {"a", "b", "c"});
    b.passthrough("id");
  }

  bool operator==(const AllKinds& o) const {
    return lr == o.lr && coef == o.coef && steps == o.steps && layers == o.layers && flag == o.flag &&
           name == o.name && mode == o.mode && sizes == o.sizes && tags == o.tags && parts == o.parts;
  }
};

// What a run does with options it read: writes them into the resolved recipe (recipe.toml of the run
// directory), which later commands read back. Those values must come back unchanged.
void check_resolved_round_trip(const AllKinds& read) {
  toml::table out;
  core::write_options(read, &out, "s");
  const std::string text = core::to_toml_text(out);
  AllKinds back;
  try {
    back = core::read_options<AllKinds>(core::Recipe::parse(text, "resolved.toml"), "s");
  } catch (const core::UserError& e) {
    throw PropertyViolation(std::string("the resolved recipe does not read back: ") + e.what() + "\n" + text);
  }
  if (!(back == read)) throw PropertyViolation("the resolved recipe reads back different values:\n" + text);
}

}  // namespace

void recipe(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  core::Recipe r;
  try {
    r = core::Recipe::parse(text, "fuzz.toml");
  } catch (const core::UserError&) {
    return;
  }
  std::vector<std::string> sections;
  for (const auto& [k, v] : r.table()) sections.emplace_back(k.str());
  for (const std::string& s : sections) {
    try {
      (void)r.get_string(s, "id", "");
    } catch (const core::UserError&) {
    }
    (void)r.origin(s);
    try {
      check_resolved_round_trip(core::read_options<AllKinds>(r, s));
    } catch (const core::UserError&) {
    }
  }
  try {
    r.check_all_used();
  } catch (const core::UserError&) {
  }
}

}  // namespace rlpp::fuzz
