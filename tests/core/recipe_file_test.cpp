// What Recipe::load accepts as a recipe file: a regular, non-empty TOML file. A directory, a FIFO or
// a device, or an empty file is a UserError naming the path (before, a directory trained CartPole
// with every default).
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "rlpp/core/config.h"
#include "rlpp/core/error.h"

namespace rlpp::core {
namespace {

std::string load_error(const std::string& path) {
  try {
    Recipe::load(path);
  } catch (const UserError& e) {
    return e.what();
  }
  return "";
}

TEST(RecipeFile, RefusesWhatIsNotARecipe) {
  const auto dir = std::filesystem::temp_directory_path() / ("rlpp-recipe-file-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  EXPECT_NE(load_error(dir.string()).find("is a directory"), std::string::npos);
  EXPECT_NE(load_error("/dev/null").find("not a regular file"), std::string::npos);
  const std::string fifo = (dir / "fifo").string();
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  EXPECT_NE(load_error(fifo).find("not a regular file"), std::string::npos);  // returns at once, no writer needed
  const std::string empty = (dir / "empty.toml").string();
  std::ofstream(empty) << "# only a comment\n";
  const std::string m = load_error(empty);
  EXPECT_NE(m.find("is empty"), std::string::npos) << m;
  EXPECT_NE(m.find(empty), std::string::npos) << m;
  EXPECT_NE(load_error((dir / "missing.toml").string()).find("no such file"), std::string::npos);
  const std::string ok = (dir / "ok.toml").string();
  std::ofstream(ok) << "[run]\nseed = 3\n";
  EXPECT_EQ(load_error(ok), "");
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace rlpp::core
