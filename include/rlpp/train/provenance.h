// RUN_DIR/provenance.jsonl: what made a run, one JSON line per start and per resume, so a result
// can be traced to the binary, library versions, machine and numeric settings behind it:
//   {"time": "2026-12-07T19:30:02Z", "command": "train" | "resume", "rlpp": "0.1.0",
//    "commit": "bf0af3f1c2d4" (build_info.h; "-dirty" when built from changed files),
//    "libtorch": "1.13.0", "cpu": "AMD EPYC", "cores": 2, "ranks": 1,
//    "env": {"OPENBLAS_CORETYPE": "Haswell", ...}}   (only the variables below that are set)
// A resume with another binary is visible there: its exact-resume guarantee holds for one build.
#pragma once
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace rlpp::train {

// Environment variables that change a run's floating-point results or its devices, recorded when set.
extern const std::vector<std::string> kProvenanceEnv;

// This process's record for `command` ("train" or "resume") of a run over `ranks` processes.
nlohmann::ordered_json provenance_record(const std::string& command, int ranks);

// Writes the record to RUN_DIR/provenance.jsonl: a "train" starts the file afresh (a new run), a
// "resume" appends its line. The file is replaced atomically (core::atomic_write_file).
void record_provenance(const std::string& run_dir, const std::string& command, int ranks);

}  // namespace rlpp::train
