// A fresh, empty directory for a test's files, removed with its contents when the object goes
// away. Shared by every layer's tests.
#pragma once
#include <stdlib.h>

#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <string>

namespace rlpp::testing {

class TempDir {
 public:
  // Under $TMPDIR (or /tmp): rlpp-test-<tag>-XXXXXX, unique across processes and calls.
  explicit TempDir(const std::string& tag = "tmp") {
    const char* base = std::getenv("TMPDIR");
    std::string tmpl = std::string(base && *base ? base : "/tmp") + "/rlpp-test-" + tag + "-XXXXXX";
    if (!::mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed for " + tmpl);
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  std::string str() const { return path_; }
  std::string sub(const std::string& name) const { return path_ + "/" + name; }
  std::string operator/(const std::string& name) const { return sub(name); }

 private:
  std::string path_;
};

}  // namespace rlpp::testing
