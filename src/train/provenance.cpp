#include "rlpp/train/provenance.h"

#include <torch/version.h>

#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <thread>

#include "rlpp/core/build_info.h"
#include "rlpp/core/fs.h"
#include "rlpp/version.h"

namespace rlpp::train {

namespace fs = std::filesystem;

const std::vector<std::string> kProvenanceEnv = {"OPENBLAS_CORETYPE", "ATEN_CPU_CAPABILITY", "OMP_NUM_THREADS",
                                                 "MKL_NUM_THREADS", "CUDA_VISIBLE_DEVICES", "CUBLAS_WORKSPACE_CONFIG"};

// The first "model name" of /proc/cpuinfo; "unknown" where there is none.
static std::string cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("model name", 0) != 0) continue;
    const size_t colon = line.find(':');
    if (colon == std::string::npos) break;
    const size_t begin = line.find_first_not_of(" \t", colon + 1);
    return begin == std::string::npos ? std::string("unknown") : line.substr(begin);
  }
  return "unknown";
}

static std::string utc_now() {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char stamp[32];
  std::strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return stamp;
}

nlohmann::ordered_json provenance_record(const std::string& command, int ranks) {
  nlohmann::ordered_json env = nlohmann::ordered_json::object();
  for (const auto& name : kProvenanceEnv) {
    if (const char* v = std::getenv(name.c_str())) env[name] = v;
  }
  return {{"time", utc_now()},
          {"command", command},
          {"rlpp", RLPP_VERSION},
          {"commit", core::build_commit()},
          {"libtorch", TORCH_VERSION},
          {"cpu", cpu_model()},
          {"cores", static_cast<int>(std::thread::hardware_concurrency())},
          {"ranks", ranks},
          {"env", env}};
}

void record_provenance(const std::string& run_dir, const std::string& command, int ranks) {
  const std::string path = (fs::path(run_dir) / "provenance.jsonl").string();
  std::error_code ec;
  std::string text = command != "train" && fs::is_regular_file(path, ec) ? core::read_file(path) : std::string();
  if (!text.empty() && text.back() != '\n') text += '\n';
  text += provenance_record(command, ranks).dump() + "\n";
  core::atomic_write_file(path, text);
}

}  // namespace rlpp::train
