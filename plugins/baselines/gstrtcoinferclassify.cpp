/**
 * SECTION:element-rtcoinfer-classify
 * @title: rtcoinfer-classify
 *
 * Whole-model classification of video frames, for the evaluation's baselines: the
 * local-only device (the whole SW-CNN on the device, nothing sent) and the server side of
 * image offload (after rtcoinfer-imagedec). Each frame's result leaves as one JSON object
 * per line (application/x-ndjson, as rtcoinfer-tail writes them), a GstRtcoinferResultMeta
 * and an `rtcoinfer-result` bus message; results, drops and sequence gaps are counted in
 * `stats` the way the tail counts them.
 *
 * A frame that carries a GstRtcoinferOriginMeta (from rtcoinfer-imagedec) is reported
 * with the sender's number, capture time, truth and bytes, and the image's codec as its
 * setup; other frames are numbered here, with "setup": "local".
 *
 * `compute-scale` and `compute-time` emulate a slower device: after each frame the element
 * stays busy, waiting on the pipeline clock, for (scale - 1) times the inference time it
 * measured, or until compute-time milliseconds have passed since the frame arrived; frames
 * a live source captured meanwhile are dropped and counted as `busy` (as a camera feeding
 * a one-frame leaky queue would lose them).
 *
 * ## Example launch line
 * |[
 * gst-launch-1.0 rtcoinfer-datasetsrc is-live=true num-buffers=300 ! videoconvert \
 *     ! rtcoinfer-classify compute-time=200 model=models/zoo/fashion-mnist-swcnn.rcib ! filesink location=local.jsonl
 * ]| Local-only on a device that needs 200 ms per frame: about 6 of every 7 frames are
 * dropped as busy, the rest are answered on the device.
 */
#include "gstrtcoinferclassify.h"

#include "common/element_clock.h"

#include "common/one_output.h"

#include <algorithm>
#include <optional>
#include <string>

#include "common/result_output.h"
#include "contract/rtcoinfer_meta.h"
#include "contract/setup_event.h"

GST_DEBUG_CATEGORY_STATIC(gst_rtcoinfer_classify_debug);
#define GST_CAT_DEFAULT gst_rtcoinfer_classify_debug

#define DEFAULT_TOP_K 5
#define DEFAULT_COMPUTE_SCALE 1.0
#define DEFAULT_COMPUTE_TIME_MS 0.0

namespace {

struct ClassifyState {
  // properties, statistics and the emulated device's wait, with the object lock
  int top_k = DEFAULT_TOP_K;
  double compute_scale = DEFAULT_COMPUTE_SCALE;
  double compute_time_ms = DEFAULT_COMPUTE_TIME_MS;
  guint64 seq = 0, busy = 0;
  double ms_total = 0;
  GstClockID wait_id = nullptr;  // the emulated device's busy wait, to unschedule
  bool flushing = false;

  // streaming thread only (and model_ready, at start, before streaming begins)
  GstVideoInfo vinfo;
  std::vector<float> input;
  GstClockTime busy_until = 0;  // pipeline clock time the emulated device is busy until
};

}  // namespace

struct _GstRtcoinferClassify {
  GstRtcoinferInference parent;
  ClassifyState *state;
};

enum { PROP_0, PROP_TOP_K, PROP_COMPUTE_SCALE, PROP_COMPUTE_TIME, PROP_STATS };

static GstStaticPadTemplate sink_template = GST_STATIC_PAD_TEMPLATE(
    "sink", GST_PAD_SINK, GST_PAD_ALWAYS, GST_STATIC_CAPS(GST_VIDEO_CAPS_MAKE(RTCOINFER_INFERENCE_VIDEO_FORMATS)));
static GstStaticPadTemplate src_template =
    GST_STATIC_PAD_TEMPLATE("src", GST_PAD_SRC, GST_PAD_ALWAYS, GST_STATIC_CAPS("application/x-ndjson"));

#define gst_rtcoinfer_classify_parent_class parent_class
G_DEFINE_TYPE_WITH_CODE(GstRtcoinferClassify, gst_rtcoinfer_classify, GST_TYPE_RTCOINFER_INFERENCE,
                        GST_DEBUG_CATEGORY_INIT(gst_rtcoinfer_classify_debug, "rtcoinfer-classify", 0,
                                                "RTCoInfer whole-model classification (baselines)"));
GST_ELEMENT_REGISTER_DEFINE(rtcoinfer_classify, "rtcoinfer-classify", GST_RANK_NONE, GST_TYPE_RTCOINFER_CLASSIFY);

static GstRtcoinferInference *base_of(GstRtcoinferClassify *self) { return GST_RTCOINFER_INFERENCE(self); }

// The emulated slow device: busy until `until` on the pipeline clock. Returns early when
// the element flushes or stops (the wait is unscheduled).
static void wait_until(GstRtcoinferClassify *self, GstClockTime until) {
  GstClock *clock = gst_element_get_clock(GST_ELEMENT(self));
  if (!clock) return;
  GstClockID id = gst_clock_new_single_shot_id(clock, until);
  gst_object_unref(clock);
  GST_OBJECT_LOCK(self);
  const bool flushing = self->state->flushing;
  if (!flushing) self->state->wait_id = id;
  GST_OBJECT_UNLOCK(self);
  if (!flushing) gst_clock_id_wait(id, nullptr);
  GST_OBJECT_LOCK(self);
  self->state->wait_id = nullptr;
  GST_OBJECT_UNLOCK(self);
  gst_clock_id_unref(id);
}

static void unschedule(GstRtcoinferClassify *self, bool flushing) {
  GST_OBJECT_LOCK(self);
  self->state->flushing = flushing;
  if (self->state->wait_id) gst_clock_id_unschedule(self->state->wait_id);
  GST_OBJECT_UNLOCK(self);
}

static gboolean gst_rtcoinfer_classify_model_ready(GstRtcoinferInference *base, rtcoinfer::InferenceModel &) {
  auto *self = GST_RTCOINFER_CLASSIFY(base);
  GST_OBJECT_LOCK(self);
  self->state->seq = self->state->busy = 0;
  self->state->ms_total = 0;
  self->state->flushing = false;
  GST_OBJECT_UNLOCK(self);
  self->state->busy_until = 0;
  return TRUE;
}

static gboolean gst_rtcoinfer_classify_set_caps(GstBaseTransform *trans, GstCaps *incaps, GstCaps *) {
  auto *self = GST_RTCOINFER_CLASSIFY(trans);
  if (!gst_video_info_from_caps(&self->state->vinfo, incaps)) {
    GST_ELEMENT_ERROR(self, CORE, NEGOTIATION, ("Cannot parse video caps"), ("%" GST_PTR_FORMAT, incaps));
    return FALSE;
  }
  return TRUE;
}

static GstCaps *gst_rtcoinfer_classify_transform_caps(GstBaseTransform *, GstPadDirection direction, GstCaps *,
                                                      GstCaps *filter) {
  GstCaps *out = direction == GST_PAD_SINK ? gst_caps_from_string("application/x-ndjson")
                                           : gst_static_pad_template_get_caps(&sink_template);
  if (filter) {
    GstCaps *tmp = gst_caps_intersect_full(filter, out, GST_CAPS_INTERSECT_FIRST);
    gst_caps_unref(out);
    out = tmp;
  }
  return out;
}

static gboolean gst_rtcoinfer_classify_sink_event(GstBaseTransform *trans, GstEvent *event) {
  auto *self = GST_RTCOINFER_CLASSIFY(trans);
  if (GST_EVENT_TYPE(event) == GST_EVENT_FLUSH_START) unschedule(self, true);
  if (GST_EVENT_TYPE(event) == GST_EVENT_FLUSH_STOP) unschedule(self, false);
  if (auto dropped = rtcoinfer::dropped_event_parse(event)) {  // from rtcoinfer-imagedec
    auto ledger = gst_rtcoinfer_inference_get_ledger(base_of(self));
    if (!dropped->has_seq || ledger->claim_drop(dropped->seq))  // never a frame counted twice
      gst_rtcoinfer_inference_count_drop(base_of(self), dropped->reason.c_str(), "dropped upstream");
    gst_event_unref(event);
    return TRUE;
  }
  return GST_BASE_TRANSFORM_CLASS(parent_class)->sink_event(trans, event);
}

static GstStateChangeReturn gst_rtcoinfer_classify_change_state(GstElement *element, GstStateChange transition) {
  if (transition == GST_STATE_CHANGE_PAUSED_TO_READY) unschedule(GST_RTCOINFER_CLASSIFY(element), true);
  return GST_ELEMENT_CLASS(parent_class)->change_state(element, transition);
}

static GstBuffer *answer(GstRtcoinferClassify *self, GstBuffer *inbuf) {
  auto *base = base_of(self);
  ClassifyState *st = self->state;
  const auto model = gst_rtcoinfer_inference_get_model(base);
  if (!model) return nullptr;
  GST_OBJECT_LOCK(self);
  const int top_k = st->top_k;
  const double scale = st->compute_scale, time_ms = st->compute_time_ms;
  GST_OBJECT_UNLOCK(self);
  const bool slow = scale > 1.0 || time_ms > 0.0;
  const GstRtcoinferOriginMeta *origin = gst_buffer_get_rtcoinfer_origin_meta(inbuf);
  auto ledger = gst_rtcoinfer_inference_get_ledger(base);

  const GstClockTime arrived = rtcoinfer::element_clock_time(GST_ELEMENT(self));
  const std::uint64_t capture_us = gst_rtcoinfer_inference_capture_us(base, inbuf);
  const GstClockTime captured = gst_rtcoinfer_inference_capture_clock_time(base, inbuf);
  if (slow && GST_CLOCK_TIME_IS_VALID(captured) && captured < st->busy_until) {
    GST_OBJECT_LOCK(self);
    st->busy++;
    st->seq++;  // the frame keeps its number: the numbering shows the gap
    GST_OBJECT_UNLOCK(self);
    gst_rtcoinfer_inference_count_drop(base, "busy", "captured while the emulated device was busy");
    return nullptr;
  }
  if (!gst_rtcoinfer_inference_video_input(base, &st->vinfo, inbuf, st->input)) {
    if (!origin) {
      GST_OBJECT_LOCK(self);
      st->seq++;
      GST_OBJECT_UNLOCK(self);
    }
    gst_rtcoinfer_inference_count_drop(base, "malformed", "a video frame could not be mapped");
    return nullptr;
  }
  const gint64 t0 = g_get_monotonic_time();
  const std::vector<float> logits = model->full(st->input.data(), 1);
  const double ms = (g_get_monotonic_time() - t0) / 1000.0;
  if (logits.empty()) {
    GST_ELEMENT_ERROR(self, LIBRARY, FAILED, ("Inference failed: %s", model->last_error().c_str()), (nullptr));
    return nullptr;
  }
  if (slow && GST_CLOCK_TIME_IS_VALID(arrived)) {
    const GstClockTime now = rtcoinfer::element_clock_time(GST_ELEMENT(self));
    const GstClockTime until =
        std::max(now + GstClockTime((scale - 1.0) * ms * GST_MSECOND), arrived + GstClockTime(time_ms * GST_MSECOND));
    if (until > now) wait_until(self, until);
    st->busy_until = rtcoinfer::element_clock_time(GST_ELEMENT(self));
  }

  rtcoinfer::FrameFacts facts;
  if (origin) {
    facts.seq = ledger->sequence(origin->seq).seq;
    facts.setup = origin->codec;
    facts.bytes = origin->bytes;
    if (origin->truth >= 0) facts.truth = origin->truth;
    facts.latency_ms = gint32(guint32(rtcoinfer::realtime_us()) - origin->capture_us) / 1000.0;
  } else {
    facts.setup = "local";
    const GstRtcoinferTruthMeta *truth = gst_buffer_get_rtcoinfer_truth_meta(inbuf);
    if (truth && truth->label >= 0) facts.truth = truth->label;
    facts.latency_ms = double(rtcoinfer::realtime_us() - capture_us) / 1000.0;
    GST_OBJECT_LOCK(self);
    facts.seq = st->seq++;
    GST_OBJECT_UNLOCK(self);
  }
  GST_OBJECT_LOCK(self);
  st->ms_total += ms;
  GST_OBJECT_UNLOCK(self);
  const rtcoinfer::Result result = rtcoinfer::classify(logits, model->info(), top_k, facts, GST_BUFFER_PTS(inbuf));
  ledger->count_result(facts.setup, facts.bytes, facts.latency_ms, facts.truth,
                       facts.truth && *facts.truth == result.best);
  return rtcoinfer::emit_result(GST_ELEMENT(self), result, facts, inbuf);
}

static GstFlowReturn gst_rtcoinfer_classify_generate_output(GstBaseTransform *trans, GstBuffer **outbuf) {
  return rtcoinfer::one_output_per_input(trans, outbuf, [trans](GstBuffer *inbuf, GstBuffer **out) {
    *out = answer(GST_RTCOINFER_CLASSIFY(trans), inbuf);
    return GST_FLOW_OK;
  });
}

static void gst_rtcoinfer_classify_set_property(GObject *object, guint prop_id, const GValue *value,
                                                GParamSpec *pspec) {
  auto *self = GST_RTCOINFER_CLASSIFY(object);
  GST_OBJECT_LOCK(self);
  switch (prop_id) {
    case PROP_TOP_K: self->state->top_k = g_value_get_int(value); break;
    case PROP_COMPUTE_SCALE: self->state->compute_scale = g_value_get_double(value); break;
    case PROP_COMPUTE_TIME: self->state->compute_time_ms = g_value_get_double(value); break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
  }
  GST_OBJECT_UNLOCK(self);
}

static void gst_rtcoinfer_classify_get_property(GObject *object, guint prop_id, GValue *value, GParamSpec *pspec) {
  auto *self = GST_RTCOINFER_CLASSIFY(object);
  ClassifyState *st = self->state;
  if (prop_id == PROP_STATS) {
    GstStructure *s = gst_rtcoinfer_inference_ledger_structure(base_of(self), "rtcoinfer-classify-stats");
    guint64 results = 0;
    gst_structure_get_uint64(s, "results", &results);
    GST_OBJECT_LOCK(self);
    const guint64 busy = st->busy;
    const double mean_ms = results ? st->ms_total / double(results) : 0.0;
    GST_OBJECT_UNLOCK(self);
    gst_structure_set(s, "busy", G_TYPE_UINT64, busy, "mean-ms", G_TYPE_DOUBLE, mean_ms, nullptr);
    g_value_take_boxed(value, s);
    return;
  }
  GST_OBJECT_LOCK(self);
  switch (prop_id) {
    case PROP_TOP_K: g_value_set_int(value, st->top_k); break;
    case PROP_COMPUTE_SCALE: g_value_set_double(value, st->compute_scale); break;
    case PROP_COMPUTE_TIME: g_value_set_double(value, st->compute_time_ms); break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
  }
  GST_OBJECT_UNLOCK(self);
}

static void gst_rtcoinfer_classify_finalize(GObject *object) {
  delete GST_RTCOINFER_CLASSIFY(object)->state;
  G_OBJECT_CLASS(parent_class)->finalize(object);
}

static void gst_rtcoinfer_classify_init(GstRtcoinferClassify *self) { self->state = new ClassifyState(); }

static void gst_rtcoinfer_classify_class_init(GstRtcoinferClassifyClass *klass) {
  GObjectClass *gobject_class = G_OBJECT_CLASS(klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS(klass);
  GstBaseTransformClass *trans_class = GST_BASE_TRANSFORM_CLASS(klass);
  gobject_class->set_property = gst_rtcoinfer_classify_set_property;
  gobject_class->get_property = gst_rtcoinfer_classify_get_property;
  gobject_class->finalize = gst_rtcoinfer_classify_finalize;
  element_class->change_state = GST_DEBUG_FUNCPTR(gst_rtcoinfer_classify_change_state);

  const auto rw_playing = GParamFlags(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_PLAYING);
  /**
   * GstRtcoinferClassify:top-k:
   *
   * The number of best classes, with their scores, listed in each result, 1..1000
   * (at most the model's classes). May change while PLAYING: applies from the next frame.
   */
  g_object_class_install_property(
      gobject_class, PROP_TOP_K,
      g_param_spec_int("top-k", "Top k", "Number of best classes listed in each result, 1..1000", 1, 1000,
                       DEFAULT_TOP_K, rw_playing));
  /**
   * GstRtcoinferClassify:compute-scale:
   *
   * Emulates a device this many times slower than this machine, 1..1000: after each
   * frame the element stays busy for (scale - 1) x its measured inference time, and frames
   * a live source captured meanwhile are dropped as `busy`; 1 emulates nothing.
   */
  g_object_class_install_property(
      gobject_class, PROP_COMPUTE_SCALE,
      g_param_spec_double("compute-scale", "Compute scale", "Emulated device slowdown factor, 1..1000; 1 = none", 1.0,
                          1000.0, DEFAULT_COMPUTE_SCALE, rw_playing));
  /**
   * GstRtcoinferClassify:compute-time:
   *
   * Emulates a device that needs this many milliseconds per frame, 0..100000: the element
   * stays busy that long from the frame's arrival (or longer, if the real work or
   * compute-scale takes longer), dropping frames captured meanwhile as `busy`; 0 sets no
   * floor. Unlike compute-scale it does not follow this machine's load.
   */
  g_object_class_install_property(
      gobject_class, PROP_COMPUTE_TIME,
      g_param_spec_double("compute-time", "Compute time", "Emulated device time per frame, ms, 0..100000; 0 = none",
                          0.0, 100000.0, DEFAULT_COMPUTE_TIME_MS, rw_playing));
  /**
   * GstRtcoinferClassify:stats:
   *
   * Read-only: the counts rtcoinfer-tail keeps (frames, results, dropped, drops, missing,
   * restarts, bytes, with-truth, correct, accuracy, latency-p50-ms, latency-p99-ms), plus
   * `busy` (guint64, frames dropped while the emulated device was busy) and `mean-ms`
   * (gdouble, the whole model's inference time per result, before any emulated slowdown).
   */
  g_object_class_install_property(
      gobject_class, PROP_STATS,
      g_param_spec_boxed("stats", "Statistics", "Counters as rtcoinfer-tail's, plus busy and mean-ms",
                         GST_TYPE_STRUCTURE, GParamFlags(G_PARAM_READABLE | G_PARAM_STATIC_STRINGS)));

  gst_element_class_add_static_pad_template(element_class, &sink_template);
  gst_element_class_add_static_pad_template(element_class, &src_template);
  gst_element_class_set_static_metadata(
      element_class, "RTCoInfer whole-model classifier (baselines)", "Filter/Analyzer/Video",
      "Runs the whole model on each frame; emits JSON results", "gst-rtcoinfer developers");
  GST_RTCOINFER_INFERENCE_CLASS(klass)->model_ready = gst_rtcoinfer_classify_model_ready;
  trans_class->transform_caps = GST_DEBUG_FUNCPTR(gst_rtcoinfer_classify_transform_caps);
  trans_class->set_caps = GST_DEBUG_FUNCPTR(gst_rtcoinfer_classify_set_caps);
  trans_class->sink_event = GST_DEBUG_FUNCPTR(gst_rtcoinfer_classify_sink_event);
  trans_class->generate_output = GST_DEBUG_FUNCPTR(gst_rtcoinfer_classify_generate_output);
  trans_class->passthrough_on_same_caps = FALSE;
}
