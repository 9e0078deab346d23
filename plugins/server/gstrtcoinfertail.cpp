/**
 * SECTION:element-rtcoinfer-tail
 * @title: rtcoinfer-tail
 *
 * The server half of RTCoInfer: parses and validates each feature frame, dequantizes
 * it and runs the rest of the SW-CNN with the BatchNorm statistics of the frame's own
 * setup. It also takes image frames from rtcoinfer-imageenc (the image-offload
 * baseline): their PNG or JPEG image is decoded, resized to the model's input and run
 * through the whole model. Each result leaves as one JSON object per line on the src pad
 * (application/x-ndjson), as an element message `rtcoinfer-result` on the bus, and as
 * a GstRtcoinferResultMeta on the output buffer. With `http-port` set, the results are
 * also served over HTTP from a thread of their own: recent results and stats as JSON, a
 * Server-Sent Events stream, Prometheus metrics, the model bundle, and a live dashboard
 * page (docs/results-service.md).
 *
 * Malformed frames, frames of another model and frames older than `max-latency` are
 * dropped, counted per reason in `stats`, and reported with a warning; they are never
 * fatal. Gaps in the frame sequence (frames lost on the network or skipped by the
 * device) are counted as `missing`.
 *
 * ## Example launch line
 * |[
 * gst-launch-1.0 rtcoinfer-datasetsrc num-buffers=100 ! rtcoinfer-head model=models/zoo/fashion-mnist-swcnn.rcib \
 *     ! rtcoinfer-compress setup=4x2 ! rtcoinfer-tail model=models/zoo/fashion-mnist-swcnn.rcib \
 *     ! filesink location=results.jsonl
 * ]| Classifies 100 Fashion-MNIST test images through 4-channel, 2-bit features and
 * writes one JSON result per line.
 * |[
 * gst-launch-1.0 rtcoinfer-datasetsrc is-live=true ! rtcoinfer-head model=models/zoo/fashion-mnist-swcnn.rcib \
 *     ! rtcoinfer-compress ! rtcoinfer-tail model=models/zoo/fashion-mnist-swcnn.rcib http-port=8080 ! fakesink
 * ]| The same at camera pace, with the dashboard at http://127.0.0.1:8080/.
 |[
 * gst-launch-1.0 rtcoinfer-datasetsrc num-buffers=100 ! rtcoinfer-imageenc codec=png \
 *     ! rtcoinfer-tail model=models/zoo/fashion-mnist-swcnn.rcib ! fdsink
 * ]| Classifies PNG-offloaded images with the whole model (results say "setup": "png").
 */
#include "gstrtcoinfertail.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <thread>
#include <nlohmann/json.hpp>
#include <numeric>
#include <string>
#include <vector>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "wire/feature_frame.h"
#include "wire/image_frame.h"
#include "inference.h"
#include "data/model_input.h"
#include "common/model_instance.h"
#include "common/result_output.h"
#include "service/results_service.h"
#include "contract/rtcoinfer_meta.h"
#include "wire/slice_assembler.h"

GST_DEBUG_CATEGORY_STATIC(gst_rtcoinfer_tail_debug);
#define GST_CAT_DEFAULT gst_rtcoinfer_tail_debug

namespace {

constexpr std::size_t kLatencyWindow = 100000;
// Offloaded images larger than this are refused before decoding (8-bit RGB: 48 MiB).
constexpr std::size_t kMaxImagePixels = std::size_t(4096) * 4096;

struct TailState {
  // properties (object lock)
  std::string model_path;
  int top_k = 5;
  int threads = 0;
  double max_latency_ms = 0;
  int http_port = 0;
  std::string http_address = "127.0.0.1";
  std::string http_token;
  double slice_deadline_ms = 140;

  // streaming thread
  std::shared_ptr<rtcoinfer::InferenceModel> model;
  rtcoinfer::FrameDecoder decoder;
  std::vector<float> values;  // a feature frame, dequantized
  std::vector<float> input;   // an offloaded image, as the model's input
  cv::Mat resized;
  bool have_seq = false;
  guint64 last_seq = 0;
  std::unique_ptr<rtcoinfer::ResultsService> service;  // null unless http-port is set

  // CLIO-style slices: the streaming thread adds them, the deadline thread answers the
  // frames whose deadline passed (slice_mutex guards the assembler; both threads hold the
  // sink pad's stream lock while they run the model and push)
  std::unique_ptr<rtcoinfer::SliceAssembler> slices;
  std::mutex slice_mutex;
  std::condition_variable slice_cv;
  std::thread deadline_thread;
  bool stopping = false;
  std::uint64_t evicted_counted = 0;

  // statistics (object lock)
  guint64 frames = 0, results = 0, missing = 0, restarts = 0, with_truth = 0, correct = 0, bytes = 0;
  std::map<std::string, guint64> drops;
  std::vector<double> latencies;  // ring buffer of the last kLatencyWindow results
  std::size_t latency_next = 0;
  std::map<std::string, guint64> per_setup;
};

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  const std::size_t i = std::min(v.size() - 1, std::size_t(p * double(v.size() - 1) + 0.5));
  std::nth_element(v.begin(), v.begin() + i, v.end());
  return v[i];
}

}  // namespace

struct _GstRtcoinferTail {
  GstBaseTransform parent;
  TailState *state;
};

enum {
  PROP_0,
  PROP_MODEL,
  PROP_TOP_K,
  PROP_THREADS,
  PROP_MAX_LATENCY,
  PROP_SLICE_DEADLINE,
  PROP_STATS,
  PROP_HTTP_PORT,
  PROP_HTTP_ADDRESS,
  PROP_HTTP_TOKEN
};

#define TAIL_SINK_CAPS RTCOINFER_FRAME_CAPS_NAME "; " RTCOINFER_IMAGE_CAPS_NAME
static GstStaticPadTemplate sink_template =
    GST_STATIC_PAD_TEMPLATE("sink", GST_PAD_SINK, GST_PAD_ALWAYS, GST_STATIC_CAPS(TAIL_SINK_CAPS));
static GstStaticPadTemplate src_template =
    GST_STATIC_PAD_TEMPLATE("src", GST_PAD_SRC, GST_PAD_ALWAYS, GST_STATIC_CAPS("application/x-ndjson"));

#define gst_rtcoinfer_tail_parent_class parent_class
G_DEFINE_TYPE_WITH_CODE(GstRtcoinferTail, gst_rtcoinfer_tail, GST_TYPE_BASE_TRANSFORM,
                        GST_DEBUG_CATEGORY_INIT(gst_rtcoinfer_tail_debug, "rtcoinfer-tail", 0,
                                                "RTCoInfer server-side inference"));
GST_ELEMENT_REGISTER_DEFINE(rtcoinfer_tail, "rtcoinfer-tail", GST_RANK_NONE, GST_TYPE_RTCOINFER_TAIL);

// Counts a drop; warns on the first of each reason and then every 100th, so a broken
// sender cannot flood the bus.
static void drop(GstRtcoinferTail *self, const char *reason, const std::string &detail) {
  GST_OBJECT_LOCK(self);
  const guint64 n = ++self->state->drops[reason];
  GST_OBJECT_UNLOCK(self);
  if (self->state->service) self->state->service->publish_drop(reason);
  if (n == 1 || n % 100 == 0)
    GST_ELEMENT_WARNING(self, STREAM, DECODE, ("Dropped a feature frame (%s), %" G_GUINT64_FORMAT " so far", reason, n),
                        ("%s", detail.c_str()));
  else
    GST_DEBUG_OBJECT(self, "dropped (%s): %s", reason, detail.c_str());
}

static GstStructure *build_stats(GstRtcoinferTail *self) {
  TailState *st = self->state;
  GST_OBJECT_LOCK(self);
  GstStructure *drops = gst_structure_new_empty("drops");
  guint64 dropped = 0;
  for (const char *reason : {"malformed", "wrong-model", "late", "incomplete"}) {
    auto it = st->drops.find(reason);
    const guint64 n = it == st->drops.end() ? 0 : it->second;
    dropped += n;
    gst_structure_set(drops, reason, G_TYPE_UINT64, n, nullptr);
  }
  std::vector<double> lat = st->latencies;
  GstStructure *s = gst_structure_new(
      "rtcoinfer-tail-stats", "frames", G_TYPE_UINT64, st->frames, "results", G_TYPE_UINT64, st->results,
      "dropped", G_TYPE_UINT64, dropped, "missing", G_TYPE_UINT64, st->missing, "restarts", G_TYPE_UINT64,
      st->restarts, "bytes", G_TYPE_UINT64, st->bytes, "with-truth", G_TYPE_UINT64, st->with_truth, "correct",
      G_TYPE_UINT64, st->correct, "accuracy", G_TYPE_DOUBLE,
      st->with_truth ? 100.0 * double(st->correct) / double(st->with_truth) : 0.0, nullptr);
  GST_OBJECT_UNLOCK(self);
  gst_structure_set(s, "latency-p50-ms", G_TYPE_DOUBLE, percentile(lat, 0.5), "latency-p99-ms", G_TYPE_DOUBLE,
                    percentile(lat, 0.99), nullptr);
  gst_structure_set(s, "drops", GST_TYPE_STRUCTURE, drops, nullptr);
  gst_structure_free(drops);
  return s;
}

// Starts the HTTP results service and hands it the bundle it offers to devices.
static bool start_service(GstRtcoinferTail *self, const rtcoinfer::ResultsService::Options &options,
                          const std::string &bundle_file) {
  TailState *st = self->state;
  std::string error;
  st->service = rtcoinfer::ResultsService::start(options, &error);
  if (!st->service) {
    GST_ELEMENT_ERROR(self, RESOURCE, OPEN_READ_WRITE, ("Cannot serve results over HTTP: %s", error.c_str()),
                      ("check http-address and http-port; port %d may be in use", options.port));
    st->model.reset();
    return false;
  }
  rtcoinfer::ServedModel served;
  gchar *data = nullptr;
  gsize size = 0;
  if (g_file_get_contents(bundle_file.c_str(), &data, &size, nullptr)) {
    served.bundle.assign(data, data + size);
    g_free(data);
  }
  served.id = st->model->info().model_id;
  served.metadata_json = st->model->info().metadata_json;
  st->service->set_model(std::move(served));
  GST_INFO_OBJECT(self, "results on http://%s:%d/", options.address.c_str(), st->service->port());
  return true;
}

static void deadline_loop(GstRtcoinferTail *self);

static gboolean gst_rtcoinfer_tail_start(GstBaseTransform *trans) {
  auto *self = GST_RTCOINFER_TAIL(trans);
  TailState *st = self->state;
  GST_OBJECT_LOCK(self);
  const std::string path = st->model_path;
  const int threads = st->threads;
  rtcoinfer::ResultsService::Options http;
  http.port = st->http_port;
  http.address = st->http_address;
  http.token = st->http_token;
  st->frames = st->results = st->missing = st->restarts = st->with_truth = st->correct = st->bytes = 0;
  st->drops.clear();
  st->latencies.clear();
  st->latency_next = 0;
  st->per_setup.clear();
  GST_OBJECT_UNLOCK(self);
  st->have_seq = false;
  std::string bundle_file;
  st->model = rtcoinfer::acquire_model_for(GST_ELEMENT(self), path, threads, &bundle_file);
  if (!st->model) return FALSE;
  if (http.port != 0 && !start_service(self, http, bundle_file)) return FALSE;
  const auto &info = st->model->info();
  st->slices = std::make_unique<rtcoinfer::SliceAssembler>(info.partition_channels, info.partition_height,
                                                           info.partition_width);
  st->evicted_counted = 0;
  st->stopping = false;
  st->deadline_thread = std::thread(deadline_loop, self);
  return TRUE;
}

static gboolean gst_rtcoinfer_tail_stop(GstBaseTransform *trans) {
  TailState *st = GST_RTCOINFER_TAIL(trans)->state;
  {
    std::lock_guard<std::mutex> lock(st->slice_mutex);
    st->stopping = true;
  }
  st->slice_cv.notify_all();
  if (st->deadline_thread.joinable()) st->deadline_thread.join();
  st->slices.reset();
  st->service.reset();  // joins the HTTP thread
  st->model.reset();
  return TRUE;
}

static GstCaps *gst_rtcoinfer_tail_transform_caps(GstBaseTransform *, GstPadDirection direction, GstCaps *,
                                                  GstCaps *filter) {
  GstCaps *out = gst_caps_from_string(direction == GST_PAD_SINK ? "application/x-ndjson" : TAIL_SINK_CAPS);
  if (filter) {
    GstCaps *tmp = gst_caps_intersect_full(filter, out, GST_CAPS_INTERSECT_FIRST);
    gst_caps_unref(out);
    out = tmp;
  }
  return out;
}

static gboolean gst_rtcoinfer_tail_set_caps(GstBaseTransform *trans, GstCaps *incaps, GstCaps *) {
  auto *self = GST_RTCOINFER_TAIL(trans);
  const GstStructure *s = gst_caps_get_structure(incaps, 0);
  auto id = rtcoinfer::model_id_from_string(gst_structure_get_string(s, "model-id"));
  if (id && self->state->model && *id != self->state->model->info().frame_model_id)
    GST_ELEMENT_WARNING(self, STREAM, WRONG_TYPE,
                        ("The sender uses another model (id %08x) than this tail (%08x): its frames will be dropped",
                         *id, self->state->model->info().frame_model_id),
                        ("load the same bundle on the device and the server"));
  return TRUE;
}

// 16-bit wire sequence numbers -> 64-bit, counting gaps; a jump backwards by more than
// half the space means the sender restarted.
// `slice`: the frame may repeat the previous sequence number (its slices share one).
static guint64 unwrap_seq(GstRtcoinferTail *self, guint16 seq, bool slice) {
  TailState *st = self->state;
  if (!st->have_seq) {
    st->have_seq = true;
    st->last_seq = seq;
    return seq;
  }
  const gint16 delta = gint16(guint16(seq - guint16(st->last_seq)));
  if (delta == 0 && slice) return st->last_seq;
  GST_OBJECT_LOCK(self);
  if (delta > 0) {
    st->missing += guint64(delta - 1);
    st->last_seq += guint64(delta);
  } else {
    st->restarts++;  // reordering is not expected after rtpjitterbuffer; treat as a new stream
    st->last_seq = (st->last_seq & ~guint64(0xffff)) + 0x10000 + seq;
  }
  GST_OBJECT_UNLOCK(self);
  if (delta > 1) GST_INFO_OBJECT(self, "gap of %d frames before seq %u", delta - 1, seq);
  if (delta <= 0) GST_ELEMENT_INFO(self, STREAM, DECODE, ("Sender restarted its frame sequence"), (nullptr));
  return st->last_seq;
}

// What a received frame says about itself, read before any inference.
struct Received {
  rtcoinfer::FrameFacts facts;  // seq is unwrapped later
  guint16 seq = 0;
  guint32 capture_us = 0;
  int setup_index = -1;  // feature frames: the setup's row in the bundle; -1: an image, st->input is ready
  std::optional<rtcoinfer::FrameHeader> slice;  // a CLIO-style slice: its header (values in st->values)
};

// A feature frame: validated, decoded into st->values and matched to a setup of the model.
static bool read_feature_frame(GstRtcoinferTail *self, const guint8 *data, gsize size, Received &r) {
  TailState *st = self->state;
  const auto &info = st->model->info();
  rtcoinfer::FrameHeader hdr;
  rtcoinfer::FrameStatus status = rtcoinfer::FrameDecoder::parse_header(data, size, hdr);
  if (status.ok() && hdr.model_id != info.frame_model_id) {
    drop(self, "wrong-model",
         "frame of model " + rtcoinfer::model_id_to_string(hdr.model_id) + ", this tail runs " +
             rtcoinfer::model_id_to_string(info.frame_model_id) + " (" + info.model_id.substr(0, 16) + "...)");
    return false;
  }
  if (status.ok()) status = st->decoder.decode(data, size, hdr, st->values);
  if (!status.ok()) {
    drop(self, "malformed", std::string(rtcoinfer::frame_error_name(status.error)) + ": " + status.message);
    return false;
  }
  r.seq = hdr.seq;
  r.capture_us = hdr.capture_us;
  if (hdr.slice) {  // checked against the partition when the assembler takes it
    r.slice = hdr;
    return true;
  }
  auto setup = info.setups.find(hdr.channels, hdr.bits);
  if (!setup || hdr.height != info.partition_height || hdr.width != info.partition_width) {
    drop(self, "malformed",
         "frame shape " + std::to_string(hdr.channels) + "x" + std::to_string(hdr.height) + "x" +
             std::to_string(hdr.width) + " at " + std::to_string(hdr.bits) + " bits is not a setup of this model");
    return false;
  }
  r.setup_index = setup->index;
  r.facts.setup = setup->name();
  r.facts.channels = hdr.channels;
  r.facts.bits = hdr.bits;
  if (hdr.truth) r.facts.truth = *hdr.truth;
  return true;
}

// An image frame (image offload): validated, decoded and made the model's input in st->input.
static bool read_image_frame(GstRtcoinferTail *self, const guint8 *data, gsize size, Received &r) {
  TailState *st = self->state;
  const auto &in = st->model->info().input;
  rtcoinfer::ImageFrameHeader hdr;
  const rtcoinfer::FrameStatus status = rtcoinfer::parse_image_frame(data, size, hdr, kMaxImagePixels);
  if (!status.ok()) {
    drop(self, "malformed", std::string(rtcoinfer::frame_error_name(status.error)) + ": " + status.message);
    return false;
  }
  const cv::Mat coded(1, int(hdr.payload_length), CV_8UC1, const_cast<guint8 *>(data + hdr.payload_offset));
  cv::Mat image;
  try {
    image = cv::imdecode(coded, in.channels == 1 ? cv::IMREAD_GRAYSCALE : cv::IMREAD_COLOR);
  } catch (const cv::Exception &e) {
    GST_DEBUG_OBJECT(self, "imdecode: %s", e.what());
  }
  const char *codec = rtcoinfer::image_codec_name(hdr.codec);
  if (image.empty() || image.cols != hdr.width || image.rows != hdr.height) {
    drop(self, "malformed", std::string("the ") + codec + " image data does not decode to the " +
                                std::to_string(hdr.width) + "x" + std::to_string(hdr.height) + " its header declares");
    return false;
  }
  if (in.channels == 3) cv::cvtColor(image, image, cv::COLOR_BGR2RGB);
  rtcoinfer::fit_to_model(image, in, st->resized, st->input);
  r.seq = hdr.seq;
  r.capture_us = hdr.capture_us;
  r.facts.setup = codec;
  if (hdr.truth) r.facts.truth = *hdr.truth;
  return true;
}

static double ms_since_capture(guint32 capture_us) {
  return gint32(guint32(rtcoinfer::realtime_us()) - capture_us) / 1000.0;
}

// Counts a result in the stats and hands it to the results service.
static void record_result(GstRtcoinferTail *self, const rtcoinfer::FrameFacts &facts,
                          const rtcoinfer::Result &result) {
  TailState *st = self->state;
  const bool correct = facts.truth && *facts.truth == result.best;
  GST_OBJECT_LOCK(self);
  st->results++;
  st->bytes += facts.bytes;
  st->per_setup[facts.setup]++;
  if (facts.truth) {
    st->with_truth++;
    st->correct += correct;
  }
  if (st->latencies.size() < kLatencyWindow)
    st->latencies.push_back(facts.latency_ms);
  else
    st->latencies[st->latency_next++ % kLatencyWindow] = facts.latency_ms;
  const guint64 missing = st->missing, restarts = st->restarts;
  GST_OBJECT_UNLOCK(self);
  if (st->service) {
    rtcoinfer::ResultEvent event;
    event.seq = facts.seq;
    event.setup = facts.setup;
    event.bytes = facts.bytes;
    event.latency_ms = facts.latency_ms;
    event.truth = facts.truth ? *facts.truth : -1;
    event.correct = correct;
    event.json = result.json.dump();
    st->service->set_stream_counters(missing, restarts);
    st->service->publish_result(event);
  }
}

static double monotonic_s() { return double(g_get_monotonic_time()) / 1e6; }

// A sliced frame's answer from the longest prefix of channels that arrived: the largest
// setup of its bit depth that the prefix covers. Null (counted as incomplete) without one.
// Called with the sink pad's stream lock held.
static GstBuffer *answer_slices(GstRtcoinferTail *self, rtcoinfer::SliceAssembler::Frame &f) {
  TailState *st = self->state;
  const auto &info = st->model->info();
  std::optional<rtcoinfer::Setup> setup;
  for (const auto &s : info.setups.all())
    if (s.bits == f.bits && s.channels <= f.prefix && (!setup || s.channels > setup->channels)) setup = s;
  if (!setup) {
    drop(self, "incomplete", "frame " + std::to_string(f.seq) + ": its first slice did not arrive in time (" +
                                 std::to_string(f.slices) + " slices did)");
    return nullptr;
  }
  const std::vector<float> logits = st->model->tail(f.values.data(), 1, setup->channels, setup->index);
  if (logits.empty()) {
    drop(self, "malformed", "inference failed: " + st->model->last_error());
    return nullptr;
  }
  rtcoinfer::FrameFacts facts;
  facts.seq = f.seq;
  facts.setup = setup->name();
  facts.channels = setup->channels;
  facts.bits = setup->bits;
  facts.bytes = f.bytes;
  if (f.truth) facts.truth = *f.truth;
  facts.latency_ms = ms_since_capture(f.capture_us);
  GST_OBJECT_LOCK(self);
  const int top_k = st->top_k;
  GST_OBJECT_UNLOCK(self);
  const rtcoinfer::Result result = rtcoinfer::classify(logits, info, top_k, facts, GST_CLOCK_TIME_NONE);
  GstBuffer *out = rtcoinfer::emit_result(GST_ELEMENT(self), result, facts, nullptr);
  record_result(self, facts, result);
  return out;
}

// Answers (and pushes) frames taken from the assembler; stream lock held.
static void push_sliced_answers(GstRtcoinferTail *self, std::vector<rtcoinfer::SliceAssembler::Frame> frames) {
  for (auto &f : frames) {
    GstBuffer *out = answer_slices(self, f);
    if (out) {
      const GstFlowReturn ret = gst_pad_push(GST_BASE_TRANSFORM_SRC_PAD(self), out);
      if (ret != GST_FLOW_OK) GST_DEBUG_OBJECT(self, "pushing a sliced frame's result: %s", gst_flow_get_name(ret));
    }
  }
}

// Counts frames the assembler had to forget (too many unfinished); slice_mutex held.
static void count_evicted(GstRtcoinferTail *self) {
  TailState *st = self->state;
  while (st->evicted_counted < st->slices->evicted()) {
    st->evicted_counted++;
    drop(self, "incomplete", "more than 64 sliced frames were waiting for their slices: the oldest was forgotten");
  }
}

// The deadline thread: answers each sliced frame at its deadline with what arrived.
static void deadline_loop(GstRtcoinferTail *self) {
  TailState *st = self->state;
  GstPad *sinkpad = GST_BASE_TRANSFORM_SINK_PAD(self);
  std::unique_lock<std::mutex> lock(st->slice_mutex);
  while (!st->stopping) {
    const auto next = st->slices->next_deadline();
    const double now = monotonic_s();
    if (!next) {
      st->slice_cv.wait(lock);
      continue;
    }
    if (*next > now) {
      st->slice_cv.wait_for(lock, std::chrono::duration<double>(*next - now));
      continue;
    }
    lock.unlock();
    GST_PAD_STREAM_LOCK(sinkpad);
    lock.lock();
    auto due = st->slices->take_due(monotonic_s());
    lock.unlock();
    push_sliced_answers(self, std::move(due));
    GST_PAD_STREAM_UNLOCK(sinkpad);
    lock.lock();
  }
}

// A slice: into the assembler; its frame is answered here once whole, else at its deadline.
static GstFlowReturn take_slice(GstRtcoinferTail *self, const Received &r, gsize bytes, GstBuffer **outbuf) {
  TailState *st = self->state;
  GST_OBJECT_LOCK(self);
  const double deadline_ms = st->slice_deadline_ms;
  GST_OBJECT_UNLOCK(self);
  // the deadline counts from capture: the device's realtime clock, as latency does
  const double deadline_s = monotonic_s() + (deadline_ms - ms_since_capture(r.capture_us)) / 1000.0;
  std::string why;
  std::optional<rtcoinfer::SliceAssembler::Frame> whole;
  rtcoinfer::SliceAssembler::Added added;
  {
    std::lock_guard<std::mutex> lock(st->slice_mutex);
    added = st->slices->add(r.facts.seq, *r.slice, st->values.data(), bytes, deadline_s, &why);
    if (added == rtcoinfer::SliceAssembler::Added::Complete) whole = st->slices->take(r.facts.seq);
    count_evicted(self);
  }
  st->slice_cv.notify_all();
  switch (added) {
    case rtcoinfer::SliceAssembler::Added::Late:
      drop(self, "late", "a slice of frame " + std::to_string(r.facts.seq) + " arrived after the frame was answered");
      return GST_BASE_TRANSFORM_FLOW_DROPPED;
    case rtcoinfer::SliceAssembler::Added::Invalid:
      drop(self, "malformed", why);
      return GST_BASE_TRANSFORM_FLOW_DROPPED;
    case rtcoinfer::SliceAssembler::Added::Pending:
      return GST_BASE_TRANSFORM_FLOW_DROPPED;  // counted when its frame is answered
    case rtcoinfer::SliceAssembler::Added::Complete:
      break;
  }
  *outbuf = whole ? answer_slices(self, *whole) : nullptr;
  return *outbuf ? GST_FLOW_OK : GST_BASE_TRANSFORM_FLOW_DROPPED;
}

static GstFlowReturn gst_rtcoinfer_tail_prepare_output_buffer(GstBaseTransform *trans, GstBuffer *inbuf,
                                                              GstBuffer **outbuf) {
  auto *self = GST_RTCOINFER_TAIL(trans);
  TailState *st = self->state;
  GST_OBJECT_LOCK(self);
  st->frames++;
  const int top_k = st->top_k;
  const double max_latency = st->max_latency_ms;
  GST_OBJECT_UNLOCK(self);

  GstMapInfo map;
  if (!gst_buffer_map(inbuf, &map, GST_MAP_READ)) {
    drop(self, "malformed", "buffer could not be mapped");
    return GST_BASE_TRANSFORM_FLOW_DROPPED;
  }
  Received r;
  r.facts.bytes = map.size;
  const bool image = map.size >= 2 && map.data[0] == rtcoinfer::ImageFrameLayout::kMagic0 &&
                     map.data[1] == rtcoinfer::ImageFrameLayout::kMagic1;
  const bool ok = image ? read_image_frame(self, map.data, map.size, r) : read_feature_frame(self, map.data, map.size, r);
  gst_buffer_unmap(inbuf, &map);
  if (!ok) return GST_BASE_TRANSFORM_FLOW_DROPPED;

  r.facts.seq = unwrap_seq(self, r.seq, r.slice.has_value());
  if (r.slice) return take_slice(self, r, r.facts.bytes, outbuf);
  const double latency_now = ms_since_capture(r.capture_us);
  if (max_latency > 0 && latency_now > max_latency) {
    drop(self, "late", "seq " + std::to_string(r.facts.seq) + " is " + std::to_string(latency_now) + " ms old");
    return GST_BASE_TRANSFORM_FLOW_DROPPED;
  }

  const std::vector<float> logits = image ? st->model->full(st->input.data(), 1)
                                          : st->model->tail(st->values.data(), 1, r.facts.channels, r.setup_index);
  if (logits.empty()) {
    drop(self, "malformed", "inference failed: " + st->model->last_error());
    return GST_BASE_TRANSFORM_FLOW_DROPPED;
  }
  r.facts.latency_ms = ms_since_capture(r.capture_us);
  const rtcoinfer::Result result =
      rtcoinfer::classify(logits, st->model->info(), top_k, r.facts, GST_BUFFER_PTS(inbuf));
  *outbuf = rtcoinfer::emit_result(GST_ELEMENT(self), result, r.facts, inbuf);
  record_result(self, r.facts, result);
  return GST_FLOW_OK;
}

// End of stream answers the sliced frames still waiting; a flush forgets them.
static gboolean gst_rtcoinfer_tail_sink_event(GstBaseTransform *trans, GstEvent *event) {
  auto *self = GST_RTCOINFER_TAIL(trans);
  TailState *st = self->state;
  if (st->slices && GST_EVENT_TYPE(event) == GST_EVENT_EOS) {
    std::vector<rtcoinfer::SliceAssembler::Frame> rest;
    {
      std::lock_guard<std::mutex> lock(st->slice_mutex);
      rest = st->slices->take_all();
    }
    push_sliced_answers(self, std::move(rest));
  } else if (st->slices && GST_EVENT_TYPE(event) == GST_EVENT_FLUSH_STOP) {
    std::lock_guard<std::mutex> lock(st->slice_mutex);
    st->slices->clear();
  }
  return GST_BASE_TRANSFORM_CLASS(parent_class)->sink_event(trans, event);
}

static GstFlowReturn gst_rtcoinfer_tail_transform(GstBaseTransform *, GstBuffer *, GstBuffer *) {
  return GST_FLOW_OK;  // the result was written in prepare_output_buffer
}

static void gst_rtcoinfer_tail_set_property(GObject *object, guint prop_id, const GValue *value, GParamSpec *pspec) {
  auto *self = GST_RTCOINFER_TAIL(object);
  TailState *st = self->state;
  GST_OBJECT_LOCK(self);
  switch (prop_id) {
    case PROP_MODEL: st->model_path = g_value_get_string(value) ? g_value_get_string(value) : ""; break;
    case PROP_TOP_K: st->top_k = g_value_get_int(value); break;
    case PROP_THREADS: st->threads = g_value_get_int(value); break;
    case PROP_MAX_LATENCY: st->max_latency_ms = g_value_get_double(value); break;
    case PROP_SLICE_DEADLINE: st->slice_deadline_ms = g_value_get_double(value); break;
    case PROP_HTTP_PORT: st->http_port = g_value_get_int(value); break;
    case PROP_HTTP_ADDRESS: st->http_address = g_value_get_string(value) ? g_value_get_string(value) : "127.0.0.1"; break;
    case PROP_HTTP_TOKEN: st->http_token = g_value_get_string(value) ? g_value_get_string(value) : ""; break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
  }
  GST_OBJECT_UNLOCK(self);
}

static void gst_rtcoinfer_tail_get_property(GObject *object, guint prop_id, GValue *value, GParamSpec *pspec) {
  auto *self = GST_RTCOINFER_TAIL(object);
  TailState *st = self->state;
  if (prop_id == PROP_STATS) {
    g_value_take_boxed(value, build_stats(self));
    return;
  }
  GST_OBJECT_LOCK(self);
  switch (prop_id) {
    case PROP_MODEL: g_value_set_string(value, st->model_path.c_str()); break;
    case PROP_TOP_K: g_value_set_int(value, st->top_k); break;
    case PROP_THREADS: g_value_set_int(value, st->threads); break;
    case PROP_MAX_LATENCY: g_value_set_double(value, st->max_latency_ms); break;
    case PROP_SLICE_DEADLINE: g_value_set_double(value, st->slice_deadline_ms); break;
    case PROP_HTTP_PORT: g_value_set_int(value, st->http_port); break;
    case PROP_HTTP_ADDRESS: g_value_set_string(value, st->http_address.c_str()); break;
    case PROP_HTTP_TOKEN: g_value_set_string(value, st->http_token.empty() ? nullptr : st->http_token.c_str()); break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
  }
  GST_OBJECT_UNLOCK(self);
}

static void gst_rtcoinfer_tail_finalize(GObject *object) {
  delete GST_RTCOINFER_TAIL(object)->state;
  G_OBJECT_CLASS(parent_class)->finalize(object);
}

static void gst_rtcoinfer_tail_init(GstRtcoinferTail *self) { self->state = new TailState(); }

static void gst_rtcoinfer_tail_class_init(GstRtcoinferTailClass *klass) {
  GObjectClass *gobject_class = G_OBJECT_CLASS(klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS(klass);
  GstBaseTransformClass *trans_class = GST_BASE_TRANSFORM_CLASS(klass);
  gobject_class->set_property = gst_rtcoinfer_tail_set_property;
  gobject_class->get_property = gst_rtcoinfer_tail_get_property;
  gobject_class->finalize = gst_rtcoinfer_tail_finalize;

  const auto rw = GParamFlags(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS);
  const auto rw_playing = GParamFlags(rw | GST_PARAM_MUTABLE_PLAYING);
  g_object_class_install_property(gobject_class, PROP_MODEL,
      g_param_spec_string("model", "Model bundle", "Path of the model bundle (.rcib) written by rtcoinfer-train, or an "
                          "http(s)://host:port/models/<id> URL (as for rtcoinfer-head); must be the bundle rtcoinfer-head "
                          "runs. Loaded when the element starts", nullptr, rw));
  g_object_class_install_property(gobject_class, PROP_TOP_K,
      g_param_spec_int("top-k", "Top k", "Number of best classes listed in each result, 1..1000", 1, 1000, 5, rw_playing));
  g_object_class_install_property(gobject_class, PROP_THREADS,
      g_param_spec_int("threads", "Threads", "LibTorch intra-op threads for the tail, 1..256; 0 = LibTorch's default "
                       "(all cores). Process-wide in LibTorch", 0, 256, 0, rw));
  g_object_class_install_property(gobject_class, PROP_MAX_LATENCY,
      g_param_spec_double("max-latency", "Maximum latency", "Drop (and count as late) frames older than this many "
                          "milliseconds since capture when they arrive; 0 = never drop", 0, 3600000, 0, rw_playing));
  g_object_class_install_property(gobject_class, PROP_SLICE_DEADLINE,
      g_param_spec_double("slice-deadline", "Slice deadline", "CLIO-style slices (from rtcoinfer-slicer): a sliced "
                          "frame is answered as soon as all its slices are in, or else this many milliseconds after "
                          "its capture (1..60000) with the longest prefix of channels that arrived; slices later "
                          "than that are dropped as late. May change while PLAYING", 1, 60000, 140, rw_playing));
  g_object_class_install_property(gobject_class, PROP_HTTP_PORT,
      g_param_spec_int("http-port", "HTTP port", "TCP port of the results service (JSON API, event stream, Prometheus "
                       "metrics, model download, dashboard at /), 1..65535; 0 = no HTTP service. Read when the "
                       "element starts", 0, 65535, 0, rw));
  g_object_class_install_property(gobject_class, PROP_HTTP_ADDRESS,
      g_param_spec_string("http-address", "HTTP address", "Local IP address the results service binds: 127.0.0.1 "
                          "(loopback, only this host) by default; 0.0.0.0 or :: for every interface. Read when the "
                          "element starts", "127.0.0.1", rw));
  g_object_class_install_property(gobject_class, PROP_HTTP_TOKEN,
      g_param_spec_string("http-token", "HTTP bearer token", "When set, every HTTP request must carry "
                          "\"Authorization: Bearer <token>\" (or ?token=<token>, for the dashboard); others get 401. "
                          "Unset = no authentication. Plain HTTP: use with a TLS proxy off the host. Read when the "
                          "element starts", nullptr, rw));
  g_object_class_install_property(gobject_class, PROP_STATS,
      g_param_spec_boxed("stats", "Statistics", "Read-only: frames (buffers received; every slice counts), results, dropped and drops (malformed, "
                         "wrong-model, late, incomplete: sliced frames with no usable prefix), missing (sequence gaps), restarts, bytes, with-truth, correct, accuracy "
                         "(percent of results with truth), latency-p50-ms and latency-p99-ms (capture to result, last "
                         "100000 results)", GST_TYPE_STRUCTURE, GParamFlags(G_PARAM_READABLE | G_PARAM_STATIC_STRINGS)));

  gst_element_class_add_static_pad_template(element_class, &sink_template);
  gst_element_class_add_static_pad_template(element_class, &src_template);
  gst_element_class_set_static_metadata(element_class, "RTCoInfer tail (server inference)", "Filter/Analyzer/Video",
                                        "Decodes feature frames and finishes the SW-CNN inference; emits JSON results",
                                        "gst-rtcoinfer developers");
  trans_class->start = GST_DEBUG_FUNCPTR(gst_rtcoinfer_tail_start);
  trans_class->stop = GST_DEBUG_FUNCPTR(gst_rtcoinfer_tail_stop);
  trans_class->transform_caps = GST_DEBUG_FUNCPTR(gst_rtcoinfer_tail_transform_caps);
  trans_class->set_caps = GST_DEBUG_FUNCPTR(gst_rtcoinfer_tail_set_caps);
  trans_class->prepare_output_buffer = GST_DEBUG_FUNCPTR(gst_rtcoinfer_tail_prepare_output_buffer);
  trans_class->sink_event = GST_DEBUG_FUNCPTR(gst_rtcoinfer_tail_sink_event);
  trans_class->transform = GST_DEBUG_FUNCPTR(gst_rtcoinfer_tail_transform);
  trans_class->passthrough_on_same_caps = FALSE;
}
