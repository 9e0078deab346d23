// rtcoinfer-bottleneck under GstHarness with a test clock: packets leave when the
// link model says, in order, and a full queue drops at the tail.
#include <gst/check/gstcheck.h>
#include <gst/check/gstharness.h>
#include <gst/check/gsttestclock.h>

static GstBuffer *packet(gsize size) {
  GstBuffer *b = gst_buffer_new_allocate(nullptr, size, nullptr);
  gst_buffer_memset(b, 0, 0xab, size);
  return b;
}

GST_START_TEST(test_packets_leave_at_link_rate_plus_delay) {
  GstHarness *h = gst_harness_new("rtcoinfer-bottleneck");
  g_object_set(h->element, "rate", 1000.0, "delay", 20.0, "queue-size", guint64(100000), nullptr);
  gst_harness_set_src_caps_str(h, "application/x-rtp");
  for (int i = 0; i < 3; ++i) fail_unless_equals_int(gst_harness_push(h, packet(1250)), GST_FLOW_OK);
  // 1250 bytes at 1 Mbit/s = 10 ms each, then 20 ms of propagation
  const GstClockTime expect[] = {30 * GST_MSECOND, 40 * GST_MSECOND, 50 * GST_MSECOND};
  for (GstClockTime t : expect) {
    fail_unless(gst_harness_crank_single_clock_wait(h));
    GstBuffer *out = gst_harness_pull(h);
    fail_unless_equals_uint64(gst_clock_get_time(GST_ELEMENT_CLOCK(h->element)) - gst_element_get_base_time(h->element),
                              t);
    gst_buffer_unref(out);
  }
  gst_harness_teardown(h);
}
GST_END_TEST;

GST_START_TEST(test_full_queue_drops_and_counts) {
  GstHarness *h = gst_harness_new("rtcoinfer-bottleneck");
  g_object_set(h->element, "rate", 1000.0, "delay", 0.0, "queue-size", guint64(5000), nullptr);
  gst_harness_set_src_caps_str(h, "application/x-rtp");
  for (int i = 0; i < 10; ++i) fail_unless_equals_int(gst_harness_push(h, packet(1200)), GST_FLOW_OK);
  for (int i = 0; i < 4; ++i) {
    fail_unless(gst_harness_crank_single_clock_wait(h));
    gst_buffer_unref(gst_harness_pull(h));
  }
  GstStructure *s = nullptr;
  g_object_get(h->element, "stats", &s, nullptr);
  guint64 dropped = 0, forwarded = 0;
  gst_structure_get_uint64(s, "dropped", &dropped);
  gst_structure_get_uint64(s, "forwarded", &forwarded);
  gst_structure_free(s);
  fail_unless_equals_int(dropped, 6);
  fail_unless_equals_int(forwarded, 4);
  gst_harness_teardown(h);
}
GST_END_TEST;

GST_START_TEST(test_bad_trace_fails_with_its_name) {
  GstHarness *h = gst_harness_new("rtcoinfer-bottleneck");
  g_object_set(h->element, "trace", "/nonexistent/trace.txt", nullptr);
  GstBus *bus = gst_bus_new();
  gst_element_set_bus(h->element, bus);
  gst_harness_set_src_caps_str(h, "application/x-rtp");
  fail_unless_equals_int(gst_harness_push(h, packet(100)), GST_FLOW_ERROR);
  GstMessage *msg = gst_bus_pop_filtered(bus, GST_MESSAGE_ERROR);
  fail_unless(msg != nullptr);
  GError *err = nullptr;
  gst_message_parse_error(msg, &err, nullptr);
  fail_unless(strstr(err->message, "/nonexistent/trace.txt") != nullptr, "%s", err->message);
  g_error_free(err);
  gst_message_unref(msg);
  gst_object_unref(bus);
  gst_harness_teardown(h);
}
GST_END_TEST;

static Suite *bottleneck_suite(void) {
  Suite *s = suite_create("rtcoinfer-bottleneck");
  TCase *tc = tcase_create("general");
  suite_add_tcase(s, tc);
  tcase_add_test(tc, test_packets_leave_at_link_rate_plus_delay);
  tcase_add_test(tc, test_full_queue_drops_and_counts);
  tcase_add_test(tc, test_bad_trace_fails_with_its_name);
  return s;
}

GST_CHECK_MAIN(bottleneck);
