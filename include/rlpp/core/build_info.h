#pragma once
// What this binary was built from, for run directories (RUN_DIR/provenance.jsonl) and
// `rlpp --version`. The definition is generated at build time by cmake/BuildInfo.cmake.

namespace rlpp::core {

// The source tree's commit when this binary was built: 12 hex digits, with "-dirty" appended when
// tracked files differed from that commit; "unknown" for a build outside a git checkout.
const char* build_commit();

}  // namespace rlpp::core
