#include "tail_batcher.h"

#include <algorithm>

namespace rtcoinfer {

namespace {
// how far past its deadline a forward may be expected to end before its frame is not run:
// the batcher's own wake-up is that late, and the forward time is a moving average
constexpr GstClockTime kLateSlack = GST_MSECOND;
}  // namespace

struct TailBatcher::Job {
  InferenceModel::TailInput frame;
  GstClockTime queued = 0, deadline = GST_CLOCK_TIME_NONE;
  bool done = false, late = false;
  std::vector<float> logits;
  std::string error;
};

TailBatcher::TailBatcher(std::shared_ptr<InferenceModel> model, Options options)
    : model_(std::move(model)), options_(options) {
  options_.max_batch = std::max(1, options_.max_batch);
  if (!GST_CLOCK_TIME_IS_VALID(options_.timeout)) options_.timeout = 0;
  clock_ = options_.clock ? GST_CLOCK(gst_object_ref(options_.clock)) : gst_system_clock_obtain();
  options_.clock = nullptr;  // clock_ is the one in use
  g_rec_mutex_init(&task_lock_);
  task_ = gst_task_new(&TailBatcher::task_func, this, nullptr);
  gst_object_set_name(GST_OBJECT(task_), "rtcoinfer-batcher");
  gst_task_set_lock(task_, &task_lock_);
  gst_task_start(task_);
}

TailBatcher::~TailBatcher() {
  gst_task_stop(task_);  // the task ends once its iteration returns
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
    if (pending_) gst_clock_id_unschedule(pending_);
  }
  wake_.notify_all();
  gst_task_join(task_);
  gst_object_unref(task_);
  g_rec_mutex_clear(&task_lock_);
  // whoever still waits gets nothing
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (Job *j : waiting_) {
      j->error = "the server is stopping";
      j->done = true;
    }
    waiting_.clear();
  }
  wake_.notify_all();
  gst_object_unref(clock_);
}

GstClockTime TailBatcher::now() const {
  std::lock_guard<std::mutex> lock(mu_);
  return gst_clock_get_time(clock_);
}

void TailBatcher::set_clock(GstClock *clock) {
  if (!clock) return;
  std::lock_guard<std::mutex> lock(mu_);
  if (clock == clock_) return;
  gst_object_replace(reinterpret_cast<GstObject **>(&clock_), GST_OBJECT(clock));
  if (pending_) gst_clock_id_unschedule(pending_);  // the task plans again on the new clock
}

std::vector<float> TailBatcher::run(const InferenceModel::TailInput &frame, GstClockTime deadline, std::string *error,
                                    bool *late) {
  Job job;
  job.frame = frame;
  job.deadline = deadline;
  std::unique_lock<std::mutex> lock(mu_);
  if (stopping_) {
    if (error) *error = "the server is stopping";
    return {};
  }
  job.queued = gst_clock_get_time(clock_);
  waiting_.push_back(&job);
  if (pending_) gst_clock_id_unschedule(pending_);  // the task plans again with this frame
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

void TailBatcher::task_func(gpointer self) { static_cast<TailBatcher *>(self)->iterate(); }

bool TailBatcher::wait_until(std::unique_lock<std::mutex> &lock, GstClockTime due) {
  GstClock *clock = GST_CLOCK(gst_object_ref(clock_));  // set_clock may replace clock_ meanwhile
  GstClockID id = gst_clock_new_single_shot_id(clock, due);
  pending_ = id;
  lock.unlock();
  const GstClockReturn ret = gst_clock_id_wait(id, nullptr);
  lock.lock();
  pending_ = nullptr;
  gst_clock_id_unref(id);
  gst_object_unref(clock);
  return ret == GST_CLOCK_OK || ret == GST_CLOCK_EARLY;
}

// One batch: waits for frames, then for a fuller batch while no frame's start is due,
// drops the frames that can no longer be on time, and runs the rest in one forward.
void TailBatcher::iterate() {
  std::unique_lock<std::mutex> lock(mu_);
  wake_.wait(lock, [&] { return stopping_ || !waiting_.empty(); });
  if (stopping_) return;
  const GstClockTime expected = GstClockTime(expected_forward_ns_);
  for (;;) {
    if (stopping_ || waiting_.size() >= std::size_t(options_.max_batch)) break;
    GstClockTime due = waiting_.front()->queued + options_.timeout;
    for (const Job *j : waiting_)
      if (GST_CLOCK_TIME_IS_VALID(j->deadline))
        due = std::min(due, j->deadline > expected ? j->deadline - expected : 0);
    if (gst_clock_get_time(clock_) >= due) break;
    wait_until(lock, due);  // or a new frame, a new clock, or the end: plan again
  }
  if (stopping_) return;
  // the frames a forward now would answer past their deadline are not run, oldest first
  // (past it by more than kLateSlack: a frame woken at its latest start is on time)
  const GstClockTime start = gst_clock_get_time(clock_);
  bool dropped = false;
  for (auto it = waiting_.begin(); it != waiting_.end();) {
    Job *j = *it;
    if (GST_CLOCK_TIME_IS_VALID(j->deadline) && start + expected > j->deadline + kLateSlack) {
      j->late = j->done = true;
      stats_.late++;
      dropped = true;
      it = waiting_.erase(it);
    } else {
      ++it;
    }
  }
  if (dropped) wake_.notify_all();
  if (waiting_.empty()) return;
  const std::size_t n = std::min(waiting_.size(), std::size_t(options_.max_batch));
  std::vector<Job *> batch(waiting_.begin(), waiting_.begin() + std::ptrdiff_t(n));
  waiting_.erase(waiting_.begin(), waiting_.begin() + std::ptrdiff_t(n));
  GstClock *clock = GST_CLOCK(gst_object_ref(clock_));
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
  const GstClockTime end = gst_clock_get_time(clock);
  gst_object_unref(clock);
  lock.lock();
  const double forward_ns = end > start ? double(end - start) : 0;  // 0 when the clock moved
  for (std::size_t i = 0; i < n; ++i) {
    Job *j = batch[i];
    j->logits = std::move(answers[i]);
    j->error = std::move(errors[i]);
    j->done = true;
    wait_ms_total_ += start > j->queued ? double(start - j->queued) / 1e6 : 0;
  }
  stats_.batches++;
  stats_.frames += n;
  stats_.largest = std::max<std::uint64_t>(stats_.largest, n);
  forward_ms_total_ += forward_ns / 1e6;
  expected_forward_ns_ = stats_.batches == 1 ? forward_ns : 0.9 * expected_forward_ns_ + 0.1 * forward_ns;
  wake_.notify_all();
}

}  // namespace rtcoinfer
