// rtcoinfer-compress under GstHarness: what goes in, what comes out, which events pass.
#include <gst/check/gstcheck.h>
#include <gst/check/gstharness.h>

#include <random>
#include <vector>

#include "wire/feature_frame.h"
#include "contract/rtcoinfer_meta.h"
#include "contract/setup_event.h"

using namespace rtcoinfer;

static const char *kCaps = "application/x-rtcoinfer-features,channels=32,height=14,width=14,model-id=(string)0badcafe";
static const int kC = 32, kH = 14, kW = 14;

static GstBuffer *features_buffer(int meta_channels, int meta_bits, guint64 seq, gint truth = -1) {
  std::mt19937 rng(seq + 1);
  std::uniform_real_distribution<float> d(0.0f, 6.0f);
  const gsize n = gsize(kC) * kH * kW;
  GstBuffer *buf = gst_buffer_new_allocate(nullptr, n * sizeof(float), nullptr);
  GstMapInfo map;
  gst_buffer_map(buf, &map, GST_MAP_WRITE);
  auto *f = reinterpret_cast<float *>(map.data);
  for (gsize i = 0; i < n; ++i) f[i] = d(rng);
  gst_buffer_unmap(buf, &map);
  GST_BUFFER_PTS(buf) = seq * GST_SECOND / 30;
  if (meta_channels > 0) {
    GstRtcoinferFeaturesMeta *m = gst_buffer_add_rtcoinfer_features_meta(buf);
    m->channels = meta_channels;
    m->bits = meta_bits;
    m->seq = seq;
    m->capture_us = 1000000 + seq;
    m->truth = truth;
  }
  return buf;
}

// Decodes a pulled frame; fails the test when it is not a valid frame.
static FrameHeader pull_frame(GstHarness *h, std::vector<float> *values = nullptr) {
  GstBuffer *out = gst_harness_pull(h);
  fail_unless(out != nullptr);
  GstMapInfo map;
  gst_buffer_map(out, &map, GST_MAP_READ);
  FrameDecoder dec;
  FrameHeader hdr;
  std::vector<float> v;
  FrameStatus st = dec.decode(map.data, map.size, hdr, v);
  fail_unless(st.ok(), "%s", st.message.c_str());
  gst_buffer_unmap(out, &map);
  gst_buffer_unref(out);
  if (values) *values = std::move(v);
  return hdr;
}

static GstHarness *new_harness(const char *setup) {
  GstHarness *h = gst_harness_new("rtcoinfer-compress");
  g_object_set(h->element, "setup", setup, nullptr);
  gst_harness_set_src_caps_str(h, kCaps);
  return h;
}

static guint64 stats_u64(GstHarness *h, const char *field) {
  GstStructure *s = nullptr;
  g_object_get(h->element, "stats", &s, nullptr);
  guint64 v = 0;
  fail_unless(gst_structure_get_uint64(s, field, &v), "no %s in stats", field);
  gst_structure_free(s);
  return v;
}

GST_START_TEST(test_fixed_setup_codes_first_k_channels) {
  GstHarness *h = new_harness("8x2");
  fail_unless_equals_int(gst_harness_push(h, features_buffer(32, 8, 5, 7)), GST_FLOW_OK);
  std::vector<float> values;
  FrameHeader hdr = pull_frame(h, &values);
  fail_unless_equals_int(hdr.channels, 8);
  fail_unless_equals_int(hdr.bits, 2);
  fail_unless_equals_int(hdr.height, kH);
  fail_unless_equals_int(hdr.model_id, 0x0badcafe);
  fail_unless_equals_int(hdr.seq, 5);
  fail_unless_equals_int(hdr.capture_us, 1000005);
  fail_unless(hdr.truth && *hdr.truth == 7);
  fail_unless_equals_int(values.size(), 8 * kH * kW);
  GstCaps *caps = gst_pad_get_current_caps(h->sinkpad);
  GstStructure *s = gst_caps_get_structure(caps, 0);
  fail_unless(gst_structure_has_name(s, RTCOINFER_FRAME_CAPS_NAME));
  fail_unless_equals_string(gst_structure_get_string(s, "model-id"), "0badcafe");
  gst_caps_unref(caps);
  gst_harness_teardown(h);
}
GST_END_TEST;

GST_START_TEST(test_auto_follows_the_meta) {
  GstHarness *h = new_harness("auto");
  const int setups[][2] = {{4, 4}, {16, 8}, {1, 1}, {32, 16}};
  for (guint i = 0; i < G_N_ELEMENTS(setups); ++i) {
    fail_unless_equals_int(gst_harness_push(h, features_buffer(setups[i][0], setups[i][1], i)), GST_FLOW_OK);
    FrameHeader hdr = pull_frame(h);
    fail_unless_equals_int(hdr.channels, setups[i][0]);
    fail_unless_equals_int(hdr.bits, setups[i][1]);
  }
  gst_harness_teardown(h);
}
GST_END_TEST;

GST_START_TEST(test_setup_event_applies_next_buffer_and_goes_upstream) {
  GstHarness *h = new_harness("auto");
  fail_unless_equals_int(gst_harness_push(h, features_buffer(32, 8, 0)), GST_FLOW_OK);
  fail_unless_equals_int(pull_frame(h).channels, 32);
  // drain the events the harness saw upstream so far (reconfigure etc.)
  while (GstEvent *e = gst_harness_try_pull_upstream_event(h)) gst_event_unref(e);

  fail_unless(gst_harness_push_upstream_event(h, setup_event_new(Setup{0, 2, 1})));
  // forwarded upstream, unchanged
  GstEvent *up = nullptr;
  while ((up = gst_harness_try_pull_upstream_event(h))) {
    if (setup_event_parse(up)) break;
    gst_event_unref(up);
  }
  fail_unless(up != nullptr, "rtcoinfer-setup was not forwarded upstream");
  auto fwd = setup_event_parse(up);
  fail_unless(fwd && fwd->channels == 2 && fwd->bits == 1);
  gst_event_unref(up);

  // the head has not switched yet (meta still 32x8): the event wins from this buffer on
  fail_unless_equals_int(gst_harness_push(h, features_buffer(32, 8, 1)), GST_FLOW_OK);
  FrameHeader hdr = pull_frame(h);
  fail_unless_equals_int(hdr.channels, 2);
  fail_unless_equals_int(hdr.bits, 1);
  // the head caught up, then later changed on its own: compress follows the meta again
  fail_unless_equals_int(gst_harness_push(h, features_buffer(2, 1, 2)), GST_FLOW_OK);
  fail_unless_equals_int(pull_frame(h).channels, 2);
  fail_unless_equals_int(gst_harness_push(h, features_buffer(16, 4, 3)), GST_FLOW_OK);
  hdr = pull_frame(h);
  fail_unless_equals_int(hdr.channels, 16);
  fail_unless_equals_int(hdr.bits, 4);
  gst_harness_teardown(h);
}
GST_END_TEST;

GST_START_TEST(test_setup_event_replaces_a_fixed_setup) {
  GstHarness *h = new_harness("32x8");
  fail_unless(gst_harness_push_upstream_event(h, setup_event_new(Setup{0, 4, 2})));
  fail_unless_equals_int(gst_harness_push(h, features_buffer(32, 8, 0)), GST_FLOW_OK);
  FrameHeader hdr = pull_frame(h);
  fail_unless_equals_int(hdr.channels, 4);
  fail_unless_equals_int(hdr.bits, 2);
  gchar *setup = nullptr;
  g_object_get(h->element, "setup", &setup, nullptr);
  fail_unless_equals_string(setup, "4x2");
  g_free(setup);
  gst_harness_teardown(h);
}
GST_END_TEST;

GST_START_TEST(test_caps_without_model_id_are_refused) {
  GstHarness *h = gst_harness_new("rtcoinfer-compress");
  g_object_set(h->element, "setup", "8x8", nullptr);
  gst_harness_set_src_caps_str(h, "application/x-rtcoinfer-features,channels=32,height=14,width=14");
  fail_unless_equals_int(gst_harness_push(h, features_buffer(32, 8, 0)), GST_FLOW_NOT_NEGOTIATED);
  fail_unless_equals_int(gst_harness_buffers_received(h), 0);
  gst_harness_teardown(h);
}
GST_END_TEST;

GST_START_TEST(test_caps_of_another_type_are_refused) {
  GstHarness *h = gst_harness_new("rtcoinfer-compress");
  GstCaps *caps = gst_caps_from_string("video/x-raw,format=GRAY8,width=28,height=28");
  GstCaps *allowed = gst_pad_query_caps(GST_PAD_PEER(h->srcpad), nullptr);
  fail_if(gst_caps_can_intersect(caps, allowed));
  gst_caps_unref(allowed);
  gst_caps_unref(caps);
  gst_harness_teardown(h);
}
GST_END_TEST;

GST_START_TEST(test_fixed_setup_wider_than_the_tensor_is_refused) {
  GstHarness *h = gst_harness_new("rtcoinfer-compress");
  g_object_set(h->element, "setup", "64x8", nullptr);
  gst_harness_set_src_caps_str(h, kCaps);
  fail_unless_equals_int(gst_harness_push(h, features_buffer(32, 8, 0)), GST_FLOW_NOT_NEGOTIATED);
  gst_harness_teardown(h);
}
GST_END_TEST;

GST_START_TEST(test_stats_count_what_was_emitted_and_dropped) {
  GstHarness *h = new_harness("auto");
  guint64 bytes = 0;
  for (int i = 0; i < 6; ++i) {
    const int k = (i % 2) ? 8 : 1;
    fail_unless_equals_int(gst_harness_push(h, features_buffer(k, 1, i)), GST_FLOW_OK);
    GstBuffer *out = gst_harness_pull(h);
    bytes += gst_buffer_get_size(out);
    gst_buffer_unref(out);
  }
  // a short buffer and a buffer without meta are dropped, counted, never fatal
  GstBuffer *shortbuf = gst_buffer_new_allocate(nullptr, 100, nullptr);
  gst_buffer_add_rtcoinfer_features_meta(shortbuf)->channels = 8;
  fail_unless_equals_int(gst_harness_push(h, shortbuf), GST_FLOW_OK);
  fail_unless_equals_int(gst_harness_push(h, features_buffer(0, 0, 9)), GST_FLOW_OK);
  fail_unless_equals_int(gst_harness_buffers_in_queue(h), 0);

  fail_unless_equals_int(stats_u64(h, "frames"), 6);
  fail_unless_equals_int(stats_u64(h, "bytes"), bytes);
  fail_unless_equals_int(stats_u64(h, "dropped"), 2);
  GstStructure *s = nullptr;
  g_object_get(h->element, "stats", &s, nullptr);
  const GValue *setups = gst_structure_get_value(s, "setups");
  fail_unless_equals_int(gst_value_array_get_size(setups), 2);
  guint64 total = 0;
  for (guint i = 0; i < 2; ++i) {
    const GstStructure *e = gst_value_get_structure(gst_value_array_get_value(setups, i));
    guint64 frames = 0;
    gst_structure_get_uint64(e, "frames", &frames);
    fail_unless_equals_int(frames, 3);
    total += frames;
  }
  fail_unless_equals_int(total, 6);
  const GstStructure *drops = gst_value_get_structure(gst_structure_get_value(s, "drops"));
  guint64 n = 0;
  fail_unless(gst_structure_get_uint64(drops, "malformed", &n) && n == 1);
  fail_unless(gst_structure_get_uint64(drops, "no-setup", &n) && n == 1);
  gst_structure_free(s);
  gst_harness_teardown(h);
}
GST_END_TEST;

GST_START_TEST(test_nonfinite_features_are_dropped_and_counted) {
  GstHarness *h = new_harness("4x8");
  GstBuffer *buf = features_buffer(32, 8, 0);
  GstMapInfo map;
  gst_buffer_map(buf, &map, GST_MAP_WRITE);
  reinterpret_cast<float *>(map.data)[3] = NAN;
  gst_buffer_unmap(buf, &map);
  fail_unless_equals_int(gst_harness_push(h, buf), GST_FLOW_OK);
  fail_unless_equals_int(gst_harness_buffers_in_queue(h), 0);
  fail_unless_equals_int(stats_u64(h, "dropped"), 1);
  fail_unless_equals_int(gst_harness_push(h, features_buffer(32, 8, 1)), GST_FLOW_OK);
  fail_unless_equals_int(pull_frame(h).channels, 4);
  gst_harness_teardown(h);
}
GST_END_TEST;

GST_START_TEST(test_timestamps_and_meta_survive) {
  GstHarness *h = new_harness("auto");
  GstBuffer *in = features_buffer(8, 4, 42);
  const GstClockTime pts = GST_BUFFER_PTS(in);
  fail_unless_equals_int(gst_harness_push(h, in), GST_FLOW_OK);
  GstBuffer *out = gst_harness_pull(h);
  fail_unless_equals_uint64(GST_BUFFER_PTS(out), pts);
  GstRtcoinferFeaturesMeta *m = gst_buffer_get_rtcoinfer_features_meta(out);
  fail_unless(m && m->seq == 42 && m->channels == 8);
  gst_buffer_unref(out);
  gst_harness_teardown(h);
}
GST_END_TEST;

static Suite *compress_suite(void) {
  Suite *s = suite_create("rtcoinfer-compress");
  TCase *tc = tcase_create("general");
  suite_add_tcase(s, tc);
  tcase_add_test(tc, test_fixed_setup_codes_first_k_channels);
  tcase_add_test(tc, test_auto_follows_the_meta);
  tcase_add_test(tc, test_setup_event_applies_next_buffer_and_goes_upstream);
  tcase_add_test(tc, test_setup_event_replaces_a_fixed_setup);
  tcase_add_test(tc, test_caps_without_model_id_are_refused);
  tcase_add_test(tc, test_caps_of_another_type_are_refused);
  tcase_add_test(tc, test_fixed_setup_wider_than_the_tensor_is_refused);
  tcase_add_test(tc, test_stats_count_what_was_emitted_and_dropped);
  tcase_add_test(tc, test_nonfinite_features_are_dropped_and_counted);
  tcase_add_test(tc, test_timestamps_and_meta_survive);
  return s;
}

GST_CHECK_MAIN(compress);
