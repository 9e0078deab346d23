/**
 * SECTION:element-rtcoinfer-head
 * @title: rtcoinfer-head
 *
 * The device half of RTCoInfer: resizes and normalizes each video frame to the model
 * bundle's input spec, runs the SW-CNN up to its partition layer with the BatchNorm
 * statistics of the current setup, and pushes the partition tensor (all channels,
 * float32 C x H x W) for rtcoinfer-compress. Each output buffer carries a
 * GstRtcoinferFeaturesMeta with the setup, a frame sequence number, the capture time
 * and, from a labeled source, the ground truth.
 *
 * The setup follows the `setup` property and upstream `rtcoinfer-setup` events (from
 * rtcoinfer-compress, which forwards those of rtcoinfer-mpcrate); either applies from
 * the next frame. Any raw video size is accepted and resized; other formats come through
 * videoconvert. A bundle that cannot be loaded fails the state change with the reason.
 * A frame answered before the head (an `rtcoinfer-answered` event, from the baselines'
 * rtcoinfer-earlyexit) takes the next frame number, so the server sees the gap.
 *
 * ## Example launch line
 * |[
 * gst-launch-1.0 videotestsrc num-buffers=30 ! videoconvert ! rtcoinfer-head model=models/zoo/fashion-mnist-swcnn.rcib \
 *     ! rtcoinfer-compress ! rtcoinfer-tail model=models/zoo/fashion-mnist-swcnn.rcib ! fdsink
 * ]| Classifies 30 test-pattern frames (resized to the model's 28x28 gray input) and
 * prints the JSON results.
 */
#include "gstrtcoinferhead.h"

#include <cstring>
#include <optional>
#include <string>

#include "contract/rtcoinfer_meta.h"
#include "contract/setup_event.h"

GST_DEBUG_CATEGORY_STATIC(gst_rtcoinfer_head_debug);
#define GST_CAT_DEFAULT gst_rtcoinfer_head_debug

#define DEFAULT_SETUP ""

namespace {

struct HeadState {
  // with the object lock
  std::string setup_text = DEFAULT_SETUP;  // empty: the model's largest setup
  std::optional<rtcoinfer::Setup> setup;   // resolved against the model while running
  guint64 frames = 0, dropped = 0, answered_upstream = 0, seq = 0;
  double head_ms_total = 0;

  // streaming thread only
  GstVideoInfo vinfo;
  std::vector<float> input;
};

}  // namespace

struct _GstRtcoinferHead {
  GstRtcoinferInference parent;
  HeadState *state;
};

enum { PROP_0, PROP_SETUP, PROP_STATS };

static GstStaticPadTemplate sink_template = GST_STATIC_PAD_TEMPLATE(
    "sink", GST_PAD_SINK, GST_PAD_ALWAYS, GST_STATIC_CAPS(GST_VIDEO_CAPS_MAKE(RTCOINFER_INFERENCE_VIDEO_FORMATS)));
static GstStaticPadTemplate src_template = GST_STATIC_PAD_TEMPLATE(
    "src", GST_PAD_SRC, GST_PAD_ALWAYS,
    GST_STATIC_CAPS(RTCOINFER_FEATURES_CAPS_NAME ", channels=(int)[1,256], height=(int)[1,256], width=(int)[1,256]"));

#define gst_rtcoinfer_head_parent_class parent_class
G_DEFINE_TYPE_WITH_CODE(GstRtcoinferHead, gst_rtcoinfer_head, GST_TYPE_RTCOINFER_INFERENCE,
                        GST_DEBUG_CATEGORY_INIT(gst_rtcoinfer_head_debug, "rtcoinfer-head", 0,
                                                "RTCoInfer device-side head"));
GST_ELEMENT_REGISTER_DEFINE(rtcoinfer_head, "rtcoinfer-head", GST_RANK_NONE, GST_TYPE_RTCOINFER_HEAD);

static std::shared_ptr<rtcoinfer::InferenceModel> model_of(GstRtcoinferHead *self) {
  return gst_rtcoinfer_inference_get_model(GST_RTCOINFER_INFERENCE(self));
}

// Resolves setup text against `table`: empty is the largest; an unknown one posts a
// warning naming the problem and gives nullopt.
static std::optional<rtcoinfer::Setup> resolve_setup(GstRtcoinferHead *self, const rtcoinfer::SetupTable &table,
                                                     const std::string &text) {
  if (text.empty()) return table.largest();
  std::string error;
  auto s = table.lookup(text, &error);
  if (!s) GST_ELEMENT_WARNING(self, LIBRARY, SETTINGS, ("%s", error.c_str()), (nullptr));
  return s;
}

static gboolean gst_rtcoinfer_head_model_ready(GstRtcoinferInference *base, rtcoinfer::InferenceModel &model) {
  auto *self = GST_RTCOINFER_HEAD(base);
  HeadState *st = self->state;
  GST_OBJECT_LOCK(self);
  const std::string setup_text = st->setup_text;
  st->frames = st->dropped = st->answered_upstream = st->seq = 0;
  st->head_ms_total = 0;
  GST_OBJECT_UNLOCK(self);
  auto setup = resolve_setup(self, model.info().setups, setup_text);
  if (!setup) {
    GST_ELEMENT_ERROR(self, LIBRARY, SETTINGS, ("Setup \"%s\" is not one of this model's setups", setup_text.c_str()),
                      ("use \"<channels>x<bits>\" from the bundle's setup table (rtcoinfer-train eval lists them)"));
    return FALSE;
  }
  GST_OBJECT_LOCK(self);
  st->setup = setup;
  GST_OBJECT_UNLOCK(self);
  return TRUE;
}

static gboolean gst_rtcoinfer_head_stop(GstBaseTransform *trans) {
  auto *self = GST_RTCOINFER_HEAD(trans);
  GST_OBJECT_LOCK(self);
  self->state->setup.reset();
  GST_OBJECT_UNLOCK(self);
  return GST_BASE_TRANSFORM_CLASS(parent_class)->stop(trans);
}

static GstCaps *gst_rtcoinfer_head_transform_caps(GstBaseTransform *trans, GstPadDirection direction, GstCaps *,
                                                  GstCaps *filter) {
  auto *self = GST_RTCOINFER_HEAD(trans);
  GstCaps *out;
  const auto model = model_of(self);
  if (direction == GST_PAD_SRC) {
    out = gst_static_pad_template_get_caps(&sink_template);
  } else if (model) {
    const auto &info = model->info();
    rtcoinfer::FeaturesFormat f{info.partition_channels, info.partition_height, info.partition_width,
                                info.frame_model_id};
    out = rtcoinfer::features_caps_new(f);
  } else {
    out = gst_static_pad_template_get_caps(&src_template);
  }
  if (filter) {
    GstCaps *tmp = gst_caps_intersect_full(filter, out, GST_CAPS_INTERSECT_FIRST);
    gst_caps_unref(out);
    out = tmp;
  }
  return out;
}

static gboolean gst_rtcoinfer_head_set_caps(GstBaseTransform *trans, GstCaps *incaps, GstCaps *) {
  auto *self = GST_RTCOINFER_HEAD(trans);
  if (!gst_video_info_from_caps(&self->state->vinfo, incaps)) {
    GST_ELEMENT_ERROR(self, CORE, NEGOTIATION, ("Cannot parse video caps"), ("%" GST_PTR_FORMAT, incaps));
    return FALSE;
  }
  const auto model = model_of(self);
  if (!model) return FALSE;
  const auto &in = model->info().input;
  GST_INFO_OBJECT(self, "%dx%d %s -> model input %dx%dx%d", GST_VIDEO_INFO_WIDTH(&self->state->vinfo),
                  GST_VIDEO_INFO_HEIGHT(&self->state->vinfo),
                  gst_video_format_to_string(GST_VIDEO_INFO_FORMAT(&self->state->vinfo)), in.width, in.height,
                  in.channels);
  return TRUE;
}

static gboolean gst_rtcoinfer_head_transform_size(GstBaseTransform *trans, GstPadDirection, GstCaps *, gsize, GstCaps *,
                                                  gsize *othersize) {
  const auto model = model_of(GST_RTCOINFER_HEAD(trans));
  if (!model) return FALSE;
  const auto &info = model->info();
  *othersize = gsize(info.partition_channels) * info.partition_height * info.partition_width * sizeof(float);
  return TRUE;
}

static gboolean gst_rtcoinfer_head_src_event(GstBaseTransform *trans, GstEvent *event) {
  auto *self = GST_RTCOINFER_HEAD(trans);
  if (auto wanted = rtcoinfer::setup_event_parse(event)) {
    if (const auto model = model_of(self)) {
      auto setup = model->info().setups.find(wanted->channels, wanted->bits);
      if (setup) {
        GST_OBJECT_LOCK(self);
        self->state->setup = setup;
        self->state->setup_text = setup->name();
        GST_OBJECT_UNLOCK(self);
        GST_INFO_OBJECT(self, "switching to %s from the next frame", setup->name().c_str());
      } else {
        GST_ELEMENT_WARNING(self, LIBRARY, SETTINGS,
                            ("Ignoring rtcoinfer-setup %s: not a setup of this model", wanted->name().c_str()),
                            (nullptr));
      }
    }
    gst_event_unref(event);
    return TRUE;  // handled here; nothing upstream of the head computes features
  }
  return GST_BASE_TRANSFORM_CLASS(parent_class)->src_event(trans, event);
}

// A frame answered upstream keeps its number: the receiver sees the gap.
static gboolean gst_rtcoinfer_head_sink_event(GstBaseTransform *trans, GstEvent *event) {
  auto *self = GST_RTCOINFER_HEAD(trans);
  if (rtcoinfer::is_answered_event(event)) {
    GST_OBJECT_LOCK(self);
    self->state->seq++;
    self->state->answered_upstream++;
    GST_OBJECT_UNLOCK(self);
    gst_event_unref(event);
    return TRUE;
  }
  return GST_BASE_TRANSFORM_CLASS(parent_class)->sink_event(trans, event);
}

static std::optional<int> truth_of(GstBuffer *buf) {
  const GstRtcoinferTruthMeta *truth = gst_buffer_get_rtcoinfer_truth_meta(buf);
  if (!truth || truth->label < 0) return std::nullopt;
  return truth->label;
}

static GstFlowReturn gst_rtcoinfer_head_transform(GstBaseTransform *trans, GstBuffer *inbuf, GstBuffer *outbuf) {
  auto *self = GST_RTCOINFER_HEAD(trans);
  auto *base = GST_RTCOINFER_INFERENCE(trans);
  HeadState *st = self->state;
  const auto model = model_of(self);
  if (!model) return GST_FLOW_NOT_NEGOTIATED;
  GST_OBJECT_LOCK(self);
  const rtcoinfer::Setup setup = *st->setup;
  GST_OBJECT_UNLOCK(self);
  const std::uint64_t capture_us = gst_rtcoinfer_inference_capture_us(base, inbuf);
  if (!gst_rtcoinfer_inference_video_input(base, &st->vinfo, inbuf, st->input)) {
    GST_OBJECT_LOCK(self);
    st->dropped++;
    st->seq++;  // the frame keeps its number: downstream sees the gap
    GST_OBJECT_UNLOCK(self);
    gst_rtcoinfer_inference_count_drop(base, "unmappable", "a video frame could not be mapped");
    return GST_BASE_TRANSFORM_FLOW_DROPPED;
  }

  const gint64 t0 = g_get_monotonic_time();
  const std::vector<float> features = model->head(st->input.data(), 1, setup.index);
  const double ms = (g_get_monotonic_time() - t0) / 1000.0;
  GstMapInfo map;
  if (features.empty() || !gst_buffer_map(outbuf, &map, GST_MAP_WRITE)) {
    GST_ELEMENT_ERROR(self, LIBRARY, FAILED, ("Head inference failed: %s", model->last_error().c_str()), (nullptr));
    return GST_FLOW_ERROR;
  }
  std::memcpy(map.data, features.data(), std::min<gsize>(map.size, features.size() * sizeof(float)));
  gst_buffer_unmap(outbuf, &map);

  GstRtcoinferFeaturesMeta *meta = gst_buffer_add_rtcoinfer_features_meta(outbuf);
  meta->channels = setup.channels;
  meta->bits = setup.bits;
  meta->setup_index = setup.index;
  meta->capture_us = capture_us;
  meta->truth = truth_of(inbuf).value_or(-1);
  GST_OBJECT_LOCK(self);
  meta->seq = st->seq++;
  st->frames++;
  st->head_ms_total += ms;
  GST_OBJECT_UNLOCK(self);
  return GST_FLOW_OK;
}

static void gst_rtcoinfer_head_set_property(GObject *object, guint prop_id, const GValue *value, GParamSpec *pspec) {
  auto *self = GST_RTCOINFER_HEAD(object);
  HeadState *st = self->state;
  switch (prop_id) {
    case PROP_SETUP: {
      const std::string text = g_value_get_string(value) ? g_value_get_string(value) : "";
      // Running: validate against the model now and keep the old setup if invalid. The
      // pointer is a copy, so a concurrent stop() cannot free the model under us.
      if (const auto model = model_of(self)) {
        auto setup = resolve_setup(self, model->info().setups, text);
        if (!setup) break;
        GST_OBJECT_LOCK(self);
        st->setup = setup;
        st->setup_text = text;
        GST_OBJECT_UNLOCK(self);
      } else {
        GST_OBJECT_LOCK(self);
        st->setup_text = text;
        GST_OBJECT_UNLOCK(self);
      }
      break;
    }
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
  }
}

static void gst_rtcoinfer_head_get_property(GObject *object, guint prop_id, GValue *value, GParamSpec *pspec) {
  auto *self = GST_RTCOINFER_HEAD(object);
  HeadState *st = self->state;
  if (prop_id == PROP_STATS) {
    GstStructure *drops = gst_rtcoinfer_inference_drops_structure(
        gst_rtcoinfer_inference_get_ledger(GST_RTCOINFER_INFERENCE(self))->snapshot());
    GST_OBJECT_LOCK(self);
    GstStructure *s =
        gst_structure_new("rtcoinfer-head-stats", "frames", G_TYPE_UINT64, st->frames, "dropped", G_TYPE_UINT64,
                          st->dropped, "answered-upstream", G_TYPE_UINT64, st->answered_upstream, "setup",
                          G_TYPE_STRING, st->setup ? st->setup->name().c_str() : "", "mean-head-ms", G_TYPE_DOUBLE,
                          st->frames ? st->head_ms_total / st->frames : 0.0, nullptr);
    GST_OBJECT_UNLOCK(self);
    gst_structure_set(s, "drops", GST_TYPE_STRUCTURE, drops, nullptr);
    gst_structure_free(drops);
    g_value_take_boxed(value, s);
    return;
  }
  GST_OBJECT_LOCK(self);
  switch (prop_id) {
    case PROP_SETUP: g_value_set_string(value, st->setup ? st->setup->name().c_str() : st->setup_text.c_str()); break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
  }
  GST_OBJECT_UNLOCK(self);
}

static void gst_rtcoinfer_head_finalize(GObject *object) {
  delete GST_RTCOINFER_HEAD(object)->state;
  G_OBJECT_CLASS(parent_class)->finalize(object);
}

static void gst_rtcoinfer_head_init(GstRtcoinferHead *self) { self->state = new HeadState(); }

static void gst_rtcoinfer_head_class_init(GstRtcoinferHeadClass *klass) {
  GObjectClass *gobject_class = G_OBJECT_CLASS(klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS(klass);
  GstBaseTransformClass *trans_class = GST_BASE_TRANSFORM_CLASS(klass);
  GstRtcoinferInferenceClass *inference_class = GST_RTCOINFER_INFERENCE_CLASS(klass);
  gobject_class->set_property = gst_rtcoinfer_head_set_property;
  gobject_class->get_property = gst_rtcoinfer_head_get_property;
  gobject_class->finalize = gst_rtcoinfer_head_finalize;

  /**
   * GstRtcoinferHead:setup:
   *
   * The compression setup whose BatchNorm statistics the head uses, `<channels>x<bits>`
   * from the bundle's setup table (e.g. `32x8`, `1x1`); empty is the largest. May change
   * while PLAYING: it applies from the next frame, as `rtcoinfer-setup` events do.
   */
  g_object_class_install_property(
      gobject_class, PROP_SETUP,
      g_param_spec_string("setup", "Setup",
                          "Setup \"<channels>x<bits>\" from the bundle's table; empty = the largest. "
                          "Applies from the next frame",
                          DEFAULT_SETUP,
                          GParamFlags(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_PLAYING)));
  /**
   * GstRtcoinferHead:stats:
   *
   * Read-only counters:
   * - `frames` (guint64): features pushed;
   * - `dropped` (guint64): video frames that could not be mapped (also in `drops`);
   * - `answered-upstream` (guint64): frames answered before the head (rtcoinfer-answered);
   * - `setup` (string): the current setup;
   * - `mean-head-ms` (gdouble): the head's inference time per frame;
   * - `drops` (GstStructure): drops by reason.
   */
  g_object_class_install_property(
      gobject_class, PROP_STATS,
      g_param_spec_boxed("stats", "Statistics",
                         "Counters: frames, dropped, answered-upstream, setup, mean-head-ms, "
                         "drops",
                         GST_TYPE_STRUCTURE, GParamFlags(G_PARAM_READABLE | G_PARAM_STATIC_STRINGS)));

  gst_element_class_add_static_pad_template(element_class, &sink_template);
  gst_element_class_add_static_pad_template(element_class, &src_template);
  gst_element_class_set_static_metadata(element_class, "RTCoInfer head (device inference)", "Filter/Analyzer/Video",
                                        "Runs the SW-CNN up to its partition layer; emits partition features",
                                        "gst-rtcoinfer developers");
  inference_class->model_ready = gst_rtcoinfer_head_model_ready;
  trans_class->stop = GST_DEBUG_FUNCPTR(gst_rtcoinfer_head_stop);
  trans_class->transform_caps = GST_DEBUG_FUNCPTR(gst_rtcoinfer_head_transform_caps);
  trans_class->set_caps = GST_DEBUG_FUNCPTR(gst_rtcoinfer_head_set_caps);
  trans_class->transform_size = GST_DEBUG_FUNCPTR(gst_rtcoinfer_head_transform_size);
  trans_class->src_event = GST_DEBUG_FUNCPTR(gst_rtcoinfer_head_src_event);
  trans_class->sink_event = GST_DEBUG_FUNCPTR(gst_rtcoinfer_head_sink_event);
  trans_class->transform = GST_DEBUG_FUNCPTR(gst_rtcoinfer_head_transform);
  trans_class->passthrough_on_same_caps = FALSE;
}
