// Learning-curve plots (PNG) from runs' metrics.jsonl, drawn with PLplot's pngcairo device.
#pragma once
#include <string>
#include <vector>

namespace rlpp::core {

struct Curve {
  std::string label;
  std::vector<double> x;  // (n,)
  std::vector<double> y;  // (n,)
};

struct PlotOptions {
  std::string title;
  std::string xlabel = "step";
  std::string ylabel;
  // Trailing moving average over this many points: y'[i] = mean(y[max(0, i-w+1) .. i]); 1 = raw.
  int smoothing = 1;
  int width = 1024;  // pixels
  int height = 640;
};

// Draws every curve (distinct colours, one legend entry each) and writes the PNG atomically (a temp
// file renamed over `png_path`). Points with a non-finite x or y are left out. UserError when there
// is nothing to draw, a curve's x and y differ in length, the options are invalid, the file cannot
// be written, or rlpp was built without PLplot.
void plot_curves(const std::vector<Curve>& curves, const PlotOptions& opts, const std::string& png_path);

// One curve per run directory from <run_dir>/metrics.jsonl: x = `x_key`, y = `metric`, label = the
// directory's base name. Rows lacking either (or holding null) are skipped. UserError naming the
// file (and line) when a file is missing, a line is malformed, or no row holds `metric`.
std::vector<Curve> load_run_curves(const std::vector<std::string>& run_dirs, const std::string& metric,
                                   const std::string& x_key = "step");

// y'[i] = mean(y[max(0, i-window+1) .. i]).  (n,) -> (n,)
std::vector<double> moving_average(const std::vector<double>& y, int window);

}  // namespace rlpp::core
