// `rlpp launch`: ranks started with torchrun's variables, a failing rank named, the exit code.
#include <gtest/gtest.h>

#include "apps/cli_util.h"

namespace rlpp::testing {
namespace {

TEST(Launch, RunsEveryRankAndFailsNamingTheRankThatFailed) {
  TempDir dir("launch");
  const Result ok = run_cli("launch --nproc-per-node 2 --master-port 29511 -- list algorithms", dir);
  EXPECT_EQ(ok.code, 0) << ok.err;
  size_t listings = 0;
  for (size_t at = ok.out.find("algorithms:"); at != std::string::npos; at = ok.out.find("algorithms:", at + 1)) ++listings;
  EXPECT_EQ(listings, 2u) << ok.out;  // one per rank
  EXPECT_NE(ok.err.find("started ranks 0-1 of 2"), std::string::npos) << ok.err;

  const Result bad = run_cli("launch --nproc-per-node 2 --grace 5 -- train /nonexistent-rlpp/recipe.toml", dir);
  EXPECT_EQ(bad.code, 2) << bad.err;  // the rank's own exit code (a user error)
  EXPECT_NE(bad.err.find("exited with code 2; stopping the other ranks"), std::string::npos) << bad.err;
  EXPECT_NE(bad.err.find("no such file"), std::string::npos) << bad.err;

  const Result none = run_cli("launch --nproc-per-node 2", dir);
  EXPECT_EQ(none.code, 2);
  EXPECT_NE(none.err.find("no command after --"), std::string::npos) << none.err;
}

}  // namespace
}  // namespace rlpp::testing
