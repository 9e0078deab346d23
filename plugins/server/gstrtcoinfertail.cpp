/**
 * SECTION:element-rtcoinfer-tail
 * @title: rtcoinfer-tail
 *
 * The server half of RTCoInfer: parses and validates each feature frame, dequantizes
 * it and runs the rest of the SW-CNN with the BatchNorm statistics of the frame's own
 * setup. Each result leaves as one JSON object per line on the src pad
 * (application/x-ndjson), as an element message `rtcoinfer-result` on the bus, and as
 * a GstRtcoinferResultMeta on the output buffer. With `http-port` set, the results are
 * also served over HTTP from a thread of their own: recent results and stats as JSON, a
 * Server-Sent Events stream, Prometheus metrics, the model bundle, and a live dashboard
 * page (docs/results-service.md).
 *
 * Malformed frames, frames of another model and frames older than `max-latency` are
 * dropped, counted per reason in `stats`, and reported with a warning; they are never
 * fatal. Gaps in the frame sequence (frames lost on the network or skipped by the
 * device) are counted as `missing`; a frame an element before the tail dropped (an
 * `rtcoinfer-dropped` event) is counted under that element's reason instead.
 *
 * ## Example launch line
 * |[
 * gst-launch-1.0 rtcoinfer-datasetsrc num-buffers=100 ! rtcoinfer-head model=models/zoo/fashion-mnist-swcnn.rcib \
 *     ! rtcoinfer-compress setup=4x2 ! rtcoinfer-tail model=models/zoo/fashion-mnist-swcnn.rcib \
 *     ! filesink location=results.jsonl
 * ]| Classifies 100 Fashion-MNIST test images through 4-channel, 2-bit features and
 * writes one JSON result per line.
 * |[
 * gst-launch-1.0 rtcoinfer-datasetsrc is-live=true num-buffers=300 ! rtcoinfer-head model=models/zoo/fashion-mnist-swcnn.rcib \
 *     ! rtcoinfer-compress ! rtcoinfer-tail model=models/zoo/fashion-mnist-swcnn.rcib http-port=8080 ! fakesink
 * ]| The same at camera pace, with the dashboard at http://127.0.0.1:8080/.
 */
#include "gstrtcoinfertail.h"

#include "common/one_output.h"

#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "common/http_properties.h"
#include "common/result_output.h"
#include "common/tail_batcher.h"
#include "contract/rtcoinfer_meta.h"
#include "contract/setup_event.h"
#include "service/results_service.h"
#include "wire/feature_frame.h"

GST_DEBUG_CATEGORY_STATIC(gst_rtcoinfer_tail_debug);
#define GST_CAT_DEFAULT gst_rtcoinfer_tail_debug

#define DEFAULT_TOP_K 5
#define DEFAULT_MAX_LATENCY_MS 0.0

namespace {

struct TailState {
  // properties, with the object lock
  int top_k = DEFAULT_TOP_K;
  double max_latency_ms = DEFAULT_MAX_LATENCY_MS;
  int http_port = RTCOINFER_DEFAULT_HTTP_PORT;
  std::string http_address = RTCOINFER_DEFAULT_HTTP_ADDRESS;
  std::string http_token;
  std::string stream_id;                              // "stream" of every result; unset: the element's name
  std::shared_ptr<rtcoinfer::ResultsService> shared;  // a server bin's service, given before start
  std::shared_ptr<rtcoinfer::TailBatcher> batcher;    // a server bin's batcher, given before start; else null

  // streaming thread only (and start/stop, when it is not running)
  rtcoinfer::FrameDecoder decoder;
  std::vector<float> values;                           // a feature frame, dequantized
  std::shared_ptr<rtcoinfer::ResultsService> service;  // `shared`, or its own with http-port; else null
  std::string stream;                                  // the stream id: set at start, renamed by its sender
  std::string named;                                   // the name the sender asked for, once it did
};

}  // namespace

struct _GstRtcoinferTail {
  GstRtcoinferInference parent;
  TailState *state;
};

enum {
  PROP_0,
  PROP_TOP_K,
  PROP_MAX_LATENCY,
  PROP_STATS,
  PROP_HTTP_PORT,
  PROP_HTTP_ADDRESS,
  PROP_HTTP_TOKEN,
  PROP_STREAM_ID
};

static GstStaticPadTemplate sink_template =
    GST_STATIC_PAD_TEMPLATE("sink", GST_PAD_SINK, GST_PAD_ALWAYS, GST_STATIC_CAPS(RTCOINFER_FRAME_CAPS_NAME));
static GstStaticPadTemplate src_template =
    GST_STATIC_PAD_TEMPLATE("src", GST_PAD_SRC, GST_PAD_ALWAYS, GST_STATIC_CAPS("application/x-ndjson"));

#define gst_rtcoinfer_tail_parent_class parent_class
G_DEFINE_TYPE_WITH_CODE(GstRtcoinferTail, gst_rtcoinfer_tail, GST_TYPE_RTCOINFER_INFERENCE,
                        GST_DEBUG_CATEGORY_INIT(gst_rtcoinfer_tail_debug, "rtcoinfer-tail", 0,
                                                "RTCoInfer server-side inference"));
GST_ELEMENT_REGISTER_DEFINE(rtcoinfer_tail, "rtcoinfer-tail", GST_RANK_NONE, GST_TYPE_RTCOINFER_TAIL);

static GstRtcoinferInference *base_of(GstRtcoinferTail *self) { return GST_RTCOINFER_INFERENCE(self); }

// Counts a drop in the ledger (warning as the base class does) and tells the event stream.
static void drop(GstRtcoinferTail *self, const char *reason, const std::string &detail) {
  const guint64 n = gst_rtcoinfer_inference_count_drop(base_of(self), reason, detail);
  if (self->state->service)
    self->state->service->publish_drop(self->state->stream, reason, n,
                                       gst_rtcoinfer_inference_get_ledger(base_of(self))->frames());
}

// Offers the bundle to devices on `service`.
static void serve_model(GstRtcoinferTail *self, rtcoinfer::ResultsService &service,
                        const rtcoinfer::InferenceModel &model) {
  const std::string bundle_file = gst_rtcoinfer_inference_get_bundle_file(base_of(self));
  rtcoinfer::ServedModel served;
  gchar *data = nullptr;
  gsize size = 0;
  if (g_file_get_contents(bundle_file.c_str(), &data, &size, nullptr)) {
    served.bundle.assign(data, data + size);
    g_free(data);
  }
  served.id = model.info().model_id;
  served.metadata_json = model.info().metadata_json;
  service.set_model(std::move(served));
}

// Joins the server bin's results service, or starts one of its own with http-port, as
// the stream `st->stream`.
// A frame that arrived and gives no result. With its header's number trusted (the
// ledger finds it plausible), the drop is its outcome and the sequence moves past it, so
// the gap does not count it missing too; a frame whose number cannot be trusted (or
// read) is left to the gap, as missing, and counted unreadable apart: no frame is
// counted twice (365 outcomes for 300 frames at 5 % corrupted packets, before).
static void drop_arrived(GstRtcoinferTail *self, std::optional<guint16> seq, const char *reason,
                         const std::string &detail) {
  auto ledger = gst_rtcoinfer_inference_get_ledger(base_of(self));
  if (seq && ledger->claim_arrived(*seq)) {
    drop(self, reason, detail);
    return;
  }
  ledger->count_unreadable();
  GST_DEBUG_OBJECT(self, "a %s frame whose number cannot be trusted: left to the gap (%s)", reason, detail.c_str());
}

static gboolean gst_rtcoinfer_tail_model_ready(GstRtcoinferInference *base, rtcoinfer::InferenceModel &model) {
  auto *self = GST_RTCOINFER_TAIL(base);
  TailState *st = self->state;
  GST_OBJECT_LOCK(self);
  rtcoinfer::ResultsService::Options http;
  http.port = st->http_port;
  http.address = st->http_address;
  http.token = st->http_token;
  st->stream = st->stream_id.empty() ? GST_OBJECT_NAME(self) : st->stream_id;
  st->named.clear();
  std::shared_ptr<rtcoinfer::ResultsService> service = st->shared;
  GST_OBJECT_UNLOCK(self);
  if (!service && http.port != 0) {
    std::string error;
    service = rtcoinfer::ResultsService::start(http, &error);
    if (!service) {
      GST_ELEMENT_ERROR(self, RESOURCE, OPEN_READ_WRITE, ("Cannot serve results over HTTP: %s", error.c_str()),
                        ("check http-address and http-port; port %d may be in use", http.port));
      return FALSE;
    }
    GST_INFO_OBJECT(self, "results on http://%s:%d/", http.address.c_str(), service->port());
  }
  if (!service) return TRUE;
  if (!service->has_model()) serve_model(self, *service, model);
  service->add_stream(st->stream, gst_rtcoinfer_inference_get_ledger(base));
  st->service = std::move(service);
  return TRUE;
}

static gboolean gst_rtcoinfer_tail_stop(GstBaseTransform *trans) {
  TailState *st = GST_RTCOINFER_TAIL(trans)->state;
  if (st->service) st->service->end_stream(st->stream);
  st->service.reset();  // its own service: joins the HTTP thread
  return GST_BASE_TRANSFORM_CLASS(parent_class)->stop(trans);
}

void gst_rtcoinfer_tail_share_service(GstRtcoinferTail *tail, std::shared_ptr<rtcoinfer::ResultsService> service) {
  GST_OBJECT_LOCK(tail);
  tail->state->shared = std::move(service);
  GST_OBJECT_UNLOCK(tail);
}

void gst_rtcoinfer_tail_share_batcher(GstRtcoinferTail *tail, std::shared_ptr<rtcoinfer::TailBatcher> batcher) {
  GST_OBJECT_LOCK(tail);
  tail->state->batcher = std::move(batcher);
  GST_OBJECT_UNLOCK(tail);
}

static GstCaps *gst_rtcoinfer_tail_transform_caps(GstBaseTransform *, GstPadDirection direction, GstCaps *,
                                                  GstCaps *filter) {
  GstCaps *out = gst_caps_from_string(direction == GST_PAD_SINK ? "application/x-ndjson" : RTCOINFER_FRAME_CAPS_NAME);
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
  // the sender's name for its stream (rtcoinfersink stream-id), before its first frame
  const char *named = gst_structure_get_string(s, "stream-id");
  // once per name: a name another stream had became name-<id>, which must not be renamed
  // again if the caps change later
  if (named && rtcoinfer::valid_stream_name(named) && self->state->named != named) {
    TailState *st = self->state;
    st->named = named;
    const std::string was = st->stream;
    st->stream = st->service ? st->service->rename_stream(was, named) : std::string(named);
    GST_OBJECT_LOCK(self);
    st->stream_id = st->stream;
    GST_OBJECT_UNLOCK(self);
    GST_INFO_OBJECT(self, "stream %s is named %s by its sender", was.c_str(), st->stream.c_str());
  } else if (named && !rtcoinfer::valid_stream_name(named)) {
    GST_WARNING_OBJECT(self, "ignored a stream-id that is no name (1-64 printable ASCII characters)");
  }
  auto id = rtcoinfer::model_id_from_string(gst_structure_get_string(s, "model-id"));
  const auto model = gst_rtcoinfer_inference_get_model(base_of(self));
  if (id && model && *id != model->info().frame_model_id)
    GST_ELEMENT_WARNING(self, STREAM, WRONG_TYPE,
                        ("The sender uses another model (id %08x) than this tail (%08x): its frames will be dropped",
                         *id, model->info().frame_model_id),
                        ("load the same bundle on the device and the server"));
  return TRUE;
}

// The frame's 64-bit number, from the ledger (which counts gaps and restarts).
static guint64 unwrap_seq(GstRtcoinferTail *self, guint16 seq) {
  const auto step = gst_rtcoinfer_inference_get_ledger(base_of(self))->sequence(seq);
  if (step.missing) GST_INFO_OBJECT(self, "gap of %" G_GUINT64_FORMAT " frames before seq %u", step.missing, seq);
  if (step.restart) GST_ELEMENT_INFO(self, STREAM, DECODE, ("Sender restarted its frame sequence"), (nullptr));
  return step.seq;
}

// A dropped-upstream frame takes its place in the sequence (no gap) and counts as its reason.
static gboolean gst_rtcoinfer_tail_sink_event(GstBaseTransform *trans, GstEvent *event) {
  auto *self = GST_RTCOINFER_TAIL(trans);
  if (auto dropped = rtcoinfer::dropped_event_parse(event)) {
    // a drop of a frame that has its outcome already (a late slice of an answered frame)
    // is not counted again: every frame ends in exactly one count
    if (!dropped->has_seq || gst_rtcoinfer_inference_get_ledger(base_of(self))->claim_drop(dropped->seq))
      drop(self, dropped->reason.c_str(), "frame " + std::to_string(dropped->seq) + " was dropped upstream");
    else
      GST_DEBUG_OBJECT(self, "frame %u has its outcome already; its %s slice is not counted again", dropped->seq,
                       dropped->reason.c_str());
    gst_event_unref(event);
    return TRUE;
  }
  // the stream ends: what its sender reported numbering and never arrived is missing
  if (GST_EVENT_TYPE(event) == GST_EVENT_EOS) gst_rtcoinfer_inference_get_ledger(base_of(self))->finish();
  return GST_BASE_TRANSFORM_CLASS(parent_class)->sink_event(trans, event);
}

static double ms_since_capture(guint32 capture_us) {
  return gint32(guint32(rtcoinfer::realtime_us()) - capture_us) / 1000.0;
}

// One feature frame -> its result buffer, or null when it is dropped (counted).
static GstBuffer *answer(GstRtcoinferTail *self, GstBuffer *inbuf) {
  TailState *st = self->state;
  const auto model = gst_rtcoinfer_inference_get_model(base_of(self));
  if (!model) return nullptr;
  const auto &info = model->info();
  GST_OBJECT_LOCK(self);
  const int top_k = st->top_k;
  const double max_latency = st->max_latency_ms;
  const std::shared_ptr<rtcoinfer::TailBatcher> batcher = st->batcher;
  GST_OBJECT_UNLOCK(self);

  GstMapInfo map;
  if (!gst_buffer_map(inbuf, &map, GST_MAP_READ)) {
    drop_arrived(self, std::nullopt, "malformed", "buffer could not be mapped");
    return nullptr;
  }
  rtcoinfer::FrameHeader hdr;
  rtcoinfer::FrameStatus status = rtcoinfer::FrameDecoder::parse_header(map.data, map.size, hdr);
  if (status.ok() && hdr.model_id != info.frame_model_id) {
    gst_buffer_unmap(inbuf, &map);
    drop_arrived(self, hdr.seq, "wrong-model",
                 "frame of model " + rtcoinfer::model_id_to_string(hdr.model_id) + ", this tail runs " +
                     rtcoinfer::model_id_to_string(info.frame_model_id) + " (" + info.model_id.substr(0, 16) + "...)");
    return nullptr;
  }
  if (status.ok() && hdr.slice) {
    gst_buffer_unmap(inbuf, &map);
    drop_arrived(self, hdr.seq, "malformed",
                 "a CLIO-style slice: put rtcoinfer-sliceassembler (rtcoinferbaselines) before the tail to join them");
    return nullptr;
  }
  // the number was read unless the bytes are no frame header at all (parse_header reads
  // the fields before it checks lengths and the checksum)
  const bool number_read = status.ok() || (map.size >= rtcoinfer::FrameLayout::kHeaderSize &&
                                           status.error != rtcoinfer::FrameError::BadMagic &&
                                           status.error != rtcoinfer::FrameError::UnsupportedVersion);
  if (status.ok()) status = st->decoder.decode(map.data, map.size, hdr, st->values);
  const gsize bytes = map.size;
  gst_buffer_unmap(inbuf, &map);
  if (!status.ok()) {
    drop_arrived(self, number_read ? std::optional<guint16>(hdr.seq) : std::nullopt, "malformed",
                 std::string(rtcoinfer::frame_error_name(status.error)) + ": " + status.message);
    return nullptr;
  }
  auto setup = info.setups.find(hdr.channels, hdr.bits);
  if (!setup || hdr.height != info.partition_height || hdr.width != info.partition_width) {
    drop_arrived(self, hdr.seq, "malformed",
                 "frame shape " + std::to_string(hdr.channels) + "x" + std::to_string(hdr.height) + "x" +
                     std::to_string(hdr.width) + " at " + std::to_string(hdr.bits) +
                     " bits is not a setup of this model");
    return nullptr;
  }

  rtcoinfer::FrameFacts facts;
  facts.seq = unwrap_seq(self, hdr.seq);
  facts.setup = setup->name();
  facts.channels = hdr.channels;
  facts.bits = hdr.bits;
  // joined slices (rtcoinfer-sliceassembler) report what they cost on the wire
  const GstRtcoinferOriginMeta *origin = gst_buffer_get_rtcoinfer_origin_meta(inbuf);
  facts.bytes = origin ? origin->bytes : bytes;
  if (hdr.truth) facts.truth = *hdr.truth;
  const double latency_now = ms_since_capture(hdr.capture_us);
  if (max_latency > 0 && latency_now > max_latency) {
    drop(self, "late", "seq " + std::to_string(facts.seq) + " is " + std::to_string(latency_now) + " ms old");
    return nullptr;
  }
  std::vector<float> logits;
  std::string failed;
  if (batcher) {
    // with max-latency, the frame's deadline: the batcher does not hold it for a fuller
    // batch past it, and does not run it when a forward would end past it
    const GstClockTime deadline = max_latency > 0
                                      ? batcher->now() + GstClockTime((max_latency - latency_now) * GST_MSECOND)
                                      : GST_CLOCK_TIME_NONE;
    bool late = false;
    logits = batcher->run({st->values.data(), hdr.channels, setup->index}, deadline, &failed, &late);
    if (late) {
      drop(self, "late",
           "seq " + std::to_string(facts.seq) + " waited for the server until it could no longer make max-latency");
      return nullptr;
    }
  } else {
    logits = model->tail(st->values.data(), 1, hdr.channels, setup->index);
    if (logits.empty()) failed = model->last_error();
  }
  if (logits.empty()) {
    drop(self, "malformed", "inference failed: " + failed);
    return nullptr;
  }
  facts.latency_ms = ms_since_capture(hdr.capture_us);
  rtcoinfer::Result result = rtcoinfer::classify(logits, info, top_k, facts, GST_BUFFER_PTS(inbuf));
  result.json["stream"] = st->stream;
  GstBuffer *out = rtcoinfer::emit_result(GST_ELEMENT(self), result, facts, inbuf);
  const bool correct = facts.truth && *facts.truth == result.best;
  gst_rtcoinfer_inference_get_ledger(base_of(self))
      ->count_result(facts.setup, facts.bytes, facts.latency_ms, facts.truth, correct);
  if (st->service) st->service->publish_result(st->stream, rtcoinfer::result_event(result, facts));
  return out;
}

// One result line per frame, of its own size: GstBaseTransform's generate_output is the
// place for output that is not a transform of the input's size.
static GstFlowReturn gst_rtcoinfer_tail_generate_output(GstBaseTransform *trans, GstBuffer **outbuf) {
  return rtcoinfer::one_output_per_input(trans, outbuf, [trans](GstBuffer *inbuf, GstBuffer **out) {
    *out = answer(GST_RTCOINFER_TAIL(trans), inbuf);
    return GST_FLOW_OK;
  });
}

static void gst_rtcoinfer_tail_set_property(GObject *object, guint prop_id, const GValue *value, GParamSpec *pspec) {
  auto *self = GST_RTCOINFER_TAIL(object);
  TailState *st = self->state;
  GST_OBJECT_LOCK(self);
  switch (prop_id) {
    case PROP_TOP_K: st->top_k = g_value_get_int(value); break;
    case PROP_MAX_LATENCY: st->max_latency_ms = g_value_get_double(value); break;
    case PROP_HTTP_PORT: st->http_port = g_value_get_int(value); break;
    case PROP_HTTP_ADDRESS:
      st->http_address = g_value_get_string(value) ? g_value_get_string(value) : RTCOINFER_DEFAULT_HTTP_ADDRESS;
      break;
    case PROP_HTTP_TOKEN: st->http_token = g_value_get_string(value) ? g_value_get_string(value) : ""; break;
    case PROP_STREAM_ID: st->stream_id = g_value_get_string(value) ? g_value_get_string(value) : ""; break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
  }
  GST_OBJECT_UNLOCK(self);
}

static void gst_rtcoinfer_tail_get_property(GObject *object, guint prop_id, GValue *value, GParamSpec *pspec) {
  auto *self = GST_RTCOINFER_TAIL(object);
  TailState *st = self->state;
  if (prop_id == PROP_STATS) {
    g_value_take_boxed(value, gst_rtcoinfer_inference_ledger_structure(base_of(self), "rtcoinfer-tail-stats"));
    return;
  }
  GST_OBJECT_LOCK(self);
  switch (prop_id) {
    case PROP_TOP_K: g_value_set_int(value, st->top_k); break;
    case PROP_MAX_LATENCY: g_value_set_double(value, st->max_latency_ms); break;
    case PROP_HTTP_PORT: g_value_set_int(value, st->http_port); break;
    case PROP_HTTP_ADDRESS: g_value_set_string(value, st->http_address.c_str()); break;
    case PROP_HTTP_TOKEN: g_value_set_string(value, st->http_token.empty() ? nullptr : st->http_token.c_str()); break;
    case PROP_STREAM_ID: g_value_set_string(value, st->stream_id.empty() ? nullptr : st->stream_id.c_str()); break;
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
  /**
   * GstRtcoinferTail:top-k:
   *
   * Number of best classes listed in each result, 1..1000. May change while PLAYING.
   */
  g_object_class_install_property(
      gobject_class, PROP_TOP_K,
      g_param_spec_int("top-k", "Top k", "Best classes listed in each result", 1, 1000, DEFAULT_TOP_K, rw_playing));
  /**
   * GstRtcoinferTail:max-latency:
   *
   * Frames older than this many milliseconds since capture when they arrive are
   * dropped and counted as `late`; 0 never drops. May change while PLAYING.
   */
  g_object_class_install_property(gobject_class, PROP_MAX_LATENCY,
                                  g_param_spec_double("max-latency", "Maximum latency",
                                                      "Drop as late frames older than this (ms since capture); "
                                                      "0 = never",
                                                      0, 3600000, DEFAULT_MAX_LATENCY_MS, rw_playing));
  // http-port, http-address, http-token: plugins/common/http_properties.h
  rtcoinfer::install_http_properties(gobject_class, PROP_HTTP_PORT, PROP_HTTP_ADDRESS, PROP_HTTP_TOKEN);
  /**
   * GstRtcoinferTail:stream-id:
   *
   * The id every result carries as `stream`, and the stream's name in the results
   * service (/api/streams, ?stream=, the `stream` label of /metrics); unset: the
   * element's name. rtcoinfersrc sets the sender's. Read when the element starts.
   */
  g_object_class_install_property(
      gobject_class, PROP_STREAM_ID,
      g_param_spec_string("stream-id", "Stream id", "Id every result carries; unset = the element's name", nullptr,
                          rw));
  /**
   * GstRtcoinferTail:stats:
   *
   * Read-only, the same counts /api/stats and /metrics serve:
   * - `frames` (guint64): results + dropped;
   * - `results`, `dropped` (guint64), and `drops` (GstStructure): per reason: malformed,
   *   wrong-model, late, incomplete (reported by an element before the tail);
   * - `missing` (guint64): sequence gaps; `restarts` (guint64): sequence restarts;
   * - `bytes`, `with-truth`, `correct` (guint64), `accuracy` (gdouble, percent of results
   *   with truth);
   * - `latency-p50-ms`, `latency-p99-ms` (gdouble): capture to result, last 10000 results.
   */
  g_object_class_install_property(
      gobject_class, PROP_STATS,
      g_param_spec_boxed("stats", "Statistics",
                         "Counters: frames, results, dropped, drops, missing, restarts, bytes, "
                         "with-truth, correct, accuracy, latency-p50-ms, latency-p99-ms",
                         GST_TYPE_STRUCTURE, GParamFlags(G_PARAM_READABLE | G_PARAM_STATIC_STRINGS)));

  gst_element_class_add_static_pad_template(element_class, &sink_template);
  gst_element_class_add_static_pad_template(element_class, &src_template);
  gst_element_class_set_static_metadata(element_class, "RTCoInfer tail (server inference)", "Filter/Analyzer/Video",
                                        "Decodes feature frames and finishes the SW-CNN inference; emits JSON results",
                                        "gst-rtcoinfer developers");
  GST_RTCOINFER_INFERENCE_CLASS(klass)->model_ready = gst_rtcoinfer_tail_model_ready;
  trans_class->stop = GST_DEBUG_FUNCPTR(gst_rtcoinfer_tail_stop);
  trans_class->transform_caps = GST_DEBUG_FUNCPTR(gst_rtcoinfer_tail_transform_caps);
  trans_class->set_caps = GST_DEBUG_FUNCPTR(gst_rtcoinfer_tail_set_caps);
  trans_class->sink_event = GST_DEBUG_FUNCPTR(gst_rtcoinfer_tail_sink_event);
  trans_class->generate_output = GST_DEBUG_FUNCPTR(gst_rtcoinfer_tail_generate_output);
  trans_class->passthrough_on_same_caps = FALSE;
}
