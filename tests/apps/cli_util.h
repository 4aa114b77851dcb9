// Running the built `rlpp` program from a test: exit code, stdout and stderr.
#pragma once
#include <sys/wait.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "common/files.h"
#include "common/temp_dir.h"

namespace rlpp::testing {

struct Result {
  int code = -1;
  std::string out, err;
};

// Runs `rlpp ARGS` from the source directory; captures exit code, stdout and stderr.
inline Result run_cli(const std::string& args, const TempDir& dir) {
  const std::string out = dir.sub("stdout.txt"), err = dir.sub("stderr.txt");
  const std::string cmd = std::string("cd ") + RLPP_SOURCE_DIR + " && " + RLPP_CLI + " " + args + " >" + out + " 2>" + err;
  const int status = std::system(cmd.c_str());
  Result r;
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.out = slurp(out);
  r.err = slurp(err);
  return r;
}

}  // namespace rlpp::testing
