#include "nn/lm/fast_llama_pass.h"

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <Eigen/Core>

#include <algorithm>
#include <cstring>
#include <mutex>

#include "nn/lm/fast_lm_kernels.h"
#include "rlpp/core/error.h"
#include "rlpp/nn/lm/rope.h"

namespace rlpp::nn::lm::fast {

namespace {

// Recycled float buffers: a training step runs the pass once per micro-batch, and a fresh
// allocation of the activations (tens to hundreds of MB) would page-fault every time. At most
// kMaxFree freed buffers are kept, so the memory held between steps stays bounded.
class BufferPool {
 public:
  static BufferPool& instance() {
    static BufferPool pool;
    return pool;
  }
  // A buffer of at least n floats (contents unspecified).
  FloatBuffer take(size_t n) {
    FloatBuffer out;
    {
      std::lock_guard<std::mutex> lock(mu_);
      // The smallest free buffer that is big enough, else the biggest one (it grows).
      auto best = free_.end();
      for (auto it = free_.begin(); it != free_.end(); ++it) {
        const bool fits = it->size() >= n;
        if (best == free_.end() || (fits && (best->size() < n || it->size() < best->size())) ||
            (!fits && best->size() < n && it->size() > best->size())) {
          best = it;
        }
      }
      if (best != free_.end()) {
        out = std::move(*best);
        free_.erase(best);
      }
    }
    if (out.size() < n) out.resize(n);
    return out;
  }
  void give(FloatBuffer&& b) {
    if (b.empty()) return;
    std::lock_guard<std::mutex> lock(mu_);
    if (free_.size() < kMaxFree) free_.push_back(std::move(b));
  }

 private:
  static constexpr size_t kMaxFree = 2;
  std::mutex mu_;
  std::vector<FloatBuffer> free_;
};

// Offsets rounded up to 16 floats (64 bytes), so every slot starts on a cache line.
size_t aligned(size_t n) { return (n + 15) / 16 * 16; }

// The calling thread's scratch (activations' gradients, recomputed inputs, logits): it only grows,
// so a pass allocates nothing for it after the first call of that size.
float* thread_scratch(size_t n) {
  thread_local FloatBuffer buf;
  if (buf.size() < n) buf.resize(n);
  return buf.data();
}

// Logit rows per LM-head chunk: about 4 MB of logits.
int64_t head_chunk_rows(int64_t n, int64_t V) { return std::max<int64_t>(1, std::min<int64_t>(n, (1 << 20) / V)); }

}  // namespace

TeacherForcedPass::TeacherForcedPass(const LmConfig& cfg, const torch::Tensor& tokens, const torch::Tensor& attention,
                                     double tau)
    : cfg_(cfg), tau_(tau) {
  B_ = tokens.size(0);
  L_ = tokens.size(1);
  N_ = B_ * L_;
  H_ = cfg.hidden_size;
  I_ = cfg.intermediate_size;
  V_ = cfg.vocab_size;
  nh_ = cfg.num_attention_heads;
  nkv_ = cfg.num_key_value_heads;
  d_ = cfg.resolved_head_dim();
  tokens_ = tokens.contiguous();
  torch::Tensor positions;
  if (attention.defined()) {
    const torch::Tensor real = attention.to(torch::kBool).contiguous();  // (B, L)
    positions = (real.to(torch::kLong).cumsum(1) - 1).clamp_min(0);      // as TransformerLm::hidden_states
    const torch::Tensor r8 = real.to(torch::kUInt8).contiguous();
    real_.assign(r8.data_ptr<uint8_t>(), r8.data_ptr<uint8_t>() + N_);
  } else {
    positions = torch::arange(L_, torch::kLong).expand({B_, L_});
    real_.assign(static_cast<size_t>(N_), 1);
  }
  // The model's RoPE tables: dynamic scaling depends on the longest position of the call.
  const int64_t seq_len = cfg.rope_scaling.kind == "dynamic" && N_ > 0 ? positions.max().item<int64_t>() + 1 : 0;
  const RopeFrequencies rope = rope_frequencies(cfg, seq_len);
  auto [cos, sin] = rope_cos_sin(positions, rope.inv_freq, rope.attention_factor);  // (B, L, d)
  cos_ = cos.contiguous();
  sin_ = sin.contiguous();

  size_t off = 0;
  auto slot = [&](int64_t count) {
    const size_t at = off;
    off += aligned(static_cast<size_t>(count));
    return at;
  };
  qkv_ = (nh_ + 2 * nkv_) * d_;
  for (int64_t l = 0; l < cfg.num_hidden_layers; ++l) {
    LayerSlots s;
    s.x = slot(N_ * H_);
    s.r1 = slot(N_);
    s.xn1 = slot(N_ * H_);
    s.qkv = slot(N_ * qkv_);
    s.p = slot(B_ * nh_ * L_ * L_);
    s.ao = slot(N_ * nh_ * d_);
    s.mid = slot(N_ * H_);
    s.r2 = slot(N_);
    s.xn2 = slot(N_ * H_);
    s.gu = slot(N_ * 2 * I_);
    s.sig = slot(N_ * I_);
    s.act = slot(N_ * I_);
    s.w_qkv = slot(qkv_ * H_);
    s.b_qkv = slot(qkv_);
    s.w_gu = slot(2 * I_ * H_);
    s.b_gu = slot(2 * I_);
    slots_.push_back(s);
  }
  x_final_ = slot(N_ * H_);
  r_final_ = slot(N_);
  h_final_ = slot(N_ * H_);
  head_rows_ = head_chunk_rows(N_, V_);
  acts_ = BufferPool::instance().take(off);
}

TeacherForcedPass::~TeacherForcedPass() { BufferPool::instance().give(std::move(acts_)); }

void TeacherForcedPass::forward(const LlamaWeights& w, float* logp, float* entropy) {
  core::require(!forward_done_, "TeacherForcedPass::forward: runs once");
  forward_done_ = true;
  const int64_t N = N_, H = H_, I = I_, qd = nh_ * d_, kd = nkv_ * d_;
  const double eps = cfg_.rms_norm_eps;
  const int64_t* tok = tokens_.data_ptr<int64_t>();
  const float* cos = cos_.data_ptr<float>();
  const float* sin = sin_.data_ptr<float>();
  float* a = acts_.data();
  float* z_work = thread_scratch(head_rows_ * V_);  // (head_rows, V) logits

  float* x0 = a + (slots_.empty() ? x_final_ : slots_[0].x);
  for (int64_t n = 0; n < N; ++n) std::memcpy(x0 + n * H, w.embed + tok[n] * H, sizeof(float) * H);
  const AttentionShape ash{B_, L_, nh_, nkv_, d_, qkv_};
  for (size_t l = 0; l < slots_.size(); ++l) {
    const LayerSlots& s = slots_[l];
    const LlamaLayerWeights& lw = w.layers[l];
    float* x_next = l + 1 < slots_.size() ? a + slots_[l + 1].x : a + x_final_;
    // Stacked weights: [W_q; W_k; W_v] (qkv, H) and [W_gate; W_up] (2I, H), their biases likewise.
    float* w_qkv = a + s.w_qkv;
    std::memcpy(w_qkv, lw.q, sizeof(float) * qd * H);
    std::memcpy(w_qkv + qd * H, lw.k, sizeof(float) * kd * H);
    std::memcpy(w_qkv + (qd + kd) * H, lw.v, sizeof(float) * kd * H);
    float* b_qkv = nullptr;
    if (lw.q_bias != nullptr) {
      b_qkv = a + s.b_qkv;
      std::memcpy(b_qkv, lw.q_bias, sizeof(float) * qd);
      std::memcpy(b_qkv + qd, lw.k_bias, sizeof(float) * kd);
      std::memcpy(b_qkv + qd + kd, lw.v_bias, sizeof(float) * kd);
    }
    float* w_gu = a + s.w_gu;
    std::memcpy(w_gu, lw.gate, sizeof(float) * I * H);
    std::memcpy(w_gu + I * H, lw.up, sizeof(float) * I * H);
    float* b_gu = nullptr;
    if (lw.gate_bias != nullptr) {
      b_gu = a + s.b_gu;
      std::memcpy(b_gu, lw.gate_bias, sizeof(float) * I);
      std::memcpy(b_gu + I, lw.up_bias, sizeof(float) * I);
    }
    float* qkv = a + s.qkv;
    rms_norm_forward(a + s.xn1, a + s.r1, a + s.x, lw.input_norm, N, H, eps);
    linear_forward(qkv, a + s.xn1, w_qkv, b_qkv, nullptr, N, H, qkv_);
    rope_forward(qkv, qkv_, cos, sin, N, nh_ + nkv_, d_);  // q and k heads side by side
    attention_forward(a + s.ao, a + s.p, qkv, qkv + qd, qkv + qd + kd, real_.data(), ash);
    linear_forward(a + s.mid, a + s.ao, lw.o, lw.o_bias, /*res=*/a + s.x, N, qd, H);
    rms_norm_forward(a + s.xn2, a + s.r2, a + s.mid, lw.post_norm, N, H, eps);
    linear_forward(a + s.gu, a + s.xn2, w_gu, b_gu, nullptr, N, H, 2 * I);
    swiglu_forward(a + s.act, a + s.sig, a + s.gu, N, I);
    linear_forward(x_next, a + s.act, lw.down, lw.down_bias, /*res=*/a + s.mid, N, I, H);
  }
  rms_norm_forward(a + h_final_, a + r_final_, a + x_final_, w.final_norm, N, H, eps);
  lm_head_forward(logp, entropy, a + h_final_, w.lm_head, tok, HeadShape{B_, L_, H, V_, tau_}, z_work,
                  head_rows_);
}

namespace {

// dst (+)= src over n floats.
void add_into(float* dst, const float* src, int64_t n) {
  Eigen::Map<Eigen::ArrayXf>(dst, n) += Eigen::Map<const Eigen::ArrayXf>(src, n);
}

}  // namespace

void TeacherForcedPass::backward(const LlamaWeights& w, const LlamaWeights& grads, const float* g_logp,
                                 const float* g_entropy) {
  core::require(forward_done_ && !acts_.empty(),
                "TeacherForcedPass::backward: needs the forward's activations (and runs once)");
  const int64_t N = N_, H = H_, I = I_, qd = nh_ * d_, kd = nkv_ * d_;
  const int64_t* tok = tokens_.data_ptr<int64_t>();
  const float* cos = cos_.data_ptr<float>();
  const float* sin = sin_.data_ptr<float>();
  const float* a = acts_.data();
  // Scratch: dx (N, H) the residual stream's gradient; dxn (N, H) a normed input's gradient; dqkv
  // (N, qkv); dao (N, qd); da (N, I); dgu (N, 2I); dw, db: a stacked weight's gradient before it is
  // split; z (head).
  size_t off = 0;
  auto slot = [&](int64_t count) {
    const size_t at = off;
    off += aligned(static_cast<size_t>(count));
    return at;
  };
  const int64_t stacked = std::max(qkv_, 2 * I);
  const size_t s_dx = slot(N * H), s_dxn = slot(N * H), s_dqkv = slot(N * qkv_), s_dao = slot(N * qd),
               s_da = slot(N * I), s_dgu = slot(N * 2 * I), s_dw = slot(stacked * H), s_db = slot(stacked),
               s_z = slot(head_rows_ * V_);
  float* scratch = thread_scratch(off);
  float *dx = scratch + s_dx, *dxn = scratch + s_dxn, *dqkv = scratch + s_dqkv, *dao = scratch + s_dao,
        *da = scratch + s_da, *dgu = scratch + s_dgu, *dw = scratch + s_dw, *db = scratch + s_db;

  // LM head and final norm: dx = d x_L.
  lm_head_backward(dxn, grads.lm_head, g_logp, g_entropy, a + h_final_, w.lm_head, tok,
                   HeadShape{B_, L_, H, V_, tau_}, scratch + s_z, head_rows_);
  std::fill(dx, dx + N * H, 0.0f);
  rms_norm_backward(dx, grads.final_norm, dxn, a + x_final_, a + r_final_, w.final_norm, N, H);

  const AttentionShape ash{B_, L_, nh_, nkv_, d_, qkv_};
  for (size_t li = slots_.size(); li-- > 0;) {
    const LayerSlots& s = slots_[li];
    const LlamaLayerWeights& lw = w.layers[li];
    const LlamaLayerWeights& lg = grads.layers[li];
    const bool mlp_bias = lg.gate_bias != nullptr, qkv_bias = lg.q_bias != nullptr;
    // MLP: x' = m + (silu(g) ⊙ u) W_down^T; dx holds d x' and becomes d m.
    const float* xn = a + s.xn2;  // the MLP's normed input; below, the attention's
    linear_backward_weight(lg.down, lg.down_bias, dx, a + s.act, N, I, H);
    linear_backward_input(da, dx, lw.down, N, I, H, /*accumulate=*/false);
    swiglu_backward(dgu, da, a + s.sig, a + s.gu, N, I);
    std::fill(dw, dw + 2 * I * H, 0.0f);
    std::fill(db, db + 2 * I, 0.0f);
    linear_backward_weight(dw, mlp_bias ? db : nullptr, dgu, xn, N, H, 2 * I);
    add_into(lg.gate, dw, I * H);
    add_into(lg.up, dw + I * H, I * H);
    if (mlp_bias) {
      add_into(lg.gate_bias, db, I);
      add_into(lg.up_bias, db + I, I);
    }
    linear_backward_input(dxn, dgu, a + s.w_gu, N, H, 2 * I, /*accumulate=*/false);
    rms_norm_backward(dx, lg.post_norm, dxn, a + s.mid, a + s.r2, lw.post_norm, N, H);
    // Attention: m = x + o W_o^T; dx holds d m and becomes d x.
    const float* qkv = a + s.qkv;
    linear_backward_weight(lg.o, lg.o_bias, dx, a + s.ao, N, qd, H);
    linear_backward_input(dao, dx, lw.o, N, qd, H, /*accumulate=*/false);
    attention_backward(dqkv, dqkv + qd, dqkv + qd + kd, dao, a + s.p, qkv, qkv + qd, qkv + qd + kd, real_.data(),
                       ash);
    rope_backward(dqkv, qkv_, cos, sin, N, nh_ + nkv_, d_);
    xn = a + s.xn1;
    std::fill(dw, dw + qkv_ * H, 0.0f);
    std::fill(db, db + qkv_, 0.0f);
    linear_backward_weight(dw, qkv_bias ? db : nullptr, dqkv, xn, N, H, qkv_);
    add_into(lg.q, dw, qd * H);
    add_into(lg.k, dw + qd * H, kd * H);
    add_into(lg.v, dw + (qd + kd) * H, kd * H);
    if (qkv_bias) {
      add_into(lg.q_bias, db, qd);
      add_into(lg.k_bias, db + qd, kd);
      add_into(lg.v_bias, db + qd + kd, kd);
    }
    linear_backward_input(dxn, dqkv, a + s.w_qkv, N, H, qkv_, /*accumulate=*/false);
    rms_norm_backward(dx, lg.input_norm, dxn, a + s.x, a + s.r1, lw.input_norm, N, H);
  }
  // Embedding: scatter-add the rows (into the tied head's gradient too, which shares the buffer).
  for (int64_t n = 0; n < N; ++n) add_into(grads.embed + tok[n] * H, dx + n * H, H);
  BufferPool::instance().give(std::move(acts_));
  acts_.clear();
}

}  // namespace rlpp::nn::lm::fast
