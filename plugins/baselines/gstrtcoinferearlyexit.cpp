/**
 * SECTION:element-rtcoinfer-earlyexit
 * @title: rtcoinfer-earlyexit
 *
 * The SPINN-style baseline's early exit, before rtcoinfer-head: each video frame goes
 * through the head (at the uncompressed setup, as the exit was trained) and the exit
 * classifier that `rtcoinfer-train exit` trained for the bundle. When the exit's
 * confidence reaches `exit-threshold`, the answer is posted on the bus as an
 * `rtcoinfer-result` message with "setup": "exit", the frame goes no further, and an
 * `rtcoinfer-answered` event tells rtcoinfer-head to give it a frame number (the server
 * sees the gap). Other frames pass through untouched.
 *
 * ## Example launch line
 * |[
 * gst-launch-1.0 rtcoinfer-datasetsrc num-buffers=100 ! videoconvert \
 *     ! rtcoinfer-earlyexit model=models/zoo/fashion-mnist-swcnn.rcib exit=results/eval/exit exit-threshold=0.9 \
 *     ! rtcoinfer-head model=models/zoo/fashion-mnist-swcnn.rcib ! rtcoinfer-compress setup=2x4 \
 *     ! rtcoinfer-tail model=models/zoo/fashion-mnist-swcnn.rcib ! fdsink
 * ]| Answers the confident frames on the device and sends the rest at 2x4.
 */
#include "gstrtcoinferearlyexit.h"

#include <string>

#include "common/model_instance.h"
#include "common/result_output.h"
#include "contract/rtcoinfer_meta.h"
#include "contract/setup_event.h"

GST_DEBUG_CATEGORY_STATIC(gst_rtcoinfer_early_exit_debug);
#define GST_CAT_DEFAULT gst_rtcoinfer_early_exit_debug

#define DEFAULT_EXIT_THRESHOLD 0.9
#define DEFAULT_TOP_K 5

namespace {

struct ExitState {
  // with the object lock
  std::string exit_dir;
  double threshold = DEFAULT_EXIT_THRESHOLD;
  int top_k = DEFAULT_TOP_K;
  guint64 frames = 0, exits = 0, seq = 0;
  double exit_ms_total = 0;
  // streaming thread only
  GstVideoInfo vinfo;
  std::vector<float> input;
};

}  // namespace

struct _GstRtcoinferEarlyExit {
  GstRtcoinferInference parent;
  ExitState *state;
};

enum { PROP_0, PROP_EXIT, PROP_EXIT_THRESHOLD, PROP_TOP_K, PROP_STATS };

static GstStaticPadTemplate sink_template = GST_STATIC_PAD_TEMPLATE(
    "sink", GST_PAD_SINK, GST_PAD_ALWAYS, GST_STATIC_CAPS(GST_VIDEO_CAPS_MAKE(RTCOINFER_INFERENCE_VIDEO_FORMATS)));
static GstStaticPadTemplate src_template = GST_STATIC_PAD_TEMPLATE(
    "src", GST_PAD_SRC, GST_PAD_ALWAYS, GST_STATIC_CAPS(GST_VIDEO_CAPS_MAKE(RTCOINFER_INFERENCE_VIDEO_FORMATS)));

#define gst_rtcoinfer_early_exit_parent_class parent_class
G_DEFINE_TYPE_WITH_CODE(GstRtcoinferEarlyExit, gst_rtcoinfer_early_exit, GST_TYPE_RTCOINFER_INFERENCE,
                        GST_DEBUG_CATEGORY_INIT(gst_rtcoinfer_early_exit_debug, "rtcoinfer-earlyexit", 0,
                                                "RTCoInfer SPINN-style early exit (baselines)"));
GST_ELEMENT_REGISTER_DEFINE(rtcoinfer_earlyexit, "rtcoinfer-earlyexit", GST_RANK_NONE, GST_TYPE_RTCOINFER_EARLY_EXIT);

static gboolean gst_rtcoinfer_early_exit_model_ready(GstRtcoinferInference *base, rtcoinfer::InferenceModel &model) {
  auto *self = GST_RTCOINFER_EARLY_EXIT(base);
  GST_OBJECT_LOCK(self);
  const std::string dir = self->state->exit_dir;
  self->state->frames = self->state->exits = self->state->seq = 0;
  self->state->exit_ms_total = 0;
  GST_OBJECT_UNLOCK(self);
  if (dir.empty()) {
    GST_ELEMENT_ERROR(self, RESOURCE, NOT_FOUND, ("No early exit given"),
                      ("set exit=<folder written by rtcoinfer-train exit>"));
    return FALSE;
  }
  return rtcoinfer::load_exit_for(GST_ELEMENT(self), model, dir);
}

static gboolean gst_rtcoinfer_early_exit_set_caps(GstBaseTransform *trans, GstCaps *incaps, GstCaps *) {
  auto *self = GST_RTCOINFER_EARLY_EXIT(trans);
  if (!gst_video_info_from_caps(&self->state->vinfo, incaps)) {
    GST_ELEMENT_ERROR(self, CORE, NEGOTIATION, ("Cannot parse video caps"), ("%" GST_PTR_FORMAT, incaps));
    return FALSE;
  }
  return TRUE;
}

static GstFlowReturn gst_rtcoinfer_early_exit_transform_ip(GstBaseTransform *trans, GstBuffer *buf) {
  auto *self = GST_RTCOINFER_EARLY_EXIT(trans);
  auto *base = GST_RTCOINFER_INFERENCE(trans);
  ExitState *st = self->state;
  const auto model = gst_rtcoinfer_inference_get_model(base);
  if (!model) return GST_FLOW_NOT_NEGOTIATED;
  GST_OBJECT_LOCK(self);
  const double threshold = st->threshold;
  const int top_k = st->top_k;
  GST_OBJECT_UNLOCK(self);
  const std::uint64_t capture_us = gst_rtcoinfer_inference_capture_us(base, buf);
  if (!gst_rtcoinfer_inference_video_input(base, &st->vinfo, buf, st->input)) {
    GST_OBJECT_LOCK(self);
    st->frames++;
    st->seq++;
    GST_OBJECT_UNLOCK(self);
    return GST_FLOW_OK;  // the head counts it as unmappable
  }
  const gint64 t0 = g_get_monotonic_time();
  const std::vector<float> logits = model->exit_logits(st->input.data(), 1);
  const double ms = (g_get_monotonic_time() - t0) / 1000.0;
  if (logits.empty()) {
    GST_ELEMENT_ERROR(self, LIBRARY, FAILED, ("Early exit failed: %s", model->last_error().c_str()), (nullptr));
    return GST_FLOW_ERROR;
  }
  rtcoinfer::FrameFacts facts;
  facts.setup = "exit";
  const GstRtcoinferTruthMeta *truth = gst_buffer_get_rtcoinfer_truth_meta(buf);
  if (truth && truth->label >= 0) facts.truth = truth->label;
  rtcoinfer::Result result = rtcoinfer::classify(logits, model->info(), top_k, facts, GST_BUFFER_PTS(buf));
  GST_OBJECT_LOCK(self);
  facts.seq = st->seq++;  // one numbering with rtcoinfer-head's
  st->frames++;
  st->exit_ms_total += ms;
  const bool answered = result.score >= threshold;
  if (answered) st->exits++;
  GST_OBJECT_UNLOCK(self);
  if (!answered) return GST_FLOW_OK;
  facts.latency_ms = double(rtcoinfer::realtime_us() - capture_us) / 1000.0;
  result.json["seq"] = facts.seq;
  result.json["latency_ms"] = facts.latency_ms;
  rtcoinfer::post_result(GST_ELEMENT(self), result, facts);
  gst_pad_push_event(GST_BASE_TRANSFORM_SRC_PAD(trans), rtcoinfer::answered_event_new());
  return GST_BASE_TRANSFORM_FLOW_DROPPED;
}

static void gst_rtcoinfer_early_exit_set_property(GObject *object, guint prop_id, const GValue *value,
                                                  GParamSpec *pspec) {
  auto *self = GST_RTCOINFER_EARLY_EXIT(object);
  GST_OBJECT_LOCK(self);
  switch (prop_id) {
    case PROP_EXIT: self->state->exit_dir = g_value_get_string(value) ? g_value_get_string(value) : ""; break;
    case PROP_EXIT_THRESHOLD: self->state->threshold = g_value_get_double(value); break;
    case PROP_TOP_K: self->state->top_k = g_value_get_int(value); break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
  }
  GST_OBJECT_UNLOCK(self);
}

static void gst_rtcoinfer_early_exit_get_property(GObject *object, guint prop_id, GValue *value, GParamSpec *pspec) {
  auto *self = GST_RTCOINFER_EARLY_EXIT(object);
  ExitState *st = self->state;
  GST_OBJECT_LOCK(self);
  switch (prop_id) {
    case PROP_EXIT: g_value_set_string(value, st->exit_dir.empty() ? nullptr : st->exit_dir.c_str()); break;
    case PROP_EXIT_THRESHOLD: g_value_set_double(value, st->threshold); break;
    case PROP_TOP_K: g_value_set_int(value, st->top_k); break;
    case PROP_STATS:
      g_value_take_boxed(value, gst_structure_new("rtcoinfer-earlyexit-stats", "frames", G_TYPE_UINT64, st->frames,
                                                  "exits", G_TYPE_UINT64, st->exits, "mean-exit-ms", G_TYPE_DOUBLE,
                                                  st->frames ? st->exit_ms_total / double(st->frames) : 0.0, nullptr));
      break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
  }
  GST_OBJECT_UNLOCK(self);
}

static void gst_rtcoinfer_early_exit_finalize(GObject *object) {
  delete GST_RTCOINFER_EARLY_EXIT(object)->state;
  G_OBJECT_CLASS(parent_class)->finalize(object);
}

static void gst_rtcoinfer_early_exit_init(GstRtcoinferEarlyExit *self) {
  self->state = new ExitState();
  gst_base_transform_set_in_place(GST_BASE_TRANSFORM(self), TRUE);
}

static void gst_rtcoinfer_early_exit_class_init(GstRtcoinferEarlyExitClass *klass) {
  GObjectClass *gobject_class = G_OBJECT_CLASS(klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS(klass);
  GstBaseTransformClass *trans_class = GST_BASE_TRANSFORM_CLASS(klass);
  gobject_class->set_property = gst_rtcoinfer_early_exit_set_property;
  gobject_class->get_property = gst_rtcoinfer_early_exit_get_property;
  gobject_class->finalize = gst_rtcoinfer_early_exit_finalize;

  const auto rw = GParamFlags(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS);
  /**
   * GstRtcoinferEarlyExit:exit:
   *
   * The folder `rtcoinfer-train exit` wrote for this bundle (exit.json, exit.pt); an exit
   * trained for another bundle is refused. Loaded when the element starts.
   */
  g_object_class_install_property(
      gobject_class, PROP_EXIT,
      g_param_spec_string("exit", "Early exit", "Folder written by rtcoinfer-train exit for this bundle", nullptr, rw));
  /**
   * GstRtcoinferEarlyExit:exit-threshold:
   *
   * Softmax confidence, 0..1, at which the exit answers a frame on the device; 0 answers
   * every frame, 1 (almost) none. May change while PLAYING.
   */
  g_object_class_install_property(
      gobject_class, PROP_EXIT_THRESHOLD,
      g_param_spec_double("exit-threshold", "Exit threshold", "Confidence at which a frame is answered here", 0.0, 1.0,
                          DEFAULT_EXIT_THRESHOLD, GParamFlags(rw | GST_PARAM_MUTABLE_PLAYING)));
  /**
   * GstRtcoinferEarlyExit:top-k:
   *
   * Number of best classes listed in each answer, 1..1000. May change while PLAYING.
   */
  g_object_class_install_property(gobject_class, PROP_TOP_K,
                                  g_param_spec_int("top-k", "Top k", "Best classes listed in each answer", 1, 1000,
                                                   DEFAULT_TOP_K, GParamFlags(rw | GST_PARAM_MUTABLE_PLAYING)));
  /**
   * GstRtcoinferEarlyExit:stats:
   *
   * Read-only: `frames` (guint64, seen), `exits` (guint64, answered here and not sent),
   * `mean-exit-ms` (gdouble, head plus exit per frame).
   */
  g_object_class_install_property(
      gobject_class, PROP_STATS,
      g_param_spec_boxed("stats", "Statistics", "Counters: frames, exits, mean-exit-ms", GST_TYPE_STRUCTURE,
                         GParamFlags(G_PARAM_READABLE | G_PARAM_STATIC_STRINGS)));
  gst_element_class_add_static_pad_template(element_class, &sink_template);
  gst_element_class_add_static_pad_template(element_class, &src_template);
  gst_element_class_set_static_metadata(
      element_class, "RTCoInfer early exit (SPINN-style baseline)", "Filter/Analyzer/Video",
      "Answers confident frames on the device and drops them", "gst-rtcoinfer developers");
  GST_RTCOINFER_INFERENCE_CLASS(klass)->shares_model = FALSE;  // the exit is attached to its instance
  GST_RTCOINFER_INFERENCE_CLASS(klass)->model_ready = gst_rtcoinfer_early_exit_model_ready;
  trans_class->set_caps = GST_DEBUG_FUNCPTR(gst_rtcoinfer_early_exit_set_caps);
  trans_class->transform_ip = GST_DEBUG_FUNCPTR(gst_rtcoinfer_early_exit_transform_ip);
  trans_class->passthrough_on_same_caps = FALSE;
}
