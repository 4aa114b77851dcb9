#include "rlpp/core/config.h"

#include <gtest/gtest.h>

#include <sstream>

#include "core/test_util.h"

namespace rlpp::core {
namespace {

using test::expect_user_error;
using test::TempDir;
using test::write_plain;

struct DemoOptions {
  double lr = 2.5e-4;
  float clip = 0.2f;
  int64_t total_steps = 1000000;
  int epochs = 4;
  bool anneal = true;
  std::string name = "ppo";
  std::string activation = "tanh";
  std::vector<int64_t> hidden{64, 64};
  std::vector<std::string> layers{"dense"};

  void bind(Binder& b) {
    b.num("lr", lr, "learning rate", Bounds::positive());
    b.num("clip", clip, "clip range", Bounds::unit());
    b.integer("total_steps", total_steps, "environment steps", Bounds::at_least(1));
    b.integer("epochs", epochs, "epochs per update", Bounds::at_least(1));
    b.flag("anneal", anneal, "anneal the learning rate");
    b.text("name", name, "run name");
    b.choice("activation", activation, {"tanh", "relu"}, "hidden activation");
    b.integers("hidden", hidden, "hidden sizes", Bounds::at_least(1));
    b.texts("layers", layers, "layer kinds", {"dense", "conv"});
    b.passthrough("id");
  }
};

DemoOptions read(const std::string& text) {
  return read_options<DemoOptions>(Recipe::parse(text, "recipe.toml"), "ppo");
}

TEST(Config, ReadsValuesAndKeepsDefaults) {
  const auto o = read("[ppo]\nid = 'x'\nlr = 1e-3\nepochs = 10\nhidden = [32, 16, 8]\nactivation = 'relu'\n");
  EXPECT_EQ(o.lr, 1e-3);
  EXPECT_EQ(o.epochs, 10);
  EXPECT_EQ(o.hidden, (std::vector<int64_t>{32, 16, 8}));
  EXPECT_EQ(o.activation, "relu");
  EXPECT_EQ(o.clip, 0.2f);  // default
  EXPECT_EQ(o.total_steps, 1000000);
  EXPECT_EQ(read("[ppo]\nlr = 1\n").lr, 1.0);  // an integer is a valid float
  EXPECT_EQ(read("[env]\nid = 'CartPole-v1'\n").lr, 2.5e-4);  // no section: all defaults
  EXPECT_EQ(read("[ppo]\nlayers = ['conv', 'dense', 'conv']\n").layers,
            (std::vector<std::string>{"conv", "dense", "conv"}));
  EXPECT_TRUE(read("[ppo]\nlayers = []\n").layers.empty());
}

TEST(Config, UnknownKeyNamesKeyFileLineAndClosestKey) {
  expect_user_error([] { read("[ppo]\nlr = 1e-3\n\nepoch = 3\n"); },
                    {"recipe.toml:4", "unknown key 'ppo.epoch'", "did you mean 'ppo.epochs'"});
  const std::string msg = expect_user_error([] { read("[ppo]\nzzzzzzzz = 1\n"); }, {"recipe.toml:2", "ppo.zzzzzzzz"});
  EXPECT_EQ(msg.find("did you mean"), std::string::npos);  // nothing close: no suggestion
}

TEST(Config, WrongTypeNamesKeyFileAndLine) {
  expect_user_error([] { read("[ppo]\nlr = 'fast'\n"); }, {"recipe.toml:2", "ppo.lr", "expects a number", "string"});
  expect_user_error([] { read("[ppo]\n\nepochs = 2.5\n"); }, {"recipe.toml:3", "ppo.epochs", "expects an integer"});
  expect_user_error([] { read("[ppo]\nanneal = 1\n"); }, {"recipe.toml:2", "ppo.anneal", "true or false"});
  expect_user_error([] { read("[ppo]\nname = 3\n"); }, {"ppo.name", "expects a string"});
  expect_user_error([] { read("[ppo]\nhidden = 64\n"); }, {"ppo.hidden", "array of integers"});
  expect_user_error([] { read("[ppo]\nhidden = [64, 'a']\n"); }, {"ppo.hidden", "array of integers"});
  expect_user_error([] { read("[ppo]\nlayers = 'dense'\n"); }, {"recipe.toml:2", "ppo.layers", "array of strings"});
  expect_user_error([] { read("[ppo]\nlayers = ['dense', 3]\n"); }, {"ppo.layers", "array of strings"});
  expect_user_error([] { read("[ppo]\nlayers = ['dense', 'conf']\n"); }, {"ppo.layers", "'conf'", "did you mean 'conv'"});
  expect_user_error([] { read("[ppo]\nactivation = 'rleu'\n"); }, {"recipe.toml:2", "not one of", "did you mean 'relu'"});
}

TEST(Config, OutOfRangeNamesTheBounds) {
  expect_user_error([] { read("[ppo]\nclip = 1.5\n"); }, {"recipe.toml:2", "ppo.clip", "1.5", "out of range [0, 1]"});
  expect_user_error([] { read("[ppo]\nlr = 0\n"); }, {"ppo.lr", "out of range (0, inf)"});
  expect_user_error([] { read("[ppo]\nlr = nan\n"); }, {"ppo.lr", "out of range"});
  expect_user_error([] { read("[ppo]\ntotal_steps = 0\n"); }, {"ppo.total_steps", "out of range [1, inf)"});
  expect_user_error([] { read("[ppo]\nlr = inf\n"); }, {"ppo.lr", "out of range (0, inf)"});
  expect_user_error([] { read("[ppo]\nepochs = 3000000000\n"); }, {"ppo.epochs", "out of range"});  // > INT_MAX
  expect_user_error([] { read("[ppo]\nhidden = [64, 0]\n"); }, {"ppo.hidden", "out of range"});
  EXPECT_EQ(read("[ppo]\nclip = 1\n").clip, 1.0f);  // closed bound included
  EXPECT_EQ(read("[ppo]\nepochs = 2147483647\n").epochs, 2147483647);  // INT_MAX itself fits
}

TEST(Config, SetOverridesParseTomlValuesOrBareStrings) {
  Recipe r = Recipe::parse("[ppo]\nlr = 1e-3\nname = 'a'\n", "recipe.toml");
  r.set("ppo.lr=3e-4");
  r.set("ppo.epochs=8");
  r.set("ppo.anneal=false");
  r.set("ppo.hidden=[32, 32]");
  r.set("ppo.name=my run/with spaces");
  r.set("ppo.activation=\"relu\"");
  r.set("ppo.clip=0.25");
  const auto o = read_options<DemoOptions>(r, "ppo");
  EXPECT_EQ(o.lr, 3e-4);
  EXPECT_EQ(o.epochs, 8);
  EXPECT_FALSE(o.anneal);
  EXPECT_EQ(o.hidden, (std::vector<int64_t>{32, 32}));
  EXPECT_EQ(o.name, "my run/with spaces");
  EXPECT_EQ(o.activation, "relu");
  EXPECT_EQ(o.clip, 0.25f);
  EXPECT_EQ(r.origin("ppo.lr"), "--set ppo.lr=3e-4");
  EXPECT_EQ(r.origin("ppo.name"), "--set ppo.name=my run/with spaces");

  r.set("env.id=CartPole-v1");  // a new section
  EXPECT_TRUE(r.has_section("env"));
  EXPECT_EQ(r.get_string("env", "id", ""), "CartPole-v1");
  EXPECT_EQ(r.get_string("env", "missing", "fallback"), "fallback");
}

// Arrays of tables ([[list]]): a Binder reads the i-th table as section "list[i]" (unknown keys and
// origins name it), --set list[i].key appends at most the next table, and a resolved table records
// the same array.
TEST(Config, ArraysOfTablesAreSectionsByIndex) {
  Recipe r = Recipe::parse("[[ppo]]\nlr = 1e-3\n[[ppo]]\nepochs = 3\n", "recipe.toml");
  toml::table resolved;
  EXPECT_EQ(read_options<DemoOptions>(r, "ppo[0]", &resolved).lr, 1e-3);
  EXPECT_EQ(read_options<DemoOptions>(r, "ppo[1]", &resolved).epochs, 3);
  EXPECT_EQ(resolved.at_path("ppo[1].epochs").value_or(int64_t{0}), 3);
  EXPECT_EQ(resolved.at_path("ppo[0].epochs").value_or(int64_t{0}), DemoOptions{}.epochs);  // defaults too
  EXPECT_EQ(r.origin("ppo[1].epochs"), "recipe.toml:4");
  expect_user_error([] { read_options<DemoOptions>(Recipe::parse("[[ppo]]\n[[ppo]]\nlrr = 1\n", "x.toml"), "ppo[1]"); },
                    {"x.toml:3", "unknown key 'ppo[1].lrr'"});
  r.set("ppo[1].lr=5e-4");
  r.set("ppo[2].lr=6e-4");  // the next table
  EXPECT_EQ(read_options<DemoOptions>(r, "ppo[2]").lr, 6e-4);
  EXPECT_EQ(r.origin("ppo[1].lr"), "--set ppo[1].lr=5e-4");
  expect_user_error([&] { r.set("ppo[9].lr=1"); }, {"ppo[9]", "is not a section"});  // no gap-filling
  expect_user_error([&] { r.set("ppo[x].lr=1"); }, {"is not a section"});
  // the resolved recipe's text reads back to the same array
  const std::string text = to_toml_text(resolved);
  EXPECT_NE(text.find("[[ppo]]"), std::string::npos) << text;
  EXPECT_EQ(Recipe::parse(text, "r.toml").table(), resolved);
  // a top-level value that is neither a table nor an array of tables is still refused
  expect_user_error([] { Recipe::parse("x = [1, 2]\n", "y.toml"); }, {"y.toml:1", "must be a section"});
}

TEST(Config, SetOriginAppearsInErrors) {
  Recipe r = Recipe::parse("[ppo]\nclip = 0.1\n", "recipe.toml");
  r.set("ppo.clip=2");
  expect_user_error([&] { read_options<DemoOptions>(r, "ppo"); }, {"--set ppo.clip=2", "out of range"});
  Recipe r2 = Recipe::parse("[ppo]\n", "recipe.toml");
  r2.set("ppo.epochs=many");  // not TOML: a bare string, then a type error
  expect_user_error([&] { read_options<DemoOptions>(r2, "ppo"); }, {"--set ppo.epochs=many", "expects an integer"});
  Recipe r3 = Recipe::parse("[ppo]\n", "recipe.toml");
  r3.set("ppo.epoch=3");
  expect_user_error([&] { read_options<DemoOptions>(r3, "ppo"); }, {"--set ppo.epoch=3", "did you mean 'ppo.epochs'"});
}

TEST(Config, MalformedSetIsRefused) {
  Recipe r = Recipe::parse("[ppo]\nlr = 1e-3\n", "recipe.toml");
  expect_user_error([&] { r.set("ppo.lr"); }, {"--set ppo.lr", "key=value"});
  expect_user_error([&] { r.set("=3"); }, {"key=value"});
  expect_user_error([&] { r.set("lr=3"); }, {"--set lr=3", "section.name"});
  expect_user_error([&] { r.set("a.b.c=3"); }, {"section.name"});
  expect_user_error([&] { r.set("ppo.lr.x=3"); }, {"section.name"});
}

TEST(Config, UnknownSectionIsRefusedWithSuggestion) {
  const Recipe r = Recipe::parse("[ppo]\nlr = 1e-3\n\n[pop]\nx = 1\n", "recipe.toml");
  read_options<DemoOptions>(r, "ppo");
  expect_user_error([&] { r.check_all_used(); }, {"recipe.toml:4", "unknown section [pop]", "did you mean 'ppo'"});
  Recipe r2 = Recipe::parse("[ppo]\n", "recipe.toml");
  r2.set("ppoo.lr=1");
  read_options<DemoOptions>(r2, "ppo");
  expect_user_error([&] { r2.check_all_used(); }, {"--set ppoo.lr=1", "unknown section [ppoo]"});
}

TEST(Config, ParseAndLoadErrorsNameFileAndLine) {
  expect_user_error([] { Recipe::parse("[ppo]\nlr = = 3\n", "bad.toml"); }, {"bad.toml:2"});
  expect_user_error([] { Recipe::parse("lr = 3\n", "top.toml"); }, {"top.toml:1", "'lr' must be a section"});
  TempDir tmp;
  expect_user_error([&] { Recipe::load(tmp / "missing.toml"); }, {tmp / "missing.toml"});
  write_plain(tmp / "r.toml", "[ppo]\n\nlr = 'x'\n");
  const Recipe r = Recipe::load(tmp / "r.toml");
  expect_user_error([&] { read_options<DemoOptions>(r, "ppo"); }, {tmp / "r.toml:3", "ppo.lr"});
}

TEST(Config, WriteModeRoundTripsThroughToml) {
  DemoOptions o;
  o.lr = 0.1 + 0.2;  // 0.30000000000000004: needs all 17 digits
  o.clip = 0.3f;
  o.total_steps = (int64_t{1} << 53) + 1;
  o.epochs = -7;  // write mode does not validate
  o.anneal = false;
  o.name = "quote \" backslash \\ tab \t unicode \u00e9";
  o.activation = "relu";
  o.hidden = {1, 2, 300000000000};
  o.layers = {"conv", "dense"};
  toml::table out;
  write_options(o, &out, "ppo");
  std::ostringstream text;
  text << toml::toml_formatter(out);
  const Recipe back = Recipe::parse(text.str(), "resolved.toml");
  const toml::table* sec = back.table()["ppo"].as_table();
  ASSERT_NE(sec, nullptr) << text.str();
  EXPECT_EQ(sec->size(), 9u);  // every bound key, nothing else
  EXPECT_EQ(sec->get("lr")->value_exact<double>(), 0.1 + 0.2) << text.str();
  EXPECT_EQ(sec->get("clip")->value_exact<double>(), static_cast<double>(0.3f));
  EXPECT_EQ(sec->get("total_steps")->value_exact<int64_t>(), (int64_t{1} << 53) + 1);
  EXPECT_EQ(sec->get("epochs")->value_exact<int64_t>(), -7);
  EXPECT_EQ(sec->get("anneal")->value_exact<bool>(), false);
  EXPECT_EQ(sec->get("name")->value_exact<std::string>(), o.name);
  ASSERT_TRUE(sec->get("layers")->is_array());
  EXPECT_EQ(sec->get("layers")->as_array()->size(), 2u);
  // Reading it back with the same struct (valid values only).
  o.epochs = 7;
  toml::table out2;
  write_options(o, &out2, "ppo");
  std::ostringstream text2;
  text2 << toml::toml_formatter(out2);
  const DemoOptions r = read_options<DemoOptions>(Recipe::parse(text2.str(), "resolved.toml"), "ppo");
  EXPECT_EQ(r.lr, o.lr);
  EXPECT_EQ(r.clip, o.clip);
  EXPECT_EQ(r.total_steps, o.total_steps);
  EXPECT_EQ(r.epochs, 7);
  EXPECT_EQ(r.anneal, false);
  EXPECT_EQ(r.name, o.name);
  EXPECT_EQ(r.activation, "relu");
  EXPECT_EQ(r.hidden, o.hidden);
  EXPECT_EQ(r.layers, o.layers);
}

TEST(Config, RecipeToTomlRoundTrip) {
  Recipe r = Recipe::parse("[ppo]\nlr = 1e-3\n[env]\nid = 'CartPole-v1'\n", "recipe.toml");
  r.set("ppo.hidden=[8, 8]");
  const Recipe back = Recipe::parse(r.to_toml(), "again.toml");
  EXPECT_EQ(read_options<DemoOptions>(back, "ppo").hidden, (std::vector<int64_t>{8, 8}));
  EXPECT_EQ(read_options<DemoOptions>(back, "ppo").lr, 1e-3);
  EXPECT_EQ(back.get_string("env", "id", ""), "CartPole-v1");
}

TEST(Config, DescribeListsEveryOption) {
  const auto infos = describe_options<DemoOptions>("ppo");
  ASSERT_EQ(infos.size(), 9u);
  EXPECT_EQ(infos[0].key, "lr");
  EXPECT_EQ(infos[0].type, "float");
  EXPECT_EQ(infos[0].default_value, "0.00025");
  EXPECT_EQ(infos[3].type, "int");
  EXPECT_EQ(infos[3].default_value, "4");
  EXPECT_EQ(infos[4].default_value, "true");
  EXPECT_EQ(infos[7].type, "int list");
  EXPECT_EQ(infos[7].default_value, "[64, 64]");
  EXPECT_NE(infos[6].help.find("tanh, relu"), std::string::npos);
  EXPECT_EQ(infos[8].type, "string list");
  EXPECT_EQ(infos[8].default_value, "[\"dense\"]");
  EXPECT_NE(infos[8].help.find("dense, conv"), std::string::npos);
}

}  // namespace
}  // namespace rlpp::core
