#include "rlpp/train/offline/kd_tree.h"

#include <algorithm>
#include <limits>
#include <numeric>
#include <stdexcept>
#include <string>


namespace rlpp::train::offline {

double squared_distance(const float* a, const float* b, int64_t dim) {
  double s = 0;
  for (int64_t d = 0; d < dim; ++d) {
    const double e = static_cast<double>(a[d]) - static_cast<double>(b[d]);
    s += e * e;
  }
  return s;
}

KdTree::KdTree(const std::vector<float>& points, int64_t dim, int64_t leaf_size)
    : KdTree(points.data(), dim > 0 ? static_cast<int64_t>(points.size()) / dim : 0, dim, leaf_size) {
  if (dim > 0 && static_cast<int64_t>(points.size()) % dim != 0)
    throw std::invalid_argument("KdTree: " + std::to_string(points.size()) + " floats are not rows of " +
                                std::to_string(dim));
}

KdTree::KdTree(const float* points, int64_t n, int64_t dim, int64_t leaf_size)
    : n_(n), dim_(dim), leaf_size_(leaf_size) {
  if (n < 1 || dim < 1 || leaf_size < 1)
    throw std::invalid_argument("KdTree: need n >= 1, dim >= 1 and leaf_size >= 1, got n = " + std::to_string(n) +
                                ", dim = " + std::to_string(dim) + ", leaf_size = " + std::to_string(leaf_size));
  std::vector<int64_t> order(static_cast<size_t>(n));
  std::iota(order.begin(), order.end(), int64_t{0});
  nodes_.reserve(static_cast<size_t>(2 * (n / leaf_size + 1)));
  build(0, n, order, points);
  points_.resize(static_cast<size_t>(n * dim));
  for (int64_t r = 0; r < n; ++r)
    std::copy_n(points + order[static_cast<size_t>(r)] * dim, dim, points_.data() + r * dim);
  index_ = std::move(order);
}

int64_t KdTree::build(int64_t begin, int64_t end, std::vector<int64_t>& order, const float* src) {
  const int64_t id = static_cast<int64_t>(nodes_.size());
  nodes_.push_back(Node{begin, end});
  if (end - begin <= leaf_size_) return id;
  // split the widest dimension of the rows' bounding box at its median
  int64_t best_dim = 0;
  float best_spread = -1;
  for (int64_t d = 0; d < dim_; ++d) {
    float lo = std::numeric_limits<float>::infinity(), hi = -lo;
    for (int64_t r = begin; r < end; ++r) {
      const float x = src[order[static_cast<size_t>(r)] * dim_ + d];
      lo = std::min(lo, x);
      hi = std::max(hi, x);
    }
    if (hi - lo > best_spread) best_spread = hi - lo, best_dim = d;
  }
  if (best_spread <= 0) return id;  // all rows equal: a leaf however many
  const int64_t mid = begin + (end - begin) / 2;
  auto key = [&](int64_t row) { return src[row * dim_ + best_dim]; };
  std::nth_element(order.begin() + begin, order.begin() + mid, order.begin() + end,
                   [&](int64_t a, int64_t b) { return key(a) < key(b) || (key(a) == key(b) && a < b); });
  const float split = key(order[static_cast<size_t>(mid)]);
  const int64_t left = build(begin, mid, order, src);
  const int64_t right = build(mid, end, order, src);
  Node& node = nodes_[static_cast<size_t>(id)];
  node.left = left;
  node.right = right;
  node.split_dim = best_dim;
  node.split = split;
  return id;
}

// Rows left of a split have x[d] <= split and rows right of it x[d] >= split, so a cell is at
// least sqrt(Σ_d off_d²) away, off_d being the query's distance to the cell's nearest boundary
// plane in dimension d (the incremental bound of Arya & Mount 1993, as nanoflann keeps it). A
// cell is searched unless that bound exceeds the best distance so far (equal bounds are
// searched, for the lowest index among ties); the bound is shrunk by a relative 1e-9 so that its
// own rounding can never prune a point at the best distance.
void KdTree::search(int64_t id, const float* q, double rd, double* off, Hit* best) const {
  const Node& node = nodes_[static_cast<size_t>(id)];
  if (node.left < 0) {
    for (int64_t r = node.begin; r < node.end; ++r) {
      const double d2 = squared_distance(q, points_.data() + r * dim_, dim_);
      const int64_t idx = index_[static_cast<size_t>(r)];
      if (d2 < best->dist2 || (d2 == best->dist2 && idx < best->index)) *best = Hit{idx, d2};
    }
    return;
  }
  const int64_t d = node.split_dim;
  const double diff = static_cast<double>(q[d]) - static_cast<double>(node.split);
  const int64_t first = diff <= 0 ? node.left : node.right, second = diff <= 0 ? node.right : node.left;
  search(first, q, rd, off, best);
  const double saved = off[d];
  const double rd_far = rd - saved * saved + diff * diff;
  if (rd_far * (1 - 1e-9) <= best->dist2) {
    off[d] = diff;
    search(second, q, rd_far, off, best);
    off[d] = saved;
  }
}

KdTree::Hit KdTree::nearest(const float* query) const {
  Hit best{-1, std::numeric_limits<double>::infinity()};
  std::vector<double> off(static_cast<size_t>(dim_), 0.0);
  search(0, query, 0.0, off.data(), &best);
  return best;
}

void KdTree::nearest_batch(const float* queries, int64_t n, int64_t* out) const {
  for (int64_t i = 0; i < n; ++i) out[i] = nearest(queries + i * dim_).index;
}

}  // namespace rlpp::train::offline
