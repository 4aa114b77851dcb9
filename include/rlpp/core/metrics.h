// Training metrics: one row per update, fanned out to sinks in the run directory.
//
//   metrics.jsonl   one JSON object per line: {"step": N, "charts/episodic_return": 1.5, ...};
//                   non-finite values are written as null.
//   metrics.csv     header "step,<names in order of first appearance>"; one line per row, empty
//                   cells for names a row lacks. A name that first appears in a later row (e.g. the
//                   episodic return before any episode has ended) widens the file: the column is
//                   appended to the header and the file is rewritten atomically with empty cells in
//                   the earlier rows. Non-finite values are written as nan, inf, -inf.
//   events.out.tfevents.*   TensorBoard scalars (see tensorboard.h).
//
// Every sink flushes each row before log() returns, so a crash loses at most the row being written.
// Resuming from a checkpoint at step S removes the rows with step > S that the interrupted attempt
// wrote after its checkpoint, so the resumed run ends with exactly the rows of an uninterrupted one.
#pragma once
#include <cstdint>
#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace rlpp::core {

// Ordered (name, value) pairs of one update, e.g. {{"charts/episodic_return", 21.0}, ...}.
using MetricRow = std::vector<std::pair<std::string, double>>;

constexpr const char* kMetricsJsonlFile = "metrics.jsonl";
constexpr const char* kMetricsCsvFile = "metrics.csv";

class MetricsSink {
 public:
  virtual ~MetricsSink() = default;
  // Writes and flushes one row.
  virtual void write(int64_t step, const MetricRow& row) = 0;
};

class JsonlSink : public MetricsSink {
 public:
  // Starts `path` afresh, or on `resume` keeps its rows with step <= resume_step (a torn last line
  // is dropped; any other malformed line is a UserError naming file and line) and appends.
  JsonlSink(const std::string& path, bool resume, int64_t resume_step);
  ~JsonlSink() override;
  void write(int64_t step, const MetricRow& row) override;

 private:
  std::string path_;
  std::FILE* file_ = nullptr;
};

class CsvSink : public MetricsSink {
 public:
  // Like JsonlSink. On resume the header is rebuilt from the kept rows: columns that none of them
  // fills are dropped, so they come back at the position an uninterrupted run would give them.
  CsvSink(const std::string& path, bool resume, int64_t resume_step);
  ~CsvSink() override;
  void write(int64_t step, const MetricRow& row) override;

  const std::vector<std::string>& columns() const { return columns_; }  // without "step"

 private:
  void widen(const std::vector<std::string>& added);
  void reopen_for_append();

  std::string path_;
  std::FILE* file_ = nullptr;
  bool has_header_ = false;
  std::vector<std::string> columns_;
  std::map<std::string, size_t> index_;
};

// Which built-in sinks a MetricsLogger opens.
struct MetricsSinks {
  bool jsonl = true;
  bool csv = true;
  bool tensorboard = true;
};

class MetricsLogger {
 public:
  // Creates `run_dir` if needed (UserError when it cannot be written) and opens the sinks. With
  // `resume`, rows with step > resume_step are first removed from the existing files.
  MetricsLogger(const std::string& run_dir, bool resume, int64_t resume_step, MetricsSinks sinks = {});
  ~MetricsLogger();

  // One row per update. Names must be non-empty, distinct and not "step" (the step is its own
  // column); breaking that is a programming error (std::invalid_argument).
  void log(int64_t step, const MetricRow& values);

  // Adds a caller-defined sink (e.g. a console summary or a Python callback).
  void add_sink(std::unique_ptr<MetricsSink> sink);

  const std::string& run_dir() const { return run_dir_; }

 private:
  std::string run_dir_;
  std::vector<std::unique_ptr<MetricsSink>> sinks_;
};

}  // namespace rlpp::core
