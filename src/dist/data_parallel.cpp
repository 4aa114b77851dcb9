#include "rlpp/dist/data_parallel.h"

namespace rlpp::dist {

void average(Comm& comm, float* g, int64_t n) {
  if (comm.size() == 1) return;
  comm.allreduce_sum(g, n);
  const float inv = 1.0f / static_cast<float>(comm.size());
  for (int64_t i = 0; i < n; ++i) g[i] *= inv;
}

void average_gradients(Comm& comm, const std::vector<torch::Tensor>& params, int64_t bucket_bytes) {
  if (comm.size() == 1) return;
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
    bucket.div_(static_cast<double>(comm.size()));
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
