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
 * the next frame. Any raw video size is accepted and resized; a bundle that cannot be
 * loaded fails the state change with the reason.
 *
 * With `mode=local` the head is the local-only baseline instead: it runs the whole model
 * on the device and pushes results (application/x-ndjson, one JSON object per line, as
 * rtcoinfer-tail writes them, with "setup": "local"), so nothing but results leaves the
 * device. `compute-scale` and `compute-time` emulate a slower device in either mode: after
 * each frame the head stays busy for (scale - 1) times the inference time it measured, or
 * until compute-time milliseconds have passed since the frame arrived, and frames a live
 * source captured meanwhile are dropped and counted as `busy` (as a camera feeding a
 * one-frame leaky queue would lose them).
 *
 * With `exit` set (a folder from `rtcoinfer-train exit`) the head is the SPINN-style
 * baseline: each frame first goes through the early exit, and when its confidence
 * reaches `exit-threshold` the answer is posted on the bus as an `rtcoinfer-result`
 * message with "setup": "exit" and the frame is not sent; the others go on as features.
 *
 * ## Example launch line
 * |[
 * gst-launch-1.0 videotestsrc num-buffers=30 ! videoconvert ! rtcoinfer-head model=models/zoo/fashion-mnist-swcnn.rcib \
 *     ! rtcoinfer-compress ! rtcoinfer-tail model=models/zoo/fashion-mnist-swcnn.rcib ! fdsink
 * ]| Classifies 30 test-pattern frames (resized to the model's 28x28 gray input) and
 * prints the JSON results.
 * |[
 * gst-launch-1.0 rtcoinfer-datasetsrc is-live=true num-buffers=300 ! rtcoinfer-head mode=local compute-time=200 \
 *     model=models/zoo/fashion-mnist-swcnn.rcib ! filesink location=local.jsonl
 * ]| Local-only on a device that needs 200 ms per frame: about 6 of every 7 frames are
 * dropped as busy, the rest are answered on the device.
 */
#include "gstrtcoinferhead.h"

#include <gst/video/video.h>

#include <algorithm>
#include <memory>
#include <opencv2/imgproc.hpp>
#include <optional>
#include <string>

#include "inference.h"
#include "data/model_input.h"
#include "common/model_instance.h"
#include "common/result_output.h"
#include "contract/rtcoinfer_meta.h"
#include "contract/setup_event.h"

GST_DEBUG_CATEGORY_STATIC(gst_rtcoinfer_head_debug);
#define GST_CAT_DEFAULT gst_rtcoinfer_head_debug

namespace {

enum class HeadMode { Split = 0, Local = 1 };

// The emulated slower device (compute-scale, compute-time).
struct SlowDevice {
  double scale = 1.0;    // times this machine's inference time
  double time_ms = 0.0;  // at least this long per frame, from the frame's start; 0 = no floor
  bool on() const { return scale > 1.0 || time_ms > 0.0; }
};

struct HeadState {
  // properties (object lock)
  std::string model_path;
  std::string setup_text;  // empty: the model's largest setup
  int threads = 0;
  std::optional<rtcoinfer::Setup> setup;  // resolved against the model
  HeadMode mode = HeadMode::Split;
  SlowDevice slow;
  int top_k = 5;
  std::string exit_dir;  // empty: no early exit
  double exit_threshold = 0.9;

  // streaming thread
  std::shared_ptr<rtcoinfer::InferenceModel> model;
  GstVideoInfo vinfo;
  std::vector<float> input;
  cv::Mat rgb, resized;
  HeadMode running_mode = HeadMode::Split;
  std::optional<bool> live;  // upstream is live (asked once per run)
  GstClockTime busy_until = 0;  // clock time the emulated slow device is busy until
  gint64 frame_start_us = 0;     // monotonic, when the current frame reached the head

  // statistics (object lock)
  guint64 frames = 0, dropped = 0, busy = 0, exits = 0, seq = 0;
  double head_ms_total = 0;
};

}  // namespace

struct _GstRtcoinferHead {
  GstBaseTransform parent;
  HeadState *state;
};

enum {
  PROP_0,
  PROP_MODEL,
  PROP_SETUP,
  PROP_THREADS,
  PROP_MODE,
  PROP_COMPUTE_SCALE,
  PROP_COMPUTE_TIME,
  PROP_TOP_K,
  PROP_EXIT,
  PROP_EXIT_THRESHOLD,
  PROP_STATS
};

#define VIDEO_FORMATS "{ GRAY8, RGB, BGR, RGBA, BGRA, RGBx, BGRx, I420 }"
static GstStaticPadTemplate sink_template = GST_STATIC_PAD_TEMPLATE(
    "sink", GST_PAD_SINK, GST_PAD_ALWAYS, GST_STATIC_CAPS(GST_VIDEO_CAPS_MAKE(VIDEO_FORMATS)));
static GstStaticPadTemplate src_template = GST_STATIC_PAD_TEMPLATE(
    "src", GST_PAD_SRC, GST_PAD_ALWAYS,
    GST_STATIC_CAPS(RTCOINFER_FEATURES_CAPS_NAME ", channels=(int)[1,256], height=(int)[1,256], width=(int)[1,256]; "
                    "application/x-ndjson"));

GType gst_rtcoinfer_head_mode_get_type(void) {
  static GType type = 0;
  static const GEnumValue values[] = {
      {int(HeadMode::Split), "Run the SW-CNN up to its partition layer and push the features", "split"},
      {int(HeadMode::Local), "Local-only baseline: run the whole model and push results", "local"},
      {0, nullptr, nullptr}};
  if (g_once_init_enter(&type)) g_once_init_leave(&type, g_enum_register_static("GstRtcoinferHeadMode", values));
  return type;
}

#define gst_rtcoinfer_head_parent_class parent_class
G_DEFINE_TYPE_WITH_CODE(GstRtcoinferHead, gst_rtcoinfer_head, GST_TYPE_BASE_TRANSFORM,
                        GST_DEBUG_CATEGORY_INIT(gst_rtcoinfer_head_debug, "rtcoinfer-head", 0,
                                                "RTCoInfer device-side head"));
GST_ELEMENT_REGISTER_DEFINE(rtcoinfer_head, "rtcoinfer-head", GST_RANK_NONE, GST_TYPE_RTCOINFER_HEAD);

// Resolves setup text against the loaded model; posts an error naming the valid range.
static std::optional<rtcoinfer::Setup> resolve_setup(GstRtcoinferHead *self, const std::string &text) {
  const auto &table = self->state->model->info().setups;
  if (text.empty()) return table.largest();
  std::string error;
  auto s = table.lookup(text, &error);
  if (!s) GST_ELEMENT_WARNING(self, LIBRARY, SETTINGS, ("%s", error.c_str()), (nullptr));
  return s;
}

static gboolean gst_rtcoinfer_head_start(GstBaseTransform *trans) {
  auto *self = GST_RTCOINFER_HEAD(trans);
  HeadState *st = self->state;
  GST_OBJECT_LOCK(self);
  const std::string path = st->model_path, setup_text = st->setup_text, exit_dir = st->exit_dir;
  const int threads = st->threads;
  st->frames = st->dropped = st->busy = st->exits = st->seq = 0;
  st->head_ms_total = 0;
  st->running_mode = st->mode;
  GST_OBJECT_UNLOCK(self);
  st->live.reset();
  st->busy_until = 0;
  st->model = exit_dir.empty() ? rtcoinfer::acquire_model_for(GST_ELEMENT(self), path, threads)
                              : rtcoinfer::load_private_model_for(GST_ELEMENT(self), path, threads);
  if (!st->model) return FALSE;
  if (!exit_dir.empty() && !rtcoinfer::load_exit_for(GST_ELEMENT(self), *st->model, exit_dir)) {
    st->model.reset();
    return FALSE;
  }
  auto setup = resolve_setup(self, setup_text);
  if (!setup) {
    GST_ELEMENT_ERROR(self, LIBRARY, SETTINGS, ("Setup \"%s\" is not one of this model's setups", setup_text.c_str()),
                      ("use \"<channels>x<bits>\" from the bundle's setup table (rtcoinfer-train eval lists them)"));
    st->model.reset();
    return FALSE;
  }
  GST_OBJECT_LOCK(self);
  st->setup = setup;
  GST_OBJECT_UNLOCK(self);
  return TRUE;
}

static gboolean gst_rtcoinfer_head_stop(GstBaseTransform *trans) {
  GST_RTCOINFER_HEAD(trans)->state->model.reset();
  return TRUE;
}

static HeadMode head_mode(GstRtcoinferHead *self) {
  GST_OBJECT_LOCK(self);
  const HeadMode mode = self->state->mode;
  GST_OBJECT_UNLOCK(self);
  return mode;
}

static GstCaps *gst_rtcoinfer_head_transform_caps(GstBaseTransform *trans, GstPadDirection direction, GstCaps *,
                                                  GstCaps *filter) {
  auto *self = GST_RTCOINFER_HEAD(trans);
  GstCaps *out;
  if (direction == GST_PAD_SRC) {
    out = gst_static_pad_template_get_caps(&sink_template);
  } else if (head_mode(self) == HeadMode::Local) {
    out = gst_caps_from_string("application/x-ndjson");
  } else if (self->state->model) {
    const auto &info = self->state->model->info();
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
  const auto &in = self->state->model->info().input;
  GST_INFO_OBJECT(self, "%dx%d %s -> model input %dx%dx%d", GST_VIDEO_INFO_WIDTH(&self->state->vinfo),
                  GST_VIDEO_INFO_HEIGHT(&self->state->vinfo),
                  gst_video_format_to_string(GST_VIDEO_INFO_FORMAT(&self->state->vinfo)), in.width, in.height,
                  in.channels);
  return TRUE;
}

static gboolean gst_rtcoinfer_head_transform_size(GstBaseTransform *trans, GstPadDirection, GstCaps *, gsize,
                                                  GstCaps *, gsize *othersize) {
  auto *self = GST_RTCOINFER_HEAD(trans);
  if (!self->state->model) return FALSE;
  const auto &info = self->state->model->info();
  *othersize = gsize(info.partition_channels) * info.partition_height * info.partition_width * sizeof(float);
  return TRUE;
}

static gboolean gst_rtcoinfer_head_src_event(GstBaseTransform *trans, GstEvent *event) {
  auto *self = GST_RTCOINFER_HEAD(trans);
  if (auto wanted = rtcoinfer::setup_event_parse(event)) {
    if (self->state->model) {
      auto setup = self->state->model->info().setups.find(wanted->channels, wanted->bits);
      if (setup) {
        GST_OBJECT_LOCK(self);
        self->state->setup = setup;
        self->state->setup_text = setup->name();
        GST_OBJECT_UNLOCK(self);
        GST_INFO_OBJECT(self, "switching to %s from the next frame", setup->name().c_str());
      } else {
        GST_ELEMENT_WARNING(self, LIBRARY, SETTINGS, ("Ignoring rtcoinfer-setup %s: not a setup of this model",
                                                      wanted->name().c_str()), (nullptr));
      }
    }
    gst_event_unref(event);
    return TRUE;  // handled here; nothing upstream of the head computes features
  }
  return GST_BASE_TRANSFORM_CLASS(parent_class)->src_event(trans, event);
}

// Converts the mapped frame to the model's channel count (gray, or RGB for 3 channels).
static void to_model_color(const GstVideoFrame *frame, int channels, cv::Mat &out) {
  const int w = GST_VIDEO_FRAME_WIDTH(frame), h = GST_VIDEO_FRAME_HEIGHT(frame);
  const GstVideoFormat fmt = GST_VIDEO_FRAME_FORMAT(frame);
  auto plane = [&](int p, int type, int rows, int cols) {
    return cv::Mat(rows, cols, type, GST_VIDEO_FRAME_PLANE_DATA(frame, p), GST_VIDEO_FRAME_PLANE_STRIDE(frame, p));
  };
  switch (fmt) {
    case GST_VIDEO_FORMAT_GRAY8: {
      cv::Mat g = plane(0, CV_8UC1, h, w);
      if (channels == 1) g.copyTo(out); else cv::cvtColor(g, out, cv::COLOR_GRAY2RGB);
      break;
    }
    case GST_VIDEO_FORMAT_I420: {
      cv::Mat y = plane(0, CV_8UC1, h, w);
      if (channels == 1) {
        y.copyTo(out);
      } else {
        // OpenCV wants the three planes stacked contiguously
        cv::Mat packed(h * 3 / 2, w, CV_8UC1);
        y.copyTo(packed.rowRange(0, h));
        const int cw = (w + 1) / 2, chh = (h + 1) / 2;
        cv::Mat u = plane(1, CV_8UC1, chh, cw), v = plane(2, CV_8UC1, chh, cw);
        std::size_t off = std::size_t(h) * w;
        for (int r = 0; r < h / 2; ++r, off += w / 2) std::memcpy(packed.data + off, u.ptr(r), w / 2);
        for (int r = 0; r < h / 2; ++r, off += w / 2) std::memcpy(packed.data + off, v.ptr(r), w / 2);
        cv::cvtColor(packed, out, cv::COLOR_YUV2RGB_I420);
      }
      break;
    }
    default: {
      const bool four = GST_VIDEO_FRAME_N_COMPONENTS(frame) == 4 || fmt == GST_VIDEO_FORMAT_RGBx ||
                        fmt == GST_VIDEO_FORMAT_BGRx;
      cv::Mat m = plane(0, four ? CV_8UC4 : CV_8UC3, h, w);
      const bool bgr = fmt == GST_VIDEO_FORMAT_BGR || fmt == GST_VIDEO_FORMAT_BGRA || fmt == GST_VIDEO_FORMAT_BGRx;
      int code;
      if (channels == 1)
        code = four ? (bgr ? cv::COLOR_BGRA2GRAY : cv::COLOR_RGBA2GRAY) : (bgr ? cv::COLOR_BGR2GRAY : cv::COLOR_RGB2GRAY);
      else
        code = four ? (bgr ? cv::COLOR_BGRA2RGB : cv::COLOR_RGBA2RGB) : (bgr ? cv::COLOR_BGR2RGB : -1);
      if (code < 0) m.copyTo(out); else cv::cvtColor(m, out, code);
    }
  }
}

// When a live source captured the buffer, on the pipeline clock; NONE for other sources.
static GstClockTime capture_clock_time(GstRtcoinferHead *self, GstBuffer *buf) {
  HeadState *st = self->state;
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

static GstClockTime clock_now(GstRtcoinferHead *self) {
  GstClock *clock = gst_element_get_clock(GST_ELEMENT(self));
  if (!clock) return GST_CLOCK_TIME_NONE;
  const GstClockTime now = gst_clock_get_time(clock);
  gst_object_unref(clock);
  return now;
}

// The emulated slow device: stays busy for (scale - 1) x the time the real inference
// took, and at least compute-time from the frame's start; then remembers until when.
static void emulate_slow_device(GstRtcoinferHead *self, const SlowDevice &slow, double inference_ms) {
  if (!slow.on()) return;
  const gint64 now = g_get_monotonic_time();
  const gint64 end = std::max(now + gint64((slow.scale - 1.0) * inference_ms * 1000.0),
                              self->state->frame_start_us + gint64(slow.time_ms * 1000.0));
  if (end > now) g_usleep(gulong(end - now));
  self->state->busy_until = clock_now(self);
}

// Everything before the inference: the busy check, the capture time, the model input.
// Returns false (and counts why) when the frame is dropped.
static bool prepare_input(GstRtcoinferHead *self, GstBuffer *inbuf, const SlowDevice &slow,
                          std::uint64_t &capture_us) {
  HeadState *st = self->state;
  st->frame_start_us = g_get_monotonic_time();
  capture_us = rtcoinfer::realtime_us();
  const GstClockTime captured = capture_clock_time(self, inbuf), now = clock_now(self);
  if (GST_CLOCK_TIME_IS_VALID(captured) && GST_CLOCK_TIME_IS_VALID(now) && captured < now)
    capture_us -= (now - captured) / 1000;  // waited upstream (a queue, a busy head): part of the latency
  if (slow.on() && GST_CLOCK_TIME_IS_VALID(captured) && captured < st->busy_until) {
    GST_OBJECT_LOCK(self);
    st->busy++;
    st->seq++;  // the frame keeps its number: downstream sees the gap
    GST_OBJECT_UNLOCK(self);
    GST_LOG_OBJECT(self, "dropped a frame captured while the emulated device was busy");
    return false;
  }
  GstVideoFrame frame;
  if (!gst_video_frame_map(&frame, &st->vinfo, inbuf, GST_MAP_READ)) {
    GST_OBJECT_LOCK(self);
    st->dropped++;
    st->seq++;
    GST_OBJECT_UNLOCK(self);
    GST_ELEMENT_WARNING(self, STREAM, DECODE, ("Dropped a video frame that could not be mapped"), (nullptr));
    return false;
  }
  const auto &in = st->model->info().input;
  to_model_color(&frame, in.channels, st->rgb);
  gst_video_frame_unmap(&frame);
  rtcoinfer::fit_to_model(st->rgb, in, st->resized, st->input);
  return true;
}

static std::optional<int> truth_of(GstBuffer *buf) {
  const GstRtcoinferTruthMeta *truth = gst_buffer_get_rtcoinfer_truth_meta(buf);
  if (!truth || truth->label < 0) return std::nullopt;
  return truth->label;
}

// A frame answered on the device (local mode, or the early exit): counts it in `counter`
// with its inference time, and gives it the next frame number.
static guint64 count_answered_here(GstRtcoinferHead *self, guint64 HeadState::*counter, double ms) {
  HeadState *st = self->state;
  GST_OBJECT_LOCK(self);
  const guint64 seq = st->seq++;
  (st->*counter)++;
  st->head_ms_total += ms;
  GST_OBJECT_UNLOCK(self);
  return seq;
}

// Local mode: the whole model on the device; the result is the output buffer.
static GstFlowReturn answer_locally(GstRtcoinferHead *self, GstBuffer *inbuf, GstBuffer **outbuf) {
  HeadState *st = self->state;
  GST_OBJECT_LOCK(self);
  const SlowDevice slow = st->slow;
  const int top_k = st->top_k;
  GST_OBJECT_UNLOCK(self);
  std::uint64_t capture_us = 0;
  if (!prepare_input(self, inbuf, slow, capture_us)) return GST_BASE_TRANSFORM_FLOW_DROPPED;
  const gint64 t0 = g_get_monotonic_time();
  const std::vector<float> logits = st->model->full(st->input.data(), 1);
  const double ms = (g_get_monotonic_time() - t0) / 1000.0;
  if (logits.empty()) {
    GST_ELEMENT_ERROR(self, LIBRARY, FAILED, ("Inference failed: %s", st->model->last_error().c_str()), (nullptr));
    return GST_FLOW_ERROR;
  }
  emulate_slow_device(self, slow, ms);
  rtcoinfer::FrameFacts facts;
  facts.setup = "local";
  facts.truth = truth_of(inbuf);
  facts.latency_ms = double(rtcoinfer::realtime_us() - capture_us) / 1000.0;
  facts.seq = count_answered_here(self, &HeadState::frames, ms);
  const rtcoinfer::Result result =
      rtcoinfer::classify(logits, st->model->info(), top_k, facts, GST_BUFFER_PTS(inbuf));
  *outbuf = rtcoinfer::emit_result(GST_ELEMENT(self), result, facts, inbuf);
  return GST_FLOW_OK;
}

enum class ExitOutcome { Continue, Answered, Failed };

// SPINN-style: the early exit's answer, when it is at least exit-threshold confident,
// goes out as an rtcoinfer-result message ("setup": "exit") and the frame is not sent.
static ExitOutcome try_early_exit(GstRtcoinferHead *self, GstBuffer *inbuf, std::uint64_t capture_us,
                                  const SlowDevice &slow) {
  HeadState *st = self->state;
  GST_OBJECT_LOCK(self);
  const double threshold = st->exit_threshold;
  const int top_k = st->top_k;
  GST_OBJECT_UNLOCK(self);
  const gint64 t0 = g_get_monotonic_time();
  const std::vector<float> logits = st->model->exit_logits(st->input.data(), 1);
  const double ms = (g_get_monotonic_time() - t0) / 1000.0;
  if (logits.empty()) {
    GST_ELEMENT_ERROR(self, LIBRARY, FAILED, ("Early exit failed: %s", st->model->last_error().c_str()), (nullptr));
    return ExitOutcome::Failed;
  }
  rtcoinfer::FrameFacts facts;
  facts.setup = "exit";
  facts.truth = truth_of(inbuf);
  rtcoinfer::Result result = rtcoinfer::classify(logits, st->model->info(), top_k, facts, GST_BUFFER_PTS(inbuf));
  if (result.score < threshold) return ExitOutcome::Continue;
  emulate_slow_device(self, slow, ms);
  facts.latency_ms = double(rtcoinfer::realtime_us() - capture_us) / 1000.0;
  // one numbering for every frame: the tail sees the exits as gaps
  facts.seq = count_answered_here(self, &HeadState::exits, ms);
  result.json["seq"] = facts.seq;
  result.json["latency_ms"] = facts.latency_ms;
  rtcoinfer::post_result(GST_ELEMENT(self), result, facts);
  return ExitOutcome::Answered;
}

static GstFlowReturn gst_rtcoinfer_head_prepare_output_buffer(GstBaseTransform *trans, GstBuffer *inbuf,
                                                              GstBuffer **outbuf) {
  auto *self = GST_RTCOINFER_HEAD(trans);
  if (self->state->running_mode == HeadMode::Local) return answer_locally(self, inbuf, outbuf);
  return GST_BASE_TRANSFORM_CLASS(parent_class)->prepare_output_buffer(trans, inbuf, outbuf);
}

static GstFlowReturn gst_rtcoinfer_head_transform(GstBaseTransform *trans, GstBuffer *inbuf, GstBuffer *outbuf) {
  auto *self = GST_RTCOINFER_HEAD(trans);
  HeadState *st = self->state;
  if (st->running_mode == HeadMode::Local) return GST_FLOW_OK;  // answered in prepare_output_buffer
  GST_OBJECT_LOCK(self);
  const rtcoinfer::Setup setup = *st->setup;
  const SlowDevice slow = st->slow;
  GST_OBJECT_UNLOCK(self);
  std::uint64_t capture_us = 0;
  if (!prepare_input(self, inbuf, slow, capture_us)) return GST_BASE_TRANSFORM_FLOW_DROPPED;

  const gint64 t0 = g_get_monotonic_time();
  if (st->model->has_exit()) {
    const ExitOutcome exit = try_early_exit(self, inbuf, capture_us, slow);
    if (exit == ExitOutcome::Failed) return GST_FLOW_ERROR;
    if (exit == ExitOutcome::Answered) return GST_BASE_TRANSFORM_FLOW_DROPPED;
  }
  std::vector<float> features = st->model->head(st->input.data(), 1, setup.index);
  const double ms = (g_get_monotonic_time() - t0) / 1000.0;
  GstMapInfo map;
  if (features.empty() || !gst_buffer_map(outbuf, &map, GST_MAP_WRITE)) {
    GST_ELEMENT_ERROR(self, LIBRARY, FAILED, ("Head inference failed: %s", st->model->last_error().c_str()), (nullptr));
    return GST_FLOW_ERROR;
  }
  std::memcpy(map.data, features.data(), std::min<gsize>(map.size, features.size() * sizeof(float)));
  gst_buffer_unmap(outbuf, &map);
  emulate_slow_device(self, slow, ms);

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
    case PROP_MODEL:
      GST_OBJECT_LOCK(self);
      st->model_path = g_value_get_string(value) ? g_value_get_string(value) : "";
      GST_OBJECT_UNLOCK(self);
      break;
    case PROP_SETUP: {
      const std::string text = g_value_get_string(value) ? g_value_get_string(value) : "";
      if (st->model) {  // running: validate now, keep the old setup if invalid
        auto setup = resolve_setup(self, text);
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
    case PROP_THREADS:
      GST_OBJECT_LOCK(self);
      st->threads = g_value_get_int(value);
      GST_OBJECT_UNLOCK(self);
      break;
    case PROP_MODE:
      GST_OBJECT_LOCK(self);
      st->mode = HeadMode(g_value_get_enum(value));
      GST_OBJECT_UNLOCK(self);
      break;
    case PROP_COMPUTE_SCALE:
      GST_OBJECT_LOCK(self);
      st->slow.scale = g_value_get_double(value);
      GST_OBJECT_UNLOCK(self);
      break;
    case PROP_TOP_K:
      GST_OBJECT_LOCK(self);
      st->top_k = g_value_get_int(value);
      GST_OBJECT_UNLOCK(self);
      break;
    case PROP_COMPUTE_TIME:
      GST_OBJECT_LOCK(self);
      st->slow.time_ms = g_value_get_double(value);
      GST_OBJECT_UNLOCK(self);
      break;
    case PROP_EXIT:
      GST_OBJECT_LOCK(self);
      st->exit_dir = g_value_get_string(value) ? g_value_get_string(value) : "";
      GST_OBJECT_UNLOCK(self);
      break;
    case PROP_EXIT_THRESHOLD:
      GST_OBJECT_LOCK(self);
      st->exit_threshold = g_value_get_double(value);
      GST_OBJECT_UNLOCK(self);
      break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
  }
}

static void gst_rtcoinfer_head_get_property(GObject *object, guint prop_id, GValue *value, GParamSpec *pspec) {
  auto *self = GST_RTCOINFER_HEAD(object);
  HeadState *st = self->state;
  GST_OBJECT_LOCK(self);
  switch (prop_id) {
    case PROP_MODEL: g_value_set_string(value, st->model_path.c_str()); break;
    case PROP_SETUP: g_value_set_string(value, st->setup ? st->setup->name().c_str() : st->setup_text.c_str()); break;
    case PROP_THREADS: g_value_set_int(value, st->threads); break;
    case PROP_MODE: g_value_set_enum(value, int(st->mode)); break;
    case PROP_COMPUTE_SCALE: g_value_set_double(value, st->slow.scale); break;
    case PROP_COMPUTE_TIME: g_value_set_double(value, st->slow.time_ms); break;
    case PROP_TOP_K: g_value_set_int(value, st->top_k); break;
    case PROP_EXIT: g_value_set_string(value, st->exit_dir.empty() ? nullptr : st->exit_dir.c_str()); break;
    case PROP_EXIT_THRESHOLD: g_value_set_double(value, st->exit_threshold); break;
    case PROP_STATS:
      g_value_take_boxed(value, gst_structure_new("rtcoinfer-head-stats", "frames", G_TYPE_UINT64, st->frames,
                                                  "dropped", G_TYPE_UINT64, st->dropped, "busy", G_TYPE_UINT64,
                                                  st->busy, "exits", G_TYPE_UINT64, st->exits, "setup", G_TYPE_STRING,
                                                  st->setup ? st->setup->name().c_str() : "", "mean-head-ms",
                                                  G_TYPE_DOUBLE, st->frames ? st->head_ms_total / st->frames : 0.0,
                                                  nullptr));
      break;
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
  gobject_class->set_property = gst_rtcoinfer_head_set_property;
  gobject_class->get_property = gst_rtcoinfer_head_get_property;
  gobject_class->finalize = gst_rtcoinfer_head_finalize;

  const auto rw = GParamFlags(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS);
  g_object_class_install_property(gobject_class, PROP_MODEL,
      g_param_spec_string("model", "Model bundle", "Path of the model bundle (.rcib) written by rtcoinfer-train, or "
                          "http(s)://host:port/models/<id> to fetch the one a server's rtcoinfer-tail offers (verified "
                          "against <id>, cached in $XDG_CACHE_HOME/rtcoinfer); rtcoinfer-tail must load the same one. "
                          "Loaded when the element starts", nullptr, rw));
  g_object_class_install_property(gobject_class, PROP_SETUP,
      g_param_spec_string("setup", "Setup", "Compression setup whose BatchNorm statistics the head uses, "
                          "\"<channels>x<bits>\" from the bundle's table (e.g. \"32x8\", \"1x1\"); empty = the "
                          "largest. May change while PLAYING: applies from the next frame", "",
                          GParamFlags(rw | GST_PARAM_MUTABLE_PLAYING)));
  g_object_class_install_property(gobject_class, PROP_THREADS,
      g_param_spec_int("threads", "Threads", "LibTorch intra-op threads, 1..256; 0 = LibTorch's default (all cores). "
                       "Process-wide in LibTorch", 0, 256, 0, rw));
  g_object_class_install_property(gobject_class, PROP_MODE,
      g_param_spec_enum("mode", "Mode", "split: run the SW-CNN up to its partition layer and push features (RTCoInfer); "
                        "local: the local-only baseline, the whole model on the device, pushing JSON results "
                        "(application/x-ndjson). Read when the element starts", GST_TYPE_RTCOINFER_HEAD_MODE,
                        int(HeadMode::Split), rw));
  g_object_class_install_property(gobject_class, PROP_COMPUTE_SCALE,
      g_param_spec_double("compute-scale", "Compute scale", "Emulates a device this many times slower than this "
                          "machine, 1..1000: after each frame the head stays busy for (scale - 1) x its measured "
                          "inference time, and frames a live source captured meanwhile are dropped and counted as "
                          "busy; 1 = no emulation. May change while PLAYING", 1.0, 1000.0, 1.0,
                          GParamFlags(rw | GST_PARAM_MUTABLE_PLAYING)));
  g_object_class_install_property(gobject_class, PROP_COMPUTE_TIME,
      g_param_spec_double("compute-time", "Compute time", "Emulates a device that needs this many milliseconds per "
                          "frame, 0..100000: the head stays busy that long from the frame's arrival (or longer, if "
                          "the real work or compute-scale takes longer), dropping frames captured meanwhile as busy, "
                          "as compute-scale does; 0 = no floor. Unlike compute-scale it does not follow this "
                          "machine's load. May change while PLAYING", 0.0, 100000.0, 0.0,
                          GParamFlags(rw | GST_PARAM_MUTABLE_PLAYING)));
  g_object_class_install_property(gobject_class, PROP_TOP_K,
      g_param_spec_int("top-k", "Top k", "mode=local: number of best classes listed in each result, 1..1000", 1, 1000,
                       5, GParamFlags(rw | GST_PARAM_MUTABLE_PLAYING)));
  g_object_class_install_property(gobject_class, PROP_EXIT,
      g_param_spec_string("exit", "Early exit", "SPINN-style baseline, mode=split: folder written by rtcoinfer-train "
                          "exit for this bundle (exit.json, exit.pt). Each frame first goes through the exit; when "
                          "its confidence reaches exit-threshold the answer is posted as an rtcoinfer-result "
                          "message (\"setup\": \"exit\") and nothing is sent. Unset = no exit. Loaded when the "
                          "element starts", nullptr, rw));
  g_object_class_install_property(gobject_class, PROP_EXIT_THRESHOLD,
      g_param_spec_double("exit-threshold", "Exit threshold", "Softmax confidence, 0..1, at which the early exit "
                          "answers a frame on the device (see exit). May change while PLAYING", 0.0, 1.0, 0.9,
                          GParamFlags(rw | GST_PARAM_MUTABLE_PLAYING)));
  g_object_class_install_property(gobject_class, PROP_STATS,
      g_param_spec_boxed("stats", "Statistics", "Read-only: frames (pushed: features, or results in local mode), "
                         "dropped (unmappable input), busy (captured while the emulated slow device was busy, see "
                         "compute-scale), exits (answered by the early exit, not sent), setup (current), mean-head-ms (inference per frame: the head, or the whole "
                         "model in local mode, as measured, before any emulated slowdown)", GST_TYPE_STRUCTURE,
                         GParamFlags(G_PARAM_READABLE | G_PARAM_STATIC_STRINGS)));

  gst_element_class_add_static_pad_template(element_class, &sink_template);
  gst_element_class_add_static_pad_template(element_class, &src_template);
  gst_element_class_set_static_metadata(element_class, "RTCoInfer head (device inference)", "Filter/Analyzer/Video",
                                        "Runs the SW-CNN up to its partition layer; emits partition features",
                                        "gst-rtcoinfer developers");
  trans_class->start = GST_DEBUG_FUNCPTR(gst_rtcoinfer_head_start);
  trans_class->stop = GST_DEBUG_FUNCPTR(gst_rtcoinfer_head_stop);
  trans_class->transform_caps = GST_DEBUG_FUNCPTR(gst_rtcoinfer_head_transform_caps);
  trans_class->set_caps = GST_DEBUG_FUNCPTR(gst_rtcoinfer_head_set_caps);
  trans_class->transform_size = GST_DEBUG_FUNCPTR(gst_rtcoinfer_head_transform_size);
  trans_class->src_event = GST_DEBUG_FUNCPTR(gst_rtcoinfer_head_src_event);
  trans_class->prepare_output_buffer = GST_DEBUG_FUNCPTR(gst_rtcoinfer_head_prepare_output_buffer);
  trans_class->transform = GST_DEBUG_FUNCPTR(gst_rtcoinfer_head_transform);
  trans_class->passthrough_on_same_caps = FALSE;
}
