// Hopper-v4 (v5 selectable): hop forward on one leg. obs (11) = (qpos[1:] (z, angle, 3 joints),
// clip(qvel, ±10)); action (3) ∈ [−1, 1] (gear 200); frame_skip 4 × 0.002 s.
//   reward = (x' − x)/dt + 1 − 1e-3‖a‖²   (v5: the 1 only while healthy)
//   terminated unless z > 0.7, |angle| < 0.2 and every |(qpos[2:], qvel)| < 100
// reset: qpos0 and 0 plus uniform noise ±5e-3.
#pragma once
#include "rlpp/env/mujoco/locomotion.h"

namespace rlpp::env::mujoco {

class Hopper final : public Locomotion {
 public:
  explicit Hopper(int version = 4);
  bool is_healthy(const mjData* d) const override;
};

}  // namespace rlpp::env::mujoco
