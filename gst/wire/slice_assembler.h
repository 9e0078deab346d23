// SliceAssembler: puts CLIO-style progressive slices (docs/wire-format.md, "Slices")
// back together into frames on the server, and says when a frame must be answered:
// as soon as all its slices are in, or at its deadline with the longest prefix of
// channels that arrived by then.
//
// Plain C++ and not thread-safe: rtcoinfer-sliceassembler guards it with its state lock,
// its sink pad's streaming thread adding slices and its src pad task taking due frames.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "wire/feature_frame.h"

namespace rtcoinfer {

class SliceAssembler {
 public:
  // The partition's shape: every slice must fit it.
  SliceAssembler(int channels, int height, int width, std::size_t max_pending = 64);

  struct Frame {
    std::uint64_t seq = 0;
    std::uint32_t capture_us = 0;
    std::optional<std::uint16_t> truth;
    int bits = 0;
    int prefix = 0;             // leading channels present: [0, prefix) all arrived
    int slices = 0;             // slices received
    std::uint64_t bytes = 0;    // their bytes on the wire
    bool complete = false;      // the last slice and everything before it arrived
    std::vector<float> values;  // channels x height x width; channels >= prefix are undefined
  };

  enum class Added {
    Pending,   // kept; the frame waits for more slices or its deadline
    Complete,  // the frame is whole: take it with take(seq)
    Late,      // its frame was answered already: dropped
    Invalid,   // does not fit the partition or contradicts earlier slices: dropped (*why says how)
  };
  // `values` holds hdr.channels x height x width dequantized values of the slice; the
  // frame's deadline is the first slice's `deadline_s` (any monotonic clock).
  Added add(std::uint64_t seq, const FrameHeader &hdr, const float *values, std::size_t bytes, double deadline_s,
            std::string *why);

  std::optional<Frame> take(std::uint64_t seq);
  // Frames whose deadline is <= now_s, oldest first (removed).
  std::vector<Frame> take_due(double now_s);
  // Every frame still waiting (at end of stream), oldest first.
  std::vector<Frame> take_all();
  std::optional<double> next_deadline() const;
  std::size_t pending() const { return frames_.size(); }
  // Frames pushed out unanswered because more than max_pending were waiting.
  std::uint64_t evicted() const { return evicted_; }
  // The sequence numbers of the frames forgotten since the last call.
  std::vector<std::uint64_t> take_evicted();
  void clear();

 private:
  struct Entry {
    Frame frame;
    std::vector<bool> have;
    int end = -1;  // channel count once the last slice is in
    double deadline_s = 0;
  };
  Frame finish(Entry &e);
  void remember_answered(std::uint64_t seq);

  int channels_, height_, width_;
  std::size_t max_pending_;
  std::map<std::uint64_t, Entry> frames_;
  std::set<std::uint64_t> answered_;  // the last few hundred, to refuse their late slices
  std::uint64_t evicted_ = 0;
  std::vector<std::uint64_t> evicted_seqs_;
};

}  // namespace rtcoinfer
