// `rlpp plot`: learning curves of one or more runs' metrics.jsonl to a PNG (core/plot.h).
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "command.h"
#include "rlpp/core/plot.h"

namespace {

struct PlotArgs {
  std::vector<std::string> runs;
  std::string metric = "charts/episodic_return", out = "learning_curves.png", title;
  std::string xlabel = "step (environment steps for ppo, optimizer steps for lm, RL steps for rlvr)";
  int smooth = 1;
};

int run_plot(const PlotArgs& a) {
  rlpp::core::PlotOptions opts;
  opts.title = a.title.empty() ? a.metric : a.title;
  opts.ylabel = a.metric;
  opts.xlabel = a.xlabel;
  opts.smoothing = a.smooth;
  rlpp::core::plot_curves(rlpp::core::load_run_curves(a.runs, a.metric), opts, a.out);
  std::cout << "rlpp: wrote " << a.out << std::endl;
  return 0;
}

const bool kRegistered = rlpp::cli::register_command(
    [](CLI::App& app, const std::atomic<bool>&) {
      auto a = std::make_shared<PlotArgs>();
      auto* plot = app.add_subcommand("plot", "draw learning curves of one or more runs to a PNG");
      plot->add_option("run_dirs", a->runs, "run directories")->required();
      plot->add_option("--metric", a->metric, "metric name in metrics.jsonl");
      plot->add_option("--out", a->out, "PNG file to write");
      plot->add_option("--smooth", a->smooth, "moving-average window")->check(CLI::Range(1, 100000));
      plot->add_option("--title", a->title, "plot title");
      plot->add_option("--xlabel", a->xlabel, "x-axis label");
      plot->footer("Example:\n  rlpp plot runs/cp1 runs/cp2 --metric charts/episodic_return --out cartpole.png");
      return rlpp::cli::Command{plot, [a] { return run_plot(*a); }, false};
    },
    50);

}  // namespace
