// TailBatcher: one model instance's tail, shared by every stream of a server, run on
// batches that gather the frames of all streams (as DeepStream's nvstreammux batches
// across cameras). A batch may mix setups: InferenceModel::tail_mixed runs it in one
// forward, each frame with its own channels and BatchNorm statistics.
//
// run() is called from each stream's thread (rtcoinfersrc: a stream's queue thread) and
// blocks until its frame is answered. The batcher's GstTask starts a batch once max_batch
// frames wait, once the oldest has waited `timeout`, or once a frame's latest start (its
// deadline, less the batch's expected time) has come: a frame that would miss its
// deadline is not held for a fuller batch. A frame that can no longer make its deadline
// when a batch starts (its deadline is nearer than the batch's expected forward time:
// it waited behind a batch that ran) is not run: it is answered `late`, oldest first, so
// the forward goes to frames that can still be on time. A stream has at most one frame in
// the batcher (its thread waits for it), so no stream can take another's place in a batch.
//
// Every time is the batcher's clock's: the system clock until set_clock() gives it the
// pipeline's (rtcoinfersrc does, when its bin gets one). The waits for a timeout or a
// latest start are GstClockIDs on that clock, as rtpjitterbuffer's timers are, so tests
// drive them with a GstTestClock. LibTorch stays behind models/inference.h.
#pragma once

#include <gst/gst.h>

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <vector>

#include "inference.h"

namespace rtcoinfer {

class TailBatcher {
 public:
  struct Options {
    int max_batch = 8;                       // frames per forward, at most
    GstClockTime timeout = 2 * GST_MSECOND;  // how long the oldest frame may wait for others
    GstClock *clock = nullptr;               // the clock to start on; null: the system clock
  };
  struct Stats {
    std::uint64_t batches = 0, frames = 0;
    std::uint64_t largest = 0;   // the largest batch run
    std::uint64_t late = 0;      // frames not run: they could no longer make their deadline
    double mean_batch = 0;       // frames / batches
    double mean_forward_ms = 0;  // per batch, in clock time
    double mean_wait_ms = 0;     // from run() to its batch's start, per frame
  };

  TailBatcher(std::shared_ptr<InferenceModel> model, Options options);
  ~TailBatcher();  // answers every waiting frame with nothing, then joins its task
  TailBatcher(const TailBatcher &) = delete;
  TailBatcher &operator=(const TailBatcher &) = delete;

  // The frame's logits (classes), or empty with *error set (a bad frame, or the batcher
  // stopping), or empty with *late set (not run: it could no longer make its deadline).
  // deadline: the clock time (now() and on) by which its result is due; GST_CLOCK_TIME_NONE
  // for none.
  std::vector<float> run(const InferenceModel::TailInput &frame, GstClockTime deadline, std::string *error,
                         bool *late = nullptr);

  // The clock every deadline is on. A frame's deadline is now() + what it has left.
  GstClockTime now() const;
  // Moves to another clock (the pipeline's); the frames waiting now are timed on the old one.
  void set_clock(GstClock *clock);

  Stats stats() const;
  const Options &options() const { return options_; }

 private:
  struct Job;
  static void task_func(gpointer self);
  void iterate();
  // with mu_: waits on the clock until `due`, or until run()/the destructor wakes it;
  // true when `due` came
  bool wait_until(std::unique_lock<std::mutex> &lock, GstClockTime due);

  std::shared_ptr<InferenceModel> model_;
  Options options_;
  mutable std::mutex mu_;  // guards all below but task_ and task_lock_
  std::condition_variable wake_;
  std::deque<Job *> waiting_;
  bool stopping_ = false;
  GstClock *clock_ = nullptr;     // owned
  GstClockID pending_ = nullptr;  // the wait in progress, for run() to unschedule
  Stats stats_;
  double forward_ms_total_ = 0, wait_ms_total_ = 0;
  double expected_forward_ns_ = 0;  // a moving average of a batch's forward time
  GRecMutex task_lock_;
  GstTask *task_ = nullptr;
};

}  // namespace rtcoinfer
