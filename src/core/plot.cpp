#include "rlpp/core/plot.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <limits>
#include <mutex>
#include <stdexcept>

#include "rlpp/core/error.h"
#include "rlpp/core/fs.h"

#ifdef RLPP_HAVE_PLPLOT
#include <plplot/plstream.h>
#endif

namespace rlpp::core {

std::vector<double> moving_average(const std::vector<double>& y, int window) {
  const size_t w = static_cast<size_t>(std::max(window, 1));
  std::vector<double> out(y.size());
  double sum = 0.0;
  for (size_t i = 0; i < y.size(); ++i) {
    sum += y[i];
    if (i >= w) sum -= y[i - w];
    out[i] = sum / static_cast<double>(std::min(i + 1, w));
  }
  return out;
}

#ifdef RLPP_HAVE_PLPLOT

namespace {

// matplotlib's "tab10" palette: ten colours that stay distinct on white and for most colour-blind readers.
constexpr int kPalette[10][3] = {{31, 119, 180}, {255, 127, 14}, {44, 160, 44},  {214, 39, 40},  {148, 103, 189},
                                 {140, 86, 75},  {227, 119, 194}, {127, 127, 127}, {188, 189, 34}, {23, 190, 207}};
constexpr int kBackground = 0, kForeground = 1, kGrid = 2, kFirstCurve = 3;

// PLplot's text escape character is '#'; "##" draws one.
std::string plplot_text(const std::string& s) {
  std::string out;
  for (char c : s) {
    out.push_back(c);
    if (c == '#') out.push_back('#');
  }
  return out;
}

// PLplot calls exit() after a fatal error unless its exit handler does not return.
struct PlplotError : std::runtime_error {
  using std::runtime_error::runtime_error;
};
int throwing_exit_handler(const char* message) { throw PlplotError(message ? message : "unknown error"); }

std::mutex& plplot_mutex() {  // PLplot keeps global state
  static std::mutex m;
  return m;
}

struct Range {
  double lo = std::numeric_limits<double>::infinity();
  double hi = -std::numeric_limits<double>::infinity();
  void add(double v) {
    lo = std::min(lo, v);
    hi = std::max(hi, v);
  }
  // Widens a single value to a visible interval and adds `margin` of the span on both sides.
  void pad(double margin) {
    if (hi - lo <= 0) {
      const double d = std::max(std::abs(lo) * 0.05, 0.5);
      lo -= d;
      hi += d;
      return;
    }
    const double d = (hi - lo) * margin;
    lo -= d;
    hi += d;
  }
};

// The corner of the plot (as a PL_POSITION_* mask) that the fewest points fall in, for the legend.
PLINT emptiest_corner(const std::vector<Curve>& curves, const Range& xr, const Range& yr) {
  const PLINT corners[4] = {PL_POSITION_LEFT | PL_POSITION_TOP, PL_POSITION_RIGHT | PL_POSITION_TOP,
                            PL_POSITION_LEFT | PL_POSITION_BOTTOM, PL_POSITION_RIGHT | PL_POSITION_BOTTOM};
  constexpr double kCorner = 0.4;  // fraction of each axis a legend may cover
  size_t count[4] = {0, 0, 0, 0};
  for (const Curve& c : curves) {
    for (size_t i = 0; i < c.x.size(); ++i) {
      const double u = (c.x[i] - xr.lo) / (xr.hi - xr.lo);
      const double v = (c.y[i] - yr.lo) / (yr.hi - yr.lo);
      const bool left = u < kCorner, right = u > 1 - kCorner, top = v > 1 - kCorner, bottom = v < kCorner;
      count[0] += left && top;
      count[1] += right && top;
      count[2] += left && bottom;
      count[3] += right && bottom;
    }
  }
  return corners[std::min_element(count, count + 4) - count];
}

}  // namespace

void plot_curves(const std::vector<Curve>& curves, const PlotOptions& opts, const std::string& png_path) {
  const std::string where = "cannot plot '" + png_path + "': ";
  if (opts.width < 16 || opts.width > 16384 || opts.height < 16 || opts.height > 16384) {
    throw UserError(where + "size " + std::to_string(opts.width) + "x" + std::to_string(opts.height) +
                    " is outside 16..16384 pixels");
  }
  if (opts.smoothing < 1) throw UserError(where + "smoothing window must be >= 1, got " + std::to_string(opts.smoothing));

  std::vector<Curve> drawn;  // finite points only, smoothed
  Range xr, yr;
  for (const Curve& c : curves) {
    if (c.x.size() != c.y.size()) {
      throw UserError(where + "curve '" + c.label + "' has " + std::to_string(c.x.size()) + " x values but " +
                      std::to_string(c.y.size()) + " y values");
    }
    Curve d{c.label, {}, {}};
    for (size_t i = 0; i < c.x.size(); ++i) {
      if (std::isfinite(c.x[i]) && std::isfinite(c.y[i])) {
        d.x.push_back(c.x[i]);
        d.y.push_back(c.y[i]);
      }
    }
    d.y = moving_average(d.y, opts.smoothing);
    for (size_t i = 0; i < d.x.size(); ++i) {
      xr.add(d.x[i]);
      yr.add(d.y[i]);
    }
    drawn.push_back(std::move(d));
  }
  if (!(xr.lo <= xr.hi)) throw UserError(where + "no finite points to draw");
  if (xr.hi - xr.lo <= 0) xr.pad(0.0);
  yr.pad(0.05);

  // Reserve the temp file ourselves: an unwritable directory becomes a clear error here rather
  // than a fatal error inside PLplot.
  const std::string tmp = temp_path_for(png_path);
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
  if (fd < 0) throw UserError(where + "cannot create '" + tmp + "': " + std::strerror(errno));
  ::close(fd);

  try {
    std::lock_guard<std::mutex> lock(plplot_mutex());
    plstream pls;
    pls.sexit(throwing_exit_handler);
    pls.sdev("pngcairo");
    pls.sfnam(tmp.c_str());
    pls.spage(0, 0, opts.width, opts.height, 0, 0);
    pls.scmap0n(kFirstCurve + 10);
    pls.scol0(kBackground, 255, 255, 255);
    pls.scol0(kForeground, 0, 0, 0);
    pls.scol0(kGrid, 220, 220, 220);
    for (int i = 0; i < 10; ++i) pls.scol0(kFirstCurve + i, kPalette[i][0], kPalette[i][1], kPalette[i][2]);
    pls.init();
    pls.adv(0);
    pls.vsta();
    pls.wind(xr.lo, xr.hi, yr.lo, yr.hi);
    pls.col0(kGrid);
    pls.box("g", 0, 0, "g", 0, 0);
    pls.col0(kForeground);
    pls.sxax(10, 0);  // x ticks as plain numbers up to 10 digits: a "(x10^5)" offset collides with the label
    pls.box("bcnst", 0, 0, "bcnstv", 0, 0);
    pls.lab(plplot_text(opts.xlabel).c_str(), plplot_text(opts.ylabel).c_str(), plplot_text(opts.title).c_str());

    const auto n = static_cast<PLINT>(drawn.size());
    std::vector<PLINT> opt_array(n, PL_LEGEND_LINE), text_colors(n, kForeground), line_colors(n), line_styles(n);
    std::vector<PLFLT> line_widths(n, 2.0);
    std::vector<std::string> labels(n);
    std::vector<const char*> label_ptrs(n);
    for (PLINT i = 0; i < n; ++i) {
      line_colors[i] = kFirstCurve + i % 10;
      line_styles[i] = 1 + (i / 10) % 8;  // beyond ten curves, colours repeat with another dash pattern
      labels[i] = plplot_text(drawn[i].label);
      label_ptrs[i] = labels[i].c_str();
      pls.col0(line_colors[i]);
      pls.lsty(line_styles[i]);
      pls.width(line_widths[i]);
      if (drawn[i].x.size() == 1) {
        pls.poin(1, drawn[i].x.data(), drawn[i].y.data(), 17);  // a lone point would draw nothing as a line
      } else if (!drawn[i].x.empty()) {
        pls.line(static_cast<PLINT>(drawn[i].x.size()), drawn[i].x.data(), drawn[i].y.data());
      }
    }
    pls.lsty(1);
    pls.width(1.0);
    PLFLT legend_w = 0, legend_h = 0;
    pls.legend(&legend_w, &legend_h, PL_LEGEND_BACKGROUND | PL_LEGEND_BOUNDING_BOX,
               emptiest_corner(drawn, xr, yr) | PL_POSITION_INSIDE, /*x=*/0.02, /*y=*/0.02,
               /*plot_width=*/0.06, kBackground, kForeground, /*bb_style=*/1, /*nrow=*/0, /*ncolumn=*/0, n,
               opt_array.data(), /*text_offset=*/1.0, /*text_scale=*/0.8, /*text_spacing=*/2.0,
               /*text_justification=*/0.0, text_colors.data(), label_ptrs.data(), nullptr, nullptr, nullptr,
               nullptr, line_colors.data(), line_styles.data(), line_widths.data(), nullptr, nullptr, nullptr,
               nullptr);
  } catch (const PlplotError& e) {
    ::unlink(tmp.c_str());
    throw UserError(where + "PLplot: " + e.what());
  } catch (...) {
    ::unlink(tmp.c_str());
    throw;
  }
  rename_into_place(tmp, png_path);
}

#else  // !RLPP_HAVE_PLPLOT

void plot_curves(const std::vector<Curve>&, const PlotOptions&, const std::string& png_path) {
  throw UserError("cannot plot '" + png_path +
                  "': rlpp was built without PLplot (install libplplot-dev and plplot-driver-cairo, then "
                  "reconfigure and rebuild)");
}

#endif

}  // namespace rlpp::core
