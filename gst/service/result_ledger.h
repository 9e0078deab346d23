// ResultLedger: the one count of what became of the frames that reached a server-side
// answering element (rtcoinfer-tail, or the baselines' rtcoinfer-classify): results,
// drops by reason, frames missing from the sequence, restarts, bytes, accuracy and the
// latency distribution. The element's `stats` property, the results service's
// /api/stats and its /metrics all read this one object, so they cannot disagree.
//
// Plain C++, thread-safe (one internal mutex): the streaming thread counts, the HTTP
// thread and property readers take snapshots.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace rtcoinfer {

// The p-quantile (0..1) of v by nearest rank; 0 for an empty v.
double percentile(std::vector<double> v, double p);

class ResultLedger {
 public:
  // Every drop reason an element may count; each is listed (with 0) in every snapshot.
  //  malformed: not a valid frame of this model's setups; wrong-model: another bundle's;
  //  late: older than max-latency, or a slice after its frame was answered;
  //  incomplete: a sliced frame with no usable prefix at its deadline;
  //  busy: the server could not take it (its queue for the tail was full).
  static const std::vector<std::string> &drop_reasons();
  // Prometheus histogram bounds of the capture-to-result latency, seconds.
  static constexpr std::array<double, 11> kLatencyBuckets = {0.005, 0.01, 0.02, 0.035, 0.05, 0.075,
                                                             0.1,   0.15, 0.25, 0.5,   1.0};
  // Results behind the latency percentiles.
  static constexpr std::size_t kLatencyWindow = 10000;

  struct Snapshot {
    std::uint64_t frames = 0;  // results + dropped
    // missing: frames of the sender's numbering that never arrived, from the gaps in the
    // sequence and, once the sender reported its count (device_report), before the first
    // frame and after the last; skipped: the sender's own count of the frames its
    // controller never sent; lost = missing - skipped (on the link, or in a sender that
    // died); device_frames: the frames the sender numbered, 0 without a report.
    std::uint64_t results = 0, dropped = 0, missing = 0, restarts = 0, bytes = 0, with_truth = 0, correct = 0;
    std::uint64_t skipped = 0, lost = 0, device_frames = 0;
    // frames that arrived so damaged that their number could not be trusted: not an
    // outcome of their own (the gap counts them missing), a diagnostic only
    std::uint64_t unreadable = 0;
    std::map<std::string, std::uint64_t> drops;      // every reason of drop_reasons(), and any other counted
    std::map<std::string, std::uint64_t> per_setup;  // results per setup name
    std::array<std::uint64_t, kLatencyBuckets.size()> latency_counts{};  // per bucket, not cumulative
    double latency_sum_s = 0, latency_p50_ms = 0, latency_p99_ms = 0;
    double accuracy() const { return with_truth ? 100.0 * double(correct) / double(with_truth) : 0.0; }
  };

  void count_result(const std::string &setup, std::uint64_t bytes, double latency_ms, std::optional<int> truth,
                    bool correct);
  // Returns how many drops of this reason there have been.
  std::uint64_t count_drop(const std::string &reason);
  void count_missing(std::uint64_t frames);
  void count_restart();
  // The sender's 16-bit frame number -> a 64-bit one, counting the frames skipped as
  // missing. A step back to a frame counted missing among the last kLateWindow is that
  // frame arriving late (out of order, as a partial CLIO frame does at its deadline): it
  // is no longer missing. Any other step back means the sender restarted its numbering.
  // Says what it counted, for the caller's log.
  struct Step {
    std::uint64_t seq = 0;
    std::uint64_t missing = 0;  // frames skipped before this one
    bool restart = false;
    bool late = false;  // a frame counted missing before, arriving now
  };
  static constexpr std::uint64_t kLateWindow = 1024;
  Step sequence(std::uint16_t seq);
  // A frame an element before this one dropped (an rtcoinfer-dropped event): true when
  // that is the frame's outcome, i.e. it is after the newest frame seen (the sequence
  // moves on, as sequence() does) or it was counted missing (taken back); false when the
  // frame has its outcome already (a late slice of an answered frame), so a frame is
  // never counted twice. The caller counts the drop only on true.
  bool claim_drop(std::uint16_t seq);
  // A frame that arrived with this number in its header and gives no result (malformed,
  // wrong model): claim_drop for a number that is plausible, i.e. a frame counted missing,
  // the next ones (at most kPlausibleAhead ahead) or the first; false for any other (a
  // damaged header), which the caller counts unreadable: the gap then counts that frame
  // as missing, and a wrong number cannot move the sequence.
  static constexpr std::uint64_t kPlausibleAhead = 32;
  bool claim_arrived(std::uint16_t seq);
  void count_unreadable();
  // What the sender says it numbered (rtcoinfersink's RTCP APP report): its first frame's
  // number, how many frames it has numbered since, and how many of those its controller
  // skipped. `final`: the sender has ended (its report came with its BYE). With a final
  // report, frames it numbered that never arrived after the newest one are missing too;
  // before the first frame they are as soon as a report came. Reports only move forward.
  struct DeviceReport {
    std::uint16_t first_seq = 0;
    std::uint64_t numbered = 0, skipped = 0;
    bool final = false;
  };
  // A report may also move first_seq forward, to at most the first frame that arrived:
  // the device's previous server has accounted for the frames before it (a server
  // restart, see hand_over), so this ledger counts from there.
  void device_report(const DeviceReport &report);
  // The stream ended without a final report (the sender died): its last report is final.
  void finish();
  // How far this ledger has accounted for the sender's frames: every frame before
  // `horizon` (from the report's first_seq, `accounted` of them) has its outcome here.
  // nullopt before any frame or report.
  struct Coverage {
    std::uint16_t horizon = 0;
    std::uint64_t accounted = 0;
  };
  std::optional<Coverage> coverage() const;
  // This server stops while the sender still runs: the frames after the newest that
  // arrived are not counted missing here (not even after finish()) but left to the
  // sender's next server, which counts from the coverage returned. nullopt (and nothing
  // changes) when the sender has ended itself (a final report) or nothing was counted.
  std::optional<Coverage> hand_over();
  void reset();
  // The whole count, with the latency percentiles (sorts the window: not for every frame).
  Snapshot snapshot() const;
  // Several ledgers (the streams of one server) as one count: counters and histograms
  // summed, percentiles over their latency windows together.
  static Snapshot merged(const std::vector<const ResultLedger *> &ledgers);
  // Cheap single counters, for callers on the streaming thread.
  std::uint64_t frames() const;
  std::uint64_t results() const;
  // Whether the sender reports its count at all (a report came), and whether it said it
  // ended (its final report came).
  bool sender_reports() const;
  bool sender_ended() const;

 private:
  // Adds this ledger's counts to `into` and its latency window to `window`.
  void add_to(Snapshot &into, std::vector<double> &window) const;
  mutable std::mutex mu_;
  Snapshot counts_;  // percentiles unset; computed by snapshot()
  std::vector<double> latency_window_;
  std::size_t latency_next_ = 0;
  bool have_seq_ = false;
  std::uint64_t last_seq_ = 0;
  std::deque<std::uint64_t> recent_missing_;  // ascending, within kLateWindow of last_seq_
  // Counts_ with the sender's report applied (before the first frame, after the newest).
  Snapshot counted_locked() const;
  bool have_report_ = false;
  DeviceReport report_;           // final: the sender said it ended
  bool finished_ = false;         // the stream ended (finish()): the last report counts as final
  bool handed_over_ = false;      // hand_over(): nothing after the newest frame is counted here
  std::uint16_t first_seen_ = 0;  // the first frame number that arrived (with have_seq_)
};

// The frames a leaky queue in front of a ledger's element dropped (rtcoinfersrc's
// per-stream queue, which drops its oldest frame when the tail cannot keep up): each
// frame's number is noted going in and coming out, and the ones still noted ahead of a
// frame that came out, or at the end, were dropped. Thread-safe.
class QueueWatch {
 public:
  static constexpr std::size_t kMaxNoted = 4096;  // beyond, the oldest notes are forgotten
  void entered(std::uint16_t seq);
  // The frames dropped before this one; none when it was never noted.
  std::vector<std::uint16_t> left(std::uint16_t seq);
  // The end of the stream: every frame still noted was dropped.
  std::vector<std::uint16_t> ended();

 private:
  std::mutex mu_;
  std::deque<std::uint16_t> noted_;
};

// Each frame's server time: from its arrival (into rtcoinfersrc's per-stream queue) to
// its result, so queueing, batching and inference. A high quantile of the newest goes
// back to the device in every RCIA, and rtcoinfer-mpcrate server-latency=auto plans with
// it. Thread-safe: arrivals come on the session's thread, results on the tail's.
class ServerTimer {
 public:
  static constexpr std::size_t kWindow = 64;     // the newest answered frames
  static constexpr std::size_t kArrivals = 256;  // arrivals kept, by frame number
  void arrived(std::uint16_t seq, std::int64_t now_us);
  // Adds the frame's server time, if its arrival was noted (once).
  void answered(std::uint16_t seq, std::int64_t now_us);
  // The `quantile` of the window, ms; nullopt before the first answer.
  std::optional<double> recent_ms(double quantile = 0.95) const;

 private:
  mutable std::mutex mu_;
  struct Arrival {
    std::uint16_t seq = 0;
    std::int64_t us = -1;  // -1: none
  };
  std::array<Arrival, kArrivals> arrivals_{};
  std::deque<double> window_;
};

}  // namespace rtcoinfer
