#include "nn/lm/fast_llama_pass.h"

#include <algorithm>
#include <cstring>
#include <mutex>

#include "nn/lm/fast_lm_kernels.h"
#include "rlpp/core/error.h"
#include "rlpp/nn/lm/rope.h"

namespace rlpp::nn::lm::fast {

namespace {

// Recycled float buffers: a training step runs the pass once per micro-batch, and a fresh
// allocation of the activations (tens of MB) would page-fault every time.
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
  static constexpr size_t kMaxFree = 6;
  std::mutex mu_;
  std::vector<FloatBuffer> free_;
};

// Offsets rounded up to 16 floats (64 bytes), so every slot starts on a cache line.
size_t aligned(size_t n) { return (n + 15) / 16 * 16; }

// A pool buffer carved into named slots; returned to the pool on destruction.
struct Scratch {
  FloatBuffer buf;
  explicit Scratch(size_t n) : buf(BufferPool::instance().take(n)) {}
  ~Scratch() { BufferPool::instance().give(std::move(buf)); }
  float* at(size_t offset) { return buf.data() + offset; }
};

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
  const int64_t qd = nh_ * d_, kd = nkv_ * d_;
  for (int64_t l = 0; l < cfg.num_hidden_layers; ++l) {
    LayerSlots s;
    s.x = slot(N_ * H_);
    s.r1 = slot(N_);
    s.q = slot(N_ * qd);
    s.k = slot(N_ * kd);
    s.v = slot(N_ * kd);
    s.p = slot(B_ * nh_ * L_ * L_);
    s.ao = slot(N_ * qd);
    s.mid = slot(N_ * H_);
    s.r2 = slot(N_);
    s.g = slot(N_ * I_);
    s.u = slot(N_ * I_);
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
  // Scratch: xn (N, H) the normed input of the next products, act (N, I) silu(g) ⊙ u, z (head).
  const size_t s_xn = 0, s_act = aligned(N * H), s_z = s_act + aligned(N * I);
  Scratch scratch(s_z + aligned(head_rows_ * V_));
  float* xn = scratch.at(s_xn);
  float* act = scratch.at(s_act);

  if (cfg_.num_hidden_layers > 0) {
    float* x0 = a + slots_[0].x;
    for (int64_t n = 0; n < N; ++n) std::memcpy(x0 + n * H, w.embed + tok[n] * H, sizeof(float) * H);
  } else {
    for (int64_t n = 0; n < N; ++n) std::memcpy(a + x_final_ + n * H, w.embed + tok[n] * H, sizeof(float) * H);
  }
  const AttentionShape ash{B_, L_, nh_, nkv_, d_};
  for (size_t l = 0; l < slots_.size(); ++l) {
    const LayerSlots& s = slots_[l];
    const LlamaLayerWeights& lw = w.layers[l];
    float* x_next = l + 1 < slots_.size() ? a + slots_[l + 1].x : a + x_final_;
    rms_norm_forward(xn, a + s.r1, a + s.x, lw.input_norm, N, H, eps);
    linear_forward(a + s.q, xn, lw.q, lw.q_bias, nullptr, N, H, qd);
    linear_forward(a + s.k, xn, lw.k, lw.k_bias, nullptr, N, H, kd);
    linear_forward(a + s.v, xn, lw.v, lw.v_bias, nullptr, N, H, kd);
    rope_forward(a + s.q, cos, sin, N, nh_, d_);
    rope_forward(a + s.k, cos, sin, N, nkv_, d_);
    attention_forward(a + s.ao, a + s.p, a + s.q, a + s.k, a + s.v, real_.data(), ash);
    linear_forward(a + s.mid, a + s.ao, lw.o, lw.o_bias, /*res=*/a + s.x, N, qd, H);
    rms_norm_forward(xn, a + s.r2, a + s.mid, lw.post_norm, N, H, eps);
    linear_forward(a + s.g, xn, lw.gate, lw.gate_bias, nullptr, N, H, I);
    linear_forward(a + s.u, xn, lw.up, lw.up_bias, nullptr, N, H, I);
    swiglu_forward(act, a + s.g, a + s.u, N * I);
    linear_forward(x_next, act, lw.down, lw.down_bias, /*res=*/a + s.mid, N, I, H);
  }
  rms_norm_forward(a + h_final_, a + r_final_, a + x_final_, w.final_norm, N, H, eps);
  lm_head_forward(logp, entropy, a + h_final_, w.lm_head, tok, HeadShape{B_, L_, H, V_, tau_}, scratch.at(s_z),
                  head_rows_);
}

void TeacherForcedPass::backward(const LlamaWeights& w, const LlamaWeights& grads, const float* g_logp,
                                 const float* g_entropy) {
  core::require(forward_done_ && !acts_.empty(),
                "TeacherForcedPass::backward: needs the forward's activations (and runs once)");
  const int64_t N = N_, H = H_, I = I_, qd = nh_ * d_, kd = nkv_ * d_;
  const int64_t* tok = tokens_.data_ptr<int64_t>();
  const float* cos = cos_.data_ptr<float>();
  const float* sin = sin_.data_ptr<float>();
  const float* a = acts_.data();
  // Scratch: dx (N, H) the residual stream's gradient; dxn (N, H) a normed input's gradient; xn
  // (N, H) a normed input recomputed; dq, dao (N, qd); dk, dv (N, kd); act, da, du (N, I); z (head).
  size_t off = 0;
  auto slot = [&](int64_t count) {
    const size_t at = off;
    off += aligned(static_cast<size_t>(count));
    return at;
  };
  const size_t s_dx = slot(N * H), s_dxn = slot(N * H), s_xn = slot(N * H), s_dq = slot(N * qd),
               s_dao = slot(N * qd), s_dk = slot(N * kd), s_dv = slot(N * kd), s_act = slot(N * I),
               s_da = slot(N * I), s_du = slot(N * I), s_z = slot(head_rows_ * V_);
  Scratch scratch(off);
  float *dx = scratch.at(s_dx), *dxn = scratch.at(s_dxn), *xn = scratch.at(s_xn), *dq = scratch.at(s_dq),
        *dao = scratch.at(s_dao), *dk = scratch.at(s_dk), *dv = scratch.at(s_dv), *act = scratch.at(s_act),
        *da = scratch.at(s_da), *du = scratch.at(s_du);

  // LM head and final norm: dx = d x_L.
  lm_head_backward(dxn, grads.lm_head, g_logp, g_entropy, a + h_final_, w.lm_head, tok,
                   HeadShape{B_, L_, H, V_, tau_}, scratch.at(s_z), head_rows_);
  std::fill(dx, dx + N * H, 0.0f);
  rms_norm_backward(dx, grads.final_norm, dxn, a + x_final_, a + r_final_, w.final_norm, N, H);

  const AttentionShape ash{B_, L_, nh_, nkv_, d_};
  for (size_t li = slots_.size(); li-- > 0;) {
    const LayerSlots& s = slots_[li];
    const LlamaLayerWeights& lw = w.layers[li];
    const LlamaLayerWeights& lg = grads.layers[li];
    // MLP: x' = m + (silu(g) ⊙ u) W_down^T; dx holds d x' and becomes d m.
    rms_norm_apply(xn, a + s.r2, a + s.mid, lw.post_norm, N, H);
    swiglu_forward(act, a + s.g, a + s.u, N * I);
    linear_backward_weight(lg.down, lg.down_bias, dx, act, N, I, H);
    linear_backward_input(da, dx, lw.down, N, I, H, /*accumulate=*/false);
    swiglu_backward(/*dg=*/da, du, da, a + s.g, a + s.u, N * I);
    linear_backward_weight(lg.gate, lg.gate_bias, da, xn, N, H, I);
    linear_backward_weight(lg.up, lg.up_bias, du, xn, N, H, I);
    linear_backward_input(dxn, da, lw.gate, N, H, I, /*accumulate=*/false);
    linear_backward_input(dxn, du, lw.up, N, H, I, /*accumulate=*/true);
    rms_norm_backward(dx, lg.post_norm, dxn, a + s.mid, a + s.r2, lw.post_norm, N, H);
    // Attention: m = x + o W_o^T; dx holds d m and becomes d x.
    linear_backward_weight(lg.o, lg.o_bias, dx, a + s.ao, N, qd, H);
    linear_backward_input(dao, dx, lw.o, N, qd, H, /*accumulate=*/false);
    std::fill(dk, dk + N * kd, 0.0f);
    std::fill(dv, dv + N * kd, 0.0f);
    attention_backward(dq, dk, dv, dao, a + s.p, a + s.q, a + s.k, a + s.v, real_.data(), ash);
    rope_backward(dq, cos, sin, N, nh_, d_);
    rope_backward(dk, cos, sin, N, nkv_, d_);
    rms_norm_apply(xn, a + s.r1, a + s.x, lw.input_norm, N, H);
    linear_backward_weight(lg.q, lg.q_bias, dq, xn, N, H, qd);
    linear_backward_weight(lg.k, lg.k_bias, dk, xn, N, H, kd);
    linear_backward_weight(lg.v, lg.v_bias, dv, xn, N, H, kd);
    linear_backward_input(dxn, dq, lw.q, N, H, qd, /*accumulate=*/false);
    linear_backward_input(dxn, dk, lw.k, N, H, kd, /*accumulate=*/true);
    linear_backward_input(dxn, dv, lw.v, N, H, kd, /*accumulate=*/true);
    rms_norm_backward(dx, lg.input_norm, dxn, a + s.x, a + s.r1, lw.input_norm, N, H);
  }
  // Embedding: scatter-add the rows (into the tied head's gradient too, which shares the buffer).
  for (int64_t n = 0; n < N; ++n) {
    float* row = grads.embed + tok[n] * H;
    const float* g = dx + n * H;
    for (int64_t j = 0; j < H; ++j) row[j] += g[j];
  }
  BufferPool::instance().give(std::move(acts_));
  acts_.clear();
}

}  // namespace rlpp::nn::lm::fast
