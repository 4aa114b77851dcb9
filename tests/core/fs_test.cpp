#include "rlpp/core/fs.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "core/test_util.h"
#include "rlpp/core/error.h"

namespace rlpp::core {
namespace {

namespace fs = std::filesystem;
using test::expect_user_error;
using test::slurp;
using test::TempDir;
using test::write_plain;

size_t count_entries(const std::string& dir) {
  size_t n = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir)) ++n;
  return n;
}

TEST(AtomicWriteFile, WritesAndReplacesLeavingNoTempFiles) {
  TempDir tmp;
  const std::string path = tmp / "a.txt";
  const std::string bytes("binary\0data\n", 12);
  atomic_write_file(path, bytes);
  EXPECT_EQ(slurp(path), bytes);
  atomic_write_file(path, "second");
  EXPECT_EQ(slurp(path), "second");
  atomic_write_file(path, "");
  EXPECT_EQ(slurp(path), "");
  EXPECT_EQ(count_entries(tmp.path()), 1u);
}

TEST(AtomicWriteFile, FailureNamesPathAndKeepsOldContent) {
  TempDir tmp;
  write_plain(tmp / "file", "x");
  // A directory under a regular file cannot exist, even for root.
  const std::string bad = tmp / "file/sub/out.txt";
  expect_user_error([&] { atomic_write_file(bad, "data"); }, {bad});
  // Renaming over a directory fails after the temp file was written: it must be removed.
  fs::create_directory(tmp / "dir");
  write_plain(tmp / "dir/keep", "k");
  expect_user_error([&] { atomic_write_file(tmp / "dir", "data"); }, {tmp / "dir"});
  EXPECT_EQ(count_entries(tmp.path()), 2u);  // "file" and "dir", no temp left behind
  EXPECT_EQ(slurp(tmp / "file"), "x");
}

TEST(EnsureOutputDir, CreatesNestedDirectories) {
  TempDir tmp;
  const std::string dir = tmp / "runs/a/b";
  ensure_output_dir(dir);
  EXPECT_TRUE(fs::is_directory(dir));
  ensure_output_dir(dir);  // existing: fine
  EXPECT_EQ(count_entries(dir), 0u);  // the probe file is gone
}

TEST(EnsureOutputDir, RefusesPathUnderRegularFileAndNonDirectory) {
  TempDir tmp;
  write_plain(tmp / "file", "x");
  const std::string under = tmp / "file/run";
  expect_user_error([&] { ensure_output_dir(under); }, {"cannot create output directory", under});
  expect_user_error([&] { ensure_output_dir(tmp / "file"); }, {tmp / "file", "not a directory"});
  expect_user_error([&] { ensure_output_dir(""); }, {"empty"});
}

TEST(EnsureOutputDir, RefusesUnwritableDirectory) {
  // /proc/self is a directory where no regular file can be created, whatever the user.
  if (!fs::is_directory("/proc/self")) GTEST_SKIP() << "no /proc";
  expect_user_error([&] { ensure_output_dir("/proc/self"); }, {"/proc/self", "not writable"});
}

TEST(ReadFile, ReadsBytesAndNamesMissingFile) {
  TempDir tmp;
  const std::string bytes("a\0b\r\nc", 6);
  write_plain(tmp / "f", bytes);
  EXPECT_EQ(read_file(tmp / "f"), bytes);
  write_plain(tmp / "empty", "");
  EXPECT_EQ(read_file(tmp / "empty"), "");
  expect_user_error([&] { read_file(tmp / "missing"); }, {tmp / "missing"});
  expect_user_error([&] { read_file(tmp.path()); }, {tmp.path(), "directory"});
}

}  // namespace
}  // namespace rlpp::core
