// Game files: the examples load into the games they describe; malformed, non-finite and mis-shaped
// files are rejected with a message naming the file and the key.
#include <gtest/gtest.h>

#include <filesystem>

#include "core/test_util.h"
#include "rlpp/certify/game_file.h"
#include "rlpp/certify/quadratic_game.h"

namespace rlpp::certify {
namespace {

using test::expect_user_error;

const QuadraticGame& quad(const GameFile& f) { return dynamic_cast<const QuadraticGame&>(*f.game); }

TEST(GameFile, ToyTomlAndJsonGiveTheSameH) {
  const GameFile t = load_game_file(std::string(RLPP_SOURCE_DIR) + "/configs/games/toy.toml");
  Eigen::Matrix2d H;
  H << 1.0, 10.0, 0.05, 1.0;
  EXPECT_EQ(quad(t).H(), Eigen::MatrixXd(H));
  const GameFile j = parse_game_file(R"({"kind": "quadratic",
      "players": [{"dim": 1, "Q": [[1.0]]}, {"dim": 1, "Q": [[1.0]]}],
      "couplings": [{"player": 0, "other": 1, "A": [[10.0]]}, {"player": 1, "other": 0, "A": [[0.05]]}]})",
                                     "toy.json");
  EXPECT_EQ(quad(j).H(), Eigen::MatrixXd(H));
}

TEST(GameFile, EveryExampleLoads) {
  int n = 0;
  for (const auto& e : std::filesystem::directory_iterator(std::string(RLPP_SOURCE_DIR) + "/configs/games")) {
    const GameFile f = load_game_file(e.path().string());
    EXPECT_GT(f.game->dim(), 0) << e.path();
    ++n;
  }
  EXPECT_GE(n, 4);
}

TEST(GameFile, BilinearAndBoxConstraints) {
  const GameFile b = parse_game_file("kind = \"bilinear\"\nA = [[1.0, 2.0]]\nregularization = [0.5, 0.25]\n", "b.toml");
  Eigen::MatrixXd H(3, 3);
  H << 0.5, 1.0, 2.0, -1.0, 0.25, 0.0, -2.0, 0.0, 0.25;
  EXPECT_EQ(quad(b).H(), H);
  const GameFile box = parse_game_file(
      "kind = \"quadratic\"\n[[players]]\ndim = 2\nQ = [[2.0, 1.0], [0.0, 2.0]]\nconstraint = \"box\"\n"
      "lo = [-1.0, 0.0]\nhi = [1.0, 0.5]\n",
      "box.toml");
  EXPECT_EQ(box.game->project(Eigen::Vector2d(3.0, -2.0)), Eigen::Vector2d(1.0, 0.0));
  EXPECT_EQ(quad(box).H()(0, 1), 0.5);  // Q is symmetrised
}

TEST(GameFile, BadFilesNameTheFileAndTheKey) {
  const std::string players = "kind = \"quadratic\"\n[[players]]\ndim = 2\n";
  expect_user_error([&] { parse_game_file(players + "Q = [[1.0, nan], [0.0, 1.0]]\n", "g.toml"); },
                    {"g.toml", "players[0].Q[0][1]", "finite"});
  expect_user_error([&] { parse_game_file(players + "Q = [[1.0, inf], [0.0, 1.0]]\n", "g.toml"); },
                    {"players[0].Q[0][1]", "finite"});
  expect_user_error([&] { parse_game_file(players + "Q = [[1.0, 0.0]]\n", "g.toml"); },
                    {"players[0].Q", "2x2"});
  expect_user_error([&] { parse_game_file(players + "Q = [[1.0, 0.0], [0.0]]\n", "g.toml"); },
                    {"players[0].Q[1]", "expected 2 entries"});
  expect_user_error([&] { parse_game_file(players + "Q = [[1, 0], [0, 1]]\nqq = 1\n", "g.toml"); },
                    {"players[0].qq", "unknown key"});
  expect_user_error([&] { parse_game_file(players + "Q = [[1, 0], [0, \"a\"]]\n", "g.toml"); },
                    {"players[0].Q[1][1]", "expected a number"});
  expect_user_error([&] { parse_game_file("kind = \"quadratc\"\n", "g.toml"); }, {"kind", "did you mean"});
  expect_user_error([&] { parse_game_file("name = \"x\"\n", "g.toml"); }, {"g.toml", "kind", "missing"});
  expect_user_error([&] { parse_game_file("kind = \"quadratic\"\nplayers = [\n", "g.toml"); }, {"g.toml:"});
  expect_user_error([&] { parse_game_file("{\"kind\": \"bilinear\", \"A\": [[1, NaN]]}", "g.json"); },
                    {"g.json", "malformed JSON"});
  expect_user_error([&] { parse_game_file("kind = \"lq_rotation\"\ndim = 4\nlambdaa = 2.0\n", "g.toml"); },
                    {"lambdaa", "unknown key", "lambda"});
  expect_user_error(
      [&] {
        parse_game_file(players + "Q = [[1, 0], [0, 1]]\n[[couplings]]\nplayer = 0\nother = 3\nA = [[1.0]]\n", "g.toml");
      },
      {"couplings[0].other", "[0, 0]"});
  expect_user_error(
      [&] {
        parse_game_file("kind = \"markov\"\nstates = 1\nactions = [2, 2]\nrewards = [[[1,1,1,1]],[[1,1,1,1]]]\n"
                        "transitions = [[[1.0], [1.0], [0.5], [1.0]]]\n",
                        "m.toml");
      },
      {"m.toml", "transitions[0][2]", "sum to 1"});
  expect_user_error([&] { parse_game_file("kind = \"toy\"\n", "g.toml"); }, {"kind", "valid: quadratic"});
}

// nlohmann reports a literal beyond double range as out_of_range, not as a parse error.
TEST(GameFile, NumberOverflowNamesTheFileAndLine) {
  expect_user_error([] { parse_game_file("{\"kind\": \"lq_rotation\",\n \"dim\": 2,\n \"lambda\": 1e999}", "g.json"); },
                    {"g.json:3", "1e999", "out of range"});
  expect_user_error([] { parse_game_file("kind = \"lq_rotation\"\ndim = 2\nlambda = 1e999\n", "g.toml"); }, {"g.toml"});
}

TEST(GameFile, MissingFileIsAUserError) {
  expect_user_error([] { load_game_file("/nonexistent/game.toml"); }, {"/nonexistent/game.toml"});
}

}  // namespace
}  // namespace rlpp::certify
