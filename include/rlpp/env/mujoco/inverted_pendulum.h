// InvertedPendulum-v4 (v5 selectable): keep a pole upright on a cart. obs (4) = (qpos, qvel);
// action (1) ∈ [−3, 3] (gear 100); frame_skip 2 × 0.02 s.
//   reward = 1 (v5: 1 only when not terminated);  terminated unless obs finite and |qpos[1]| ≤ 0.2
// reset: qpos0 and 0 plus uniform noise ±0.01.
#pragma once
#include "rlpp/env/mujoco/mujoco_task.h"

namespace rlpp::env::mujoco {

class InvertedPendulum final : public MujocoTask {
 public:
  explicit InvertedPendulum(int version = 4);
  void reset(mjData* d, core::Rng& rng) const override;
  double step(mjData* d, const double* action, bool* terminated) const override;
  void observe(const mjData* d, float* obs) const override;  // obs: (4)
};

}  // namespace rlpp::env::mujoco
