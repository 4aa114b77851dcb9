// Swimmer-v4 (v5 is the same task): swim forward in a viscous fluid. obs (8) = (qpos[2:], qvel);
// action (2) ∈ [−1, 1] (gear 150); frame_skip 4 × 0.01 s.
//   reward = (x' − x)/dt − 1e-4‖a‖²;   never terminates
// reset: qpos0 and 0 plus uniform noise ±0.1.
#pragma once
#include "rlpp/env/mujoco/locomotion.h"

namespace rlpp::env::mujoco {

class Swimmer final : public Locomotion {
 public:
  explicit Swimmer(int version = 4);
};

}  // namespace rlpp::env::mujoco
