#include "tail_batcher.h"

#include <algorithm>
#include <chrono>

namespace rtcoinfer {

namespace {
// how far past its deadline a forward may be expected to end before its frame is not run:
// the batcher's own wake-up is that late, and the forward time is a moving average
constexpr std::int64_t kLateSlackUs = 1000;
}  // namespace

struct TailBatcher::Job {
  InferenceModel::TailInput frame;
  std::int64_t queued_us = 0, deadline_us = 0;
  bool done = false, late = false;
  std::vector<float> logits;
  std::string error;
};

std::int64_t TailBatcher::now_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

TailBatcher::TailBatcher(std::shared_ptr<InferenceModel> model, Options options)
    : model_(std::move(model)), options_(options) {
  options_.max_batch = std::max(1, options_.max_batch);
  options_.timeout_us = std::max<std::int64_t>(0, options_.timeout_us);
  thread_ = std::thread([this] { loop(); });
}

TailBatcher::~TailBatcher() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

std::vector<float> TailBatcher::run(const InferenceModel::TailInput &frame, std::int64_t deadline_us,
                                    std::string *error, bool *late) {
  Job job;
  job.frame = frame;
  job.queued_us = now_us();
  job.deadline_us = deadline_us;
  std::unique_lock<std::mutex> lock(mu_);
  if (stopping_) {
    if (error) *error = "the server is stopping";
    return {};
  }
  waiting_.push_back(&job);
  wake_.notify_all();
  wake_.wait(lock, [&] { return job.done; });
  if (error) *error = job.error;
  if (late) *late = job.late;
  return std::move(job.logits);
}

TailBatcher::Stats TailBatcher::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  Stats s = stats_;
  s.mean_batch = s.batches ? double(s.frames) / double(s.batches) : 0;
  s.mean_forward_ms = s.batches ? forward_ms_total_ / double(s.batches) : 0;
  s.mean_wait_ms = s.frames ? wait_ms_total_ / double(s.frames) : 0;
  return s;
}

void TailBatcher::loop() {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    wake_.wait(lock, [&] { return stopping_ || !waiting_.empty(); });
    if (stopping_) break;
    // wait for a fuller batch while no frame's start is due
    for (;;) {
      if (stopping_ || waiting_.size() >= std::size_t(options_.max_batch)) break;
      std::int64_t due = waiting_.front()->queued_us + options_.timeout_us;
      for (const Job *j : waiting_)
        if (j->deadline_us > 0) due = std::min(due, j->deadline_us - std::int64_t(expected_forward_us_));
      const std::int64_t now = now_us();
      if (now >= due) break;
      wake_.wait_for(lock, std::chrono::microseconds(due - now));
    }
    if (stopping_) break;
    // the frames a forward now would answer past their deadline are not run, oldest first
    // (past it by more than kLateSlackUs: a frame woken at its latest start is on time)
    {
      const std::int64_t finish = now_us() + std::int64_t(expected_forward_us_) - kLateSlackUs;
      bool dropped = false;
      for (auto it = waiting_.begin(); it != waiting_.end();) {
        Job *j = *it;
        if (j->deadline_us > 0 && finish > j->deadline_us) {
          j->late = j->done = true;
          stats_.late++;
          dropped = true;
          it = waiting_.erase(it);
        } else {
          ++it;
        }
      }
      if (dropped) wake_.notify_all();
      if (waiting_.empty()) continue;
    }
    const std::size_t n = std::min(waiting_.size(), std::size_t(options_.max_batch));
    std::vector<Job *> batch(waiting_.begin(), waiting_.begin() + std::ptrdiff_t(n));
    waiting_.erase(waiting_.begin(), waiting_.begin() + std::ptrdiff_t(n));
    const std::int64_t start = now_us();
    lock.unlock();
    std::vector<InferenceModel::TailInput> inputs;
    inputs.reserve(n);
    for (const Job *j : batch) inputs.push_back(j->frame);
    const std::vector<float> logits = model_->tail_mixed(inputs);
    std::vector<std::vector<float>> answers(n);
    std::vector<std::string> errors(n);
    if (!logits.empty()) {
      const std::size_t classes = logits.size() / n;
      for (std::size_t i = 0; i < n; ++i)
        answers[i].assign(logits.begin() + std::ptrdiff_t(i * classes),
                          logits.begin() + std::ptrdiff_t((i + 1) * classes));
    } else {
      // one bad frame fails its batch: each alone, so only that one fails
      for (std::size_t i = 0; i < n; ++i) {
        answers[i] = n > 1 ? model_->tail_mixed({inputs[i]}) : std::vector<float>();
        if (answers[i].empty()) errors[i] = model_->last_error();
      }
    }
    const std::int64_t end = now_us();
    lock.lock();
    for (std::size_t i = 0; i < n; ++i) {
      Job *j = batch[i];
      j->logits = std::move(answers[i]);
      j->error = std::move(errors[i]);
      j->done = true;
      wait_ms_total_ += double(start - j->queued_us) / 1000.0;
    }
    stats_.batches++;
    stats_.frames += n;
    stats_.largest = std::max<std::uint64_t>(stats_.largest, n);
    forward_ms_total_ += double(end - start) / 1000.0;
    expected_forward_us_ =
        expected_forward_us_ == 0 ? double(end - start) : 0.9 * expected_forward_us_ + 0.1 * double(end - start);
    wake_.notify_all();
  }
  // stopping: whoever still waits gets nothing
  for (Job *j : waiting_) {
    j->error = "the server is stopping";
    j->done = true;
  }
  waiting_.clear();
  wake_.notify_all();
}

}  // namespace rtcoinfer
