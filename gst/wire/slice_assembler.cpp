#include "slice_assembler.h"

#include <algorithm>

namespace rtcoinfer {

namespace {
constexpr std::size_t kAnsweredMemory = 512;
}

SliceAssembler::SliceAssembler(int channels, int height, int width, std::size_t max_pending)
    : channels_(channels), height_(height), width_(width), max_pending_(std::max<std::size_t>(1, max_pending)) {}

void SliceAssembler::remember_answered(std::uint64_t seq) {
  answered_.insert(seq);
  while (answered_.size() > kAnsweredMemory) answered_.erase(answered_.begin());
}

SliceAssembler::Frame SliceAssembler::finish(Entry &e) {
  Frame f = std::move(e.frame);
  f.prefix = 0;
  while (f.prefix < channels_ && e.have[std::size_t(f.prefix)]) f.prefix++;
  f.complete = e.end >= 0 && f.prefix >= e.end;
  if (e.end >= 0) f.prefix = std::min(f.prefix, e.end);
  remember_answered(f.seq);
  return f;
}

SliceAssembler::Added SliceAssembler::add(std::uint64_t seq, const FrameHeader &hdr, const float *values,
                                          std::size_t bytes, double deadline_s, std::string *why) {
  auto invalid = [&](const std::string &text) {
    if (why) *why = text;
    return Added::Invalid;
  };
  if (hdr.height != height_ || hdr.width != width_ || hdr.first_channel + hdr.channels > channels_)
    return invalid("slice of channels " + std::to_string(hdr.first_channel) + ".." +
                   std::to_string(hdr.first_channel + hdr.channels - 1) + " at " + std::to_string(hdr.height) + "x" +
                   std::to_string(hdr.width) + " does not fit the " + std::to_string(channels_) + "x" +
                   std::to_string(height_) + "x" + std::to_string(width_) + " partition");
  if (answered_.count(seq)) return Added::Late;
  auto it = frames_.find(seq);
  if (it == frames_.end()) {
    if (!answered_.empty() && seq < *answered_.begin()) return Added::Late;  // older than anything remembered
    Entry e;
    e.frame.seq = seq;
    e.frame.capture_us = hdr.capture_us;
    e.frame.truth = hdr.truth;
    e.frame.bits = hdr.bits;
    e.frame.values.assign(std::size_t(channels_) * height_ * width_, 0.0f);
    e.have.assign(std::size_t(channels_), false);
    e.deadline_s = deadline_s;
    it = frames_.emplace(seq, std::move(e)).first;
  }
  Entry &e = it->second;
  if (hdr.bits != e.frame.bits || hdr.capture_us != e.frame.capture_us)
    return invalid("slice of frame " + std::to_string(seq) + " disagrees with its earlier slices (bits or capture)");
  for (int c = hdr.first_channel; c < hdr.first_channel + hdr.channels; ++c)
    if (e.have[std::size_t(c)])
      return invalid("channel " + std::to_string(c) + " of frame " + std::to_string(seq) + " arrived twice");
  if (hdr.last_slice) {
    if (e.end >= 0) return invalid("frame " + std::to_string(seq) + " has two last slices");
    e.end = hdr.first_channel + hdr.channels;
  }
  const std::size_t plane = std::size_t(height_) * width_;
  std::copy(values, values + plane * std::size_t(hdr.channels),
            e.frame.values.begin() + long(plane * std::size_t(hdr.first_channel)));
  for (int c = hdr.first_channel; c < hdr.first_channel + hdr.channels; ++c) e.have[std::size_t(c)] = true;
  e.frame.slices++;
  e.frame.bytes += bytes;
  const bool complete = e.end >= 0 && std::all_of(e.have.begin(), e.have.begin() + e.end, [](bool b) { return b; });
  if (!complete && frames_.size() > max_pending_) {
    // too many unfinished frames (a hostile or broken sender): forget the oldest
    evicted_seqs_.push_back(frames_.begin()->first);
    frames_.erase(frames_.begin());
    evicted_++;
  }
  return complete ? Added::Complete : Added::Pending;
}

std::optional<SliceAssembler::Frame> SliceAssembler::take(std::uint64_t seq) {
  auto it = frames_.find(seq);
  if (it == frames_.end()) return std::nullopt;
  Frame f = finish(it->second);
  frames_.erase(it);
  return f;
}

std::vector<SliceAssembler::Frame> SliceAssembler::take_due(double now_s) {
  std::vector<Frame> out;
  for (auto it = frames_.begin(); it != frames_.end();) {
    if (it->second.deadline_s <= now_s) {
      out.push_back(finish(it->second));
      it = frames_.erase(it);
    } else {
      ++it;
    }
  }
  return out;
}

std::vector<SliceAssembler::Frame> SliceAssembler::take_all() {
  std::vector<Frame> out;
  for (auto &[seq, e] : frames_) out.push_back(finish(e));
  frames_.clear();
  return out;
}

std::optional<double> SliceAssembler::next_deadline() const {
  std::optional<double> next;
  for (const auto &[seq, e] : frames_)
    if (!next || e.deadline_s < *next) next = e.deadline_s;
  return next;
}

std::vector<std::uint64_t> SliceAssembler::take_evicted() {
  std::vector<std::uint64_t> out;
  out.swap(evicted_seqs_);
  return out;
}

void SliceAssembler::clear() {
  frames_.clear();
  evicted_seqs_.clear();
  answered_.clear();
}

}  // namespace rtcoinfer
