// Trace-driven simulation of the device -> server feature stream under a rate policy.
//
// Frames are captured at a fixed rate; each is coded at the setup the policy asked for
// (one frame late, as rtcoinfer-compress applies an rtcoinfer-setup event from the next
// frame), cut into RTP packets and sent through a LinkModel that replays the trace. The
// receiver's TWCC feedback (arrival times in 250 us steps, losses) comes back after the
// propagation delay every feedback interval, and receiver reports once a second - into
// the same RateSession that rtcoinfer-mpcrate runs. A frame counts as on time when its
// result is ready within the deadline: head + last packet's arrival - send + server.
// Its contribution to effective accuracy is its setup's measured top-1 (the bundle's
// eval table), so a run is deterministic and needs no model weights.
#pragma once

#include <cstdint>
#include <functional>
#include <limits>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "sim/link_model.h"
#include "control/mpc_controller.h"
#include "control/rate_session.h"

namespace rtcoinfer {

struct SimConfig {
  double fps = 30;
  double head_s = 0.002;    // device: head + compress
  double server_s = 0.030;  // server: arrival -> result (queue, batch, tail)
  // A server time that changes over time: (from this capture time s, the server time s),
  // in time order, each holding until the next; before the first, server_s. Empty: always
  // server_s. A frame's server time is the one in force when its last packet arrives.
  std::vector<std::pair<double, double>> server_profile;
  // What the controller plans the server time to be (rtcoinfer-mpcrate server-latency):
  // nullopt is auto, what the server reports (the 95th percentile of the last 64 frames'
  // server times, in every feedback, after the propagation delay; server_s before any);
  // a value plans with that value whatever the server does.
  std::optional<double> planned_server_s;
  double delay_s = 0.010;                 // one-way propagation, both directions
  std::uint64_t queue_bytes = 64 * 1024;  // bottleneck drop-tail queue
  std::uint64_t burst_bytes = 0;          // token-bucket burst (tc tbf's `burst`; 0: none)
  double queue_latency_s = 0;             // > 0: queue of this long at the current rate (tbf's `latency`)
  int mtu = 1200;                         // rtpgstpay payload per packet
  int packet_overhead = 28;               // RTP header 12 + TWCC extension 8 + rtpgstpay header 8
  double feedback_interval_s = 0.050;     // TWCC feedback period
  double rr_interval_s = 1.0;             // RTCP receiver reports
  double twcc_resolution_s = 250e-6;      // TWCC arrival-time step
  ProbeConfig probe;
};

struct SimPolicy {
  SimPolicy(Policy p = Policy::Mpc, int fixed = -1, std::string n = {})
      : policy(p), fixed_index(fixed), name(std::move(n)) {}
  Policy policy = Policy::Mpc;
  int fixed_index = -1;  // Policy::Fixed: index into the profiles
  std::string name;      // "mpc", "rate", "fixed:32x8"
  // CLIO-style progressive slicing: profile i is the first i+1 slices (profiles ascend),
  // slice i is sent as its own packets of profiles[i].bytes - profiles[i-1].bytes, and
  // the server answers at the deadline with the longest prefix that arrived by then.
  bool progressive = false;
  // SPINN-style early exit: frame n is answered on the device when local_answer[n mod
  // size] is set (its exit was confident enough), after local_latency_s, earning
  // local_accuracy; nothing is sent for it, and the rate session never sees it.
  std::vector<std::uint8_t> local_answer;
  double local_latency_s = 0, local_accuracy = 0;
};

struct SimFrame {
  double capture_s = 0;
  int setup = -1;  // profile index; -1: skipped
  double bytes = 0;
  double latency_s = std::numeric_limits<double>::infinity();  // infinite when skipped or lost
  bool lost = false, on_time = false;
  double accuracy = 0;  // top-1 (percent) earned: the setup's when on time, else 0
  double planned_bps = 0, link_bps = 0;
  bool early_exit = false;  // answered on the device (SimPolicy::local_answer)
};

struct SimSummary {
  std::uint64_t frames = 0, sent = 0, skipped = 0, lost = 0, on_time = 0, switches = 0, probes = 0;
  std::uint64_t exited = 0;       // answered on the device by an early exit
  double effective_accuracy = 0;  // percent: sum of accuracy earned / frames captured
  double hit_rate = 0;            // percent of captured frames on time
  double bytes_per_frame = 0;     // feature-frame bytes sent / frames captured
  double mean_latency_s = 0;      // over delivered frames
  double duration_s = 0;
};

// On-wire bytes of a frame of `bytes`: rtpgstpay packets of at most sim.mtu payload,
// each with sim.packet_overhead header bytes (as send_packets sends them).
double wire_bytes(double bytes, const SimConfig &sim);

// The server time in force at `t` (SimConfig::server_profile, else server_s).
double server_time_at(const SimConfig &sim, double t);
// Parses "T:MS,T:MS,..." (seconds from the start : server time in ms) into a profile;
// nullopt (and *error) when it is no such list or its times do not rise.
std::optional<std::vector<std::pair<double, double>>> parse_server_profile(const std::string &text, std::string *error);

// Cuts `bytes` into those packets and sends them through `link` at `send_s`, calling
// on_packet(size on the wire, arrival or nullopt when dropped) for each. Returns the last
// arrival, or nullopt when any packet was dropped.
std::optional<double> send_packets(LinkModel &link, double send_s, double bytes, const SimConfig &sim,
                                   const std::function<void(std::uint32_t, std::optional<double>)> &on_packet = {});

// Turns the sums in `sum` (accuracy, bytes, on-time count) into means over sum.frames and
// sets the mean latency over the frames answered (sent and not lost, plus exits).
void finish_summary(SimSummary &sum, double latency_sum);

// Runs one policy over one trace. `base` gives deadline, horizon, penalties; its policy,
// fixed index, frame interval, head and tail times are taken from `policy` and `sim`.
// `frames`, when given, receives one record per captured frame.
SimSummary simulate_trace(const BandwidthTrace &trace, const std::vector<SetupProfile> &profiles,
                          const SimPolicy &policy, const MpcConfig &base, const SimConfig &sim,
                          std::vector<SimFrame> *frames = nullptr);

}  // namespace rtcoinfer
