#include "rlpp/dist/data_parallel.h"

#include <algorithm>

namespace rlpp::dist {

void average(Comm& comm, float* g, int64_t n) {
  if (comm.size() == 1) return;
  comm.allreduce_sum(g, n);
  const float inv = 1.0f / static_cast<float>(comm.size());
  for (int64_t i = 0; i < n; ++i) g[i] *= inv;
}

namespace {

// Every parameter's gradient summed over the ranks and multiplied by `scale`, in buckets.
void reduce_gradients(Comm& comm, const std::vector<torch::Tensor>& params, int64_t bucket_bytes, double scale) {
  torch::NoGradGuard no_grad;
  size_t begin = 0;
  while (begin < params.size()) {
    // [begin, end): parameters of one dtype whose gradients fit the bucket (at least one)
    size_t end = begin;
    int64_t bytes = 0;
    while (end < params.size() && params[end].scalar_type() == params[begin].scalar_type() &&
           (end == begin || bytes + params[end].numel() * params[end].element_size() <= bucket_bytes)) {
      bytes += params[end].numel() * params[end].element_size();
      ++end;
    }
    std::vector<torch::Tensor> flat;
    for (size_t i = begin; i < end; ++i) {
      const torch::Tensor& g = params[i].grad();
      flat.push_back(g.defined() ? g.reshape({-1}) : torch::zeros({params[i].numel()}, params[i].options()));
    }
    torch::Tensor bucket = torch::cat(flat).contiguous();  // (Σ numel)
    comm.allreduce_sum(bucket);
    if (scale != 1.0) bucket.mul_(scale);
    int64_t offset = 0;
    for (size_t i = begin; i < end; ++i) {
      torch::Tensor p = params[i];
      const int64_t n = p.numel();
      torch::Tensor avg = bucket.narrow(0, offset, n).view(p.sizes());
      if (p.grad().defined()) {
        p.mutable_grad().copy_(avg);
      } else {
        p.mutable_grad() = avg.clone();
      }
      offset += n;
    }
    begin = end;
  }
}

}  // namespace

void average_gradients(Comm& comm, const std::vector<torch::Tensor>& params, int64_t bucket_bytes) {
  if (comm.size() == 1) return;
  reduce_gradients(comm, params, bucket_bytes, 1.0 / static_cast<double>(comm.size()));
}

void sum_gradients(Comm& comm, const std::vector<torch::Tensor>& params, int64_t bucket_bytes) {
  if (comm.size() == 1) return;
  reduce_gradients(comm, params, bucket_bytes, 1.0);
}

RowSplit row_split(Comm* comm, int64_t my_rows) {
  RowSplit s;
  if (comm == nullptr || comm->size() == 1) {
    s.rows = {my_rows};
    s.total = my_rows;
    return s;
  }
  std::vector<double> v(static_cast<size_t>(comm->size()), 0.0);  // exact: counts < 2^53
  v[static_cast<size_t>(comm->rank())] = static_cast<double>(my_rows);
  comm->allreduce_sum(v.data(), static_cast<int64_t>(v.size()));
  for (int r = 0; r < comm->size(); ++r) {
    const auto n = static_cast<int64_t>(v[static_cast<size_t>(r)]);
    if (r < comm->rank()) s.offset += n;
    s.rows.push_back(n);
    s.total += n;
  }
  return s;
}

torch::Tensor gather_rows(Comm* comm, const RowSplit& split, const torch::Tensor& t) {
  if (comm == nullptr || comm->size() == 1) return t;
  const bool is_bool = t.scalar_type() == torch::kBool;
  const torch::Tensor local = is_bool ? t.to(torch::kUInt8) : t;
  std::vector<int64_t> shape = local.sizes().vec();
  shape[0] = split.total;
  torch::Tensor global = torch::zeros(shape, local.options());
  const int64_t mine = split.rows[static_cast<size_t>(comm->rank())];
  if (mine > 0) global.narrow(0, split.offset, mine).copy_(local);
  comm->allreduce_sum(global);
  return is_bool ? global.to(torch::kBool) : global;
}

torch::Tensor own_rows(const RowSplit& split, int rank, const torch::Tensor& global) {
  if (split.rows.size() == 1) return global;
  return global.narrow(0, split.offset, split.rows[static_cast<size_t>(rank)]);
}

void sum_over_ranks(Comm* comm, double* v, int64_t n) {
  if (comm != nullptr && comm->size() > 1) comm->allreduce_sum(v, n);
}

int64_t max_over_ranks(Comm* comm, int64_t v) {
  if (comm == nullptr || comm->size() == 1) return v;
  int64_t best = 0;
  for (int64_t n : row_split(comm, v).rows) best = std::max(best, n);
  return best;
}

std::vector<std::pair<double, double>> group_mean_std(Comm& comm, std::vector<double> sums) {
  const int64_t k = static_cast<int64_t>(sums.size() / 3);
  if (comm.size() > 1) comm.allreduce_sum(sums.data(), static_cast<int64_t>(sums.size()));
  std::vector<std::pair<double, double>> out;
  for (int64_t g = 0; g < k; ++g) {
    const double s = sums[3 * g], ss = sums[3 * g + 1], n = sums[3 * g + 2];
    const double mean = s / std::max(n, 1.0);
    out.emplace_back(mean, n > 1 ? std::sqrt(std::max(ss - n * mean * mean, 0.0) / (n - 1)) : 0.0);
  }
  return out;
}

}  // namespace rlpp::dist
