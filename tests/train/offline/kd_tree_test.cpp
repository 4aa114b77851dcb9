// The k-d tree against a brute-force scan written out here (squared distances in double, the
// lowest index among equal distances), on random points, on grids full of exact ties, and with
// duplicated points. DISABLED_QueriesPerSecondOnAMillionPoints prints the speed quoted in
// docs/results.md (run it with --gtest_also_run_disabled_tests).
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <limits>
#include <random>
#include <vector>

#include "rlpp/train/offline/kd_tree.h"

namespace kd_tree_test {

using rlpp::train::offline::KdTree;

// (index, squared distance) of the nearest row of pts (n, dim) to q, lowest index on ties.
std::pair<int64_t, double> brute_nearest(const std::vector<float>& pts, int64_t dim, const float* q) {
  const int64_t n = static_cast<int64_t>(pts.size()) / dim;
  int64_t best = -1;
  double best_d = std::numeric_limits<double>::infinity();
  for (int64_t i = 0; i < n; ++i) {
    double s = 0;
    for (int64_t d = 0; d < dim; ++d) {
      const double e = double(q[d]) - double(pts[i * dim + d]);
      s += e * e;
    }
    if (s < best_d) best_d = s, best = i;  // strict: the first (lowest) index keeps a tie
  }
  return {best, best_d};
}

std::vector<float> uniform(int64_t count, std::mt19937& rng, float lo, float hi) {
  std::uniform_real_distribution<float> u(lo, hi);
  std::vector<float> v(static_cast<size_t>(count));
  for (float& x : v) x = u(rng);
  return v;
}

void expect_matches_brute(const std::vector<float>& pts, int64_t dim, const std::vector<float>& queries,
                          int64_t leaf) {
  const KdTree tree(pts, dim, leaf);
  const int64_t nq = static_cast<int64_t>(queries.size()) / dim;
  std::vector<int64_t> batch(static_cast<size_t>(nq));
  tree.nearest_batch(queries.data(), nq, batch.data());
  for (int64_t i = 0; i < nq; ++i) {
    const auto [want, want_d] = brute_nearest(pts, dim, queries.data() + i * dim);
    const auto hit = tree.nearest(queries.data() + i * dim);
    ASSERT_EQ(hit.index, want) << "query " << i << ", dim " << dim << ", leaf " << leaf;
    ASSERT_EQ(hit.dist2, want_d) << "query " << i;
    ASSERT_EQ(batch[static_cast<size_t>(i)], want) << "query " << i;
  }
}

TEST(KdTree, RandomPointsMatchBruteForce) {
  std::mt19937 rng(7);
  for (int64_t dim : {1, 2, 3, 14}) {
    for (int64_t leaf : {1, 4, 16}) {
      const auto pts = uniform(1500 * dim, rng, -2.f, 2.f);
      // queries inside and far outside the cloud
      auto queries = uniform(300 * dim, rng, -2.5f, 2.5f);
      const auto far = uniform(20 * dim, rng, -40.f, 40.f);
      queries.insert(queries.end(), far.begin(), far.end());
      expect_matches_brute(pts, dim, queries, leaf);
    }
  }
}

// Integer grids: many points at exactly the same distance from a query; the lowest index wins,
// as in the scan. Duplicated rows as well (every point appears three times, shuffled).
TEST(KdTree, TiesAndDuplicatesGiveTheLowestIndex) {
  std::mt19937 rng(11);
  for (int64_t dim : {2, 3, 5}) {
    std::uniform_int_distribution<int> cell(0, 3);
    std::vector<float> pts;
    for (int i = 0; i < 400; ++i) {
      std::vector<float> p(static_cast<size_t>(dim));
      for (float& x : p) x = static_cast<float>(cell(rng));
      for (int c = 0; c < 3; ++c) pts.insert(pts.end(), p.begin(), p.end());
    }
    std::vector<float> queries;
    std::uniform_int_distribution<int> half(-1, 8);
    for (int i = 0; i < 500; ++i)
      for (int64_t d = 0; d < dim; ++d) queries.push_back(0.5f * static_cast<float>(half(rng)));  // on and between cells
    for (int64_t leaf : {1, 2, 8}) expect_matches_brute(pts, dim, queries, leaf);
  }
}

TEST(KdTree, OnePointAndAllEqualPoints) {
  const std::vector<float> one = {1.f, -2.f};
  const float q[2] = {5.f, 5.f};
  const auto hit = KdTree(one, 2).nearest(q);
  EXPECT_EQ(hit.index, 0);
  EXPECT_DOUBLE_EQ(hit.dist2, 16.0 + 49.0);
  const std::vector<float> same(2 * 100, 0.25f);
  EXPECT_EQ(KdTree(same, 2, 3).nearest(q).index, 0);
}

TEST(KdTree, BadShapesAreRefused) {
  EXPECT_THROW(KdTree(std::vector<float>{}, 2), std::invalid_argument);
  EXPECT_THROW(KdTree(std::vector<float>{1.f, 2.f, 3.f}, 2), std::invalid_argument);
  EXPECT_THROW(KdTree(std::vector<float>{1.f, 2.f}, 0), std::invalid_argument);
  EXPECT_THROW(KdTree(std::vector<float>{1.f, 2.f}, 2, 0), std::invalid_argument);
}

// 1M points of Hopper's width in PRDC's key space (β·s, a): 11 state + 3 action dimensions,
// standard-normal states times β = 2 and uniform actions. Two kinds of queries: independent draws
// (the worst case: nothing in a 14-dimensional cloud is near them), and PRDC's own kind, a dataset
// state with another action (π(s) for s from the dataset): (β s_i, a_i + N(0, 0.3²)).
TEST(KdTree, DISABLED_QueriesPerSecondOnAMillionPoints) {
  const int64_t n = 1000000, dim = 14, nq = 20000;
  std::mt19937 rng(3);
  std::normal_distribution<float> g(0.f, 1.f);
  std::uniform_real_distribution<float> u(-1.f, 1.f);
  auto draw = [&](int64_t rows) {
    std::vector<float> v(static_cast<size_t>(rows * dim));
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t d = 0; d < dim; ++d) v[static_cast<size_t>(r * dim + d)] = d < 11 ? 2.f * g(rng) : u(rng);
    return v;
  };
  const auto pts = draw(n), far = draw(nq);
  std::vector<float> near(static_cast<size_t>(nq * dim));
  std::uniform_int_distribution<int64_t> row(0, n - 1);
  for (int64_t i = 0; i < nq; ++i) {
    const int64_t r = row(rng);
    for (int64_t d = 0; d < dim; ++d)
      near[static_cast<size_t>(i * dim + d)] = pts[static_cast<size_t>(r * dim + d)] + (d < 11 ? 0.f : 0.3f * g(rng));
  }
  const auto t0 = std::chrono::steady_clock::now();
  const KdTree tree(pts, dim);
  const double build_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("build %.2f s\n", build_s);
  for (const std::vector<float>* queries : {static_cast<const std::vector<float>*>(&near), &far}) {
    const int64_t m = queries == &near ? nq : nq / 10;
    std::vector<int64_t> out(static_cast<size_t>(m));
    const auto t1 = std::chrono::steady_clock::now();
    tree.nearest_batch(queries->data(), m, out.data());
    const double query_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t1).count();
    const int64_t nb = 20;  // the brute-force rate on a slice, which also checks the answers
    const auto t3 = std::chrono::steady_clock::now();
    for (int64_t i = 0; i < nb; ++i)
      ASSERT_EQ(brute_nearest(pts, dim, queries->data() + i * dim).first, out[static_cast<size_t>(i)]);
    const double brute_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t3).count();
    std::printf("%s queries: %.0f queries/s (k-d tree, 1 thread); brute force %.1f queries/s\n",
                queries == &near ? "dataset-state" : "independent", double(m) / query_s, double(nb) / brute_s);
  }
}

}  // namespace kd_tree_test
