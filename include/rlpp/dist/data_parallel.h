// The reductions of a data-parallel update. Each is a collective: every rank calls it, in the same
// order. Gradients are averaged over the ranks (the loss of each rank is a mean over its equal share
// of the global minibatch, so the average is the gradient of the global mean), and statistics of a
// batch split across ranks are computed over all of its rows, so that N ranks compute what one
// process computes on the global batch.
//
//   loss.backward();
//   dist::average_gradients(comm, model->parameters());  // every rank: the same gradient
//   clip_grad_norm_(...); optimizer.step();              // identical parameters on every rank
#pragma once
#include <torch/torch.h>

#include <cstdint>
#include <utility>
#include <vector>

#include "rlpp/dist/comm.h"

namespace rlpp::dist {

// How a batch is split across the ranks: every rank's row count, in rank order, and this rank's
// first row in the global batch (the rows of all ranks, concatenated in rank order).
struct RowSplit {
  std::vector<int64_t> rows;  // (world) rows of each rank
  int64_t offset = 0;         // this rank's first global row
  int64_t total = 0;          // Σ rows
};
// One collective. Without a group (comm null or one rank): {my_rows}, offset 0.
RowSplit row_split(Comm* comm, int64_t my_rows);

// The global batch of a tensor split by rows: every rank's (B_r, ...) in rank order, (total, ...).
// The trailing dimensions must be equal on every rank (pad first). One collective (each rank
// writes its rows into zeros and the copies are summed, which is exact); bool tensors travel as
// uint8. Without a group: `t` itself.
torch::Tensor gather_rows(Comm* comm, const RowSplit& split, const torch::Tensor& t);

// This rank's rows [offset, offset + rows) of a global (total, ...) tensor.
torch::Tensor own_rows(const RowSplit& split, int rank, const torch::Tensor& global);

// Σ over ranks of each of v[0..n) in place (one collective; nothing without a group).
void sum_over_ranks(Comm* comm, double* v, int64_t n);

// The maximum over ranks of a non-negative integer (one collective; `v` without a group).
int64_t max_over_ranks(Comm* comm, int64_t v);

// g (n) fp32 in place: the mean over ranks, in one collective (the fast learner's flat buffer).
void average(Comm& comm, float* g, int64_t n);

// Every parameter's .grad() in place: the mean over ranks. The gradients are packed into flat
// buckets of at most `bucket_bytes` (one collective each, a parameter never split) and unpacked; a
// parameter without a gradient takes part as zeros and gets one.
void average_gradients(Comm& comm, const std::vector<torch::Tensor>& params, int64_t bucket_bytes = 25 << 20);
// The same, summed instead of averaged: for losses that are each rank's part of a global sum (the
// language-model update divides by global counts, so the sum is the gradient of the global loss).
void sum_gradients(Comm& comm, const std::vector<torch::Tensor>& params, int64_t bucket_bytes = 25 << 20);

// Mean and unbiased standard deviation (0 for fewer than two rows in all) of K groups of values
// whose rows are split across the ranks, e.g. the advantages of an epoch's K minibatches: `sums`
// (K, 3) holds Σx, Σx², n of this rank's rows of each group. One collective; in double (the
// one-pass variance loses nothing that matters for advantages, whose mean is not many standard
// deviations from zero). Returns (mean, std) per group, the same on every rank.
std::vector<std::pair<double, double>> group_mean_std(Comm& comm, std::vector<double> sums);

}  // namespace rlpp::dist
