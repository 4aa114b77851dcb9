#include "rlpp/env/agent/schema_check.h"

#include <algorithm>
#include <cmath>

namespace rlpp::env::agent {

using json = nlohmann::json;

namespace {

const json& parameters_of(const json& schema) {
  static const json kEmpty = json::object();
  if (schema.is_object() && schema.contains("function") && schema.at("function").is_object())
    return parameters_of(schema.at("function"));
  if (schema.is_object() && schema.contains("parameters")) return schema.at("parameters");
  return schema.is_object() ? schema : kEmpty;
}

std::string type_of(const json& v) {
  if (v.is_string()) return "string";
  if (v.is_boolean()) return "boolean";
  if (v.is_number_integer() || v.is_number_unsigned()) return "integer";
  if (v.is_number_float()) return "number";
  if (v.is_array()) return "array";
  if (v.is_object()) return "object";
  return "null";
}

// JSON Schema: an integer is any number with zero fractional part; a number is any number.
bool has_type(const json& v, const std::string& type) {
  if (type == "integer")
    return v.is_number_integer() || v.is_number_unsigned() ||
           (v.is_number_float() && std::floor(v.get<double>()) == v.get<double>());
  if (type == "number") return v.is_number();
  if (type == "string") return v.is_string();
  if (type == "boolean") return v.is_boolean();
  if (type == "array") return v.is_array();
  if (type == "object") return v.is_object();
  if (type == "null") return v.is_null();
  return true;  // a type this checker does not know constrains nothing
}

void check_value(const json& prop, const json& v, const std::string& where, std::vector<std::string>* out) {
  if (!prop.is_object()) return;
  if (prop.contains("type") && prop.at("type").is_string()) {
    const std::string t = prop.at("type").get<std::string>();
    if (!has_type(v, t)) {
      out->push_back(where + " must be " + t + ", got " + type_of(v));
      return;
    }
  }
  if (prop.contains("enum") && prop.at("enum").is_array()) {
    const json& e = prop.at("enum");
    if (std::find(e.begin(), e.end(), v) == e.end())
      out->push_back(where + " must be one of " + e.dump() + ", got " + v.dump());
  }
  if (v.is_array() && prop.contains("items"))
    for (size_t i = 0; i < v.size(); ++i)
      check_value(prop.at("items"), v[i], where + "[" + std::to_string(i) + "]", out);
}

}  // namespace

std::vector<std::string> check_arguments(const json& schema, const json& args) {
  std::vector<std::string> out;
  if (!args.is_object()) {
    out.push_back("arguments must be an object, got " + type_of(args));
    return out;
  }
  const json& params = parameters_of(schema);
  const json empty = json::object();
  const json& props = params.contains("properties") && params.at("properties").is_object() ? params.at("properties") : empty;
  if (params.contains("required") && params.at("required").is_array())
    for (const json& r : params.at("required"))
      if (r.is_string() && !args.contains(r.get<std::string>()))
        out.push_back("missing required argument '" + r.get<std::string>() + "'");
  for (auto it = args.begin(); it != args.end(); ++it) {
    if (!props.contains(it.key())) {
      out.push_back("unknown argument '" + it.key() + "'");
      continue;
    }
    check_value(props.at(it.key()), it.value(), "argument '" + it.key() + "'", &out);
  }
  return out;
}

}  // namespace rlpp::env::agent
