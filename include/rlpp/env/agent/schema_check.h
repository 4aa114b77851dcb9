// Argument checking against an OpenAI function schema (the JSON-Schema subset tools use): the facts
// a tool executor, a case validator and an RL reward all need, computed in one place.
#pragma once
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace rlpp::env::agent {

// Problems with `args` as arguments for `schema`, which is either a tool ({type: "function",
// function: {parameters: ...}}), a function ({name, parameters}) or a parameters object ({type:
// "object", properties, required}). Empty = valid. Checked: args is an object; every required key
// is present; no key outside `properties`; each value has its property's `type` (string, integer
// — a whole number, number, boolean, array with `items` checked element-wise, object); enum values
// are listed. One problem per line, naming the key, e.g. "missing required argument 'date'",
// "unknown argument 'colour'", "argument 'quantity' must be integer, got string".
std::vector<std::string> check_arguments(const nlohmann::json& schema, const nlohmann::json& args);

}  // namespace rlpp::env::agent
