// Progress of a training loop. On a terminal: one status line redrawn in place (\r), at most ~10
// times a second. Elsewhere (log files, CI): a plain line at most every `log_interval_s` seconds,
// plus one at the end, so logs stay short and readable.
//
//   [=========>          ]  45.0%  45000/100000  sps 12345  return 123.45  eta 0:04:27
#pragma once
#include <cstdint>
#include <functional>
#include <iostream>
#include <optional>
#include <string>

namespace rlpp::core {

class Progress {
 public:
  // `tty`: whether to draw in place; by default, whether stdout is a terminal.
  explicit Progress(int64_t total_steps, std::optional<bool> tty = std::nullopt, double log_interval_s = 10.0,
                    std::ostream& out = std::cout);
  ~Progress();
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  // `steps` done so far, current steps per second, the latest episodic return if any.
  void update(int64_t steps, double sps, std::optional<double> latest_return = std::nullopt);
  // Draws the final state and ends the line; further calls do nothing.
  void finish();

  // The status text for a state, without \r or newline (exposed for tests).
  std::string format(int64_t steps, double sps, std::optional<double> latest_return, bool with_bar) const;
  // The name of the rate on the line ("sps" by default; e.g. "steps/s" for optimizer steps).
  void set_rate_label(std::string label) { rate_label_ = std::move(label); }
  // Replaces the monotonic clock (seconds) used for throttling; for tests.
  void set_clock(std::function<double()> clock) { clock_ = std::move(clock); }

 private:
  void emit();

  int64_t total_;
  bool tty_;
  double log_interval_s_;
  std::ostream& out_;
  std::function<double()> clock_;

  int64_t steps_ = 0;
  double sps_ = 0.0;
  std::optional<double> return_;
  std::optional<double> last_emit_time_;
  int64_t last_emit_steps_ = -1;
  bool finished_ = false;
  std::string rate_label_ = "sps";
};

}  // namespace rlpp::core
