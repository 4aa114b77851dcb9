// Fuzz entry: game files (certify::parse_game_file), JSON or TOML.
#include <string>

#include "fuzz/fuzz_targets.h"
#include "rlpp/certify/game_file.h"
#include "rlpp/core/error.h"

namespace rlpp::fuzz {

void game_file(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  const size_t first = text.find_first_not_of(" \t\r\n");
  const bool json = first != std::string::npos && text[first] == '{';
  try {
    const certify::GameFile f = certify::parse_game_file(text, json ? "fuzz.json" : "fuzz.toml");
    if (!f.game || f.game->dim() <= 0) throw PropertyViolation("an accepted game file has no game");
  } catch (const core::UserError&) {
  }
}

}  // namespace rlpp::fuzz
