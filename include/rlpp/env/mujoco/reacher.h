// Reacher-v4 (v5 selectable): move a two-link arm's fingertip to a random target; 50 steps.
// obs v4 (11) = (cos qpos[:2], sin qpos[:2], qpos[2:] (target), qvel[:2], fingertip − target
// (x, y, z)); v5 (10) drops the z difference. action (2) ∈ [−1, 1] (gear 200); frame_skip 2 × 0.01 s.
//   reward = −‖fingertip − target‖ − ‖a‖²; v4 measures the distance BEFORE the step (from mjData
//   as the previous step left it, as Gymnasium does), v5 after it. Never terminates.
// reset: qpos = qpos0 + U(±0.1); target (x, y) ~ U(±0.2)² redrawn until ‖·‖ < 0.2;
// qvel = U(±0.005) with the target's velocity 0; then mj_forward.
#pragma once
#include "rlpp/env/mujoco/mujoco_task.h"

namespace rlpp::env::mujoco {

class Reacher final : public MujocoTask {
 public:
  explicit Reacher(int version = 4);
  void reset(mjData* d, core::Rng& rng) const override;
  double step(mjData* d, const double* action, bool* terminated) const override;
  void observe(const mjData* d, float* obs) const override;  // obs: (11) v4, (10) v5

 private:
  double distance(const mjData* d) const;  // ‖xpos[fingertip] − xpos[target]‖
  int fingertip_ = -1, target_ = -1;       // body ids
};

}  // namespace rlpp::env::mujoco
