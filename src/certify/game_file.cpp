#include "rlpp/certify/game_file.h"

#include <toml++/toml.h>

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "rlpp/certify/markov_game.h"
#include "rlpp/certify/quadratic_game.h"
#include "rlpp/core/error.h"
#include "rlpp/core/fs.h"
#include "rlpp/core/strings.h"

namespace rlpp::certify {
namespace {

using json = nlohmann::json;

// TOML and JSON are read into one JSON tree so that one validator serves both.
json toml_to_json(const toml::node& node) {
  if (const auto* t = node.as_table()) {
    json o = json::object();
    for (const auto& [k, v] : *t) o[std::string(k.str())] = toml_to_json(v);
    return o;
  }
  if (const auto* a = node.as_array()) {
    json arr = json::array();
    for (const auto& v : *a) arr.push_back(toml_to_json(v));
    return arr;
  }
  if (const auto* v = node.as_integer()) return v->get();
  if (const auto* v = node.as_floating_point()) return v->get();
  if (const auto* v = node.as_boolean()) return v->get();
  if (const auto* v = node.as_string()) return v->get();
  return "<date/time>";
}

// Reads typed values out of the tree; every error names the file and the dotted key.
class Reader {
 public:
  explicit Reader(std::string source) : source_(std::move(source)) {}

  [[noreturn]] void fail(const std::string& key, const std::string& msg) const {
    throw core::UserError(source_ + ": " + key + ": " + msg);
  }

  void only_keys(const json& obj, const std::string& where, const std::vector<std::string>& allowed) const {
    for (const auto& [k, v] : obj.items()) {
      if (std::find(allowed.begin(), allowed.end(), k) == allowed.end()) {
        fail(where.empty() ? k : where + "." + k,
             "unknown key" + core::did_you_mean(k, allowed) + "; valid: " + core::join(allowed, ", "));
      }
    }
  }

  const json& need(const json& obj, const std::string& key, const std::string& where) const {
    if (!obj.contains(key)) fail(join(where, key), "missing");
    return obj.at(key);
  }

  double number(const json& v, const std::string& key) const {
    if (!v.is_number()) fail(key, "expected a number, got " + std::string(v.type_name()));
    const double d = v.get<double>();
    if (!std::isfinite(d)) fail(key, "must be finite, got " + std::to_string(d));
    return d;
  }
  double number(const json& obj, const std::string& key, const std::string& where, double fallback) const {
    return obj.contains(key) ? number(obj.at(key), join(where, key)) : fallback;
  }
  int64_t integer(const json& v, const std::string& key, int64_t lo, int64_t hi) const {
    if (!v.is_number_integer()) fail(key, "expected an integer, got " + std::string(v.type_name()));
    const int64_t i = v.get<int64_t>();
    if (i < lo || i > hi) fail(key, "must be in [" + std::to_string(lo) + ", " + std::to_string(hi) + "], got " + std::to_string(i));
    return i;
  }
  std::string text(const json& v, const std::string& key, const std::vector<std::string>& choices) const {
    if (!v.is_string()) fail(key, "expected a string");
    const std::string s = v.get<std::string>();
    if (std::find(choices.begin(), choices.end(), s) == choices.end()) {
      fail(key, "unknown value '" + s + "'" + core::did_you_mean(s, choices) + "; valid: " + core::join(choices, ", "));
    }
    return s;
  }
  std::vector<double> list(const json& v, const std::string& key, int64_t len) const {
    if (!v.is_array()) fail(key, "expected an array of numbers");
    if (len >= 0 && static_cast<int64_t>(v.size()) != len) {
      fail(key, "expected " + std::to_string(len) + " entries, got " + std::to_string(v.size()));
    }
    std::vector<double> out;
    for (size_t k = 0; k < v.size(); ++k) out.push_back(number(v[k], key + "[" + std::to_string(k) + "]"));
    return out;
  }
  Eigen::VectorXd vector(const json& v, const std::string& key, int64_t len) const {
    const std::vector<double> x = list(v, key, len);
    return Eigen::Map<const Eigen::VectorXd>(x.data(), static_cast<int64_t>(x.size()));
  }
  Eigen::MatrixXd matrix(const json& v, const std::string& key, int64_t rows, int64_t cols) const {
    if (!v.is_array() || static_cast<int64_t>(v.size()) != rows) {
      fail(key, "expected a " + std::to_string(rows) + "x" + std::to_string(cols) + " matrix (array of " +
                    std::to_string(rows) + " rows)");
    }
    // Every row's length is checked before the rows × cols matrix is allocated: a file of n short
    // rows must not cost 8n² bytes before it is refused.
    for (int64_t r = 0; r < rows; ++r) {
      if (!v[r].is_array() || static_cast<int64_t>(v[r].size()) != cols) {
        vector(v[r], key + "[" + std::to_string(r) + "]", cols);  // the error naming the row
      }
    }
    Eigen::MatrixXd m(rows, cols);
    for (int64_t r = 0; r < rows; ++r) m.row(r) = vector(v[r], key + "[" + std::to_string(r) + "]", cols).transpose();
    return m;
  }

  static std::string join(const std::string& where, const std::string& key) {
    return where.empty() ? key : where + "." + key;
  }

 private:
  std::string source_;
};

Constraint read_constraint(const Reader& rd, const json& obj, const std::string& where, int64_t dim) {
  Constraint c;
  const std::string kind = obj.contains("constraint")
                               ? rd.text(obj.at("constraint"), Reader::join(where, "constraint"), {"none", "box", "simplex"})
                               : "none";
  if (kind == "box") {
    c.kind = ConstraintKind::kBox;
    c.lo = rd.vector(rd.need(obj, "lo", where), Reader::join(where, "lo"), dim);
    c.hi = rd.vector(rd.need(obj, "hi", where), Reader::join(where, "hi"), dim);
    for (int64_t k = 0; k < dim; ++k) {
      if (!(c.lo(k) <= c.hi(k))) rd.fail(Reader::join(where, "lo"), "lo must be <= hi at entry " + std::to_string(k));
    }
  } else {
    if (obj.contains("lo") || obj.contains("hi")) rd.fail(Reader::join(where, "lo"), "lo/hi need constraint = \"box\"");
    if (kind == "simplex") c.kind = ConstraintKind::kSimplex;
  }
  return c;
}

std::unique_ptr<Game> read_quadratic(const Reader& rd, const json& doc) {
  const json& players = rd.need(doc, "players", "");
  if (!players.is_array() || players.empty()) rd.fail("players", "expected a non-empty array of tables");
  std::vector<Player> ps;
  std::vector<Eigen::MatrixXd> Q;
  std::vector<Eigen::VectorXd> b;
  for (size_t i = 0; i < players.size(); ++i) {
    const std::string where = "players[" + std::to_string(i) + "]";
    const json& p = players[i];
    if (!p.is_object()) rd.fail(where, "expected a table");
    rd.only_keys(p, where, {"name", "dim", "Q", "b", "constraint", "lo", "hi"});
    const int64_t d = rd.integer(rd.need(p, "dim", where), where + ".dim", 1, 1000000);
    Q.push_back(rd.matrix(rd.need(p, "Q", where), where + ".Q", d, d));
    b.push_back(p.contains("b") ? rd.vector(p.at("b"), where + ".b", d) : Eigen::VectorXd::Zero(d));
    const std::string name = p.contains("name") && p.at("name").is_string() ? p.at("name").get<std::string>()
                                                                              : "player" + std::to_string(i);
    ps.push_back({name, d, 0, read_constraint(rd, p, where, d)});
  }
  std::vector<int64_t> off(ps.size() + 1, 0);
  for (size_t i = 0; i < ps.size(); ++i) off[i + 1] = off[i] + ps[i].dim;
  const int64_t n = off.back();
  Eigen::MatrixXd H = Eigen::MatrixXd::Zero(n, n);
  Eigen::VectorXd bb(n);
  for (size_t i = 0; i < ps.size(); ++i) {
    H.block(off[i], off[i], ps[i].dim, ps[i].dim) = 0.5 * (Q[i] + Q[i].transpose());
    bb.segment(off[i], ps[i].dim) = b[i];
  }
  if (doc.contains("couplings")) {
    const json& cs = doc.at("couplings");
    if (!cs.is_array()) rd.fail("couplings", "expected an array of tables");
    std::set<std::pair<int64_t, int64_t>> seen;
    const int64_t N = static_cast<int64_t>(ps.size());
    for (size_t k = 0; k < cs.size(); ++k) {
      const std::string where = "couplings[" + std::to_string(k) + "]";
      if (!cs[k].is_object()) rd.fail(where, "expected a table");
      rd.only_keys(cs[k], where, {"player", "other", "A"});
      const int64_t i = rd.integer(rd.need(cs[k], "player", where), where + ".player", 0, N - 1);
      const int64_t j = rd.integer(rd.need(cs[k], "other", where), where + ".other", 0, N - 1);
      if (i == j) rd.fail(where + ".other", "must differ from player (own terms go in players[i].Q)");
      if (!seen.insert({i, j}).second) rd.fail(where, "a second coupling for the same (player, other)");
      H.block(off[i], off[j], ps[i].dim, ps[j].dim) = rd.matrix(rd.need(cs[k], "A", where), where + ".A", ps[i].dim, ps[j].dim);
    }
  }
  return std::make_unique<QuadraticGame>(std::move(ps), H, bb);
}

std::unique_ptr<Game> read_bilinear(const Reader& rd, const json& doc) {
  const json& A = rd.need(doc, "A", "");
  if (!A.is_array() || A.empty() || !A[0].is_array() || A[0].empty()) rd.fail("A", "expected a non-empty matrix");
  const Eigen::MatrixXd M = rd.matrix(A, "A", static_cast<int64_t>(A.size()), static_cast<int64_t>(A[0].size()));
  const std::vector<double> eps = doc.contains("regularization") ? rd.list(doc.at("regularization"), "regularization", 2)
                                                                  : std::vector<double>{0.0, 0.0};
  // Both players share the set: unconstrained, or each on its simplex (a regularised matrix game).
  Constraint c;
  if (doc.contains("constraint") && rd.text(doc.at("constraint"), "constraint", {"none", "simplex"}) == "simplex") {
    c.kind = ConstraintKind::kSimplex;
  }
  const Constraint c1 = c, c2 = c;
  return std::make_unique<QuadraticGame>(make_bilinear_game(M, eps[0], eps[1], c1, c2));
}

std::unique_ptr<Game> read_lq_rotation(const Reader& rd, const json& doc) {
  const int64_t d = rd.integer(rd.need(doc, "dim", ""), "dim", 1, 4096);
  const double lambda = rd.number(doc, "lambda", "", 1.0);
  const double a12 = rd.number(doc, "a12", "", 10.0), a21 = rd.number(doc, "a21", "", 0.05);
  const int64_t seed = doc.contains("seed") ? rd.integer(doc.at("seed"), "seed", 0, INT64_MAX) : 0;
  return std::make_unique<QuadraticGame>(make_lq_rotation_game(d, lambda, a12, a21, static_cast<uint64_t>(seed)));
}

std::unique_ptr<Game> read_random_quadratic(const Reader& rd, const json& doc) {
  const int64_t N = rd.integer(rd.need(doc, "players", ""), "players", 1, 10000);
  const int64_t d = rd.integer(rd.need(doc, "dim", ""), "dim", 1, 4096);
  if (N * d > 20000) rd.fail("players", "players*dim must be <= 20000");
  const double coupling = rd.number(doc, "coupling", "", 0.5);
  if (coupling < 0.0) rd.fail("coupling", "must be >= 0");
  const int64_t seed = doc.contains("seed") ? rd.integer(doc.at("seed"), "seed", 0, INT64_MAX) : 0;
  return std::make_unique<QuadraticGame>(make_random_quadratic_game(N, d, coupling, static_cast<uint64_t>(seed)));
}

std::unique_ptr<Game> read_markov(const Reader& rd, const json& doc) {
  MarkovGameSpec s;
  s.states = rd.integer(rd.need(doc, "states", ""), "states", 1, 10000);
  const json& acts = rd.need(doc, "actions", "");
  if (!acts.is_array() || acts.empty()) rd.fail("actions", "expected a non-empty array (actions per player)");
  int64_t joint = 1;
  for (size_t i = 0; i < acts.size(); ++i) {
    s.actions.push_back(rd.integer(acts[i], "actions[" + std::to_string(i) + "]", 2, 1000));
    joint *= s.actions.back();
    if (joint > 1000000) rd.fail("actions", "too many joint actions");
  }
  const int64_t N = static_cast<int64_t>(s.actions.size()), S = s.states;
  s.gamma = rd.number(doc, "gamma", "", 0.9);
  if (!(s.gamma >= 0.0 && s.gamma < 1.0)) rd.fail("gamma", "must be in [0, 1)");
  s.tau = rd.number(doc, "tau", "", 1.0);
  if (s.tau < 0.0) rd.fail("tau", "must be >= 0");
  s.fisher_ridge = rd.number(doc, "fisher_ridge", "", 1e-3);
  if (!(s.fisher_ridge > 0.0)) rd.fail("fisher_ridge", "must be > 0");
  auto distribution = [&](const json& v, const std::string& key) {
    std::vector<double> p = rd.list(v, key, S);
    double total = 0.0;
    for (double q : p) {
      if (q < 0.0) rd.fail(key, "probabilities must be >= 0");
      total += q;
    }
    if (std::abs(total - 1.0) > 1e-9) rd.fail(key, "probabilities must sum to 1, got " + std::to_string(total));
    return p;
  };
  s.initial = doc.contains("initial") ? distribution(doc.at("initial"), "initial") : std::vector<double>(S, 1.0 / S);
  const json& R = rd.need(doc, "rewards", "");
  if (!R.is_array() || static_cast<int64_t>(R.size()) != N) rd.fail("rewards", "expected one entry per player (" + std::to_string(N) + ")");
  for (int64_t i = 0; i < N; ++i) {
    const std::string ki = "rewards[" + std::to_string(i) + "]";
    if (!R[i].is_array() || static_cast<int64_t>(R[i].size()) != S) rd.fail(ki, "expected one row per state (" + std::to_string(S) + ")");
    s.rewards.emplace_back();
    for (int64_t st = 0; st < S; ++st) s.rewards.back().push_back(rd.list(R[i][st], ki + "[" + std::to_string(st) + "]", joint));
  }
  const json& T = rd.need(doc, "transitions", "");
  if (!T.is_array() || static_cast<int64_t>(T.size()) != S) rd.fail("transitions", "expected one entry per state (" + std::to_string(S) + ")");
  for (int64_t st = 0; st < S; ++st) {
    const std::string ks = "transitions[" + std::to_string(st) + "]";
    if (!T[st].is_array() || static_cast<int64_t>(T[st].size()) != joint) {
      rd.fail(ks, "expected one distribution per joint action (" + std::to_string(joint) + ")");
    }
    s.transitions.emplace_back();
    for (int64_t a = 0; a < joint; ++a) s.transitions.back().push_back(distribution(T[st][a], ks + "[" + std::to_string(a) + "]"));
  }
  return std::make_unique<MarkovGame>(std::move(s));
}

Region read_region(const Reader& rd, const json& doc, int64_t n) {
  Region r;
  if (!doc.contains("region")) return r;
  const json& g = doc.at("region");
  if (!g.is_object()) rd.fail("region", "expected a table");
  rd.only_keys(g, "region", {"centre", "radius", "random_points", "max_grid_vertices", "seed"});
  if (g.contains("centre")) r.centre = rd.vector(g.at("centre"), "region.centre", n);
  r.radius = rd.number(g, "radius", "region", r.radius);
  if (r.radius < 0.0) rd.fail("region.radius", "must be >= 0");
  if (g.contains("random_points")) r.random_points = rd.integer(g.at("random_points"), "region.random_points", 0, 1000000);
  if (g.contains("max_grid_vertices")) {
    r.max_grid_vertices = rd.integer(g.at("max_grid_vertices"), "region.max_grid_vertices", 0, 1000000);
  }
  if (g.contains("seed")) r.seed = static_cast<uint64_t>(rd.integer(g.at("seed"), "region.seed", 0, INT64_MAX));
  return r;
}

// ":<line>" of the token quoted in nlohmann's message ("... parsing '1e999'"), or "" when not found.
std::string where_in(const std::string& text, const std::string& message) {
  const size_t open = message.find('\''), close = message.rfind('\'');
  if (open == std::string::npos || close <= open + 1) return "";
  const size_t at = text.find(message.substr(open + 1, close - open - 1));
  if (at == std::string::npos) return "";
  return ":" + std::to_string(1 + std::count(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(at), '\n'));
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

GameFile parse_game_file(const std::string& text, const std::string& source) {
  json doc;
  if (ends_with(source, ".json")) {
    try {
      doc = json::parse(text);
    } catch (const json::parse_error& e) {
      throw core::UserError(source + ": malformed JSON: " + e.what());
    } catch (const json::out_of_range& e) {
      // A literal beyond double range (1e999): the exception names the token but not where it is.
      throw core::UserError(source + where_in(text, e.what()) + ": a number is out of range (" + e.what() + ")");
    }
  } else {
    try {
      doc = toml_to_json(toml::parse(text, source));
    } catch (const toml::parse_error& e) {
      std::ostringstream msg;
      msg << source << ":" << e.source().begin.line << ": " << e.description();
      throw core::UserError(msg.str());
    }
  }
  const Reader rd(source);
  if (!doc.is_object()) rd.fail("(top level)", "expected a table/object");
  GameFile f;
  f.path = source;
  f.kind = rd.text(rd.need(doc, "kind", ""), "kind", {"quadratic", "bilinear", "lq_rotation", "random_quadratic", "markov"});
  const std::vector<std::string> common{"kind", "name", "region", "geometry"};
  std::vector<std::string> keys = common;
  if (f.kind == "quadratic") {
    keys.insert(keys.end(), {"players", "couplings"});
    rd.only_keys(doc, "", keys);
    f.game = read_quadratic(rd, doc);
  } else if (f.kind == "bilinear") {
    keys.insert(keys.end(), {"A", "regularization", "constraint"});
    rd.only_keys(doc, "", keys);
    f.game = read_bilinear(rd, doc);
  } else if (f.kind == "lq_rotation") {
    keys.insert(keys.end(), {"dim", "lambda", "a12", "a21", "seed"});
    rd.only_keys(doc, "", keys);
    f.game = read_lq_rotation(rd, doc);
  } else if (f.kind == "random_quadratic") {
    keys.insert(keys.end(), {"players", "dim", "coupling", "seed"});
    rd.only_keys(doc, "", keys);
    f.game = read_random_quadratic(rd, doc);
  } else {
    keys.insert(keys.end(), {"states", "actions", "gamma", "tau", "fisher_ridge", "initial", "rewards", "transitions"});
    rd.only_keys(doc, "", keys);
    f.game = read_markov(rd, doc);
    f.geometry = Geometry::kFisher;
  }
  if (doc.contains("name")) {
    if (!doc.at("name").is_string()) rd.fail("name", "expected a string");
    f.name = doc.at("name").get<std::string>();
  }
  if (doc.contains("geometry")) {
    const std::string g = rd.text(doc.at("geometry"), "geometry", {"euclidean", "fisher"});
    if (g == "fisher" && f.kind != "markov") rd.fail("geometry", "\"fisher\" needs kind = \"markov\"");
    f.geometry = g == "fisher" ? Geometry::kFisher : Geometry::kEuclidean;
  }
  f.region = read_region(rd, doc, f.game->dim());
  return f;
}

GameFile load_game_file(const std::string& path) { return parse_game_file(core::read_file(path), path); }

}  // namespace rlpp::certify
