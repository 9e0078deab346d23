/**
 * SECTION:GstRtcoinferInference
 * @title: GstRtcoinferInference
 * @short_description: base class of the elements that run a model bundle
 *
 * Owns the `model` and `threads` properties and the model instance, shared by every
 * element of the process that names the same bundle (by model id), counts drops by
 * reason, and turns video frames into the model's input. Abstract: see rtcoinfer-head,
 * rtcoinfer-tail, rtcoinfer-classify and rtcoinfer-earlyexit.
 */
#include "gstrtcoinferinference.h"

#include "common/element_clock.h"

#include <map>
#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

#include "common/model_instance.h"
#include "common/drop_warning.h"
#include "contract/rtcoinfer_meta.h"
#include "data/model_input.h"

GST_DEBUG_CATEGORY_STATIC(gst_rtcoinfer_inference_debug);
#define GST_CAT_DEFAULT gst_rtcoinfer_inference_debug

#define DEFAULT_THREADS 0

namespace {

struct InferenceState {
  // with the object lock
  std::string model_location;
  int threads = DEFAULT_THREADS;
  std::shared_ptr<rtcoinfer::InferenceModel> model;
  std::string bundle_file;
  // thread-safe itself
  std::shared_ptr<rtcoinfer::ResultLedger> ledger = std::make_shared<rtcoinfer::ResultLedger>();
  // streaming thread only
  std::optional<bool> live;  // upstream is live (asked once per run)
  cv::Mat scratch;
};

}  // namespace

struct GstRtcoinferInferencePrivate {
  InferenceState *state;
};

enum { PROP_0, PROP_MODEL, PROP_THREADS };

#define gst_rtcoinfer_inference_parent_class parent_class
G_DEFINE_ABSTRACT_TYPE_WITH_CODE(GstRtcoinferInference, gst_rtcoinfer_inference, GST_TYPE_BASE_TRANSFORM,
                                 G_ADD_PRIVATE(GstRtcoinferInference);
                                 GST_DEBUG_CATEGORY_INIT(gst_rtcoinfer_inference_debug, "rtcoinfer-inference", 0,
                                                         "RTCoInfer inference base class"));

static InferenceState *state_of(GstRtcoinferInference *self) {
  return static_cast<GstRtcoinferInferencePrivate *>(gst_rtcoinfer_inference_get_instance_private(self))->state;
}

std::shared_ptr<rtcoinfer::InferenceModel> gst_rtcoinfer_inference_get_model(GstRtcoinferInference *self) {
  GST_OBJECT_LOCK(self);
  auto model = state_of(self)->model;
  GST_OBJECT_UNLOCK(self);
  return model;
}

std::string gst_rtcoinfer_inference_get_bundle_file(GstRtcoinferInference *self) {
  GST_OBJECT_LOCK(self);
  std::string file = state_of(self)->bundle_file;
  GST_OBJECT_UNLOCK(self);
  return file;
}

std::shared_ptr<rtcoinfer::ResultLedger> gst_rtcoinfer_inference_get_ledger(GstRtcoinferInference *self) {
  return state_of(self)->ledger;
}

guint64 gst_rtcoinfer_inference_count_drop(GstRtcoinferInference *self, const char *reason, const std::string &detail) {
  const guint64 n = state_of(self)->ledger->count_drop(reason);
  if (rtcoinfer::drop_worth_a_warning(n))
    GST_ELEMENT_WARNING(self, STREAM, DECODE, ("Dropped a frame (%s), %" G_GUINT64_FORMAT " so far", reason, n),
                        ("%s", detail.c_str()));
  else
    GST_DEBUG_OBJECT(self, "dropped (%s): %s", reason, detail.c_str());
  return n;
}

GstStructure *gst_rtcoinfer_inference_drops_structure(const rtcoinfer::ResultLedger::Snapshot &c) {
  GstStructure *drops = gst_structure_new_empty("drops");
  for (const auto &[reason, n] : c.drops) gst_structure_set(drops, reason.c_str(), G_TYPE_UINT64, guint64(n), nullptr);
  return drops;
}

GstStructure *gst_rtcoinfer_inference_ledger_structure(GstRtcoinferInference *self, const char *name) {
  return gst_rtcoinfer_snapshot_structure(state_of(self)->ledger->snapshot(), name);
}

GstStructure *gst_rtcoinfer_snapshot_structure(const rtcoinfer::ResultLedger::Snapshot &c, const char *name) {
  GstStructure *s = gst_structure_new(
      name, "frames", G_TYPE_UINT64, guint64(c.frames), "results", G_TYPE_UINT64, guint64(c.results), "dropped",
      G_TYPE_UINT64, guint64(c.dropped), "missing", G_TYPE_UINT64, guint64(c.missing), "restarts", G_TYPE_UINT64,
      guint64(c.restarts), "bytes", G_TYPE_UINT64, guint64(c.bytes), "with-truth", G_TYPE_UINT64, guint64(c.with_truth),
      "correct", G_TYPE_UINT64, guint64(c.correct), "accuracy", G_TYPE_DOUBLE, c.accuracy(), "latency-p50-ms",
      G_TYPE_DOUBLE, c.latency_p50_ms, "latency-p99-ms", G_TYPE_DOUBLE, c.latency_p99_ms, "skipped", G_TYPE_UINT64,
      guint64(c.skipped), "lost", G_TYPE_UINT64, guint64(c.lost), "device-frames", G_TYPE_UINT64,
      guint64(c.device_frames), "unreadable", G_TYPE_UINT64, guint64(c.unreadable), nullptr);
  GstStructure *drops = gst_rtcoinfer_inference_drops_structure(c);
  gst_structure_set(s, "drops", GST_TYPE_STRUCTURE, drops, nullptr);
  gst_structure_free(drops);
  return s;
}

// The frame's first plane as an OpenCV view, and its channel order.
static cv::Mat view_of(const GstVideoFrame *frame, rtcoinfer::PixelOrder &order) {
  const int w = GST_VIDEO_FRAME_WIDTH(frame), h = GST_VIDEO_FRAME_HEIGHT(frame);
  switch (GST_VIDEO_FRAME_FORMAT(frame)) {
    case GST_VIDEO_FORMAT_GRAY8: order = rtcoinfer::PixelOrder::Gray; break;
    case GST_VIDEO_FORMAT_RGB: order = rtcoinfer::PixelOrder::RGB; break;
    case GST_VIDEO_FORMAT_BGR: order = rtcoinfer::PixelOrder::BGR; break;
    case GST_VIDEO_FORMAT_RGBA:
    case GST_VIDEO_FORMAT_RGBx: order = rtcoinfer::PixelOrder::RGBA; break;
    default: order = rtcoinfer::PixelOrder::BGRA; break;  // BGRA, BGRx: the caps allow nothing else
  }
  const int components = order == rtcoinfer::PixelOrder::Gray ? 1 : GST_VIDEO_FRAME_COMP_PSTRIDE(frame, 0);
  return cv::Mat(h, w, CV_8UC(components), GST_VIDEO_FRAME_PLANE_DATA(frame, 0),
                 GST_VIDEO_FRAME_PLANE_STRIDE(frame, 0));
}

bool gst_rtcoinfer_inference_video_input(GstRtcoinferInference *self, const GstVideoInfo *info, GstBuffer *buf,
                                         std::vector<float> &out) {
  InferenceState *st = state_of(self);
  const auto model = gst_rtcoinfer_inference_get_model(self);
  if (!model) return false;
  GstVideoFrame frame;
  if (!gst_video_frame_map(&frame, const_cast<GstVideoInfo *>(info), buf, GST_MAP_READ)) return false;
  rtcoinfer::PixelOrder order;
  const cv::Mat view = view_of(&frame, order);
  rtcoinfer::fit_to_model(view, order, model->info().input, st->scratch, out);
  gst_video_frame_unmap(&frame);
  return true;
}

GstClockTime gst_rtcoinfer_inference_capture_clock_time(GstRtcoinferInference *self, GstBuffer *buf) {
  InferenceState *st = state_of(self);
  if (!st->live) {
    GstQuery *q = gst_query_new_latency();
    gboolean live = FALSE;
    if (gst_pad_peer_query(GST_BASE_TRANSFORM_SINK_PAD(self), q)) gst_query_parse_latency(q, &live, nullptr, nullptr);
    gst_query_unref(q);
    st->live = live;
  }
  if (!*st->live || !GST_BUFFER_PTS_IS_VALID(buf)) return GST_CLOCK_TIME_NONE;
  const GstSegment &segment = GST_BASE_TRANSFORM(self)->segment;
  const GstClockTime running = gst_segment_to_running_time(&segment, GST_FORMAT_TIME, GST_BUFFER_PTS(buf));
  if (!GST_CLOCK_TIME_IS_VALID(running)) return GST_CLOCK_TIME_NONE;
  return running + gst_element_get_base_time(GST_ELEMENT(self));
}

std::uint64_t gst_rtcoinfer_inference_capture_us(GstRtcoinferInference *self, GstBuffer *buf) {
  std::uint64_t capture_us = rtcoinfer::realtime_us();
  const GstClockTime captured = gst_rtcoinfer_inference_capture_clock_time(self, buf);
  const GstClockTime now = rtcoinfer::element_clock_time(GST_ELEMENT(self));
  if (GST_CLOCK_TIME_IS_VALID(captured) && GST_CLOCK_TIME_IS_VALID(now) && captured < now)
    capture_us -= (now - captured) / 1000;
  return capture_us;
}

static gboolean gst_rtcoinfer_inference_start(GstBaseTransform *trans) {
  auto *self = GST_RTCOINFER_INFERENCE(trans);
  auto *klass = GST_RTCOINFER_INFERENCE_GET_CLASS(self);
  InferenceState *st = state_of(self);
  GST_OBJECT_LOCK(self);
  const std::string location = st->model_location;
  const int threads = st->threads;
  GST_OBJECT_UNLOCK(self);
  st->ledger->reset();
  st->live.reset();
  std::string bundle_file;
  std::shared_ptr<rtcoinfer::InferenceModel> model =
      klass->shares_model ? rtcoinfer::acquire_model_for(GST_ELEMENT(self), location, threads, &bundle_file)
                          : rtcoinfer::load_private_model_for(GST_ELEMENT(self), location, threads, &bundle_file);
  if (!model) return FALSE;
  GST_OBJECT_LOCK(self);
  st->bundle_file = bundle_file;
  GST_OBJECT_UNLOCK(self);
  if (klass->model_ready && !klass->model_ready(self, *model)) return FALSE;
  GST_OBJECT_LOCK(self);
  st->model = std::move(model);
  GST_OBJECT_UNLOCK(self);
  return TRUE;
}

static gboolean gst_rtcoinfer_inference_stop(GstBaseTransform *trans) {
  auto *self = GST_RTCOINFER_INFERENCE(trans);
  GST_OBJECT_LOCK(self);
  std::shared_ptr<rtcoinfer::InferenceModel> model = std::move(state_of(self)->model);
  GST_OBJECT_UNLOCK(self);
  model.reset();  // outside the lock: the last holder frees the network
  return TRUE;
}

static void gst_rtcoinfer_inference_set_property(GObject *object, guint prop_id, const GValue *value,
                                                 GParamSpec *pspec) {
  auto *self = GST_RTCOINFER_INFERENCE(object);
  InferenceState *st = state_of(self);
  GST_OBJECT_LOCK(self);
  switch (prop_id) {
    case PROP_MODEL: st->model_location = g_value_get_string(value) ? g_value_get_string(value) : ""; break;
    case PROP_THREADS: st->threads = g_value_get_int(value); break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
  }
  GST_OBJECT_UNLOCK(self);
}

static void gst_rtcoinfer_inference_get_property(GObject *object, guint prop_id, GValue *value, GParamSpec *pspec) {
  auto *self = GST_RTCOINFER_INFERENCE(object);
  InferenceState *st = state_of(self);
  GST_OBJECT_LOCK(self);
  switch (prop_id) {
    case PROP_MODEL: g_value_set_string(value, st->model_location.c_str()); break;
    case PROP_THREADS: g_value_set_int(value, st->threads); break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
  }
  GST_OBJECT_UNLOCK(self);
}

static void gst_rtcoinfer_inference_finalize(GObject *object) {
  delete state_of(GST_RTCOINFER_INFERENCE(object));
  G_OBJECT_CLASS(parent_class)->finalize(object);
}

static void gst_rtcoinfer_inference_init(GstRtcoinferInference *self) {
  static_cast<GstRtcoinferInferencePrivate *>(gst_rtcoinfer_inference_get_instance_private(self))->state =
      new InferenceState();
}

static void gst_rtcoinfer_inference_class_init(GstRtcoinferInferenceClass *klass) {
  GObjectClass *gobject_class = G_OBJECT_CLASS(klass);
  GstBaseTransformClass *trans_class = GST_BASE_TRANSFORM_CLASS(klass);
  gobject_class->set_property = gst_rtcoinfer_inference_set_property;
  gobject_class->get_property = gst_rtcoinfer_inference_get_property;
  gobject_class->finalize = gst_rtcoinfer_inference_finalize;
  klass->shares_model = TRUE;

  const auto rw = GParamFlags(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS);
  /**
   * GstRtcoinferInference:model:
   *
   * The model bundle: a path of a `.rcib` file written by rtcoinfer-train, or an
   * `http(s)://host:port/models/<id>` URL, fetched from a server's rtcoinfer-tail into
   * `$XDG_CACHE_HOME/rtcoinfer` and verified against `<id>`. Every element of the process
   * that names the same bundle shares one loaded instance. Read when the element starts.
   */
  g_object_class_install_property(
      gobject_class, PROP_MODEL,
      g_param_spec_string("model", "Model bundle",
                          "Model bundle file (.rcib) or http(s)://host:port/models/<id> URL; "
                          "read when the element starts",
                          nullptr, rw));
  /**
   * GstRtcoinferInference:threads:
   *
   * LibTorch intra-op threads, 1..256; 0 keeps LibTorch's default (all cores). LibTorch
   * applies it to the whole process.
   */
  g_object_class_install_property(
      gobject_class, PROP_THREADS,
      g_param_spec_int("threads", "Threads",
                       "LibTorch intra-op threads, 1..256; 0 = LibTorch's default (all cores); "
                       "process-wide",
                       0, 256, DEFAULT_THREADS, rw));
  trans_class->start = GST_DEBUG_FUNCPTR(gst_rtcoinfer_inference_start);
  trans_class->stop = GST_DEBUG_FUNCPTR(gst_rtcoinfer_inference_stop);
  gst_type_mark_as_plugin_api(GST_TYPE_RTCOINFER_INFERENCE, GstPluginAPIFlags(0));
}
