// Files written by a run (recipes, metrics, checkpoints, plots). Anything a reader may open while
// the run is alive, or after it crashed, is written atomically: it is either the old version or the
// new one, never half of either.
#pragma once
#include <string>
#include <string_view>

namespace rlpp::core {

// Replaces `path` with `bytes`: writes a temp file in the same directory, fsyncs it and renames it
// over `path` (rename is atomic within one file system). On failure the temp file is removed and a
// UserError names `path` and the reason.
void atomic_write_file(const std::string& path, std::string_view bytes);

// Creates `dir` (and its parents) when missing and checks that a file can be created in it by
// creating and removing a probe file (permission bits alone do not say so: root, read-only mounts).
// UserError naming `dir` when it cannot be created, is not a directory, or is not writable.
void ensure_output_dir(const std::string& dir);

// The whole content of `path`; UserError naming it when it is missing or unreadable.
std::string read_file(const std::string& path);

// A fresh temp path next to `path` ("<path>.tmp.<pid>.<n>"), for writers that must produce a file
// through a library (e.g. a plot device) and then rename it into place.
std::string temp_path_for(const std::string& path);

// rename(from, to), or UserError naming both; on failure `from` is removed.
void rename_into_place(const std::string& from, const std::string& to);

}  // namespace rlpp::core
