// User-facing errors. A UserError means the input was wrong (bad recipe, missing file, malformed
// data): the program prints its one-line message and exits with code 2, writing nothing.
#pragma once
#include <stdexcept>
#include <string>

namespace rlpp::core {

constexpr int kExitUserError = 2;

class UserError : public std::runtime_error {
 public:
  explicit UserError(const std::string& what) : std::runtime_error(what) {}
};

// Throws UserError(message) when cond is false.
inline void require(bool cond, const std::string& message) {
  if (!cond) throw UserError(message);
}

}  // namespace rlpp::core
