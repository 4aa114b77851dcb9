// Game files (TOML or JSON, same keys; format and annotated example in docs/games.md).
// Every value is validated — shapes, ranges, finiteness, unknown keys — and a bad file is a
// core::UserError naming the file and the key (exit code 2).
#pragma once
#include <memory>
#include <string>

#include "rlpp/certify/game.h"
#include "rlpp/certify/local_constants.h"

namespace rlpp::certify {

struct GameFile {
  std::string path;
  std::string kind;  // "quadratic", "bilinear", "lq_rotation", "random_quadratic" or "markov"
  std::string name;
  std::unique_ptr<Game> game;
  Region region;                 // [region], defaults when absent
  Geometry geometry = Geometry::kEuclidean;  // markov games default to "fisher"
};

// Reads `path` (".json" → JSON, anything else → TOML).
GameFile load_game_file(const std::string& path);
// Parses `text`; `source` names it in errors and picks the syntax by its extension.
GameFile parse_game_file(const std::string& text, const std::string& source);

}  // namespace rlpp::certify
