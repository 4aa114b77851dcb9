// InvertedDoublePendulum-v4 (v5 selectable): balance two stacked poles on a cart.
// obs v4 (11) = (qpos[0], sin qpos[1:], cos qpos[1:], clip(qvel, ±10), clip(qfrc_constraint, ±10));
// v5 (9) keeps only qfrc_constraint[0]. action (1) ∈ [−1, 1] (gear 500); frame_skip 5 × 0.01 s.
// With (x, y) the tip site's position after the step:
//   reward = 10 − (0.01 x² + (y − 2)²) − (1e-3 θ̇1² + 5e-3 θ̇2²)   (v5: the 10 only when not terminated)
//   terminated when y ≤ 1
// reset: qpos0 + U(±0.1), qvel = 0.1·N(0, 1).
#pragma once
#include "rlpp/env/mujoco/mujoco_task.h"

namespace rlpp::env::mujoco {

class InvertedDoublePendulum final : public MujocoTask {
 public:
  explicit InvertedDoublePendulum(int version = 4);
  void reset(mjData* d, core::Rng& rng) const override;
  double step(mjData* d, const double* action, bool* terminated) const override;
  void observe(const mjData* d, float* obs) const override;  // obs: (11) v4, (9) v5
};

}  // namespace rlpp::env::mujoco
