// Helpers shared by the core tests: temp directories, whole-file I/O, UserError expectations.
#pragma once
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <sstream>
#include <stdexcept>
#include <string>

#include "common/files.h"
#include "common/temp_dir.h"
#include "rlpp/core/error.h"

namespace rlpp::test {

using TempDir = rlpp::testing::TempDir;  // common/temp_dir.h

using rlpp::testing::slurp;  // common/files.h
using rlpp::testing::write_plain;

// Expects `fn` to throw core::UserError whose message contains every one of `parts`; returns it.
template <class Fn>
std::string expect_user_error(Fn fn, std::initializer_list<std::string> parts) {
  try {
    fn();
  } catch (const core::UserError& e) {
    const std::string msg = e.what();
    for (const auto& p : parts) EXPECT_NE(msg.find(p), std::string::npos) << "message: " << msg << "\nlacks: " << p;
    return msg;
  }
  ADD_FAILURE() << "no UserError thrown";
  return "";
}

}  // namespace rlpp::test
