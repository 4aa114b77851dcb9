#include "rlpp/harness/argument_score.h"

#include <algorithm>
#include <cctype>
#include <cmath>

#include "rlpp/harness/rouge.h"

namespace rlpp::harness {

using nlohmann::json;

namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// JSON kind with all numbers folded together (5 and 5.0 are the same kind).
int kind(const json& v) {
  if (v.is_number()) return 1;
  if (v.is_string()) return 2;
  if (v.is_boolean()) return 3;
  if (v.is_array()) return 4;
  if (v.is_object()) return 5;
  return 0;  // null
}

std::string number_text(const json& v) {
  if (v.is_number_integer() || v.is_number_unsigned()) return v.dump();
  const double d = v.get<double>();
  if (std::floor(d) == d && std::fabs(d) < 1e15) return std::to_string(static_cast<long long>(d));
  return v.dump();
}

bool appears_in(const json& v, std::string_view context_lower) {
  if (v.is_string()) return context_lower.find(lower(v.get<std::string>())) != std::string_view::npos;
  if (v.is_number()) return context_lower.find(number_text(v)) != std::string_view::npos;
  return true;  // bools, arrays, objects: a hallucinated value cannot be told from a wrong one
}

}  // namespace

const char* arg_error_name(ArgError e) {
  switch (e) {
    case ArgError::kNone: return "none";
    case ArgError::kMissingRequired: return "missing_required_param";
    case ArgError::kParamHallucination: return "param_hallucination";
    case ArgError::kTypeError: return "type_error";
    case ArgError::kValueHallucination: return "value_hallucination";
    case ArgError::kValueError: return "value_error";
  }
  return "?";
}

double value_match(const json& pred, const json& gold) {
  if (kind(pred) != kind(gold)) return 0.0;
  if (gold.is_number()) {
    const double a = pred.get<double>(), b = gold.get<double>();
    return std::fabs(a - b) <= 1e-9 * std::max({1.0, std::fabs(a), std::fabs(b)}) ? 1.0 : 0.0;
  }
  if (gold.is_string()) {
    const auto p = pred.get<std::string>(), g = gold.get<std::string>();
    if (lower(p) == lower(g)) return 1.0;
    return rouge_l_f1(p, g) > kRougeThreshold ? 1.0 : 0.0;
  }
  if (gold.is_array()) {
    if (pred.size() != gold.size()) return 0.0;
    if (gold.empty()) return 1.0;
    auto sorted = [](const json& a) {
      std::vector<json> v(a.begin(), a.end());
      std::stable_sort(v.begin(), v.end(), [](const json& x, const json& y) { return lower(x.dump()) < lower(y.dump()); });
      return v;
    };
    const auto p = sorted(pred), g = sorted(gold);
    double sum = 0.0;
    for (size_t i = 0; i < g.size(); ++i) sum += value_match(p[i], g[i]);
    return sum / g.size();
  }
  if (gold.is_object()) {
    std::vector<std::string> keys;
    for (auto it = gold.begin(); it != gold.end(); ++it) keys.push_back(it.key());
    for (auto it = pred.begin(); it != pred.end(); ++it)
      if (!gold.contains(it.key())) keys.push_back(it.key());
    if (keys.empty()) return 1.0;
    double sum = 0.0;
    for (const auto& k : keys)
      if (pred.contains(k) && gold.contains(k)) sum += value_match(pred[k], gold[k]);
    return sum / keys.size();
  }
  return pred == gold ? 1.0 : 0.0;  // bools and null
}

CallScore score_call(const json& pred_args, const json& gold_args, const json& parameters, std::string_view context) {
  CallScore out;
  const json pred = pred_args.is_object() ? pred_args : json::object();
  const json props = parameters.is_object() ? parameters.value("properties", json()) : json();
  const bool has_schema = props.is_object();
  std::vector<std::string> required;
  if (parameters.is_object() && parameters.contains("required") && parameters["required"].is_array())
    for (const auto& r : parameters["required"])
      if (r.is_string()) required.push_back(r.get<std::string>());
  const std::string ctx = lower(context);

  for (auto it = gold_args.begin(); it != gold_args.end(); ++it) {
    KeyScore k{it.key(), 0.0, ArgError::kNone};
    if (!pred.contains(it.key())) {
      const bool req = std::find(required.begin(), required.end(), it.key()) != required.end();
      k.error = req || !has_schema ? ArgError::kMissingRequired : ArgError::kValueError;
    } else {
      k.score = value_match(pred[it.key()], it.value());
      if (k.score < 1.0) {
        if (kind(pred[it.key()]) != kind(it.value())) k.error = ArgError::kTypeError;
        else if (!appears_in(pred[it.key()], ctx)) k.error = ArgError::kValueHallucination;
        else k.error = ArgError::kValueError;
      }
    }
    out.keys.push_back(k);
  }
  if (has_schema)
    for (auto it = pred.begin(); it != pred.end(); ++it)
      if (!props.contains(it.key()) && !gold_args.contains(it.key()))
        out.keys.push_back({it.key(), 0.0, ArgError::kParamHallucination});
  if (!pred_args.is_object()) {  // arguments that were not a JSON object: nothing can match
    out.score = 0.0;
    out.passed = false;
    out.first_error = ArgError::kTypeError;
    return out;
  }
  if (!out.keys.empty()) {
    double sum = 0.0;
    for (const auto& k : out.keys) sum += k.score;
    out.score = sum / out.keys.size();
  }
  out.passed = out.score >= kCallThreshold;
  // The most basic error of the call (enum order: missing, hallucinated key, type, value).
  for (const auto& k : out.keys)
    if (k.score < 1.0 && (out.first_error == ArgError::kNone || k.error < out.first_error)) out.first_error = k.error;
  return out;
}

}  // namespace rlpp::harness
