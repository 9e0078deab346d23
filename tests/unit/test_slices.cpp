// SliceAssembler: CLIO-style slices back into frames, answered when whole or at the deadline.
#include <gst/check/gstcheck.h>

#include <vector>

#include "wire/slice_assembler.h"

using namespace rtcoinfer;

namespace {

constexpr int C = 32, H = 2, W = 2;

FrameHeader slice(int first, int k, bool last, int bits = 4) {
  FrameHeader h;
  h.slice = true;
  h.last_slice = last;
  h.first_channel = first;
  h.channels = k;
  h.height = H;
  h.width = W;
  h.bits = bits;
  h.capture_us = 1000;
  h.truth = 5;
  return h;
}

// values of channels [first, first + k): each value is its channel index
std::vector<float> values(int first, int k) {
  std::vector<float> v;
  for (int c = first; c < first + k; ++c)
    for (int i = 0; i < H * W; ++i) v.push_back(float(c));
  return v;
}

SliceAssembler::Added add(SliceAssembler &a, std::uint64_t seq, int first, int k, bool last, double deadline = 1.0) {
  const auto v = values(first, k);
  std::string why;
  return a.add(seq, slice(first, k, last), v.data(), 100, deadline, &why);
}

}  // namespace

GST_START_TEST(test_all_slices_make_a_complete_frame) {
  SliceAssembler a(C, H, W);
  fail_unless(add(a, 7, 0, 1, false) == SliceAssembler::Added::Pending);
  fail_unless(add(a, 7, 1, 1, false) == SliceAssembler::Added::Pending);
  fail_unless(add(a, 7, 2, 2, true) == SliceAssembler::Added::Complete);
  auto f = a.take(7);
  fail_unless(f && f->complete && f->prefix == 4 && f->slices == 3 && f->bytes == 300 && f->truth == 5);
  for (int c = 0; c < 4; ++c) fail_unless(f->values[std::size_t(c * H * W)] == float(c));
  fail_unless_equals_int(a.pending(), 0);
}
GST_END_TEST;

GST_START_TEST(test_a_lost_slice_leaves_the_prefix_before_it) {
  SliceAssembler a(C, H, W);
  add(a, 1, 0, 1, false, 0.5);
  add(a, 1, 1, 1, false, 0.5);
  // [2,4) lost; [4,8) and the last arrive
  add(a, 1, 4, 4, false, 0.5);
  fail_unless(add(a, 1, 8, 8, true, 0.5) == SliceAssembler::Added::Pending);
  fail_unless(a.take_due(0.4).empty(), "not due before its deadline");
  fail_unless(*a.next_deadline() == 0.5);
  auto due = a.take_due(0.5);
  fail_unless(due.size() == 1 && !due[0].complete && due[0].prefix == 2 && due[0].slices == 4);
}
GST_END_TEST;

GST_START_TEST(test_late_and_contradicting_slices_are_refused) {
  SliceAssembler a(C, H, W);
  add(a, 3, 0, 1, true);
  a.take(3);
  fail_unless(add(a, 3, 1, 1, false) == SliceAssembler::Added::Late, "a slice after its frame was answered");
  add(a, 4, 0, 2, false);
  fail_unless(add(a, 4, 1, 2, false) == SliceAssembler::Added::Invalid, "overlapping channels");
  const auto v = values(2, 2);
  std::string why;
  fail_unless(a.add(4, slice(2, 2, false, 8), v.data(), 10, 1.0, &why) == SliceAssembler::Added::Invalid);
  fail_unless(!why.empty());
  fail_unless(add(a, 4, 30, 4, false) == SliceAssembler::Added::Invalid, "past the partition's channels");
  add(a, 4, 2, 2, true);
  fail_unless(add(a, 4, 4, 2, true) == SliceAssembler::Added::Invalid, "two last slices");
}
GST_END_TEST;

GST_START_TEST(test_pending_frames_are_bounded) {
  SliceAssembler a(C, H, W, 4);
  for (std::uint64_t s = 0; s < 10; ++s) add(a, s, 0, 1, false);
  fail_unless(a.pending() <= 5, "%zu pending", a.pending());
  fail_unless(a.evicted() >= 5);
  const auto all = a.take_all();
  fail_unless(!all.empty() && all.back().seq == 9 && a.pending() == 0);
}
GST_END_TEST;

static Suite *slices_suite(void) {
  Suite *s = suite_create("slices");
  TCase *tc = tcase_create("general");
  suite_add_tcase(s, tc);
  tcase_add_test(tc, test_all_slices_make_a_complete_frame);
  tcase_add_test(tc, test_a_lost_slice_leaves_the_prefix_before_it);
  tcase_add_test(tc, test_late_and_contradicting_slices_are_refused);
  tcase_add_test(tc, test_pending_frames_are_bounded);
  return s;
}

GST_CHECK_MAIN(slices);
