// HalfCheetah-v4 (v5 is the same task): run forward. obs (17) = (qpos[1:], qvel); action (6)
// ∈ [−1, 1] (gears 120 90 60 120 60 30); frame_skip 5 × 0.01 s.
//   reward = (x' − x)/dt − 0.1‖a‖²;   never terminates
// reset: qpos0 + U(±0.1), qvel = 0.1·N(0, 1).
#pragma once
#include "rlpp/env/mujoco/locomotion.h"

namespace rlpp::env::mujoco {

class HalfCheetah final : public Locomotion {
 public:
  explicit HalfCheetah(int version = 4);
};

}  // namespace rlpp::env::mujoco
