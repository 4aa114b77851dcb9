// Walker2d-v4 (v5 selectable: both feet friction 1.9, healthy reward only while healthy): walk
// forward on two legs. obs (17) = (qpos[1:], clip(qvel, ±10)); action (6) ∈ [−1, 1] (gear 100);
// frame_skip 4 × 0.002 s. angle = qpos[2], the torso's lean, positive forward (rooty turns about
// +y, as in Gymnasium).
//   reward = (x' − x)/dt + 1 − 1e-3‖a‖²;   terminated unless 0.8 < z < 2 and −1 < angle < 1
// reset: qpos0 and 0 plus uniform noise ±5e-3.
#pragma once
#include "rlpp/env/mujoco/locomotion.h"

namespace rlpp::env::mujoco {

class Walker2d final : public Locomotion {
 public:
  explicit Walker2d(int version = 4);
  bool is_healthy(const mjData* d) const override;
};

}  // namespace rlpp::env::mujoco
