#include "trace_simulation.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <deque>
#include <string>

namespace rtcoinfer {

namespace {

struct SentPacket {
  PacketReport report;  // arrival_ns already in the receiver's clock, TWCC-quantized
  double arrival_s;     // true arrival (sender's clock); infinity when dropped
};

// The receiver's clock runs with an offset: the estimator may only use differences.
constexpr double kReceiverClockOffsetS = 123.456;

}  // namespace

double server_time_at(const SimConfig &sim, double t) {
  double v = sim.server_s;
  for (const auto &[from, server] : sim.server_profile) {
    if (t < from) break;
    v = server;
  }
  return v;
}

std::optional<std::vector<std::pair<double, double>>> parse_server_profile(const std::string &text,
                                                                           std::string *error) {
  std::vector<std::pair<double, double>> out;
  std::size_t at = 0;
  while (at <= text.size()) {
    const std::size_t comma = std::min(text.find(',', at), text.size());
    const std::string item = text.substr(at, comma - at);
    const std::size_t colon = item.find(':');
    char *end1 = nullptr, *end2 = nullptr;
    const std::string t = colon == std::string::npos ? "" : item.substr(0, colon);
    const std::string ms = colon == std::string::npos ? "" : item.substr(colon + 1);
    const double tv = t.empty() ? NAN : std::strtod(t.c_str(), &end1);
    const double mv = ms.empty() ? NAN : std::strtod(ms.c_str(), &end2);
    if (!std::isfinite(tv) || !std::isfinite(mv) || *end1 || *end2 || tv < 0 || mv < 0 ||
        (!out.empty() && tv <= out.back().first)) {
      if (error)
        *error = "server profile \"" + text + "\": want rising SECONDS:MS pairs, e.g. 0:30,60:90; not \"" + item + "\"";
      return std::nullopt;
    }
    out.emplace_back(tv, mv / 1000.0);
    at = comma + 1;
  }
  return out;
}

double wire_bytes(double bytes, const SimConfig &sim) {
  const double packets = std::max(1.0, std::ceil(bytes / double(sim.mtu)));
  return std::ceil(bytes) + packets * double(sim.packet_overhead);
}

std::optional<double> send_packets(LinkModel &link, double send_s, double bytes, const SimConfig &sim,
                                   const std::function<void(std::uint32_t, std::optional<double>)> &on_packet) {
  double last_arrival = 0;
  bool lost = false;
  for (double left = bytes; left > 0; left -= sim.mtu) {
    const auto size = std::uint32_t(std::ceil(std::min<double>(left, sim.mtu))) + std::uint32_t(sim.packet_overhead);
    const auto arrival = link.send(send_s, size);
    if (on_packet) on_packet(size, arrival);
    if (arrival)
      last_arrival = std::max(last_arrival, *arrival);
    else
      lost = true;
  }
  if (lost) return std::nullopt;
  return last_arrival;
}

void finish_summary(SimSummary &sum, double latency_sum) {
  if (sum.frames) {
    sum.effective_accuracy /= double(sum.frames);
    sum.bytes_per_frame /= double(sum.frames);
    sum.hit_rate = 100.0 * double(sum.on_time) / double(sum.frames);
  }
  const std::uint64_t delivered = sum.sent - sum.lost + sum.exited;  // answered, on time or not
  sum.mean_latency_s = delivered ? latency_sum / double(delivered) : 0.0;
}

SimSummary simulate_trace(const BandwidthTrace &trace, const std::vector<SetupProfile> &profiles,
                          const SimPolicy &policy, const MpcConfig &base, const SimConfig &sim,
                          std::vector<SimFrame> *frames) {
  MpcConfig cfg = base;
  cfg.policy = policy.policy;
  cfg.fixed_index = policy.fixed_index;
  cfg.frame_interval_s = 1.0 / sim.fps;
  cfg.head_s = sim.head_s;
  cfg.tail_s = sim.planned_server_s.value_or(server_time_at(sim, 0));
  RateSession session(profiles, cfg, EstimatorConfig{}, sim.probe);

  LinkConfig link_cfg;
  link_cfg.trace = trace;
  link_cfg.trace.loop = true;  // packets still queued at the end drain at the trace's start rate
  link_cfg.delay_s = sim.delay_s;
  link_cfg.queue_bytes = sim.queue_bytes;
  link_cfg.burst_bytes = sim.burst_bytes;
  link_cfg.queue_latency_s = sim.queue_latency_s;
  LinkModel link(link_cfg);

  SimSummary sum;
  sum.duration_s = trace.duration();
  const auto total = std::uint64_t(std::floor(sum.duration_s * sim.fps));
  if (frames) frames->reserve(frames->size() + total);

  std::deque<SentPacket> unreported;  // sent, not yet in a feedback batch, in send order
  std::uint16_t seq = 0;
  double next_feedback_s = sim.feedback_interval_s;  // receiver time of the next batch
  double next_rr_s = sim.rr_interval_s;
  std::uint64_t rr_sent = 0, rr_lost = 0;
  // server-latency auto: the server times of the newest delivered frames (arrival, time),
  // as the server's ServerTimer keeps them; reported with each feedback
  std::deque<std::pair<double, double>> server_times;
  constexpr std::size_t kServerWindow = 64;
  double latency_sum = 0;
  int coded = -1;  // the setup compress codes at: the last request, the largest before any
  for (int i : session.controller().pareto()) coded = i;
  if (policy.policy == Policy::Fixed && policy.fixed_index >= 0) coded = policy.fixed_index;

  for (std::uint64_t n = 0; n < total; ++n) {
    const double capture = double(n) / sim.fps;
    const double send = capture + sim.head_s;

    // Feedback batches whose report reached the sender by now.
    while (next_feedback_s + sim.delay_s <= send) {
      std::vector<PacketReport> batch;
      // A packet is reported once it arrived, or as lost once a later one arrived.
      double latest_arrival = -1;
      for (const auto &p : unreported)
        if (p.arrival_s <= next_feedback_s) latest_arrival = std::max(latest_arrival, p.arrival_s);
      while (!unreported.empty()) {
        const SentPacket &p = unreported.front();
        const bool arrived = p.arrival_s <= next_feedback_s;
        const bool known_lost =
            std::isinf(p.arrival_s) && latest_arrival >= 0 && p.report.send_ns < std::int64_t(latest_arrival * 1e9);
        if (!arrived && !known_lost) break;
        batch.push_back(p.report);
        unreported.pop_front();
      }
      if (!batch.empty()) session.on_twcc(batch, next_feedback_s + sim.delay_s);
      if (!sim.planned_server_s) {  // the server's report rides with the feedback
        std::vector<double> window;
        for (const auto &[arrival, t] : server_times)
          if (arrival <= next_feedback_s) window.push_back(t);
        if (window.size() > kServerWindow) window.erase(window.begin(), window.end() - kServerWindow);
        if (!window.empty()) {
          const std::size_t i = std::min(window.size() - 1, std::size_t(0.95 * double(window.size() - 1) + 0.5));
          std::nth_element(window.begin(), window.begin() + std::ptrdiff_t(i), window.end());
          MpcConfig c = session.controller().config();
          if (c.tail_s != window[i]) {
            c.tail_s = window[i];
            session.set_config(c);
          }
        }
        while (server_times.size() > 4 * kServerWindow) server_times.pop_front();
      }
      next_feedback_s += sim.feedback_interval_s;
    }
    while (next_rr_s + sim.delay_s <= send) {
      session.on_receiver_report(2 * sim.delay_s, rr_sent ? double(rr_lost) / double(rr_sent) : 0.0);
      rr_sent = rr_lost = 0;
      next_rr_s += sim.rr_interval_s;
    }

    SimFrame f;
    f.capture_s = capture;
    f.link_bps = trace.rate_at(capture);
    if (!policy.local_answer.empty() && policy.local_answer[n % policy.local_answer.size()]) {
      f.early_exit = true;
      f.latency_s = policy.local_latency_s;
      f.on_time = f.latency_s <= cfg.deadline_s;
      if (f.on_time) f.accuracy = policy.local_accuracy, sum.on_time++;
      sum.exited++;
      latency_sum += f.latency_s;
      sum.effective_accuracy += f.accuracy;
      if (frames) frames->push_back(f);
      continue;
    }
    const double bytes = profiles[coded].bytes;
    const FrameOutcome out = session.on_frame(send, capture, profiles[coded].setup, bytes);
    f.planned_bps = out.planned_bps;
    if (out.decision.skip) {
      sum.skipped++;
    } else {
      f.setup = coded;
      f.bytes = bytes;
      sum.sent++;
      // One part (or, progressive, one slice per profile up to the coded one), each cut
      // into packets; the result uses the longest prefix of parts that all arrived in time.
      const int parts = policy.progressive ? coded + 1 : 1;
      int usable = -1;
      double usable_latency = 0, last_latency = 0;
      for (int part = 0; part < parts; ++part) {
        const double part_bytes =
            policy.progressive ? profiles[part].bytes - (part ? profiles[part - 1].bytes : 0.0) : bytes;
        auto report = [&](std::uint32_t size, std::optional<double> arrival) {
          SentPacket p;
          p.report.seqnum = seq++;
          p.report.send_ns = std::int64_t(std::llround(send * 1e9));
          p.report.size = size;
          rr_sent++;
          if (arrival) {
            p.arrival_s = *arrival;
            const double step = sim.twcc_resolution_s;
            p.report.arrival_ns = std::int64_t(std::floor((*arrival + kReceiverClockOffsetS) / step) * step * 1e9);
          } else {
            p.arrival_s = std::numeric_limits<double>::infinity();
            rr_lost++;
          }
          unreported.push_back(p);
        };
        const auto last_arrival = send_packets(link, send, part_bytes, sim, report);
        const bool part_lost = !last_arrival;
        if (part_lost) {  // the device cannot know: the later slices still go out
          if (part == 0) f.lost = true;
          continue;
        }
        const double server = server_time_at(sim, *last_arrival);
        last_latency = sim.head_s + (*last_arrival - send) + server;
        if (part == parts - 1) server_times.emplace_back(*last_arrival, server);
        if (usable == part - 1 && last_latency <= cfg.deadline_s) usable = part, usable_latency = last_latency;
      }
      if (f.lost) {
        sum.lost++;
      } else {
        // a late frame's latency is that of its last part; an on-time one's, of the prefix used
        f.latency_s = usable >= 0 ? usable_latency : last_latency;
        latency_sum += f.latency_s;
        f.on_time = usable >= 0;
        if (f.on_time) f.accuracy = profiles[policy.progressive ? usable : coded].accuracy;
      }
    }
    if (f.on_time) sum.on_time++;
    sum.effective_accuracy += f.accuracy;
    sum.bytes_per_frame += f.bytes;
    if (frames) frames->push_back(f);
    coded = out.request;
  }
  sum.frames = total;
  sum.switches = session.stats().switches;
  sum.probes = session.stats().probes;
  finish_summary(sum, latency_sum);
  return sum;
}

}  // namespace rtcoinfer
