// rtcoinfer-mpcrate under GstHarness: TWCC feedback in, rtcoinfer-setup out.
// RTCOINFER_TEST_MODEL names the shipped bundle (its setup table drives the MPC).
#include <gst/check/gstcheck.h>
#include <gst/check/gstharness.h>

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "wire/feature_frame.h"
#include "contract/rtcoinfer_meta.h"
#include "contract/setup_event.h"

using namespace rtcoinfer;

static GstBuffer *frame(int k, int bits, int index) {
  std::mt19937 rng(index);
  std::uniform_real_distribution<float> d(0.0f, 6.0f);
  std::vector<float> t(32 * 14 * 14);
  for (auto &v : t) v = d(rng);
  FrameEncoder enc;
  EncodeParams p;
  p.setup = Setup{-1, k, bits};
  p.seq = std::uint16_t(index);
  std::vector<std::uint8_t> bytes;
  fail_unless(enc.encode(t.data(), 32, 14, 14, p, bytes).ok());
  GstBuffer *b = gst_buffer_new_memdup(bytes.data(), bytes.size());
  GST_BUFFER_PTS(b) = index * GST_SECOND / 30;
  return b;
}

// An RTPTWCCPackets event as rtpsession sends it (a GValueArray of structures, remote
// times in TWCC's 250 us steps): frames of `per_frame` 1200-byte packets every 33 ms
// through a `bps` bottleneck.
G_GNUC_BEGIN_IGNORE_DEPRECATIONS
static GstEvent *twcc_event(double bps, int frames, int per_frame, guint16 *seq, double *clock_s) {
  GValueArray *packets = g_value_array_new(0);
  double free_at = *clock_s;
  for (int f = 0; f < frames; ++f) {
    for (int p = 0; p < per_frame; ++p) {
      const double send = *clock_s + f / 30.0 + p * 10e-6;
      const double arrive = std::max(send, free_at) + 1200 * 8.0 / bps;
      free_at = arrive;
      const guint64 remote = guint64((arrive + 0.01) / 250e-6) * 250 * GST_USECOND;
      GstStructure *s =
          gst_structure_new("RTPTWCCPacket", "seqnum", G_TYPE_UINT, guint((*seq)++), "local-ts", G_TYPE_UINT64,
                            guint64(send * GST_SECOND), "remote-ts", G_TYPE_UINT64, remote, "payload-type",
                            G_TYPE_UCHAR, 96, "size", G_TYPE_UINT, 1200u, "lost", G_TYPE_BOOLEAN, FALSE, nullptr);
      GValue v = G_VALUE_INIT;
      g_value_init(&v, GST_TYPE_STRUCTURE);
      g_value_take_boxed(&v, s);
      g_value_array_append(packets, &v);
      g_value_unset(&v);
    }
  }
  *clock_s += frames / 30.0;
  GstStructure *s = gst_structure_new_empty("RTPTWCCPackets");
  GValue arr = G_VALUE_INIT;
  g_value_init(&arr, g_value_array_get_type());
  g_value_take_boxed(&arr, packets);
  gst_structure_take_value(s, "packets", &arr);
  return gst_event_new_custom(GST_EVENT_CUSTOM_UPSTREAM, s);
}
G_GNUC_END_IGNORE_DEPRECATIONS

static std::optional<Setup> pull_setup_event(GstHarness *h) {
  while (GstEvent *e = gst_harness_try_pull_upstream_event(h)) {
    auto s = setup_event_parse(e);
    gst_event_unref(e);
    if (s) return s;
  }
  return std::nullopt;
}

// The mpcrate element's stats (the harness wraps it in a bin).
static GstStructure *rate_stats(GstHarness *h) {
  GstStructure *stats = nullptr;
  GstElement *rate = gst_harness_find_element(h, "rtcoinfer-mpcrate");
  g_object_get(rate, "stats", &stats, nullptr);
  gst_object_unref(rate);
  return stats;
}

GST_START_TEST(test_twcc_feedback_switches_the_setup) {
  gchar *desc = g_strdup_printf("rtcoinfer-mpcrate model=%s deadline=150", g_getenv("RTCOINFER_TEST_MODEL"));
  GstHarness *h = gst_harness_new_parse(desc);
  g_free(desc);
  gst_harness_set_src_caps_str(h, RTCOINFER_FRAME_CAPS_NAME);
  guint16 seq = 0;
  double clock_s = 0;
  int index = 0;
  // a fast link: frames at 32x8 (~6.4 kB) pass untouched
  fail_unless(gst_harness_push_upstream_event(h, twcc_event(50e6, 10, 6, &seq, &clock_s)));
  for (; index < 5; ++index) {
    fail_unless_equals_int(gst_harness_push(h, frame(32, 8, index)), GST_FLOW_OK);
    gst_buffer_unref(gst_harness_pull(h));
  }
  while (pull_setup_event(h)) {
  }
  // the link drops to 1 Mbit/s (trains of 2 packets, no queue yet): ~4166 bytes per
  // frame interval, less than a 32x8 frame
  fail_unless(gst_harness_push_upstream_event(h, twcc_event(1e6, 10, 2, &seq, &clock_s)));
  fail_unless_equals_int(gst_harness_push(h, frame(32, 8, index++)), GST_FLOW_OK);
  auto asked = pull_setup_event(h);
  fail_unless(asked.has_value(), "no rtcoinfer-setup event after the feedback");
  fail_unless(Setup(*asked).packed_bytes(14, 14) + 24 + 4 * asked->channels < 4166, "asked for %s",
              asked->name().c_str());
  // frames at the new setup go on (passed or, as the queue builds in this feedback-free
  // harness, skipped); the controller may step further down
  for (int i = 0; i < 3; ++i) {
    fail_unless_equals_int(gst_harness_push(h, frame(asked->channels, asked->bits, index++)), GST_FLOW_OK);
    if (auto again = pull_setup_event(h)) asked = again;
  }
  GstStructure *stats = rate_stats(h);
  guint64 feedback = 0, switches = 0;
  gst_structure_get_uint64(stats, "feedback", &feedback);
  gst_structure_get_uint64(stats, "switches", &switches);
  gchar *setup = nullptr;
  setup = g_strdup(gst_structure_get_string(stats, "setup"));
  gst_structure_free(stats);
  fail_unless_equals_int(feedback, 2);
  fail_unless(switches >= 1);
  fail_unless(asked->name() == setup, "stats setup %s", setup);
  g_free(setup);
  gst_harness_teardown(h);
}
GST_END_TEST;

GST_START_TEST(test_fixed_policy_never_asks) {
  gchar *desc = g_strdup_printf("rtcoinfer-mpcrate model=%s policy=fixed setup=8x2", g_getenv("RTCOINFER_TEST_MODEL"));
  GstHarness *h = gst_harness_new_parse(desc);
  g_free(desc);
  gst_harness_set_src_caps_str(h, RTCOINFER_FRAME_CAPS_NAME);
  guint16 seq = 0;
  double clock_s = 0;
  fail_unless_equals_int(gst_harness_push(h, frame(8, 2, 0)), GST_FLOW_OK);
  auto first = pull_setup_event(h);
  fail_unless(first && first->channels == 8 && first->bits == 2);
  fail_unless(gst_harness_push_upstream_event(h, twcc_event(0.05e6, 10, 6, &seq, &clock_s)));
  for (int i = 1; i < 5; ++i) fail_unless_equals_int(gst_harness_push(h, frame(8, 2, i)), GST_FLOW_OK);
  fail_unless_equals_int(gst_harness_buffers_received(h), 5);
  fail_if(pull_setup_event(h).has_value());
  gst_harness_teardown(h);
}
GST_END_TEST;

GST_START_TEST(test_starved_link_skips_and_counts) {
  gchar *desc = g_strdup_printf("rtcoinfer-mpcrate model=%s deadline=50", g_getenv("RTCOINFER_TEST_MODEL"));
  GstHarness *h = gst_harness_new_parse(desc);
  g_free(desc);
  gst_harness_set_src_caps_str(h, RTCOINFER_FRAME_CAPS_NAME);
  guint16 seq = 0;
  double clock_s = 0;
  // 5 kbit/s: even the smallest frame needs ~85 ms, past the 50 ms deadline
  fail_unless(gst_harness_push_upstream_event(h, twcc_event(5e3, 3, 2, &seq, &clock_s)));
  for (int i = 0; i < 4; ++i) fail_unless_equals_int(gst_harness_push(h, frame(1, 1, i)), GST_FLOW_OK);
  GstStructure *stats = rate_stats(h);
  guint64 skips = 0;
  gst_structure_get_uint64(stats, "skips", &skips);
  gst_structure_free(stats);
  fail_unless_equals_int(skips, 4);
  fail_unless_equals_int(gst_harness_buffers_received(h), 0);
  gst_harness_teardown(h);
}
GST_END_TEST;

static double stat_double(GstHarness *h, const char *field) {
  GstStructure *stats = rate_stats(h);
  double v = -1;
  fail_unless(gst_structure_get_double(stats, field, &v), "no %s in stats", field);
  gst_structure_free(stats);
  return v;
}

// server-latency=auto (the default) plans with what the server reports
// (rtcoinfer-server-time, which rtcoinfersink makes of the server's RCIA); a number
// plans with that number whatever the server says.
GST_START_TEST(test_server_latency_auto_follows_the_report) {
  gchar *desc = g_strdup_printf("rtcoinfer-mpcrate model=%s deadline=150", g_getenv("RTCOINFER_TEST_MODEL"));
  GstHarness *h = gst_harness_new_parse(desc);
  g_free(desc);
  gst_harness_set_src_caps_str(h, RTCOINFER_FRAME_CAPS_NAME);
  GstElement *rate = gst_harness_find_element(h, "rtcoinfer-mpcrate");
  gchar *text = nullptr;
  g_object_get(rate, "server-latency", &text, nullptr);
  fail_unless(g_strcmp0(text, "auto") == 0, "server-latency is %s", text);
  g_free(text);
  guint16 seq = 0;
  double clock_s = 0;
  int index = 0;
  fail_unless(gst_harness_push_upstream_event(h, twcc_event(50e6, 10, 2, &seq, &clock_s)));
  fail_unless_equals_int(gst_harness_push(h, frame(4, 2, index++)), GST_FLOW_OK);
  fail_unless(std::abs(stat_double(h, "server-latency-ms") - 30) < 1e-9);  // no report yet
  const double before = stat_double(h, "predicted-latency-ms");
  // the server reports 80 ms: the next decision plans with it
  fail_unless(gst_harness_push_upstream_event(h, server_time_event_new(80)));
  fail_unless_equals_int(gst_harness_push(h, frame(4, 2, index++)), GST_FLOW_OK);
  fail_unless(std::abs(stat_double(h, "server-latency-ms") - 80) < 1e-9);
  const double after = stat_double(h, "predicted-latency-ms");
  fail_unless(after - before > 40, "predicted %.1f ms before the report, %.1f after", before, after);
  // the server reports more than the deadline leaves: frames are skipped, not sent late
  fail_unless(gst_harness_push_upstream_event(h, server_time_event_new(160)));
  const guint before_skip = gst_harness_buffers_received(h);
  fail_unless_equals_int(gst_harness_push(h, frame(4, 2, index++)), GST_FLOW_OK);
  fail_unless_equals_int(gst_harness_buffers_received(h), before_skip);
  // a number: reports no longer move it
  g_object_set(rate, "server-latency", "25", nullptr);
  fail_unless(gst_harness_push_upstream_event(h, server_time_event_new(90)));
  fail_unless_equals_int(gst_harness_push(h, frame(4, 2, index++)), GST_FLOW_OK);
  fail_unless(std::abs(stat_double(h, "server-latency-ms") - 25) < 1e-9);
  fail_unless(std::abs(stat_double(h, "reported-server-ms") - 90) < 1e-9);
  GstStructure *stats = rate_stats(h);
  guint64 reports = 0;
  gst_structure_get_uint64(stats, "server-reports", &reports);
  gst_structure_free(stats);
  fail_unless_equals_int(reports, 3);
  // back to auto: the newest report holds
  g_object_set(rate, "server-latency", "auto", nullptr);
  fail_unless_equals_int(gst_harness_push(h, frame(4, 2, index++)), GST_FLOW_OK);
  fail_unless(std::abs(stat_double(h, "server-latency-ms") - 90) < 1e-9);
  // not a number: a warning, and the value stays
  ASSERT_WARNING(g_object_set(rate, "server-latency", "fast", nullptr));
  ASSERT_WARNING(g_object_set(rate, "server-latency", "-3", nullptr));
  g_object_get(rate, "server-latency", &text, nullptr);
  fail_unless(g_strcmp0(text, "auto") == 0, "server-latency is %s", text);
  g_free(text);
  // an event that is no number is not a report
  fail_if(server_time_event_parse(gst_event_new_custom(
      GST_EVENT_CUSTOM_UPSTREAM, gst_structure_new(kServerTimeEventName, "ms", G_TYPE_STRING, "x", nullptr))));
  gst_object_unref(rate);
  gst_harness_teardown(h);
}
GST_END_TEST;

static Suite *mpcrate_suite(void) {
  Suite *s = suite_create("rtcoinfer-mpcrate");
  TCase *tc = tcase_create("general");
  suite_add_tcase(s, tc);
  tcase_add_test(tc, test_twcc_feedback_switches_the_setup);
  tcase_add_test(tc, test_fixed_policy_never_asks);
  tcase_add_test(tc, test_starved_link_skips_and_counts);
  tcase_add_test(tc, test_server_latency_auto_follows_the_report);
  return s;
}

GST_CHECK_MAIN(mpcrate);
