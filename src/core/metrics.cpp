#include "rlpp/core/metrics.h"

#include <filesystem>
#include <set>
#include <stdexcept>

#include "rlpp/core/fs.h"
#include "rlpp/core/tensorboard.h"

namespace rlpp::core {

namespace {

class TensorBoardSink : public MetricsSink {
 public:
  explicit TensorBoardSink(const std::string& dir) : writer_(dir) {}
  void write(int64_t step, const MetricRow& row) override { writer_.add_scalars(step, row); }

 private:
  TensorBoardWriter writer_;
};

std::string join_path(const std::string& dir, const char* name) {
  return (std::filesystem::path(dir) / name).string();
}

}  // namespace

MetricsLogger::MetricsLogger(const std::string& run_dir, bool resume, int64_t resume_step, MetricsSinks sinks)
    : run_dir_(run_dir) {
  ensure_output_dir(run_dir);
  if (sinks.jsonl) sinks_.push_back(std::make_unique<JsonlSink>(join_path(run_dir, kMetricsJsonlFile), resume, resume_step));
  if (sinks.csv) sinks_.push_back(std::make_unique<CsvSink>(join_path(run_dir, kMetricsCsvFile), resume, resume_step));
  if (sinks.tensorboard) {
    if (resume) truncate_tensorboard_events(run_dir, resume_step);
    sinks_.push_back(std::make_unique<TensorBoardSink>(run_dir));
  }
}

MetricsLogger::~MetricsLogger() = default;

void MetricsLogger::log(int64_t step, const MetricRow& values) {
  std::set<std::string_view> seen;
  for (const auto& kv : values) {
    if (kv.first.empty() || kv.first == "step" || !seen.insert(kv.first).second) {
      throw std::invalid_argument("MetricsLogger::log: metric name '" + kv.first +
                                  "' is empty, reserved (\"step\") or repeated in one row");
    }
  }
  for (auto& sink : sinks_) sink->write(step, values);
}

void MetricsLogger::add_sink(std::unique_ptr<MetricsSink> sink) { sinks_.push_back(std::move(sink)); }

}  // namespace rlpp::core
