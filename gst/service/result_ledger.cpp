#include "result_ledger.h"

#include <algorithm>

namespace rtcoinfer {

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  const std::size_t i = std::min(v.size() - 1, std::size_t(p * double(v.size() - 1) + 0.5));
  std::nth_element(v.begin(), v.begin() + std::ptrdiff_t(i), v.end());
  return v[i];
}

const std::vector<std::string> &ResultLedger::drop_reasons() {
  static const std::vector<std::string> reasons = {"malformed", "wrong-model", "late", "incomplete", "busy"};
  return reasons;
}

void ResultLedger::count_result(const std::string &setup, std::uint64_t bytes, double latency_ms,
                                std::optional<int> truth, bool correct) {
  std::lock_guard<std::mutex> lock(mu_);
  counts_.frames++;
  counts_.results++;
  counts_.bytes += bytes;
  counts_.per_setup[setup]++;
  if (truth) {
    counts_.with_truth++;
    counts_.correct += correct;
  }
  const double latency_s = latency_ms / 1000.0;
  counts_.latency_sum_s += latency_s;
  const auto bucket = std::lower_bound(kLatencyBuckets.begin(), kLatencyBuckets.end(), latency_s);
  if (bucket != kLatencyBuckets.end()) counts_.latency_counts[std::size_t(bucket - kLatencyBuckets.begin())]++;
  if (latency_window_.size() < kLatencyWindow)
    latency_window_.push_back(latency_ms);
  else
    latency_window_[latency_next_++ % kLatencyWindow] = latency_ms;
}

std::uint64_t ResultLedger::count_drop(const std::string &reason) {
  std::lock_guard<std::mutex> lock(mu_);
  counts_.frames++;
  counts_.dropped++;
  return ++counts_.drops[reason];
}

void ResultLedger::count_missing(std::uint64_t frames) {
  std::lock_guard<std::mutex> lock(mu_);
  counts_.missing += frames;
}

void ResultLedger::count_restart() {
  std::lock_guard<std::mutex> lock(mu_);
  counts_.restarts++;
}

ResultLedger::Step ResultLedger::sequence(std::uint16_t seq) {
  std::lock_guard<std::mutex> lock(mu_);
  Step step;
  if (!have_seq_) {
    have_seq_ = true;
    first_seen_ = seq;
    last_seq_ = seq;
    step.seq = seq;
    return step;
  }
  const std::int16_t delta = std::int16_t(std::uint16_t(seq - std::uint16_t(last_seq_)));
  if (delta > 0) {
    step.missing = std::uint64_t(delta - 1);
    counts_.missing += step.missing;
    for (std::uint64_t s = last_seq_ + 1 + (step.missing > kLateWindow ? step.missing - kLateWindow : 0);
         s < last_seq_ + std::uint64_t(delta); ++s)
      recent_missing_.push_back(s);
    last_seq_ += std::uint64_t(delta);
    while (!recent_missing_.empty() && recent_missing_.front() + kLateWindow < last_seq_) recent_missing_.pop_front();
  } else {
    const std::uint64_t back = std::uint64_t(-std::int32_t(delta));
    const auto late = back <= last_seq_
                          ? std::lower_bound(recent_missing_.begin(), recent_missing_.end(), last_seq_ - back)
                          : recent_missing_.end();
    if (late != recent_missing_.end() && *late == last_seq_ - back) {
      recent_missing_.erase(late);
      counts_.missing--;
      step.late = true;
      step.seq = last_seq_ - back;
      return step;
    }
    step.restart = true;
    counts_.restarts++;
    last_seq_ = (last_seq_ & ~std::uint64_t(0xffff)) + 0x10000 + seq;
    recent_missing_.clear();
  }
  step.seq = last_seq_;
  return step;
}

std::uint64_t ResultLedger::frames() const {
  std::lock_guard<std::mutex> lock(mu_);
  return counts_.frames;
}

std::uint64_t ResultLedger::results() const {
  std::lock_guard<std::mutex> lock(mu_);
  return counts_.results;
}

bool ResultLedger::sender_reports() const {
  std::lock_guard<std::mutex> lock(mu_);
  return have_report_;
}

bool ResultLedger::sender_ended() const {
  std::lock_guard<std::mutex> lock(mu_);
  return have_report_ && report_.final;
}

bool ResultLedger::claim_drop(std::uint16_t seq) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    const std::int16_t delta = std::int16_t(std::uint16_t(seq - std::uint16_t(last_seq_)));
    if (have_seq_ && delta <= 0) {
      const std::uint64_t back = std::uint64_t(-std::int32_t(delta));
      if (back > last_seq_) return false;
      const auto late = std::lower_bound(recent_missing_.begin(), recent_missing_.end(), last_seq_ - back);
      if (late == recent_missing_.end() || *late != last_seq_ - back) return false;
      recent_missing_.erase(late);
      counts_.missing--;
      return true;
    }
  }
  sequence(seq);
  return true;
}

bool ResultLedger::claim_arrived(std::uint16_t seq) {
  {
    // behind the newest, claim_drop takes only a frame counted missing; ahead, it would
    // move the sequence to any number, so a damaged one far ahead stops here
    std::lock_guard<std::mutex> lock(mu_);
    if (have_seq_ && std::int16_t(std::uint16_t(seq - std::uint16_t(last_seq_))) > std::int16_t(kPlausibleAhead))
      return false;
  }
  return claim_drop(seq);
}

void ResultLedger::count_unreadable() {
  std::lock_guard<std::mutex> lock(mu_);
  counts_.unreadable++;
}

void ResultLedger::device_report(const DeviceReport &report) {
  std::lock_guard<std::mutex> lock(mu_);
  if (have_report_ && report.first_seq != report_.first_seq) {
    // a base moved forward (the previous server accounted for the frames before it), to
    // no later than the first frame here; anything else is another numbering, or older
    const std::int16_t moved = std::int16_t(std::uint16_t(report.first_seq - report_.first_seq));
    if (moved < 0) return;
    if (have_seq_ && std::int16_t(std::uint16_t(first_seen_ - report.first_seq)) < 0) return;
    report_ = report;
    return;
  }
  if (have_report_ && report.numbered < report_.numbered && !report.final) return;  // an older one, reordered
  const bool was_final = have_report_ && report_.final;
  report_ = report;
  report_.final = report.final || was_final;
  have_report_ = true;
}

void ResultLedger::finish() {
  std::lock_guard<std::mutex> lock(mu_);
  finished_ = true;
}

std::optional<ResultLedger::Coverage> ResultLedger::coverage() const {
  std::lock_guard<std::mutex> lock(mu_);
  if (!have_seq_ && !have_report_) return std::nullopt;
  const Snapshot c = counted_locked();
  Coverage out;
  out.accounted = c.results + c.dropped + c.missing;
  // the frame after the newest; with no frame yet, where the sender began
  out.horizon = have_seq_ ? std::uint16_t(last_seq_ + 1) : report_.first_seq;
  if (!handed_over_ && have_report_ && (report_.final || finished_))
    out.horizon = std::uint16_t(report_.first_seq + out.accounted);  // it counts what followed too
  return out;
}

std::optional<ResultLedger::Coverage> ResultLedger::hand_over() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if ((have_report_ && report_.final) || (!have_seq_ && !have_report_)) return std::nullopt;
    handed_over_ = true;
  }
  return coverage();
}

void ResultLedger::reset() {
  std::lock_guard<std::mutex> lock(mu_);
  have_report_ = false;
  report_ = DeviceReport();
  finished_ = false;
  handed_over_ = false;
  first_seen_ = 0;
  have_seq_ = false;
  last_seq_ = 0;
  recent_missing_.clear();
  counts_ = Snapshot();
  latency_window_.clear();
  latency_next_ = 0;
}

ResultLedger::Snapshot ResultLedger::counted_locked() const {
  Snapshot c = counts_;
  if (have_report_) {
    // before the first frame that arrived: missing as soon as the sender said where it
    // began (a first frame before that base came late across a server change: none)
    if (have_seq_) {
      const std::int16_t before = std::int16_t(std::uint16_t(first_seen_ - report_.first_seq));
      if (before > 0) c.missing += std::uint64_t(before);
    }
    // after the newest: once the sender has ended, whatever it numbered and did not
    // arrive; not when this server handed the stream over to the next
    const std::uint64_t accounted = c.results + c.dropped + c.missing;
    if ((report_.final || finished_) && !handed_over_ && report_.numbered > accounted)
      c.missing += report_.numbered - accounted;
    c.skipped = std::min<std::uint64_t>(report_.skipped, c.missing);
    // a device that died after its last report sent frames it never counted; a stream
    // handed over numbered for this server only what arrived up to its newest
    c.device_frames = handed_over_ ? c.results + c.dropped + c.missing
                                   : std::max(report_.numbered, c.results + c.dropped + c.missing);
  }
  c.lost = c.missing > c.skipped ? c.missing - c.skipped : 0;
  return c;
}

void ResultLedger::add_to(Snapshot &into, std::vector<double> &window) const {
  std::lock_guard<std::mutex> lock(mu_);
  const Snapshot c = counted_locked();
  into.frames += c.frames;
  into.results += c.results;
  into.dropped += c.dropped;
  into.missing += c.missing;
  into.restarts += c.restarts;
  into.skipped += c.skipped;
  into.lost += c.lost;
  into.device_frames += c.device_frames;
  into.unreadable += c.unreadable;
  into.bytes += c.bytes;
  into.with_truth += c.with_truth;
  into.correct += c.correct;
  for (const auto &[reason, n] : c.drops) into.drops[reason] += n;
  for (const auto &[setup, n] : c.per_setup) into.per_setup[setup] += n;
  for (std::size_t i = 0; i < c.latency_counts.size(); ++i) into.latency_counts[i] += c.latency_counts[i];
  into.latency_sum_s += c.latency_sum_s;
  window.insert(window.end(), latency_window_.begin(), latency_window_.end());
}

ResultLedger::Snapshot ResultLedger::merged(const std::vector<const ResultLedger *> &ledgers) {
  Snapshot s;
  std::vector<double> window;
  for (const ResultLedger *l : ledgers) l->add_to(s, window);
  for (const auto &reason : drop_reasons()) s.drops.emplace(reason, 0);
  s.latency_p50_ms = percentile(window, 0.5);
  s.latency_p99_ms = percentile(std::move(window), 0.99);
  return s;
}

ResultLedger::Snapshot ResultLedger::snapshot() const { return merged({this}); }

void QueueWatch::entered(std::uint16_t seq) {
  std::lock_guard<std::mutex> lock(mu_);
  noted_.push_back(seq);
  if (noted_.size() > kMaxNoted) noted_.pop_front();
}

std::vector<std::uint16_t> QueueWatch::left(std::uint16_t seq) {
  std::lock_guard<std::mutex> lock(mu_);
  const auto it = std::find(noted_.begin(), noted_.end(), seq);
  if (it == noted_.end()) return {};
  std::vector<std::uint16_t> dropped(noted_.begin(), it);
  noted_.erase(noted_.begin(), it + 1);
  return dropped;
}

std::vector<std::uint16_t> QueueWatch::ended() {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::uint16_t> dropped(noted_.begin(), noted_.end());
  noted_.clear();
  return dropped;
}

void ServerTimer::arrived(std::uint16_t seq, std::int64_t now_us) {
  std::lock_guard<std::mutex> lock(mu_);
  arrivals_[seq % kArrivals] = {seq, now_us};
}

void ServerTimer::answered(std::uint16_t seq, std::int64_t now_us) {
  std::lock_guard<std::mutex> lock(mu_);
  Arrival &a = arrivals_[seq % kArrivals];
  if (a.us < 0 || a.seq != seq) return;
  window_.push_back(double(std::max<std::int64_t>(0, now_us - a.us)) / 1000.0);
  a.us = -1;
  if (window_.size() > kWindow) window_.pop_front();
}

std::optional<double> ServerTimer::recent_ms(double quantile) const {
  std::vector<double> v;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (window_.empty()) return std::nullopt;
    v.assign(window_.begin(), window_.end());
  }
  return percentile(std::move(v), quantile);
}

}  // namespace rtcoinfer
