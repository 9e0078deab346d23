// MpcController: picks the compression setup of each frame (docs/rate-control.md, "Decision").
//
// State: bytes in flight (sent, not yet acknowledged by feedback), the bandwidth
// forecast, the previous setup. Each frame it scores plans over a horizon of H frames
// - Σ accuracy - miss_penalty·Σ(latency/deadline of predicted misses) - switch_penalty·(switches) -
// and applies the first step of the best plan. Plans are searched among the
// Pareto-efficient setups (none smaller and at least as accurate) and restricted to at
// most one switch inside the horizon ("a for j frames, then b"), with b among the
// steady-state candidates (the largest setup the forecast sustains and its two
// neighbours either side): at most 5·P·H plans. That keeps a decision far below a frame
// interval while still letting the controller plan a step down before the queue
// builds up, or spend a short burst on a bigger setup while the queue is empty.
//
// Predicted latency of a frame: head + (in-flight + its bytes)/bandwidth + RTT/2 + tail.
//
// Loss: a frame of n packets arrives whole with probability (1 - loss)^n, so a setup
// earns its accuracy times that. With `fec`, each setup may also be sent protected: every
// packet followed by its ULPFEC copy (rtpulpfecenc percentage=100), which the server's
// FEC decoder uses when the packet is lost. A protected packet is lost only when both are,
// so the frame arrives with probability (1 - loss^2)^n, for twice the bytes and
// `fec_packet_bytes` more per packet. The plans choose among (setup, protected or not)
// options: with no loss a protected option is never better, and the plan is the
// loss-free one.
//
// Terminal cost: after the H rewarded frames the plan's last setup is played for H more
// frames that earn no accuracy but still pay for predicted misses. Without it a short
// horizon happily picks a setup the link cannot sustain because the queue it builds
// only overflows the deadline just beyond the horizon.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "wire/setup_table.h"

namespace rtcoinfer {

enum class Policy { Mpc, Rate, Fixed };
const char *policy_name(Policy p);

struct SetupProfile {
  Setup setup;
  double accuracy = 0;  // top-1, percent (from the bundle's eval table)
  double bytes = 0;     // mean coded frame bytes (refined online)
};

struct MpcConfig {
  Policy policy = Policy::Mpc;
  int horizon = 5;
  double frame_interval_s = 1.0 / 30;
  double deadline_s = 0.150;
  double head_s = 0.002, tail_s = 0.002;
  double miss_penalty = 100.0;  // accuracy points per predicted miss, times latency/deadline
  // The plans aim this much below the deadline: the forecast is a guess, and a frame
  // that misses costs its whole accuracy while one setup less costs a point or two.
  // (Skipping still compares with the deadline itself.)
  double margin_s = 0.030;
  double switch_penalty = 2.0;         // accuracy points per switch
  double rate_safety = 0.9;            // Rate policy: use this fraction of the forecast
  double plan_safety = 0.9;            // Mpc policy: plans assume this fraction of the forecast
  bool allow_skip = true;              // skip a frame that misses even at the smallest setup
  int fixed_index = -1;                // Fixed policy: profile index
  double bytes_ewma = 0.2;             // weight of a new observation in the online byte means
  double loss = 0;                     // packet loss fraction the plans assume (0..1)
  bool fec = false;                    // protected (ULPFEC) sends are an option
  double packet_payload_bytes = 1150;  // frame bytes per RTP packet (the payloader's MTU, less its headers)
  double fec_packet_bytes = 40;        // a ULPFEC packet's bytes beyond those of the packet it protects
};

struct Decision {
  int index = -1;     // into profiles(): the setup of the next frames
  bool skip = false;  // drop the frame at hand
  bool fec = false;   // send the frame at hand and the next ones protected (ULPFEC)
  double predicted_latency_s = 0;
  double forecast_bps = 0;
  double decide_us = 0;  // time spent deciding
};

class MpcController {
 public:
  MpcController(std::vector<SetupProfile> profiles, MpcConfig config);

  const std::vector<SetupProfile> &profiles() const { return profiles_; }
  const std::vector<int> &pareto() const { return pareto_; }  // indices, bytes ascending
  const MpcConfig &config() const { return cfg_; }
  void set_config(const MpcConfig &c);

  // Decides, for a frame of `frame_bytes` about to be sent behind `queued_bytes` still
  // in the bottleneck, whether to skip it (it would miss its deadline: a late frame earns
  // nothing and delays the ones behind it) and which setup the next frames use.
  // `bandwidth_bps`: the forecast (nullopt before feedback: the previous setup, or the
  // largest, is kept); `rtt_s`: round trip. Decision::index is the next frames' setup,
  // also when skipping; predicted_latency_s is this frame's.
  Decision decide(double queued_bytes, double frame_bytes, std::optional<double> bandwidth_bps, double rtt_s);
  // The same with the frame already counted in `in_flight_bytes` (never skips it).
  Decision decide(double in_flight_bytes, std::optional<double> bandwidth_bps, double rtt_s) {
    return decide(in_flight_bytes, 0, bandwidth_bps, rtt_s);
  }
  // Tells the controller what a frame at profile `index` really cost on the wire.
  void observe_bytes(int index, double bytes);
  int previous() const { return previous_; }

  std::optional<int> find(const Setup &s) const;

  // Bytes a frame of `bytes` puts on the link, protected or not, and the probability
  // that it arrives whole at the configured loss.
  double wire_bytes(double bytes, bool fec) const;
  double arrival_probability(double bytes, bool fec) const;

 private:
  // A setup sent protected or not: what it costs on the link and what it earns.
  struct Option {
    int profile;
    bool fec;
    double bytes, value;
  };
  void rebuild();
  double plan_score(int a, int b, int switch_at, double in_flight, double bw, double rtt, double *first_latency) const;
  std::vector<SetupProfile> profiles_;
  std::vector<int> pareto_;
  std::vector<Option> options_;  // the Pareto-efficient options by value, bytes ascending
  MpcConfig cfg_;
  int previous_ = -1;
};

// Indices of the Pareto-efficient profiles, by bytes ascending.
std::vector<int> pareto_front(const std::vector<SetupProfile> &profiles);

}  // namespace rtcoinfer
