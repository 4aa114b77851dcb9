// Ant-v4 (v5 selectable): walk forward on four legs. obs (27) = (qpos[2:], qvel); v5 appends
// clip(cfrc_ext, ±1) of the 13 bodies (78) → 105. action (8) ∈ [−1, 1] (gear 150);
// frame_skip 5 × 0.01 s. x is the torso's xpos, as Gymnasium's get_body_com("torso").
//   reward = (x' − x)/dt + 1 − 0.5‖a‖²   (v5: the 1 only while healthy, − 5e-4‖clip(cfrc_ext, ±1)‖²)
//   terminated unless the state is finite and 0.2 ≤ z ≤ 1
// reset: qpos0 + U(±0.1), qvel = 0.1·N(0, 1).
#pragma once
#include "rlpp/env/mujoco/locomotion.h"

namespace rlpp::env::mujoco {

class Ant final : public Locomotion {
 public:
  explicit Ant(int version = 4);
  bool is_healthy(const mjData* d) const override;
};

}  // namespace rlpp::env::mujoco
