// Baselines of the evaluation harness that run no rate controller (docs/evaluation.md):
//
// - local-only: the whole model on the device, nothing sent. A frame that arrives while
//   the device is still busy is dropped (counted as skipped), like a camera feeding a
//   leaky one-frame queue; a processed frame is on time when its compute fits the
//   deadline.
// - oracle: the offline optimum with the whole trace known. Dynamic programming over
//   the setups (and skipping), frame by frame, on the bottleneck's backlog in bytes,
//   rounded up to `bin_bytes` (so the plan it finds is feasible, a hair below the true
//   optimum). Its schedule is then replayed through the same LinkModel as every other
//   policy, so its summary is measured the same way. (With a token-bucket burst,
//   SimConfig::burst_bytes, the plan still assumes a plain serializer: then it is a good
//   schedule, not the optimum.)
//
// Image offload needs no function of its own: it is a fixed policy over one profile
// (the codec's mean bytes, the whole model's top-1 on decoded images) in
// simulate_trace().
#pragma once

#include <vector>

#include "sim/trace_simulation.h"

namespace rtcoinfer {

struct LocalOnlyConfig {
  double compute_s = 0.0;  // the whole model on the device, per frame
  double accuracy = 0.0;   // its top-1, percent
};

// `duration_s` of capture at sim.fps; the deadline comes from `base`.
SimSummary simulate_local_only(double duration_s, const LocalOnlyConfig &local, const MpcConfig &base,
                               const SimConfig &sim, std::vector<SimFrame> *frames = nullptr);

// The profiles' Pareto front is searched (a setup with more bytes and no more accuracy
// than another is never better). Frames' `setup` indexes `profiles`.
SimSummary simulate_oracle(const BandwidthTrace &trace, const std::vector<SetupProfile> &profiles,
                           const MpcConfig &base, const SimConfig &sim, std::vector<SimFrame> *frames = nullptr,
                           double bin_bytes = 32);

}  // namespace rtcoinfer
