#include "rlpp/env/agent/schema_check.h"

#include <gtest/gtest.h>

namespace rlpp::env::agent {
namespace {

using json = nlohmann::json;

const json kParams = json::parse(R"({
  "type": "object",
  "properties": {
    "city": {"type": "string"},
    "days": {"type": "integer"},
    "scale": {"type": "number"},
    "units": {"type": "string", "enum": ["c", "f"]},
    "ids": {"type": "array", "items": {"type": "string"}},
    "loud": {"type": "boolean"}
  },
  "required": ["city", "days"]
})");

TEST(SchemaCheck, ValidArgumentsHaveNoProblems) {
  EXPECT_TRUE(check_arguments(kParams, {{"city", "Oslo"}, {"days", 3}}).empty());
  EXPECT_TRUE(check_arguments(kParams, {{"city", "Oslo"}, {"days", 3.0}, {"scale", 2}, {"units", "f"}, {"ids", {"a", "b"}}, {"loud", true}})
                  .empty());  // 3.0 is an integer in JSON Schema, 2 is a number
}

TEST(SchemaCheck, EachKindOfProblemIsNamed) {
  using V = std::vector<std::string>;
  EXPECT_EQ(check_arguments(kParams, {{"city", "Oslo"}}), V{"missing required argument 'days'"});
  EXPECT_EQ(check_arguments(kParams, {{"city", "Oslo"}, {"days", 1}, {"colour", "red"}}), V{"unknown argument 'colour'"});
  EXPECT_EQ(check_arguments(kParams, {{"city", "Oslo"}, {"days", "3"}}), V{"argument 'days' must be integer, got string"});
  EXPECT_EQ(check_arguments(kParams, {{"city", "Oslo"}, {"days", 2.5}}), V{"argument 'days' must be integer, got number"});
  EXPECT_EQ(check_arguments(kParams, {{"city", "Oslo"}, {"days", 1}, {"units", "k"}}),
            V{"argument 'units' must be one of [\"c\",\"f\"], got \"k\""});
  EXPECT_EQ(check_arguments(kParams, {{"city", "Oslo"}, {"days", 1}, {"ids", {"a", 7}}}),
            V{"argument 'ids'[1] must be string, got integer"});
  EXPECT_EQ(check_arguments(kParams, json::array()), V{"arguments must be an object, got array"});
  EXPECT_EQ(check_arguments(kParams, json::object()).size(), 2u);
}

TEST(SchemaCheck, AcceptsToolFunctionOrParameters) {
  const json function = {{"name", "f"}, {"parameters", kParams}};
  const json tool = {{"type", "function"}, {"function", function}};
  const json args = {{"city", "Oslo"}};
  EXPECT_EQ(check_arguments(kParams, args), check_arguments(function, args));
  EXPECT_EQ(check_arguments(kParams, args), check_arguments(tool, args));
  EXPECT_EQ(check_arguments(tool, args).size(), 1u);
}

}  // namespace
}  // namespace rlpp::env::agent
