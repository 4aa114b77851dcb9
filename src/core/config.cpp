#include "rlpp/core/config.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <exception>
#include <type_traits>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "rlpp/core/error.h"
#include "rlpp/core/strings.h"

namespace rlpp::core {

// ---- Bounds --------------------------------------------------------------------------------

bool Bounds::contains(double v) const {
  if (std::isnan(v)) return false;
  if (lo_open ? !(v > lo) : !(v >= lo)) return false;
  if (hi_open ? !(v < hi) : !(v <= hi)) return false;
  return true;
}

static std::string fmt_num(double v) {
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  std::ostringstream s;
  s << v;
  return s.str();
}

std::string Bounds::describe() const {
  return std::string(lo_open ? "(" : "[") + fmt_num(lo) + ", " + fmt_num(hi) + (hi_open ? ")" : "]");
}

// ---- Recipe --------------------------------------------------------------------------------

Recipe::Recipe() : table_(std::make_unique<toml::table>()) {}
Recipe::~Recipe() = default;
Recipe::Recipe(Recipe&&) noexcept = default;
Recipe& Recipe::operator=(Recipe&&) noexcept = default;

// The table at a section path: "name" ([name]) or "name[i]" (the i-th [[name]] table), created in
// `root` when `create` (an array of tables grows by one table, i = its size; a larger i is refused
// with nullptr, so that a typed index cannot allocate without bound).
static toml::table* section_table(toml::table& root, const std::string& path, bool create) {
  const size_t br = path.find('[');
  if (br == std::string::npos) {
    if (create && !root.contains(path)) root.insert(path, toml::table{});
    return root[path].as_table();
  }
  const std::string name = path.substr(0, br);
  const size_t idx = std::stoul(path.substr(br + 1));
  if (create && !root.contains(name)) root.insert(name, toml::array{});
  toml::array* arr = root[name].as_array();
  if (!arr) return nullptr;
  if (create && idx == arr->size()) arr->push_back(toml::table{});
  return idx < arr->size() ? (*arr)[idx].as_table() : nullptr;
}

static const toml::table* section_table(const toml::table& root, const std::string& path) {
  return root.at_path(path).as_table();
}

Recipe Recipe::parse(const std::string& text, const std::string& source_name) {
  Recipe r;
  r.source_ = source_name;
  try {
    *r.table_ = toml::parse(text, source_name);
  } catch (const toml::parse_error& e) {
    throw UserError(source_name + ":" + std::to_string(e.source().begin.line) + ": " +
                    std::string(e.description()));
  }
  for (auto& [k, v] : *r.table_) {
    if (!v.is_table() && !v.is_array_of_tables()) {  // [section] or [[section]]
      throw UserError(source_name + ":" + std::to_string(v.source().begin.line) + ": '" +
                      std::string(k.str()) + "' must be a section ([" + std::string(k.str()) +
                      "]), not a top-level value");
    }
  }
  return r;
}

Recipe Recipe::load(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::file_status st = fs::status(path, ec);
  if (!fs::exists(st)) throw UserError("cannot open recipe '" + path + "': no such file");
  if (fs::is_directory(st)) throw UserError("recipe '" + path + "' is a directory, not a TOML file");
  // A FIFO or a device would block or never end: only regular files are recipes.
  if (!fs::is_regular_file(st)) throw UserError("recipe '" + path + "' is not a regular file");
  constexpr uintmax_t kMaxRecipeBytes = 16u << 20;
  if (fs::file_size(path, ec) > kMaxRecipeBytes) throw UserError("recipe '" + path + "' is larger than 16 MiB");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw UserError("cannot open recipe '" + path + "': not readable");
  std::stringstream ss;
  ss << in.rdbuf();
  Recipe r = parse(ss.str(), path);
  if (r.table().empty()) {
    throw UserError("recipe '" + path + "' is empty: it names no section (see configs/ for examples, e.g. "
                    "[run] algorithm = \"ppo\")");
  }
  return r;
}

void Recipe::set(const std::string& assignment) {
  const auto eq = assignment.find('=');
  if (eq == std::string::npos || eq == 0) {
    throw UserError("--set " + assignment + ": expected key=value (for example ppo.lr=3e-4)");
  }
  const std::string key = assignment.substr(0, eq);
  const std::string value = assignment.substr(eq + 1);
  const auto parts = split(key, '.');
  if (parts.size() != 2 || parts[0].empty() || parts[1].empty()) {
    throw UserError("--set " + assignment + ": key must be section.name (for example ppo.lr)");
  }
  toml::table parsed;
  bool as_toml = true;
  try {
    parsed = toml::parse("v = " + value);
  } catch (const toml::parse_error&) {
    as_toml = false;
  }
  // "section.key" or "list[i].key" (the i-th [[list]] table, created as needed)
  toml::table* section = nullptr;
  try {
    section = section_table(*table_, parts[0], true);
  } catch (const std::exception&) {  // a malformed index
  }
  if (!section) throw UserError("--set " + assignment + ": '" + parts[0] + "' is not a section");
  if (as_toml) {
    section->insert_or_assign(parts[1], *parsed.get("v"));
  } else {
    section->insert_or_assign(parts[1], value);
  }
  set_origins_[key] = "--set " + assignment;
}

bool Recipe::has_section(const std::string& section) const { return static_cast<bool>(table_->at_path(section)); }

std::string Recipe::get_string(const std::string& section, const std::string& key,
                               const std::string& fallback) const {
  const toml::node* n = table_->at_path(section + "." + key).node();
  if (!n) return fallback;
  if (!n->is_string()) {
    throw UserError(origin(section + "." + key) + ": " + section + "." + key + " must be a string");
  }
  return n->value<std::string>().value();
}

void Recipe::mark_used(const std::string& section) const { used_.insert(section.substr(0, section.find('['))); }

void Recipe::check_all_used() const {
  std::vector<std::string> used(used_.begin(), used_.end());
  for (const auto& [k, v] : *table_) {
    const std::string name(k.str());
    if (!used_.count(name)) {
      throw UserError(origin(name) + ": unknown section [" + name + "]" + did_you_mean(name, used) +
                      "; sections used by this recipe: " + join(used, ", "));
    }
  }
}

std::string Recipe::origin(const std::string& dotted_key) const {
  auto it = set_origins_.find(dotted_key);
  if (it != set_origins_.end()) return it->second;
  const toml::node* n = table_->at_path(dotted_key).node();
  if (n && n->source().begin.line > 0) return source_ + ":" + std::to_string(n->source().begin.line);
  // A section that only --set created: name the first assignment that made it.
  it = set_origins_.lower_bound(dotted_key + ".");
  if (it != set_origins_.end() && it->first.rfind(dotted_key + ".", 0) == 0) return it->second;
  return source_;
}

toml::table& Recipe::table() { return *table_; }
const toml::table& Recipe::table() const { return *table_; }

std::string Recipe::to_toml() const { return to_toml_text(*table_); }

// Shortest text that reads back to exactly the same double (std::to_chars), in TOML syntax.
static std::string toml_float(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  char buf[64];
  const auto res = std::to_chars(buf, buf + sizeof(buf), v);
  std::string out(buf, res.ptr);
  if (out.find_first_of(".eE") == std::string::npos) out += ".0";
  return out;
}

static std::string toml_value(const toml::node& n) {
  if (auto d = n.value_exact<double>()) return toml_float(*d);
  if (const toml::array* arr = n.as_array()) {
    std::vector<std::string> parts;
    for (const auto& e : *arr) parts.push_back(toml_value(e));
    return "[" + join(parts, ", ") + "]";
  }
  std::ostringstream s;  // strings (escaped), integers, booleans, dates: toml++'s own text
  n.visit([&](const auto& x) { s << toml::toml_formatter(x); });
  return s.str();
}

// Keys first, then [sections] and [[arrays of tables]] (flat elements), each with its keys.
static void emit_table(const toml::table& t, const std::string& prefix, std::ostringstream& out) {
  for (const auto& [k, v] : t) {
    if (!v.is_table() && !v.is_array_of_tables()) out << k.str() << " = " << toml_value(v) << "\n";
  }
  for (const auto& [k, v] : t) {
    const std::string name = prefix.empty() ? std::string(k.str()) : prefix + "." + std::string(k.str());
    if (v.is_table()) {
      out << "\n[" << name << "]\n";
      emit_table(*v.as_table(), name, out);
    } else if (v.is_array_of_tables()) {
      for (const auto& e : *v.as_array()) {
        out << "\n[[" << name << "]]\n";
        emit_table(*e.as_table(), name, out);
      }
    }
  }
}

std::string to_toml_text(const toml::table& table) {
  std::ostringstream out;
  emit_table(table, "", out);
  std::string s = out.str();
  if (!s.empty() && s[0] == '\n') s.erase(0, 1);
  return s;
}

// ---- Binder --------------------------------------------------------------------------------

Binder::Binder(Mode mode, const Recipe* recipe, toml::table* out, std::string section)
    : mode_(mode), recipe_(recipe), out_(out), section_(std::move(section)) {}

Binder Binder::reader(const Recipe& recipe, const std::string& section, toml::table* resolved) {
  if (recipe.has_section(section) && !section_table(recipe.table(), section)) {
    throw UserError(recipe.origin(section) + ": '" + section + "' must be a section");
  }
  if (resolved) section_table(*resolved, section, true);
  return Binder(Mode::kRead, &recipe, resolved, section);
}

Binder Binder::writer(toml::table* out, const std::string& section) {
  section_table(*out, section, true);
  return Binder(Mode::kWrite, nullptr, out, section);
}

Binder Binder::describer(const std::string& section) { return Binder(Mode::kDescribe, nullptr, nullptr, section); }

const toml::node* Binder::lookup(const std::string& key) {
  known_.push_back(key);
  if (mode_ != Mode::kRead) return nullptr;
  const toml::table* sec = section_table(recipe_->table(), section_);
  if (!sec) return nullptr;
  return sec->get(key);
}

std::string Binder::where(const std::string& key) const { return recipe_->origin(section_ + "." + key); }

void Binder::fail(const std::string& key, const std::string& message) const {
  throw UserError(where(key) + ": " + section_ + "." + key + " " + message);
}

void Binder::check_bounds(const std::string& key, double v, const Bounds& b) const {
  if (!b.contains(v)) fail(key, "= " + fmt_num(v) + " is out of range " + b.describe());
}

void Binder::describe(const std::string& key, const std::string& type, const std::string& def,
                      const std::string& help) {
  if (mode_ == Mode::kDescribe) infos_.push_back({key, type, def, help});
}

static std::string type_name(const toml::node& n) {
  std::ostringstream s;
  s << n.type();
  return s.str();
}

template <class T>
static void store(toml::table* out, const std::string& section, const std::string& key, T value) {
  section_table(*out, section, true)->insert_or_assign(key, value);
}

// Read mode with a resolved-output table: when the reading function returns normally, the value
// the option ends with (the recipe's, or the default) is written to that table.
template <class T>
class Binder::Recorder {
 public:
  Recorder(Binder* b, const std::string& key, const T& v) : b_(b), key_(key), v_(v) {}
  ~Recorder() noexcept(false) {
    if (b_->mode_ != Mode::kRead || !b_->out_ || std::uncaught_exceptions() > 0) return;
    if constexpr (std::is_same_v<T, std::vector<int64_t>> || std::is_same_v<T, std::vector<std::string>>) {
      toml::array arr;
      for (const auto& x : v_) arr.push_back(x);
      store(b_->out_, b_->section_, key_, arr);
    } else {
      store(b_->out_, b_->section_, key_, v_);
    }
  }

 private:
  Binder* b_;
  const std::string& key_;
  const T& v_;
};

void Binder::num(const std::string& key, double& v, const std::string& help, Bounds b) {
  const toml::node* n = lookup(key);
  if (mode_ == Mode::kWrite) return store(out_, section_, key, v);
  const Recorder<double> rec(this, key, v);
  describe(key, "float", fmt_num(v), help);
  if (!n) return;
  if (auto d = n->value_exact<double>()) {
    v = *d;
  } else if (auto i = n->value_exact<int64_t>()) {
    v = static_cast<double>(*i);
  } else {
    fail(key, "expects a number, got " + type_name(*n));
  }
  check_bounds(key, v, b);
}

void Binder::num(const std::string& key, float& v, const std::string& help, Bounds b) {
  double d = v;
  num(key, d, help, b);
  if (mode_ == Mode::kRead) v = static_cast<float>(d);
}

void Binder::integer(const std::string& key, int64_t& v, const std::string& help, Bounds b) {
  const toml::node* n = lookup(key);
  if (mode_ == Mode::kWrite) return store(out_, section_, key, v);
  const Recorder<int64_t> rec(this, key, v);
  describe(key, "int", std::to_string(v), help);
  if (!n) return;
  auto i = n->value_exact<int64_t>();
  if (!i) fail(key, "expects an integer, got " + type_name(*n));
  v = *i;
  check_bounds(key, static_cast<double>(v), b);
}

void Binder::integer(const std::string& key, int& v, const std::string& help, Bounds b) {
  int64_t w = v;
  if (b.hi > 2147483647.0) b = {b.lo, 2147483647.0, b.lo_open, false};
  if (b.lo < -2147483648.0) b = {-2147483648.0, b.hi, false, b.hi_open};
  integer(key, w, help, b);
  if (mode_ == Mode::kRead) v = static_cast<int>(w);
}

void Binder::flag(const std::string& key, bool& v, const std::string& help) {
  const toml::node* n = lookup(key);
  if (mode_ == Mode::kWrite) return store(out_, section_, key, v);
  const Recorder<bool> rec(this, key, v);
  describe(key, "bool", v ? "true" : "false", help);
  if (!n) return;
  auto x = n->value_exact<bool>();
  if (!x) fail(key, "expects true or false");
  v = *x;
}

void Binder::text(const std::string& key, std::string& v, const std::string& help) {
  const toml::node* n = lookup(key);
  if (mode_ == Mode::kWrite) return store(out_, section_, key, v);
  const Recorder<std::string> rec(this, key, v);
  describe(key, "string", "\"" + v + "\"", help);
  if (!n) return;
  auto x = n->value_exact<std::string>();
  if (!x) fail(key, "expects a string");
  v = *x;
}

void Binder::choice(const std::string& key, std::string& v, const std::vector<std::string>& choices,
                    const std::string& help) {
  text(key, v, help + " (one of: " + join(choices, ", ") + ")");
  if (mode_ != Mode::kRead) return;
  for (const auto& c : choices) {
    if (c == v) return;
  }
  fail(key, "= '" + v + "' is not one of: " + join(choices, ", ") + did_you_mean(v, choices));
}

void Binder::integers(const std::string& key, std::vector<int64_t>& v, const std::string& help,
                      Bounds element_bounds) {
  const toml::node* n = lookup(key);
  if (mode_ == Mode::kWrite) {
    toml::array arr;
    for (auto x : v) arr.push_back(x);
    return store(out_, section_, key, arr);
  }
  const Recorder<std::vector<int64_t>> rec(this, key, v);
  std::vector<std::string> parts;
  for (auto x : v) parts.push_back(std::to_string(x));
  describe(key, "int list", "[" + join(parts, ", ") + "]", help);
  if (!n) return;
  const toml::array* arr = n->as_array();
  if (!arr) fail(key, "expects an array of integers, e.g. [64, 64]");
  std::vector<int64_t> out;
  for (const auto& e : *arr) {
    auto i = e.value_exact<int64_t>();
    if (!i) fail(key, "expects an array of integers, e.g. [64, 64]");
    check_bounds(key, static_cast<double>(*i), element_bounds);
    out.push_back(*i);
  }
  v = std::move(out);
}

void Binder::texts(const std::string& key, std::vector<std::string>& v, const std::string& help,
                   const std::vector<std::string>& choices) {
  const toml::node* n = lookup(key);
  if (mode_ == Mode::kWrite) {
    toml::array arr;
    for (const auto& x : v) arr.push_back(x);
    return store(out_, section_, key, arr);
  }
  const Recorder<std::vector<std::string>> rec(this, key, v);
  const std::string example = choices.empty() ? "[\"a\", \"b\"]" : "[\"" + choices.front() + "\"]";
  describe(key, "string list", v.empty() ? "[]" : "[\"" + join(v, "\", \"") + "\"]",
           choices.empty() ? help : help + " (each one of: " + join(choices, ", ") + ")");
  if (!n) return;
  const toml::array* arr = n->as_array();
  if (!arr) fail(key, "expects an array of strings, e.g. " + example);
  std::vector<std::string> out;
  for (const auto& e : *arr) {
    auto s = e.value_exact<std::string>();
    if (!s) fail(key, "expects an array of strings, e.g. " + example);
    if (!choices.empty() && std::find(choices.begin(), choices.end(), *s) == choices.end()) {
      fail(key, "contains '" + *s + "', which is not one of: " + join(choices, ", ") + did_you_mean(*s, choices));
    }
    out.push_back(*s);
  }
  v = std::move(out);
}

void Binder::passthrough(const std::string& key) { known_.push_back(key); }

void Binder::finish() {
  if (mode_ != Mode::kRead) return;
  const toml::table* sec = section_table(recipe_->table(), section_);
  if (!sec) return;
  for (const auto& [k, v] : *sec) {
    const std::string key(k.str());
    bool ok = false;
    for (const auto& kk : known_) ok = ok || kk == key;
    if (!ok) {
      std::vector<std::string> dotted;
      for (const auto& kk : known_) dotted.push_back(section_ + "." + kk);
      throw UserError(where(key) + ": unknown key '" + section_ + "." + key + "'" +
                      did_you_mean(section_ + "." + key, dotted));
    }
  }
}

}  // namespace rlpp::core
