// The rtcoinferbaselines elements under GstHarness: image offload (imageenc ! imagedec !
// classify), local-only classification, the CLIO-style slice assembler on a GstTestClock,
// the slicer, the SPINN-style early exit and the oracle's schedule replay. RTCOINFER_TEST_MODEL names the bundle (set by meson).
#include "element_fixtures.h"

#include <gst/check/gsttestclock.h>

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "contract/setup_event.h"
#include "wire/image_frame.h"

using namespace rtcoinfer;
using namespace fixtures;

// "imageenc ! imagedec ! classify": the image-offload baseline in one process.
static void check_offload(const char *codec_props, const char *setup_name) {
  auto data = open_fashion_mnist(kFashionMnistRoot, "test");
  gchar *desc = g_strdup_printf("rtcoinfer-imageenc %s ! rtcoinfer-imagedec ! rtcoinfer-classify model=%s", codec_props,
                                model_path().c_str());
  GstHarness *h = gst_harness_new_parse(desc);
  g_free(desc);
  gst_harness_set_src_caps_str(h, "video/x-raw,format=GRAY8,width=28,height=28,framerate=30/1");
  int correct = 0;
  const int n = 40;
  for (int i = 0; i < n; ++i) {
    fail_unless_equals_int(gst_harness_push(h, gray_image_buffer(data->image(i), data->label(i))), GST_FLOW_OK);
    nlohmann::json r = pull_result(h);
    fail_unless(r["setup"] == setup_name, "%s", r.dump().c_str());
    fail_unless_equals_int(r["seq"].get<int>(), i);
    fail_unless_equals_int(r["truth"].get<int>(), data->label(i));
    fail_unless(r["bytes"].get<int>() > 24 && r["channels"] == 0 && r["bits"] == 0, "%s", r.dump().c_str());
    correct += r["correct"].get<bool>();
  }
  fail_unless(correct >= 32, "%s: only %d of %d correct", setup_name, correct, n);
  gst_harness_teardown(h);
}

GST_START_TEST(test_offload_answers_png_images) { check_offload("codec=png", "png"); }
GST_END_TEST;

GST_START_TEST(test_offload_answers_jpeg_images) { check_offload("codec=jpeg quality=50", "jpeg"); }
GST_END_TEST;

static GstBuffer *image_frame_buffer(const std::vector<std::uint8_t> &image, int w, int h, std::uint16_t seq) {
  ImageFrameParams p;
  p.width = w;
  p.height = h;
  p.channels = 1;
  p.seq = seq;
  std::vector<std::uint8_t> bytes;
  fail_unless(encode_image_frame(p, image.data(), image.size(), bytes).ok());
  return gst_buffer_new_memdup(bytes.data(), bytes.size());
}

// Every broken image frame is counted once, as malformed, where the results are counted.
GST_START_TEST(test_malformed_image_frames_are_counted_downstream) {
  gchar *desc = g_strdup_printf("rtcoinfer-imagedec ! rtcoinfer-classify model=%s", model_path().c_str());
  GstHarness *h = gst_harness_new_parse(desc);
  g_free(desc);
  gst_harness_set_src_caps_str(h, RTCOINFER_IMAGE_CAPS_NAME);
  GstElement *classify = gst_harness_find_element(h, "rtcoinfer-classify");
  // a PNG signature and IHDR (28x28 gray) with no image data after them
  const std::vector<std::uint8_t> header_only = {0x89, 'P', 'N', 'G', 0x0d, 0x0a, 0x1a, 0x0a, 0,  0, 0,
                                                 13,   'I', 'H', 'D', 'R',  0,    0,    0,    28, 0, 0,
                                                 0,    28,  8,   0,   0,    0,    0,    0,    0,  0, 0};
  fail_unless_equals_int(gst_harness_push(h, image_frame_buffer(header_only, 28, 28, 0)), GST_FLOW_OK);
  // the frame header and the PNG disagree on the size
  fail_unless_equals_int(gst_harness_push(h, image_frame_buffer(header_only, 640, 480, 1)), GST_FLOW_OK);
  // a truncated frame: the magic, then nothing
  fail_unless_equals_int(gst_harness_push(h, gst_buffer_new_memdup("RI\x01", 3)), GST_FLOW_OK);
  fail_unless_equals_int(gst_harness_buffers_in_queue(h), 0);
  fail_unless_equals_int(drops_of(classify, "malformed"), 3);
  fail_unless_equals_int(stat_of(classify, "missing"), 0);
  gst_object_unref(classify);
  gst_harness_teardown(h);
}
GST_END_TEST;

GST_START_TEST(test_classify_answers_on_the_device) {
  auto data = open_fashion_mnist(kFashionMnistRoot, "test");
  gchar *desc = g_strdup_printf("rtcoinfer-classify top-k=3 model=%s", model_path().c_str());
  GstHarness *h = gst_harness_new_parse(desc);
  g_free(desc);
  gst_harness_set_src_caps_str(h, "video/x-raw,format=GRAY8,width=28,height=28,framerate=30/1");
  int correct = 0;
  const int n = 40;
  for (int i = 0; i < n; ++i) {
    fail_unless_equals_int(gst_harness_push(h, gray_image_buffer(data->image(i), data->label(i))), GST_FLOW_OK);
    nlohmann::json r = pull_result(h);
    fail_unless(r["setup"] == "local" && r["bytes"] == 0 && r["top_k"].size() == 3, "%s", r.dump().c_str());
    fail_unless_equals_int(r["seq"].get<int>(), i);
    correct += r["correct"].get<bool>();
  }
  GstCaps *caps = gst_pad_get_current_caps(h->sinkpad);
  fail_unless(gst_structure_has_name(gst_caps_get_structure(caps, 0), "application/x-ndjson"));
  gst_caps_unref(caps);
  fail_unless(correct >= 32, "only %d of %d correct", correct, n);
  gst_harness_teardown(h);
}
GST_END_TEST;

// Slices of one frame of the model's 32x14x14 partition (values 1.0), as rtcoinfer-slicer makes them.
static GstBuffer *slice_buffer(std::uint32_t model_id, std::uint16_t seq, std::uint32_t capture_us, int first, int k,
                               bool last) {
  std::vector<float> t(std::size_t(32) * 14 * 14, 1.0f);
  FrameEncoder enc;
  EncodeParams p;
  p.setup = Setup{0, k, 4};
  p.model_id = model_id;
  p.seq = seq;
  p.capture_us = capture_us;
  p.truth = 1;
  p.slice = EncodeParams::Slice{first, last};
  std::vector<std::uint8_t> bytes;
  fail_unless(enc.encode(t.data(), 32, 14, 14, p, bytes).ok());
  return gst_buffer_new_memdup(bytes.data(), bytes.size());
}

// A whole 4-bit frame of the model's 32x14x14 partition (values 1.0) at k channels.
static std::vector<std::uint8_t> whole_frame_bytes(std::uint32_t model_id, int k, std::uint16_t seq) {
  std::vector<float> t(std::size_t(32) * 14 * 14, 1.0f);
  FrameEncoder enc;
  EncodeParams p;
  p.setup = Setup{0, k, 4};
  p.model_id = model_id;
  p.seq = seq;
  std::vector<std::uint8_t> bytes;
  fail_unless(enc.encode(t.data(), 32, 14, 14, p, bytes).ok());
  return bytes;
}

// "sliceassembler ! tail" on a GstTestClock: deadlines pass only when the test says so.
static GstHarness *assembler_harness(double slice_deadline_ms) {
  const std::string m = model_path();
  gchar *desc = g_strdup_printf("rtcoinfer-sliceassembler model=%s slice-deadline=%g ! rtcoinfer-tail model=%s",
                                m.c_str(), slice_deadline_ms, m.c_str());
  GstHarness *h = gst_harness_new_parse(desc);
  g_free(desc);
  gst_harness_use_testclock(h);
  gst_harness_set_src_caps_str(h, RTCOINFER_FRAME_CAPS_NAME);
  return h;
}

GST_START_TEST(test_assembler_sends_a_sliced_frame_once_whole) {
  const std::uint32_t id = bundle_frame_model_id();
  GstHarness *h = assembler_harness(5000);
  const std::uint32_t now = std::uint32_t(realtime_us());
  fail_unless_equals_int(gst_harness_push(h, slice_buffer(id, 0, now, 0, 1, false)), GST_FLOW_OK);
  fail_unless_equals_int(gst_harness_push(h, slice_buffer(id, 0, now, 1, 1, false)), GST_FLOW_OK);
  fail_unless_equals_int(gst_harness_buffers_in_queue(h), 0);
  fail_unless_equals_int(gst_harness_push(h, slice_buffer(id, 0, now, 2, 2, true)), GST_FLOW_OK);
  nlohmann::json r = pull_result(h);  // no clock advance: sent because it is whole
  fail_unless(r["setup"] == "4x4" && r["seq"] == 0, "%s", r.dump().c_str());
  gst_harness_teardown(h);
}
GST_END_TEST;

GST_START_TEST(test_assembler_sends_a_partial_frame_at_its_deadline) {
  const std::uint32_t id = bundle_frame_model_id();
  GstHarness *h = assembler_harness(80);
  GstElement *tail = gst_harness_find_element(h, "rtcoinfer-tail");
  const std::uint32_t now = std::uint32_t(realtime_us());
  // frame 0: slices [0,1) and [1,2) arrive, [2,4) is lost, the last one [4,8) arrives
  gst_harness_push(h, slice_buffer(id, 0, now, 0, 1, false));
  gst_harness_push(h, slice_buffer(id, 0, now, 1, 1, false));
  gst_harness_push(h, slice_buffer(id, 0, now, 4, 4, true));
  fail_unless_equals_int(gst_harness_buffers_in_queue(h), 0);  // waiting for [2,4) until the deadline
  fail_unless(gst_harness_crank_single_clock_wait(h));         // the deadline passes
  nlohmann::json r = pull_result(h);
  fail_unless(r["setup"] == "2x4" && r["seq"] == 0 && r["channels"] == 2, "%s", r.dump().c_str());
  // the lost slice of frame 0, after its answer: late
  gst_harness_push(h, slice_buffer(id, 0, now, 2, 2, false));
  // frame 1: its first slice is lost; at its deadline there is no usable prefix
  gst_harness_push(h, slice_buffer(id, 1, std::uint32_t(realtime_us()), 1, 1, true));
  fail_unless(gst_harness_crank_single_clock_wait(h));
  // the task reports frame 1 before it forwards an EOS sent after it: wait for that EOS
  fail_unless(gst_harness_push_event(h, gst_event_new_eos()));
  for (GstEvent *e; (e = gst_harness_pull_event(h)) != nullptr;) {
    const bool eos = GST_EVENT_TYPE(e) == GST_EVENT_EOS;
    gst_event_unref(e);
    if (eos) break;
  }
  fail_unless_equals_int(drops_of(tail, "incomplete"), 1);
  // frame 0's late slice is counted by the assembler; frame 0 itself has its result, so
  // the tail does not count it again as a late drop: two frames, two outcomes
  fail_unless_equals_int(drops_of(tail, "late"), 0);
  GstElement *assembler = gst_harness_find_element(h, "rtcoinfer-sliceassembler");
  fail_unless_equals_int(stat_of(assembler, "late"), 1);
  gst_object_unref(assembler);
  fail_unless_equals_int(stat_of(tail, "frames"), 2);
  fail_unless_equals_int(stat_of(tail, "missing"), 0);  // frame 1 counted once, as incomplete
  fail_unless_equals_int(gst_harness_buffers_in_queue(h), 0);
  gst_object_unref(tail);
  gst_harness_teardown(h);
}
GST_END_TEST;

GST_START_TEST(test_assembler_sends_waiting_slices_at_eos) {
  const std::uint32_t id = bundle_frame_model_id();
  GstHarness *h = assembler_harness(60000);
  gst_harness_push(h, slice_buffer(id, 9, std::uint32_t(realtime_us()), 0, 1, false));
  fail_unless_equals_int(gst_harness_buffers_in_queue(h), 0);
  fail_unless(gst_harness_push_event(h, gst_event_new_eos()));
  nlohmann::json r = pull_result(h);
  fail_unless(r["setup"] == "1x4" && r["seq"] == 9, "%s", r.dump().c_str());
  gst_harness_teardown(h);
}
GST_END_TEST;

GST_START_TEST(test_assembler_passes_whole_frames) {
  const std::uint32_t id = bundle_frame_model_id();
  GstHarness *h = assembler_harness(80);
  fail_unless_equals_int(gst_harness_push(h, frame_buffer(id, 32, 14, 14, 5)), GST_FLOW_OK);
  nlohmann::json r = pull_result(h);
  fail_unless(r["setup"] == "32x8" && r["seq"] == 5, "%s", r.dump().c_str());
  gst_harness_teardown(h);
}
GST_END_TEST;

// "slicer ! sliceassembler ! tail": the CLIO-style path in one process; the slicer cuts
// an 8x4 frame at the bundle's 4-bit setups and answers the wire-bytes query with what
// its slices cost.
GST_START_TEST(test_slicer_cuts_at_the_setups_and_answers_wire_bytes) {
  const std::string m = model_path();
  gchar *desc = g_strdup_printf("rtcoinfer-slicer model=%s", m.c_str());
  GstHarness *h = gst_harness_new_parse(desc);
  g_free(desc);
  gst_harness_set_src_caps_str(h, RTCOINFER_FRAME_CAPS_NAME);
  const std::uint32_t id = bundle_frame_model_id();
  const std::vector<std::uint8_t> bytes = whole_frame_bytes(id, 8, 7);
  GstBuffer *frame = gst_buffer_new_memdup(bytes.data(), bytes.size());
  GstQuery *q = wire_bytes_query_new(frame);
  fail_unless(gst_pad_peer_query(h->srcpad, q), "the slicer answers rtcoinfer-wire-bytes");
  const auto answered = wire_bytes_query_result(q);
  gst_query_unref(q);
  fail_unless_equals_int(gst_harness_push(h, frame), GST_FLOW_OK);
  guint64 total = 0;
  int slices = 0, channels = 0;
  for (GstBuffer *out; (out = gst_harness_try_pull(h)) != nullptr; ++slices) {
    GstMapInfo map;
    gst_buffer_map(out, &map, GST_MAP_READ);
    FrameHeader hdr;
    fail_unless(FrameDecoder::parse_header(map.data, map.size, hdr).ok());
    fail_unless(hdr.slice && hdr.seq == 7 && hdr.first_channel == channels, "slice %d", slices);
    channels += hdr.channels;
    total += map.size;
    gst_buffer_unmap(out, &map);
    gst_buffer_unref(out);
  }
  fail_unless(slices > 1 && channels == 8, "%d slices, %d channels", slices, channels);
  fail_unless(answered && *answered == total, "answered %llu, sent %llu", (unsigned long long)answered.value_or(0),
              (unsigned long long)total);
  // Before any frame, mpcrate asks per setup: the table's bytes plus a header per further slice.
  q = wire_bytes_query_new_for_setup(8, 4, 1000);
  fail_unless(gst_pad_peer_query(h->srcpad, q), "the slicer answers the per-setup question");
  const auto priced = wire_bytes_query_result(q);
  gst_query_unref(q);
  fail_unless(priced && *priced == 1000 + FrameLayout::kHeaderSize * (slices - 1), "priced %llu for %d slices",
              (unsigned long long)priced.value_or(0), slices);
  gst_harness_teardown(h);
}
GST_END_TEST;

// mpcrate asks about a frame it may then skip; the next frame can reuse the freed
// buffer's address and size. The slicer must cut the new frame, not send the old one's
// slices again (it did: the tail saw old sequence numbers and counted restarts).
GST_START_TEST(test_slicer_cuts_a_new_frame_at_a_reused_address) {
  gchar *desc = g_strdup_printf("rtcoinfer-slicer model=%s", model_path().c_str());
  GstHarness *h = gst_harness_new_parse(desc);
  g_free(desc);
  gst_harness_set_src_caps_str(h, RTCOINFER_FRAME_CAPS_NAME);
  const std::uint32_t id = bundle_frame_model_id();
  const std::vector<std::uint8_t> skipped = whole_frame_bytes(id, 4, 7), next = whole_frame_bytes(id, 4, 8);
  fail_unless_equals_int(skipped.size(), next.size());
  GstBuffer *frame = gst_buffer_new_memdup(skipped.data(), skipped.size());
  GstQuery *q = wire_bytes_query_new(frame);
  fail_unless(gst_pad_peer_query(h->srcpad, q));
  gst_query_unref(q);
  gst_buffer_fill(frame, 0, next.data(), next.size());  // frame 7 skipped; frame 8 in its place
  fail_unless_equals_int(gst_harness_push(h, frame), GST_FLOW_OK);
  int slices = 0;
  for (GstBuffer *out; (out = gst_harness_try_pull(h)) != nullptr; ++slices) {
    GstMapInfo map;
    gst_buffer_map(out, &map, GST_MAP_READ);
    FrameHeader hdr;
    fail_unless(FrameDecoder::parse_header(map.data, map.size, hdr).ok());
    fail_unless_equals_int(hdr.seq, 8);
    gst_buffer_unmap(out, &map);
    gst_buffer_unref(out);
  }
  fail_unless(slices > 1, "%d slices", slices);
  gst_harness_teardown(h);
}
GST_END_TEST;

// rtcoinfer-earlyexit with the exit meson trained for the test (RTCOINFER_TEST_EXIT):
// at threshold 0 every frame is answered on the device (a result on the bus, an
// rtcoinfer-answered event downstream, nothing pushed); at 1 every frame passes untouched.
static GstHarness *early_exit_harness(double threshold, GstBus **bus) {
  const char *exit_dir = g_getenv("RTCOINFER_TEST_EXIT");
  fail_unless(exit_dir != nullptr, "RTCOINFER_TEST_EXIT is not set");
  gchar *desc = g_strdup_printf("rtcoinfer-earlyexit model=%s exit=%s exit-threshold=%g", model_path().c_str(),
                                exit_dir, threshold);
  GstHarness *h = gst_harness_new_parse(desc);
  g_free(desc);
  *bus = gst_bus_new();
  gst_element_set_bus(h->element, *bus);
  gst_harness_set_src_caps_str(h, "video/x-raw,format=GRAY8,width=28,height=28,framerate=30/1");
  return h;
}

static int answered_events(GstHarness *h) {
  int n = 0;
  for (GstEvent *e; (e = gst_harness_try_pull_event(h)) != nullptr; gst_event_unref(e)) n += is_answered_event(e);
  return n;
}

GST_START_TEST(test_earlyexit_answers_confident_frames) {
  auto data = open_fashion_mnist(kFashionMnistRoot, "test");
  GstBus *bus = nullptr;
  GstHarness *h = early_exit_harness(0.0, &bus);
  const int n = 6;
  for (int i = 0; i < n; ++i)
    fail_unless_equals_int(gst_harness_push(h, gray_image_buffer(data->image(i), data->label(i))), GST_FLOW_OK);
  fail_unless_equals_int(gst_harness_buffers_in_queue(h), 0);
  fail_unless_equals_int(answered_events(h), n);
  for (int i = 0; i < n; ++i) {
    GstMessage *msg = gst_bus_pop_filtered(bus, GST_MESSAGE_ELEMENT);
    fail_unless(msg != nullptr, "result %d not posted", i);
    const GstStructure *s = gst_message_get_structure(msg);
    fail_unless(gst_structure_has_name(s, "rtcoinfer-result"));
    nlohmann::json r = nlohmann::json::parse(gst_structure_get_string(s, "json"));
    fail_unless(r["setup"] == "exit" && r["seq"] == i && r["truth"] == data->label(i), "%s", r.dump().c_str());
    gst_message_unref(msg);
  }
  GstElement *exit = gst_harness_find_element(h, "rtcoinfer-earlyexit");
  fail_unless_equals_int(stat_of(exit, "frames"), n);
  fail_unless_equals_int(stat_of(exit, "exits"), n);
  gst_object_unref(exit);
  gst_harness_teardown(h);
  gst_object_unref(bus);
}
GST_END_TEST;

GST_START_TEST(test_earlyexit_passes_unsure_frames) {
  auto data = open_fashion_mnist(kFashionMnistRoot, "test");
  GstBus *bus = nullptr;
  GstHarness *h = early_exit_harness(1.0, &bus);
  const int n = 6;
  for (int i = 0; i < n; ++i) {
    fail_unless_equals_int(gst_harness_push(h, gray_image_buffer(data->image(i), data->label(i))), GST_FLOW_OK);
    GstBuffer *out = gst_harness_pull(h);
    fail_unless(out != nullptr &&
                gst_buffer_memcmp(out, 0, data->image(i).pixels.data(), data->image(i).pixels.size()) == 0);
    gst_buffer_unref(out);
  }
  fail_unless_equals_int(answered_events(h), 0);
  GstElement *exit = gst_harness_find_element(h, "rtcoinfer-earlyexit");
  fail_unless_equals_int(stat_of(exit, "frames"), n);
  fail_unless_equals_int(stat_of(exit, "exits"), 0);
  gst_object_unref(exit);
  gst_harness_teardown(h);
  gst_object_unref(bus);
}
GST_END_TEST;

GST_START_TEST(test_earlyexit_names_a_missing_exit) {
  GstElement *e = gst_element_factory_make("rtcoinfer-earlyexit", nullptr);
  g_object_set(e, "model", model_path().c_str(), "exit", "/nonexistent/exit", nullptr);
  const std::string text = start_error(e, GST_STATE_PAUSED);
  fail_unless(text.find("/nonexistent/exit") != std::string::npos, "%s", text.c_str());
}
GST_END_TEST;

GST_START_TEST(test_datasetsrc_gives_labeled_frames) {
  GstHarness *h = gst_harness_new_parse("rtcoinfer-datasetsrc num-buffers=3");
  gst_harness_play(h);
  auto data = open_fashion_mnist(kFashionMnistRoot, "test");
  for (int i = 0; i < 3; ++i) {
    GstBuffer *b = gst_harness_pull(h);
    fail_unless(b != nullptr);
    fail_unless_equals_int(gst_buffer_get_size(b), 28 * 28);
    const GstRtcoinferTruthMeta *truth = gst_buffer_get_rtcoinfer_truth_meta(b);
    fail_unless(truth && truth->label == data->label(i) && truth->index == guint64(i));
    gst_buffer_unref(b);
  }
  GstEvent *e;
  bool eos = false;
  while (!eos && (e = gst_harness_pull_event(h)) != nullptr) {
    eos = GST_EVENT_TYPE(e) == GST_EVENT_EOS;
    gst_event_unref(e);
  }
  fail_unless(eos, "EOS after num-buffers");
  gst_harness_teardown(h);
}
GST_END_TEST;

GST_START_TEST(test_schedule_follows_the_plan) {
  const std::string plan = std::string(g_get_tmp_dir()) + "/rtcoinfer-plan.txt";
  std::ofstream(plan) << "# frame by frame\n4x2\nskip\n1x1\n";
  gchar *desc = g_strdup_printf("rtcoinfer-schedule model=%s schedule=%s", model_path().c_str(), plan.c_str());
  GstHarness *h = gst_harness_new_parse(desc);
  g_free(desc);
  gst_harness_set_src_caps_str(h, RTCOINFER_FRAME_CAPS_NAME);
  const std::uint32_t id = bundle_frame_model_id();
  for (std::uint16_t seq = 0; seq < 4; ++seq) gst_harness_push(h, frame_buffer(id, 32, 14, 14, seq));
  fail_unless_equals_int(gst_harness_buffers_in_queue(h), 3);  // frame 1 is skipped
  // each frame asks upstream for the next frame's setup: after frame 0, the plan's next setup (1x1)
  std::vector<std::string> asked;
  for (GstEvent *e; (e = gst_harness_try_pull_upstream_event(h));) {
    if (auto s = setup_event_parse(e)) asked.push_back(s->name());
    gst_event_unref(e);
  }
  fail_unless(!asked.empty() && asked.front() == "1x1", "asked for %zu setups", asked.size());
  GstElement *schedule = gst_harness_find_element(h, "rtcoinfer-schedule");
  fail_unless_equals_int(stat_of(schedule, "skips"), 1);
  gst_object_unref(schedule);
  gst_harness_teardown(h);
  std::remove(plan.c_str());
}
GST_END_TEST;

GST_START_TEST(test_schedule_names_the_bad_line) {
  const std::string plan = std::string(g_get_tmp_dir()) + "/rtcoinfer-bad-plan.txt";
  std::ofstream(plan) << "4x2\n99x3\n";
  GstElement *e = gst_element_factory_make("rtcoinfer-schedule", nullptr);
  g_object_set(e, "model", model_path().c_str(), "schedule", plan.c_str(), nullptr);
  const std::string text = start_error(e, GST_STATE_PAUSED);
  fail_unless(text.find("line 2") != std::string::npos, "%s", text.c_str());
  std::remove(plan.c_str());
}
GST_END_TEST;

static Suite *baselines_suite(void) {
  Suite *s = suite_create("rtcoinferbaselines");
  TCase *tc = tcase_create("general");
  tcase_set_timeout(tc, 120);
  suite_add_tcase(s, tc);
  tcase_add_test(tc, test_offload_answers_png_images);
  tcase_add_test(tc, test_offload_answers_jpeg_images);
  tcase_add_test(tc, test_malformed_image_frames_are_counted_downstream);
  tcase_add_test(tc, test_classify_answers_on_the_device);
  tcase_add_test(tc, test_assembler_sends_a_sliced_frame_once_whole);
  tcase_add_test(tc, test_assembler_sends_a_partial_frame_at_its_deadline);
  tcase_add_test(tc, test_assembler_sends_waiting_slices_at_eos);
  tcase_add_test(tc, test_assembler_passes_whole_frames);
  tcase_add_test(tc, test_slicer_cuts_at_the_setups_and_answers_wire_bytes);
  tcase_add_test(tc, test_slicer_cuts_a_new_frame_at_a_reused_address);
  tcase_add_test(tc, test_earlyexit_answers_confident_frames);
  tcase_add_test(tc, test_earlyexit_passes_unsure_frames);
  tcase_add_test(tc, test_earlyexit_names_a_missing_exit);
  tcase_add_test(tc, test_datasetsrc_gives_labeled_frames);
  tcase_add_test(tc, test_schedule_follows_the_plan);
  tcase_add_test(tc, test_schedule_names_the_bad_line);
  return s;
}

GST_CHECK_MAIN(baselines);
