// Small string helpers shared by registries, configs and the CLI.
#pragma once
#include <string>
#include <string_view>
#include <vector>

namespace rlpp::core {

// Levenshtein edit distance (insert, delete, substitute all cost 1).
int edit_distance(std::string_view a, std::string_view b);

// The candidate closest to `word` by edit distance (case-insensitive), or "" when none is within
// max(2, |word|/3) edits.
std::string closest_match(std::string_view word, const std::vector<std::string>& candidates);

// " (did you mean 'x'?)" when a close candidate exists, else "".
std::string did_you_mean(std::string_view word, const std::vector<std::string>& candidates);

std::string join(const std::vector<std::string>& parts, std::string_view sep);
std::vector<std::string> split(std::string_view s, char sep);

}  // namespace rlpp::core
