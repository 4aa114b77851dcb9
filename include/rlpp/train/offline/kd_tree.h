// An exact nearest-neighbour index over a fixed point set: the k-d tree of Friedman, Bentley and
// Finkel (1977), as PRDC (Ran et al. 2023, arXiv:2306.06569) uses one (scipy's cKDTree there) to
// find the dataset point (β ŝ, â) nearest to (β s, π(s)).
//
// Distances are squared Euclidean, accumulated in double over the dimensions in order 0..D−1,
// so a query returns exactly what a brute-force scan with the same formula returns; among points
// at the same distance the lowest index wins. Build: O(N log N); a query: about O(log N) for low
// dimensions, degrading towards a scan as D grows.
#pragma once
#include <cstdint>
#include <vector>

namespace rlpp::train::offline {

class KdTree {
 public:
  // points: (n, dim) row-major; copied (reordered by the tree). n >= 1, dim >= 1.
  KdTree(const std::vector<float>& points, int64_t dim, int64_t leaf_size = 16);
  KdTree(const float* points, int64_t n, int64_t dim, int64_t leaf_size = 16);

  struct Hit {
    int64_t index = -1;  // row of the point in the constructor's input
    double dist2 = 0;    // its squared distance to the query
  };
  // The nearest point to query (dim floats).
  Hit nearest(const float* query) const;
  // out[i] = index of the point nearest to queries row i; queries: (n, dim).
  void nearest_batch(const float* queries, int64_t n, int64_t* out) const;

  int64_t size() const { return n_; }
  int64_t dim() const { return dim_; }

 private:
  struct Node {
    int64_t begin = 0, end = 0;  // rows [begin, end) of points_ (a leaf when left < 0)
    int64_t left = -1, right = -1;
    int64_t split_dim = 0;
    float split = 0;  // left holds rows with x[split_dim] <= split, right those >= split
  };
  int64_t build(int64_t begin, int64_t end, std::vector<int64_t>& order, const float* src);
  // rd: Σ off² of the cell; off: (dim) the query's per-dimension distance to the cell.
  void search(int64_t node, const float* q, double rd, double* off, Hit* best) const;

  int64_t n_ = 0, dim_ = 0, leaf_size_ = 16;
  std::vector<float> points_;   // (n, dim) in tree order
  std::vector<int64_t> index_;  // (n) tree row -> input row
  std::vector<Node> nodes_;
};

// Squared Euclidean distance in double over dimensions 0..dim−1 (the tree's metric).
double squared_distance(const float* a, const float* b, int64_t dim);

}  // namespace rlpp::train::offline
