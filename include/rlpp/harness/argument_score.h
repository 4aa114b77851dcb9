// Argument scoring of one predicted call against its golden call (C³-Bench, arXiv 2505.18746):
//
//   scored keys  = the golden call's keys  ∪  predicted keys that the tool schema does not define
//   key score    = 0  when the key is missing from the prediction, or not in the schema;
//                  value_match(pred, gold) otherwise
//   call score   = mean key score (1 for a call with no scored keys); the call passes at >= 0.7
//
//   value_match: strings  1 if equal ignoring case, or ROUGE-L F1 > 0.7, else 0
//                numbers  1 if equal (relative tolerance 1e-9), else 0
//                bools / null: 1 if equal;  different JSON kinds: 0
//                arrays   0 if the lengths differ, else both are sorted (by lower-cased JSON text)
//                         and the element-wise value_match values are averaged
//                objects  mean value_match over the union of keys (a missing key scores 0)
// Extra keys that the schema defines but the golden call omits are not scored (an optional
// argument given with its default is not an error).
#pragma once
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace rlpp::harness {

constexpr double kRougeThreshold = 0.7;
constexpr double kCallThreshold = 0.7;

// Why a scored key lost points; the first of these (in this order) that applies.
enum class ArgError {
  kNone,
  kMissingRequired,     // a golden key absent from the prediction
  kParamHallucination,  // a predicted key the tool schema does not define
  kTypeError,           // the predicted value's JSON kind (string/number/bool/array/object/null) differs
  kValueHallucination,  // a wrong string/number value that appears nowhere in the dialogue so far
  kValueError,          // any other wrong value (e.g. taken from the wrong place in the dialogue)
};
const char* arg_error_name(ArgError e);

double value_match(const nlohmann::json& pred, const nlohmann::json& gold);

struct KeyScore {
  std::string key;
  double score = 0.0;
  ArgError error = ArgError::kNone;  // kNone iff score == 1
};

struct CallScore {
  double score = 1.0;
  bool passed = true;                      // score >= kCallThreshold
  std::vector<KeyScore> keys;              // golden keys in order, then hallucinated keys
  ArgError first_error = ArgError::kNone;  // the smallest (most basic) error among the keys
};

// `parameters`: the tool's function.parameters ({properties, required}); when it has no
// `properties` object no key counts as hallucinated. `context`: the dialogue text the model saw
// (message contents and tool results), used only to tell value hallucination from value error.
CallScore score_call(const nlohmann::json& pred_args, const nlohmann::json& gold_args,
                     const nlohmann::json& parameters, std::string_view context);

}  // namespace rlpp::harness
