// TailBatcher: one model instance's tail, shared by every stream of a server, run on
// batches that gather the frames of all streams (as DeepStream's nvstreammux batches
// across cameras). A batch may mix setups: InferenceModel::tail_mixed runs it in one
// forward, each frame with its own channels and BatchNorm statistics.
//
// run() is called from each stream's thread (rtcoinfersrc: a stream's queue thread) and
// blocks until its frame is answered. The batcher's thread starts a batch once max_batch
// frames wait, once the oldest has waited `timeout`, or once a frame's latest start (its
// deadline, less the batch's expected time) has come: a frame that would miss its
// deadline is not held for a fuller batch. A frame that can no longer make its deadline
// when a batch starts (its deadline is nearer than the batch's expected forward time:
// it waited behind a batch that ran) is not run: it is answered `late`, oldest first, so
// the forward goes to frames that can still be on time. A stream has at most one frame in the batcher
// (its thread waits for it), so no stream can take another's place in a batch.
//
// Plain C++ and GLib-free; LibTorch stays behind models/inference.h.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "inference.h"

namespace rtcoinfer {

class TailBatcher {
 public:
  struct Options {
    int max_batch = 8;               // frames per forward, at most
    std::int64_t timeout_us = 2000;  // how long the oldest frame may wait for others
  };
  struct Stats {
    std::uint64_t batches = 0, frames = 0;
    std::uint64_t largest = 0;   // the largest batch run
    std::uint64_t late = 0;      // frames not run: they could no longer make their deadline
    double mean_batch = 0;       // frames / batches
    double mean_forward_ms = 0;  // per batch
    double mean_wait_ms = 0;     // from run() to its batch's start, per frame
  };

  TailBatcher(std::shared_ptr<InferenceModel> model, Options options);
  ~TailBatcher();  // answers every waiting frame with nothing, then joins its thread
  TailBatcher(const TailBatcher &) = delete;
  TailBatcher &operator=(const TailBatcher &) = delete;

  // The frame's logits (classes), or empty with *error set (a bad frame, or the batcher
  // stopping), or empty with *late set (not run: it could no longer make its deadline).
  // deadline_us: now_us()-style µs by which its result is due, 0 for none.
  std::vector<float> run(const InferenceModel::TailInput &frame, std::int64_t deadline_us, std::string *error,
                         bool *late = nullptr);

  Stats stats() const;
  const Options &options() const { return options_; }
  static std::int64_t now_us();

 private:
  struct Job;
  void loop();

  std::shared_ptr<InferenceModel> model_;
  Options options_;
  mutable std::mutex mu_;
  std::condition_variable wake_;
  std::deque<Job *> waiting_;
  bool stopping_ = false;
  Stats stats_;
  double forward_ms_total_ = 0, wait_ms_total_ = 0;
  double expected_forward_us_ = 0;  // a moving average of a batch's forward time
  std::thread thread_;
};

}  // namespace rtcoinfer
