#include "rlpp/core/progress.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>

namespace rlpp::core {

static constexpr double kRedrawInterval = 0.1;  // seconds between redraws on a terminal
static constexpr int kBarWidth = 20;

static double monotonic_seconds() {
  using namespace std::chrono;
  return duration<double>(steady_clock::now().time_since_epoch()).count();
}

static std::string format_eta(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "?";
  const auto s = static_cast<int64_t>(seconds + 0.5);
  char buf[48];
  std::snprintf(buf, sizeof buf, "%lld:%02lld:%02lld", static_cast<long long>(s / 3600),
                static_cast<long long>(s / 60 % 60), static_cast<long long>(s % 60));
  return buf;
}

Progress::Progress(int64_t total_steps, std::optional<bool> tty, double log_interval_s, std::ostream& out)
    : total_(std::max<int64_t>(total_steps, 0)),
      tty_(tty ? *tty : ::isatty(::fileno(stdout)) == 1),
      log_interval_s_(log_interval_s),
      out_(out),
      clock_(monotonic_seconds) {}

Progress::~Progress() {
  // Leaves the terminal on a fresh line when a loop ends by an exception.
  if (tty_ && !finished_ && last_emit_time_) out_ << "\n" << std::flush;
}

std::string Progress::format(int64_t steps, double sps, std::optional<double> latest_return, bool with_bar) const {
  const double frac = total_ > 0 ? std::clamp(static_cast<double>(steps) / static_cast<double>(total_), 0.0, 1.0) : 1.0;
  std::string s;
  if (with_bar) {
    const int filled = static_cast<int>(frac * kBarWidth);
    s = "[" + std::string(filled, '=') + (filled < kBarWidth ? ">" : "") +
        std::string(std::max(0, kBarWidth - filled - 1), ' ') + "]  ";
  }
  char buf[160];
  // Slow loops (an RL step of a language model takes seconds) keep two decimals, so the rate never
  // reads 0 while work is being done.
  const int decimals = sps > 0 && sps < 10 ? 2 : 0;
  std::snprintf(buf, sizeof buf, "%5.1f%%  %lld/%lld  %s %.*f", 100.0 * frac, static_cast<long long>(steps),
                static_cast<long long>(total_), rate_label_.c_str(), decimals, sps);
  s += buf;
  if (latest_return) {
    std::snprintf(buf, sizeof buf, "  return %.2f", *latest_return);
    s += buf;
  }
  const double eta = sps > 0 ? static_cast<double>(std::max<int64_t>(total_ - steps, 0)) / sps : NAN;
  s += "  eta " + format_eta(eta);
  return s;
}

void Progress::emit() {
  if (tty_) {
    out_ << "\r" << format(steps_, sps_, return_, /*with_bar=*/true) << "\x1b[K" << std::flush;  // K: clear to EOL
  } else {
    out_ << format(steps_, sps_, return_, /*with_bar=*/false) << "\n" << std::flush;
  }
  last_emit_time_ = clock_();
  last_emit_steps_ = steps_;
}

void Progress::update(int64_t steps, double sps, std::optional<double> latest_return) {
  if (finished_) return;
  steps_ = steps;
  sps_ = sps;
  if (latest_return) return_ = latest_return;
  const double interval = tty_ ? kRedrawInterval : log_interval_s_;
  if (!last_emit_time_ || clock_() - *last_emit_time_ >= interval) emit();
}

void Progress::finish() {
  if (finished_) return;
  finished_ = true;
  if (tty_) {
    emit();
    out_ << "\n" << std::flush;
  } else if (last_emit_steps_ != steps_ || !last_emit_time_) {
    emit();
  }
}

}  // namespace rlpp::core
