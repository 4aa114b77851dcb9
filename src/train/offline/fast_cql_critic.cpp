#include "rlpp/train/offline/fast_cql_critic.h"

#include <algorithm>
#include <cmath>

namespace rlpp::train::offline {

torch::Tensor cql_state_major_rows(const torch::Tensor& obs, const torch::Tensor& actions, const torch::Tensor& rand_a,
                                   const torch::Tensor& curr_a, const torch::Tensor& next_a) {
  const int64_t B = obs.size(0), S = obs.size(1), A = actions.size(1), n = rand_a.size(0) / B;
  const torch::Tensor acts = torch::cat({actions.unsqueeze(1), rand_a.reshape({B, n, A}), curr_a.reshape({B, n, A}),
                                         next_a.reshape({B, n, A})},
                                        1);  // (B, 1 + 3n, A)
  return torch::cat({obs.unsqueeze(1).expand({B, 1 + 3 * n, S}), acts}, 2).reshape({B * (1 + 3 * n), S + A}).contiguous();
}

namespace {

// h ← relu(h + b) over (m, w) rows.
void bias_relu(float* h, const float* b, int64_t m, int64_t w) {
  for (int64_t r = 0; r < m; ++r) {
    float* row = h + r * w;
    for (int64_t j = 0; j < w; ++j) row[j] = std::max(row[j] + b[j], 0.0f);
  }
}

// d ← d ⊙ [h > 0] over `count` entries.
void relu_mask(float* d, const float* h, int64_t count) {
  for (int64_t i = 0; i < count; ++i) d[i] = h[i] > 0.0f ? d[i] : 0.0f;
}

// d[r, j] = dq[r] · wl[j] where h[r, j] > 0, else 0, over (m, w) rows: the product, then the mask,
// row by row (two loops that vectorise; one loop with the select stays scalar, with a mispredicted
// branch per entry).
void outer_relu(float* d, const float* h, const float* dq, const float* wl, int64_t m, int64_t w) {
  for (int64_t r = 0; r < m; ++r) {
    const float g = dq[r];
    float* dr = d + r * w;
    for (int64_t j = 0; j < w; ++j) dr[j] = g * wl[j];
    relu_mask(dr, h + r * w, w);
  }
}

// g ← g + Σ_rows d over (m, w) rows.
void add_column_sums(float* g, const float* d, int64_t m, int64_t w) {
  for (int64_t r = 0; r < m; ++r) {
    const float* row = d + r * w;
    for (int64_t j = 0; j < w; ++j) g[j] += row[j];
  }
}

}  // namespace

CqlCriticLoss FastCqlCritic::loss_and_grad(const std::vector<torch::Tensor>& params,
                                           const std::vector<torch::Tensor>& grads, const CqlCriticRows& rows,
                                           double weight) {
  torch::NoGradGuard no_grad;
  const int64_t L = static_cast<int64_t>(params.size()) / 2, B = rows.B, n = rows.n, R = 1 + 3 * n;
  TORCH_CHECK(L >= 2 && params.size() == grads.size() && params.size() % 2 == 0,
              "FastCqlCritic: expects an MLP with a hidden layer, got ", params.size(), " parameters");
  TORCH_CHECK(params[2 * L - 2].size(0) == 1, "FastCqlCritic: the critic's output must have width 1");
  TORCH_CHECK(rows.x.is_contiguous() && rows.x.size(0) == B * R && rows.x.size(1) == params[0].size(1),
              "FastCqlCritic: rows (", rows.x.size(0), ", ", rows.x.size(1), ") do not fit B = ", B, ", n = ", n);
  const int64_t chunk = std::min(kStatesPerChunk, B), cap = chunk * R;
  int64_t max_w = 0;
  for (int64_t l = 0; l + 1 < L; ++l) max_w = std::max(max_w, params[2 * l].size(0));
  if (static_cast<int64_t>(h_.size()) != L - 1 || q_.numel() < cap || delta_a_.numel() < cap * max_w ||
      h_[0].size(1) != params[0].size(0)) {
    h_.clear();
    for (int64_t l = 0; l + 1 < L; ++l) h_.push_back(torch::empty({cap, params[2 * l].size(0)}));
    delta_a_ = torch::empty({cap * max_w});
    delta_b_ = torch::empty({cap * max_w});
    q_ = torch::empty({cap});
    dq_ = torch::empty({cap});
  }
  for (const torch::Tensor& g : grads) {
    torch::Tensor gm = g;
    gm.zero_();
  }
  const float* target = rows.target.contiguous().data_ptr<float>();
  const torch::Tensor lc = rows.logp_curr.contiguous(), ln = rows.logp_next.contiguous();
  const float *logp_curr = lc.data_ptr<float>(), *logp_next = ln.data_ptr<float>();
  const double T = rows.temperature, inv_b = 1.0 / static_cast<double>(B);
  CqlCriticLoss loss;
  std::vector<double> u(static_cast<size_t>(R));  // one state's log-sum-exp arguments

  for (int64_t c0 = 0; c0 < B; c0 += chunk) {
    const int64_t cs = std::min(chunk, B - c0), m = cs * R;
    const torch::Tensor x = rows.x.narrow(0, c0 * R, m);  // (m, S + A)
    // forward: h_l = relu(h_{l−1} W_lᵀ + b_l), q = h_{L−1} W_Lᵀ + b_L
    torch::Tensor prev = x;
    for (int64_t l = 0; l + 1 < L; ++l) {
      torch::Tensor h = h_[l].narrow(0, 0, m);  // (m, h_l)
      at::mm_out(h, prev, params[2 * l].t());
      bias_relu(h.data_ptr<float>(), params[2 * l + 1].data_ptr<float>(), m, h.size(1));
      prev = h;
    }
    torch::Tensor q = q_.narrow(0, 0, m);
    torch::Tensor q_col = q.view({m, 1});
    at::mm_out(q_col, prev, params[2 * L - 2].t());
    float* qp = q.data_ptr<float>();
    const float b_last = params[2 * L - 1].item<float>();
    for (int64_t r = 0; r < m; ++r) qp[r] += b_last;

    // ∂L/∂Q per state (formulas in the header), the losses in double
    float* dq = dq_.data_ptr<float>();
    for (int64_t s = 0; s < cs; ++s) {
      const int64_t b = c0 + s;
      const float* qs = qp + s * R;  // [data, rand (n), curr (n), next (n)]
      float* ds = dq + s * R;
      const double q_data = qs[0];
      // log-sum-exp arguments: u[0] = the data row's (only without importance sampling), u[1..3n] the proposals'
      for (int64_t j = 0; j < n; ++j) {
        double cr = qs[1 + j], cc = qs[1 + n + j], cn = qs[1 + 2 * n + j];
        if (rows.importance_sample) {
          cr -= rows.log_mu_rand;
          cc -= logp_curr[b * n + j];
          cn -= logp_next[b * n + j];
        }
        u[static_cast<size_t>(1 + j)] = cr / T;
        u[static_cast<size_t>(1 + n + j)] = cc / T;
        u[static_cast<size_t>(1 + 2 * n + j)] = cn / T;
      }
      const int64_t first = rows.importance_sample ? 1 : 0;
      u[0] = q_data / T;
      double mx = u[static_cast<size_t>(first)];
      for (int64_t j = first; j < R; ++j) mx = std::max(mx, u[static_cast<size_t>(j)]);
      double se = 0;
      for (int64_t j = first; j < R; ++j) se += std::exp(u[static_cast<size_t>(j)] - mx);
      const double lse = mx + std::log(se);
      const double err = q_data - static_cast<double>(target[b]);
      loss.mse += err * err * inv_b;
      loss.penalty += (T * lse - q_data) * inv_b;
      loss.q_data_mean += q_data * inv_b;
      double d_data = 2.0 * err * inv_b - weight * inv_b;
      if (!rows.importance_sample) d_data += weight * std::exp(u[0] - lse) * inv_b;
      ds[0] = static_cast<float>(d_data);
      for (int64_t j = 1; j < R; ++j)
        ds[j] = static_cast<float>(weight * std::exp(u[static_cast<size_t>(j)] - lse) * inv_b);
    }

    // backward: the output layer (width 1), then δ_{L−1} = (∂L/∂Q ⊗ W_L) ⊙ [h_{L−1} > 0]
    const torch::Tensor dq_m = dq_.narrow(0, 0, m);
    {
      torch::Tensor gw = grads[2 * L - 2], gb = grads[2 * L - 1];
      gw.addmm_(dq_m.view({1, m}), prev);  // (1, h) += (1, m)(m, h)
      float sum = 0;
      for (int64_t r = 0; r < m; ++r) sum += dq[r];
      gb.add_(sum);
    }
    int64_t w = prev.size(1);
    float* delta = delta_a_.data_ptr<float>();
    outer_relu(delta, prev.data_ptr<float>(), dq, params[2 * L - 2].data_ptr<float>(), m, w);
    float* spare = delta_b_.data_ptr<float>();
    for (int64_t l = L - 2; l >= 0; --l) {
      const torch::Tensor d = delta_a_.data_ptr<float>() == delta ? delta_a_.narrow(0, 0, m * w).view({m, w})
                                                                  : delta_b_.narrow(0, 0, m * w).view({m, w});
      const torch::Tensor in = l == 0 ? x : h_[l - 1].narrow(0, 0, m);  // (m, in_l)
      torch::Tensor gw = grads[2 * l];
      gw.addmm_(d.t(), in);  // (h_l, in_l) += (h_l, m)(m, in_l)
      add_column_sums(grads[2 * l + 1].data_ptr<float>(), delta, m, w);
      if (l == 0) break;
      const int64_t w_in = in.size(1);
      torch::Tensor next = (spare == delta_a_.data_ptr<float>() ? delta_a_ : delta_b_).narrow(0, 0, m * w_in).view({m, w_in});
      at::mm_out(next, d, params[2 * l]);  // (m, in_l) = (m, h_l)(h_l, in_l)
      relu_mask(spare, in.data_ptr<float>(), m * w_in);
      std::swap(delta, spare);
      w = w_in;
    }
  }
  return loss;
}

}  // namespace rlpp::train::offline
