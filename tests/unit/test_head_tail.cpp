// rtcoinfer-head and rtcoinfer-tail with the shipped model bundle, under GstHarness.
// RTCOINFER_TEST_MODEL names the bundle (set by meson).
#include "element_fixtures.h"

#include <gio/gio.h>
#include <gst/check/gsttestclock.h>
#include <gst/video/video.h>

#include <cmath>
#include <cstdlib>
#include <thread>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "common/model_instance.h"
#include "common/tail_batcher.h"
#include "contract/setup_event.h"

using namespace rtcoinfer;
using namespace fixtures;

// A harness around "head ! compress ! tail" with the shipped bundle.
static GstHarness *pipeline_harness(const char *compress_setup = "auto") {
  const std::string m = model_path();
  gchar *desc = g_strdup_printf("rtcoinfer-head model=%s ! rtcoinfer-compress setup=%s ! rtcoinfer-tail model=%s",
                                m.c_str(), compress_setup, m.c_str());
  GstHarness *h = gst_harness_new_parse(desc);
  g_free(desc);
  gst_harness_set_src_caps_str(h, "video/x-raw,format=GRAY8,width=28,height=28,framerate=30/1");
  return h;
}

GST_START_TEST(test_results_match_labels_end_to_end) {
  auto data = open_fashion_mnist(kFashionMnistRoot, "test");
  GstHarness *h = pipeline_harness();
  int correct = 0;
  const int n = 50;
  for (int i = 0; i < n; ++i) {
    fail_unless_equals_int(gst_harness_push(h, gray_image_buffer(data->image(i), data->label(i))), GST_FLOW_OK);
    nlohmann::json r = pull_result(h);
    fail_unless_equals_int(r["truth"].get<int>(), data->label(i));
    fail_unless_equals_int(r["seq"].get<int>(), i);
    fail_unless(r["top_k"].size() == 5);
    fail_unless(r["score"].get<double>() > 0 && r["score"].get<double>() <= 1);
    fail_unless(r.contains("latency_ms") && r.contains("bytes") && r.contains("label"));
    correct += r["correct"].get<bool>();
  }
  // the shipped model is > 90 % accurate; 50 images leave room for a few misses
  fail_unless(correct >= 40, "only %d of %d correct", correct, n);
  gst_harness_teardown(h);
}
GST_END_TEST;

GST_START_TEST(test_head_resizes_640x480_rgb) {
  gchar *desc = g_strdup_printf("rtcoinfer-head model=%s setup=4x2", model_path().c_str());
  GstHarness *h = gst_harness_new_parse(desc);
  g_free(desc);
  gst_harness_set_src_caps_str(h, "video/x-raw,format=RGB,width=640,height=480,framerate=30/1");
  GstBuffer *in = gst_harness_create_buffer(h, 640 * 480 * 3);
  gst_buffer_memset(in, 0, 128, 640 * 480 * 3);
  fail_unless_equals_int(gst_harness_push(h, in), GST_FLOW_OK);
  GstBuffer *out = gst_harness_pull(h);
  GstCaps *caps = gst_pad_get_current_caps(h->sinkpad);
  auto fmt = features_format_from_caps(caps);
  gst_caps_unref(caps);
  fail_unless(fmt.has_value());
  fail_unless_equals_int(gst_buffer_get_size(out), gsize(fmt->channels) * fmt->height * fmt->width * 4);
  GstRtcoinferFeaturesMeta *m = gst_buffer_get_rtcoinfer_features_meta(out);
  fail_unless(m && m->channels == 4 && m->bits == 2);
  gst_buffer_unref(out);
  gst_harness_teardown(h);
}
GST_END_TEST;

GST_START_TEST(test_head_switches_on_setup_event) {
  gchar *desc = g_strdup_printf("rtcoinfer-head model=%s", model_path().c_str());
  GstHarness *h = gst_harness_new_parse(desc);
  g_free(desc);
  gst_harness_set_src_caps_str(h, "video/x-raw,format=GRAY8,width=28,height=28,framerate=30/1");
  auto data = open_fashion_mnist(kFashionMnistRoot, "test");
  fail_unless_equals_int(gst_harness_push(h, gray_image_buffer(data->image(0), 0)), GST_FLOW_OK);
  GstBuffer *out = gst_harness_pull(h);
  const int k0 = gst_buffer_get_rtcoinfer_features_meta(out)->channels;
  gst_buffer_unref(out);
  fail_unless(gst_harness_push_upstream_event(h, setup_event_new(Setup{0, 1, 1})));
  fail_unless_equals_int(gst_harness_push(h, gray_image_buffer(data->image(1), 0)), GST_FLOW_OK);
  out = gst_harness_pull(h);
  GstRtcoinferFeaturesMeta *m = gst_buffer_get_rtcoinfer_features_meta(out);
  fail_unless(k0 > 1 && m->channels == 1 && m->bits == 1, "k0=%d now %dx%d", k0, m->channels, m->bits);
  gst_buffer_unref(out);
  gst_harness_teardown(h);
}
GST_END_TEST;

GST_START_TEST(test_tail_counts_malformed_and_foreign_frames) {
  gchar *desc = g_strdup_printf("rtcoinfer-tail model=%s", model_path().c_str());
  GstHarness *h = gst_harness_new_parse(desc);
  g_free(desc);
  gst_harness_set_src_caps_str(h, RTCOINFER_FRAME_CAPS_NAME);
  GstElement *tail = gst_harness_find_element(h, "rtcoinfer-tail");
  // garbage
  GstBuffer *junk = gst_buffer_new_allocate(nullptr, 77, nullptr);
  gst_buffer_memset(junk, 0, 0x5a, 77);
  fail_unless_equals_int(gst_harness_push(h, junk), GST_FLOW_OK);
  // a valid frame of another model (id 0x12345678 is not the bundle's, by a 2^-32 chance)
  fail_unless_equals_int(gst_harness_push(h, frame_buffer(0x12345678, 32, 14, 14)), GST_FLOW_OK);
  fail_unless_equals_int(gst_harness_buffers_in_queue(h), 0);
  // garbage has no frame number to be the outcome of: unreadable, left to the gap
  fail_unless_equals_int(drops_of(tail, "malformed"), 0);
  fail_unless_equals_int(stat_of(tail, "unreadable"), 1);
  fail_unless_equals_int(drops_of(tail, "wrong-model"), 1);
  // a frame whose payload is damaged but whose number is plausible: malformed, its own outcome
  GstBuffer *damaged = frame_buffer(bundle_frame_model_id(), 32, 14, 14, 1);
  GstMapInfo map;
  gst_buffer_map(damaged, &map, GST_MAP_WRITE);
  map.data[map.size - 1] ^= 0xff;  // the checksum no longer matches
  gst_buffer_unmap(damaged, &map);
  fail_unless_equals_int(gst_harness_push(h, damaged), GST_FLOW_OK);
  fail_unless_equals_int(drops_of(tail, "malformed"), 1);
  fail_unless_equals_int(stat_of(tail, "missing"), 0);  // not counted twice
  // a damaged number far ahead cannot move the sequence: unreadable
  GstBuffer *far = frame_buffer(bundle_frame_model_id(), 32, 14, 14, 40000);
  gst_buffer_map(far, &map, GST_MAP_WRITE);
  map.data[map.size - 1] ^= 0xff;
  gst_buffer_unmap(far, &map);
  fail_unless_equals_int(gst_harness_push(h, far), GST_FLOW_OK);
  fail_unless_equals_int(stat_of(tail, "unreadable"), 2);
  fail_unless_equals_int(gst_harness_push(h, frame_buffer(bundle_frame_model_id(), 32, 14, 14, 2)), GST_FLOW_OK);
  gst_buffer_unref(gst_harness_pull(h));
  fail_unless_equals_int(stat_of(tail, "missing"), 0);
  fail_unless_equals_int(stat_of(tail, "restarts"), 0);
  gst_object_unref(tail);
  gst_harness_teardown(h);
}
GST_END_TEST;

static std::string start_error(const char *factory, const char *model) {
  GstElement *e = gst_element_factory_make(factory, nullptr);
  g_object_set(e, "model", model, nullptr);
  GstBus *bus = gst_bus_new();
  gst_element_set_bus(e, bus);
  const GstStateChangeReturn ret = gst_element_set_state(e, GST_STATE_PAUSED);
  fail_unless_equals_int(ret, GST_STATE_CHANGE_FAILURE);
  GstMessage *msg = gst_bus_pop_filtered(bus, GST_MESSAGE_ERROR);
  fail_unless(msg != nullptr, "no error message");
  GError *err = nullptr;
  gst_message_parse_error(msg, &err, nullptr);
  std::string text = err->message;
  g_error_free(err);
  gst_message_unref(msg);
  gst_element_set_state(e, GST_STATE_NULL);
  gst_object_unref(bus);
  gst_object_unref(e);
  return text;
}

GST_START_TEST(test_missing_and_corrupt_bundles_fail_with_a_reason) {
  for (const char *factory : {"rtcoinfer-head", "rtcoinfer-tail"}) {
    std::string msg = start_error(factory, "/nonexistent/model.rcib");
    fail_unless(msg.find("/nonexistent/model.rcib") != std::string::npos, "%s", msg.c_str());
    // a truncated copy of the real bundle
    std::ifstream in(model_path(), std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const std::string cut = std::string(g_get_tmp_dir()) + "/rtcoinfer-truncated.rcib";
    std::ofstream(cut, std::ios::binary).write(bytes.data(), std::streamsize(bytes.size() / 2));
    msg = start_error(factory, cut.c_str());
    fail_unless(msg.find("Cannot load model bundle") != std::string::npos, "%s", msg.c_str());
  }
}
GST_END_TEST;

GST_START_TEST(test_head_refuses_caps_it_cannot_serve) {
  gchar *desc = g_strdup_printf("rtcoinfer-head model=%s", model_path().c_str());
  GstHarness *h = gst_harness_new_parse(desc);
  g_free(desc);
  // NV12 is not among the head's formats (videoconvert in front gives one that is)
  gst_harness_set_src_caps_str(h, "video/x-raw,format=NV12,width=64,height=64,framerate=30/1");
  GstBuffer *in = gst_harness_create_buffer(h, 64 * 64 * 3 / 2);
  fail_unless_equals_int(gst_harness_push(h, in), GST_FLOW_NOT_NEGOTIATED);
  fail_unless_equals_int(gst_harness_buffers_received(h), 0);
  gst_harness_teardown(h);
}
GST_END_TEST;

GST_START_TEST(test_head_numbers_frames_answered_upstream) {
  gchar *desc = g_strdup_printf("rtcoinfer-head model=%s", model_path().c_str());
  GstHarness *h = gst_harness_new_parse(desc);
  g_free(desc);
  gst_harness_set_src_caps_str(h, "video/x-raw,format=GRAY8,width=28,height=28,framerate=30/1");
  auto data = open_fashion_mnist(kFashionMnistRoot, "test");
  fail_unless(gst_harness_push_event(h, answered_event_new()));
  fail_unless_equals_int(gst_harness_push(h, gray_image_buffer(data->image(0), 0)), GST_FLOW_OK);
  GstBuffer *out = gst_harness_pull(h);
  fail_unless_equals_int(gst_buffer_get_rtcoinfer_features_meta(out)->seq, 1);
  gst_buffer_unref(out);
  GstElement *head = gst_harness_find_element(h, "rtcoinfer-head");
  fail_unless_equals_int(stat_of(head, "answered-upstream"), 1);
  gst_object_unref(head);
  gst_harness_teardown(h);
}
GST_END_TEST;

GST_START_TEST(test_head_and_tail_share_one_model_instance) {
  GstElement *head = gst_element_factory_make("rtcoinfer-head", nullptr);
  GstElement *tail = gst_element_factory_make("rtcoinfer-tail", nullptr);
  g_object_set(head, "model", model_path().c_str(), nullptr);
  g_object_set(tail, "model", model_path().c_str(), nullptr);
  fail_unless_equals_int(shared_model_count(), 0);
  fail_unless(gst_element_set_state(head, GST_STATE_PAUSED) != GST_STATE_CHANGE_FAILURE);
  fail_unless(gst_element_set_state(tail, GST_STATE_PAUSED) != GST_STATE_CHANGE_FAILURE);
  fail_unless_equals_int(shared_model_count(), 1);  // one bundle, loaded once for both
  gst_element_set_state(head, GST_STATE_NULL);
  fail_unless_equals_int(shared_model_count(), 1);  // the tail still holds it
  gst_element_set_state(tail, GST_STATE_NULL);
  fail_unless_equals_int(shared_model_count(), 0);
  gst_object_unref(head);
  gst_object_unref(tail);
}
GST_END_TEST;

GST_START_TEST(test_stats_api_and_metrics_agree) {
  const int port = free_tcp_port();
  gchar *desc = g_strdup_printf("rtcoinfer-tail model=%s http-port=%d", model_path().c_str(), port);
  GstHarness *h = gst_harness_new_parse(desc);
  g_free(desc);
  gst_harness_set_src_caps_str(h, RTCOINFER_FRAME_CAPS_NAME);
  const std::uint32_t id = bundle_frame_model_id();
  for (std::uint16_t seq = 0; seq < 3; ++seq) gst_harness_push(h, frame_buffer(id, 32, 14, 14, seq));
  GstBuffer *junk = gst_buffer_new_allocate(nullptr, 77, nullptr);
  gst_buffer_memset(junk, 0, 0x5a, 77);
  gst_harness_push(h, junk);                                     // unreadable: no number to count it by
  gst_harness_push(h, frame_buffer(0x12345678, 32, 14, 14, 3));  // wrong-model: frame 3's outcome
  fail_unless(gst_harness_push_event(h, dropped_event_new(4, "incomplete")));
  gst_harness_push(h, frame_buffer(id, 32, 14, 14, 7));  // 5 and 6 never came: missing
  GstElement *tail = gst_harness_find_element(h, "rtcoinfer-tail");
  GstStructure *s = nullptr;
  g_object_get(tail, "stats", &s, nullptr);
  const GstStructure *d = gst_value_get_structure(gst_structure_get_value(s, "drops"));
  std::map<std::string, guint64> from_property;
  for (int i = 0; i < gst_structure_n_fields(d); ++i) {
    guint64 n = 0;
    gst_structure_get_uint64(d, gst_structure_nth_field_name(d, i), &n);
    from_property[gst_structure_nth_field_name(d, i)] = n;
  }
  guint64 results = 0, missing = 0;
  gst_structure_get_uint64(s, "results", &results);
  gst_structure_get_uint64(s, "missing", &missing);
  gst_structure_free(s);
  fail_unless_equals_int(results, 4);
  fail_unless_equals_int(missing, 2);
  fail_unless(from_property == (std::map<std::string, guint64>{
                                   {"malformed", 0}, {"wrong-model", 1}, {"late", 0}, {"incomplete", 1}, {"busy", 0}}));

  const nlohmann::json api = nlohmann::json::parse(http_body(port, "/api/stats"));
  std::map<std::string, guint64> from_api;
  for (const auto &[reason, n] : api["drops"].items()) from_api[reason] = n.get<guint64>();
  fail_unless(from_api == from_property, "/api/stats drops differ: %s", api["drops"].dump().c_str());
  fail_unless_equals_int(api["results"].get<int>(), 4);
  fail_unless_equals_int(api["missing"].get<int>(), 2);

  const std::string metrics = http_body(port, "/metrics");
  std::map<std::string, guint64> from_metrics;
  // the tail's stream is its name: it has no stream-id
  const std::string label = std::string("{stream=\"") + GST_OBJECT_NAME(tail) + "\"";
  const std::string prefix = "rtcoinfer_drops_total" + label + ",reason=\"";
  for (std::size_t at = metrics.find(prefix); at != std::string::npos; at = metrics.find(prefix, at + 1)) {
    const std::size_t q = metrics.find('"', at + prefix.size());
    from_metrics[metrics.substr(at + prefix.size(), q - at - prefix.size())] =
        std::strtoull(metrics.c_str() + q + 3, nullptr, 10);
  }
  fail_unless(from_metrics == from_property, "/metrics drops differ:\n%s", metrics.c_str());
  fail_unless(metrics.find("rtcoinfer_results_total" + label + "} 4\n") != std::string::npos);
  fail_unless(metrics.find("rtcoinfer_missing_frames_total" + label + "} 2\n") != std::string::npos);
  fail_unless_equals_int(api["streams"].get<int>(), 1);
  gst_object_unref(tail);
  gst_harness_teardown(h);
}
GST_END_TEST;

GST_START_TEST(test_tail_rejects_slices_with_the_remedy) {
  gchar *desc = g_strdup_printf("rtcoinfer-tail model=%s", model_path().c_str());
  GstHarness *h = gst_harness_new_parse(desc);
  g_free(desc);
  gst_harness_set_src_caps_str(h, RTCOINFER_FRAME_CAPS_NAME);
  std::vector<float> t(std::size_t(32) * 14 * 14, 1.0f);
  FrameEncoder enc;
  EncodeParams p;
  p.setup = Setup{0, 1, 4};
  p.model_id = bundle_frame_model_id();
  p.slice = EncodeParams::Slice{0, false};
  std::vector<std::uint8_t> bytes;
  fail_unless(enc.encode(t.data(), 32, 14, 14, p, bytes).ok());
  fail_unless_equals_int(gst_harness_push(h, gst_buffer_new_memdup(bytes.data(), bytes.size())), GST_FLOW_OK);
  GstElement *tail = gst_harness_find_element(h, "rtcoinfer-tail");
  fail_unless_equals_int(drops_of(tail, "malformed"), 1);
  fail_unless_equals_int(gst_harness_buffers_in_queue(h), 0);
  gst_object_unref(tail);
  gst_harness_teardown(h);
}
GST_END_TEST;

// The server's shared batcher, on a GstTestClock: frames of four "streams" (threads),
// each at another setup, wait for one batch of four (the clock stands still, so only
// max-batch starts it), and each gets the logits of its own single-frame tail(). A lone
// frame waits for the timeout; a frame whose latest start comes first is not held past
// it; one that can no longer make its deadline is not run at all, but answered late.
GST_START_TEST(test_batcher_batches_mixed_setups_and_keeps_deadlines) {
  std::string err;
  std::shared_ptr<InferenceModel> model(InferenceModel::load(model_path(), &err).release());
  fail_unless(model != nullptr, "%s", err.c_str());
  const BundleInfo &info = model->info();
  const std::size_t plane = std::size_t(info.partition_channels) * info.partition_height * info.partition_width;
  GstClock *clock = gst_test_clock_new_with_start_time(GST_SECOND);
  GstTestClock *test_clock = GST_TEST_CLOCK(clock);
  TailBatcher batcher(model, {4, 30 * GST_SECOND, clock});
  std::vector<std::vector<float>> features(4), got(4), want(4);
  std::vector<std::thread> streams;
  for (std::size_t i = 0; i < 4; ++i) {
    const Setup &s = info.setups.at(i * 7 % info.setups.size());
    features[i].resize(plane);
    for (std::size_t v = 0; v < plane; ++v) features[i][v] = float((v * 37 + i * 11) % 100) / 50.0f;
    want[i] = model->tail(features[i].data(), 1, s.channels, s.index);
    streams.emplace_back([&, i, s] {
      std::string e;
      got[i] = batcher.run({features[i].data(), s.channels, s.index}, GST_CLOCK_TIME_NONE, &e);
    });
  }
  for (auto &t : streams) t.join();
  for (std::size_t i = 0; i < 4; ++i) {
    fail_unless_equals_int(got[i].size(), want[i].size());
    for (std::size_t c = 0; c < want[i].size(); ++c)
      fail_unless(std::fabs(got[i][c] - want[i][c]) <= 1e-4, "frame %zu class %zu: %g, alone %g", i, c, got[i][c],
                  want[i][c]);
  }
  TailBatcher::Stats st = batcher.stats();
  fail_unless_equals_int(st.batches, 1);
  fail_unless_equals_int(st.largest, 4);
  fail_unless_equals_uint64(batcher.now(), GST_SECOND);

  // a frame alone and due at `deadline`: the batcher waits on the clock until `wake`, then runs it
  const Setup &s = info.setups.smallest();
  auto run_alone = [&](GstClockTime deadline, GstClockTime wake) {
    std::vector<float> logits;
    bool late = true;
    std::string e;
    std::thread stream([&] { logits = batcher.run({features[0].data(), s.channels, s.index}, deadline, &e, &late); });
    GstClockID id = nullptr;
    gst_test_clock_wait_for_next_pending_id(test_clock, &id);
    fail_unless_equals_uint64(gst_clock_id_get_time(id), wake);
    gst_clock_id_unref(id);
    fail_unless(gst_test_clock_crank(test_clock));
    stream.join();
    fail_unless(!logits.empty() && !late, "late %d, error %s", late, e.c_str());
  };
  // no deadline: the timeout, 30 s after it came
  run_alone(GST_CLOCK_TIME_NONE, 31 * GST_SECOND);
  // due in a second: it starts then (the forward took no time on this clock), not after 30 s
  run_alone(32 * GST_SECOND, 32 * GST_SECOND);
  st = batcher.stats();
  fail_unless_equals_int(st.batches, 3);
  fail_unless_equals_int(st.frames, 6);
  fail_unless_equals_int(st.late, 0);
  fail_unless(st.mean_wait_ms > 0.0, "%g", st.mean_wait_ms);
  // a frame whose deadline has passed is not run: late, no error, no forward
  std::string e;
  bool late = false;
  fail_unless(
      batcher.run({features[0].data(), s.channels, s.index}, batcher.now() - 2 * GST_MSECOND, &e, &late).empty());
  fail_unless(late && e.empty(), "late %d, error %s", late, e.c_str());
  st = batcher.stats();
  fail_unless_equals_int(st.late, 1);
  fail_unless_equals_int(st.batches, 3);
  // a frame of the wrong shape is refused at once (its deadline is now), with the reason
  fail_unless(batcher.run({features[0].data(), s.channels + 1, s.index}, batcher.now(), &e, &late).empty());
  fail_unless(!late && e.find("channels") != std::string::npos, "%s", e.c_str());
  gst_object_unref(clock);
}
GST_END_TEST;

static Suite *head_tail_suite(void) {
  Suite *s = suite_create("rtcoinfer-head-tail");
  TCase *tc = tcase_create("general");
  tcase_set_timeout(tc, 120);
  suite_add_tcase(s, tc);
  tcase_add_test(tc, test_results_match_labels_end_to_end);
  tcase_add_test(tc, test_head_resizes_640x480_rgb);
  tcase_add_test(tc, test_head_switches_on_setup_event);
  tcase_add_test(tc, test_tail_counts_malformed_and_foreign_frames);
  tcase_add_test(tc, test_missing_and_corrupt_bundles_fail_with_a_reason);
  tcase_add_test(tc, test_head_refuses_caps_it_cannot_serve);
  tcase_add_test(tc, test_head_numbers_frames_answered_upstream);
  tcase_add_test(tc, test_head_and_tail_share_one_model_instance);
  tcase_add_test(tc, test_stats_api_and_metrics_agree);
  tcase_add_test(tc, test_tail_rejects_slices_with_the_remedy);
  tcase_add_test(tc, test_batcher_batches_mixed_setups_and_keeps_deadlines);
  return s;
}

GST_CHECK_MAIN(head_tail);
