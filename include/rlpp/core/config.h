// Recipes (TOML) and typed option structs.
//
// A recipe is a TOML document whose top-level tables are sections ([run], [env], [ppo], ...).
// Each component owns a typed options struct with paper defaults and a `bind` member that names
// its keys:
//
//   struct PpoOptions {
//     double lr = 2.5e-4;
//     void bind(core::Binder& b) { b.num("lr", lr, "Adam learning rate", core::Bounds::positive()); }
//   };
//
// The same `bind` reads a section (validating type and range, refusing unknown keys with the
// closest valid one), writes the resolved values back, and describes the options for `rlpp list`.
// Every error names the key, the file and the line, and is a UserError (exit code 2).
#pragma once
#include <cstdint>
#include <limits>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <toml++/toml.h>

namespace rlpp::core {

// Closed or open numeric range a value must lie in.
struct Bounds {
  double lo = -std::numeric_limits<double>::infinity();
  double hi = std::numeric_limits<double>::infinity();
  bool lo_open = false;
  bool hi_open = false;

  static Bounds any() { return {}; }
  // Half-bounded ranges exclude infinity: a learning rate or a step count of `inf` is a typo.
  static Bounds positive() { return {0.0, std::numeric_limits<double>::infinity(), true, true}; }
  static Bounds non_negative() { return {0.0, std::numeric_limits<double>::infinity(), false, true}; }
  static Bounds unit() { return {0.0, 1.0, false, false}; }  // [0, 1]
  static Bounds closed(double lo, double hi) { return {lo, hi, false, false}; }
  static Bounds at_least(double lo) { return {lo, std::numeric_limits<double>::infinity(), false, true}; }

  bool contains(double v) const;
  std::string describe() const;  // e.g. "(0, inf)" or "[0, 1]"
};

// One documented option, as `rlpp list` and docs show it.
struct OptionInfo {
  std::string key;
  std::string type;       // "float", "int", "bool", "string", "int list"
  std::string default_value;
  std::string help;
};

// A TOML recipe plus the origin of every value (file and line, or the --set that wrote it).
class Recipe {
 public:
  Recipe();
  ~Recipe();
  Recipe(Recipe&&) noexcept;
  Recipe& operator=(Recipe&&) noexcept;

  // Reads and parses a file; a missing file or a TOML syntax error is a UserError with file:line.
  static Recipe load(const std::string& path);
  // Parses text; `source_name` is used in error messages.
  static Recipe parse(const std::string& text, const std::string& source_name);

  // Applies one "a.b=value" override. The value is parsed as a TOML value when it is one
  // (numbers, booleans, arrays, quoted strings), else taken as a bare string.
  void set(const std::string& assignment);

  // Whether a section (top-level table) exists.
  bool has_section(const std::string& section) const;
  // Reads the string key `section.key` if present (used to pick a component before binding).
  std::string get_string(const std::string& section, const std::string& key, const std::string& fallback) const;

  // Marks a section as understood by some component; check_all_used() refuses the others.
  void mark_used(const std::string& section) const;
  void check_all_used() const;

  // Where a dotted key came from: "file.toml:12", "--set a.b=1" or the file name.
  std::string origin(const std::string& dotted_key) const;
  const std::string& source() const { return source_; }

  toml::table& table();
  const toml::table& table() const;
  std::string to_toml() const;

 private:
  std::unique_ptr<toml::table> table_;
  std::string source_;
  std::map<std::string, std::string> set_origins_;
  mutable std::set<std::string> used_;
};

// Binds one recipe section to a typed options struct (see the top of this file).
class Binder {
 public:
  enum class Mode { kRead, kWrite, kDescribe };

  // Reading: values come from `recipe`'s section; missing keys keep the struct's defaults. With
  // `resolved`, every option's final value (given or default) is also written to
  // resolved[section], for the fully resolved recipe of a run.
  static Binder reader(const Recipe& recipe, const std::string& section, toml::table* resolved = nullptr);
  // Writing: values are stored into `out` (a fresh table for the section).
  static Binder writer(toml::table* out, const std::string& section);
  // Describing: only collects OptionInfo rows.
  static Binder describer(const std::string& section);

  Mode mode() const { return mode_; }

  void num(const std::string& key, double& v, const std::string& help, Bounds b = Bounds::any());
  void num(const std::string& key, float& v, const std::string& help, Bounds b = Bounds::any());
  void integer(const std::string& key, int64_t& v, const std::string& help, Bounds b = Bounds::any());
  void integer(const std::string& key, int& v, const std::string& help, Bounds b = Bounds::any());
  void flag(const std::string& key, bool& v, const std::string& help);
  void text(const std::string& key, std::string& v, const std::string& help);
  // A string restricted to `choices`.
  void choice(const std::string& key, std::string& v, const std::vector<std::string>& choices,
              const std::string& help);
  void integers(const std::string& key, std::vector<int64_t>& v, const std::string& help,
                Bounds element_bounds = Bounds::any());
  // A list of strings, each one of `choices` (any string when `choices` is empty).
  void texts(const std::string& key, std::vector<std::string>& v, const std::string& help,
             const std::vector<std::string>& choices = {});
  // Accepts (and ignores) a key owned by someone else in the same section (e.g. `id`).
  void passthrough(const std::string& key);

  // After all fields: refuse keys the struct did not name (read mode).
  void finish();

  const std::vector<OptionInfo>& infos() const { return infos_; }

 private:
  Binder(Mode mode, const Recipe* recipe, toml::table* out, std::string section);
  const toml::node* lookup(const std::string& key);
  std::string where(const std::string& key) const;
  [[noreturn]] void fail(const std::string& key, const std::string& message) const;
  void check_bounds(const std::string& key, double v, const Bounds& b) const;
  void describe(const std::string& key, const std::string& type, const std::string& def,
                const std::string& help);

  template <class T>
  class Recorder;

  Mode mode_;
  const Recipe* recipe_ = nullptr;
  toml::table* out_ = nullptr;
  std::string section_;
  std::vector<std::string> known_;
  std::vector<OptionInfo> infos_;
};

// TOML text of a table, floats written with the shortest round-trip precision (0.95, not
// 0.94999999999999996).
std::string to_toml_text(const toml::table& table);

// Reads `section` of `recipe` into a default-constructed T (validates, refuses unknown keys); with
// `resolved`, also writes every option's value there (the run's resolved recipe).
template <class T>
T read_options(const Recipe& recipe, const std::string& section, toml::table* resolved = nullptr) {
  T opts;
  Binder b = Binder::reader(recipe, section, resolved);
  opts.bind(b);
  b.finish();
  recipe.mark_used(section);
  return opts;
}

// Writes `opts` into section `section` of `out` (the resolved recipe).
template <class T>
void write_options(T opts, toml::table* out, const std::string& section) {
  Binder b = Binder::writer(out, section);
  opts.bind(b);
}

// Describes T's options (key, type, default, help) for listings and docs.
template <class T>
std::vector<OptionInfo> describe_options(const std::string& section) {
  T opts;
  Binder b = Binder::describer(section);
  opts.bind(b);
  return b.infos();
}

}  // namespace rlpp::core
