/**
 * SECTION:element-rtcoinfer-imageenc
 * @title: rtcoinfer-imageenc
 *
 * The device side of the image-offload baseline: encodes each raw video frame as PNG or
 * JPEG (OpenCV's libpng and libjpeg, the codecs the evaluation measures) and wraps it in
 * an image frame (docs/wire-format.md, "Image frames") that carries the frame number,
 * the capture time and, from a labeled source, the ground truth. On the server
 * rtcoinfer-imagedec decodes them and rtcoinfer-classify runs the whole model.
 *
 * Frames that cannot be mapped or encoded are dropped, counted in `stats` and reported
 * with a warning.
 *
 * ## Example launch line
 * |[
 * gst-launch-1.0 rtcoinfer-datasetsrc num-buffers=100 ! rtcoinfer-imageenc codec=jpeg quality=90 ! rtcoinfer-imagedec \
 *     ! rtcoinfer-classify model=models/zoo/fashion-mnist-swcnn.rcib ! filesink location=results.jsonl
 * ]| Classifies 100 Fashion-MNIST test images on the server side from JPEG images.
 * |[
 * gst-launch-1.0 rtcoinfer-datasetsrc is-live=true num-buffers=90 ! rtcoinfer-imageenc codec=png ! rtpgstpay pt=96 \
 *     ! udpsink host=127.0.0.1 port=5000
 * ]| Offloads PNG images over RTP (pipelines/device --policy offload:png builds the full
 * pipeline, with RTCP).
 */
#include "gstrtcoinferimageenc.h"

#include "common/one_output.h"

#include <gst/video/video.h>

#include <map>
#include <memory>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <string>
#include <vector>

#include "wire/image_frame.h"
#include "common/drop_warning.h"
#include "contract/rtcoinfer_meta.h"

GST_DEBUG_CATEGORY_STATIC(gst_rtcoinfer_imageenc_debug);
#define GST_CAT_DEFAULT gst_rtcoinfer_imageenc_debug

#define DEFAULT_CODEC rtcoinfer::ImageCodec::Png
#define DEFAULT_QUALITY 85

namespace {

using rtcoinfer::ImageCodec;

struct ImageencState {
  // properties, with the object lock
  ImageCodec codec = DEFAULT_CODEC;
  int quality = DEFAULT_QUALITY;

  // streaming thread only
  GstVideoInfo vinfo;
  cv::Mat bgr;
  std::vector<std::uint8_t> encoded, frame;

  // statistics and the frame number, with the object lock
  guint64 frames = 0, bytes = 0, seq = 0;
  std::map<std::string, guint64> drops;
};

}  // namespace

struct _GstRtcoinferImageenc {
  GstBaseTransform parent;
  ImageencState *state;
};

enum { PROP_0, PROP_CODEC, PROP_QUALITY, PROP_STATS };

static GstStaticPadTemplate sink_template = GST_STATIC_PAD_TEMPLATE(
    "sink", GST_PAD_SINK, GST_PAD_ALWAYS, GST_STATIC_CAPS(GST_VIDEO_CAPS_MAKE("{ GRAY8, RGB, BGR }")));
static GstStaticPadTemplate src_template =
    GST_STATIC_PAD_TEMPLATE("src", GST_PAD_SRC, GST_PAD_ALWAYS, GST_STATIC_CAPS(RTCOINFER_IMAGE_CAPS_NAME));

GType gst_rtcoinfer_image_codec_get_type(void) {
  static GType type = 0;
  static const GEnumValue values[] = {{int(ImageCodec::Png), "PNG (lossless, compression level 6)", "png"},
                                      {int(ImageCodec::Jpeg), "JPEG at the quality property", "jpeg"},
                                      {0, nullptr, nullptr}};
  if (g_once_init_enter(&type)) g_once_init_leave(&type, g_enum_register_static("GstRtcoinferImageCodec", values));
  return type;
}

#define gst_rtcoinfer_imageenc_parent_class parent_class
G_DEFINE_TYPE_WITH_CODE(GstRtcoinferImageenc, gst_rtcoinfer_imageenc, GST_TYPE_BASE_TRANSFORM,
                        GST_DEBUG_CATEGORY_INIT(gst_rtcoinfer_imageenc_debug, "rtcoinfer-imageenc", 0,
                                                "RTCoInfer image offload encoder"));
GST_ELEMENT_REGISTER_DEFINE(rtcoinfer_imageenc, "rtcoinfer-imageenc", GST_RANK_NONE, GST_TYPE_RTCOINFER_IMAGEENC);

static void drop(GstRtcoinferImageenc *self, const char *reason, const std::string &detail) {
  GST_OBJECT_LOCK(self);
  const guint64 n = ++self->state->drops[reason];
  GST_OBJECT_UNLOCK(self);
  if (rtcoinfer::drop_worth_a_warning(n))
    GST_ELEMENT_WARNING(self, STREAM, ENCODE, ("Dropped a video frame (%s), %" G_GUINT64_FORMAT " so far", reason, n),
                        ("%s", detail.c_str()));
}

static GstCaps *gst_rtcoinfer_imageenc_transform_caps(GstBaseTransform *, GstPadDirection direction, GstCaps *,
                                                      GstCaps *filter) {
  GstCaps *out = direction == GST_PAD_SINK ? gst_caps_from_string(RTCOINFER_IMAGE_CAPS_NAME)
                                           : gst_static_pad_template_get_caps(&sink_template);
  if (filter) {
    GstCaps *tmp = gst_caps_intersect_full(filter, out, GST_CAPS_INTERSECT_FIRST);
    gst_caps_unref(out);
    out = tmp;
  }
  return out;
}

static gboolean gst_rtcoinfer_imageenc_set_caps(GstBaseTransform *trans, GstCaps *incaps, GstCaps *) {
  auto *self = GST_RTCOINFER_IMAGEENC(trans);
  if (!gst_video_info_from_caps(&self->state->vinfo, incaps)) {
    GST_ELEMENT_ERROR(self, CORE, NEGOTIATION, ("Cannot parse video caps"), ("%" GST_PTR_FORMAT, incaps));
    return FALSE;
  }
  return TRUE;
}

static gboolean gst_rtcoinfer_imageenc_start(GstBaseTransform *trans) {
  auto *self = GST_RTCOINFER_IMAGEENC(trans);
  GST_OBJECT_LOCK(self);
  self->state->frames = self->state->bytes = self->state->seq = 0;
  self->state->drops.clear();
  GST_OBJECT_UNLOCK(self);
  return TRUE;
}

static GstFlowReturn encode_frame(GstBaseTransform *trans, GstBuffer *inbuf, GstBuffer **outbuf) {
  auto *self = GST_RTCOINFER_IMAGEENC(trans);
  ImageencState *st = self->state;
  const std::uint64_t capture_us = rtcoinfer::realtime_us();
  GST_OBJECT_LOCK(self);
  const ImageCodec codec = st->codec;
  const int quality = st->quality;
  const guint64 seq = st->seq++;  // dropped frames keep their number: the tail counts the gap
  GST_OBJECT_UNLOCK(self);

  GstVideoFrame vframe;
  if (!gst_video_frame_map(&vframe, &st->vinfo, inbuf, GST_MAP_READ)) {
    drop(self, "unmappable", "the video frame could not be mapped");
    return GST_BASE_TRANSFORM_FLOW_DROPPED;
  }
  const int w = GST_VIDEO_FRAME_WIDTH(&vframe), h = GST_VIDEO_FRAME_HEIGHT(&vframe);
  const GstVideoFormat fmt = GST_VIDEO_FRAME_FORMAT(&vframe);
  const int channels = fmt == GST_VIDEO_FORMAT_GRAY8 ? 1 : 3;
  cv::Mat view(h, w, channels == 1 ? CV_8UC1 : CV_8UC3, GST_VIDEO_FRAME_PLANE_DATA(&vframe, 0),
               GST_VIDEO_FRAME_PLANE_STRIDE(&vframe, 0));
  if (fmt == GST_VIDEO_FORMAT_RGB)
    cv::cvtColor(view, st->bgr, cv::COLOR_RGB2BGR);  // OpenCV's encoders take BGR
  else
    st->bgr = view;
  const std::vector<int> params = codec == ImageCodec::Jpeg ? std::vector<int>{cv::IMWRITE_JPEG_QUALITY, quality}
                                                            : std::vector<int>{cv::IMWRITE_PNG_COMPRESSION, 6};
  bool encoded = false;
  try {
    encoded = cv::imencode(codec == ImageCodec::Jpeg ? ".jpg" : ".png", st->bgr, st->encoded, params);
  } catch (const cv::Exception &e) {
    GST_DEBUG_OBJECT(self, "imencode: %s", e.what());
  }
  st->bgr.release();  // it may view the mapped frame
  gst_video_frame_unmap(&vframe);
  if (!encoded) {
    drop(self, "encode-failed",
         std::string("OpenCV could not encode a ") + std::to_string(w) + "x" + std::to_string(h) + " frame as " +
             rtcoinfer::image_codec_name(codec));
    return GST_BASE_TRANSFORM_FLOW_DROPPED;
  }

  rtcoinfer::ImageFrameParams p;
  p.codec = codec;
  p.seq = std::uint16_t(seq);
  p.capture_us = std::uint32_t(capture_us);
  p.width = w;
  p.height = h;
  p.channels = channels;
  if (const GstRtcoinferTruthMeta *truth = gst_buffer_get_rtcoinfer_truth_meta(inbuf)) {
    if (truth->label >= 0 && truth->label <= 0xffff) p.truth = std::uint16_t(truth->label);
  }
  const rtcoinfer::FrameStatus status =
      rtcoinfer::encode_image_frame(p, st->encoded.data(), st->encoded.size(), st->frame);
  if (!status.ok()) {
    drop(self, "too-large", status.message);
    return GST_BASE_TRANSFORM_FLOW_DROPPED;
  }
  *outbuf = gst_buffer_new_memdup(st->frame.data(), st->frame.size());
  gst_buffer_copy_into(*outbuf, inbuf, GstBufferCopyFlags(GST_BUFFER_COPY_FLAGS | GST_BUFFER_COPY_TIMESTAMPS), 0, -1);
  GST_OBJECT_LOCK(self);
  st->frames++;
  st->bytes += st->frame.size();
  GST_OBJECT_UNLOCK(self);
  return GST_FLOW_OK;
}

// One output of its own size per input: generate_output, as GstBaseTransform intends for
// output that is not a transform of the input's size.
static GstFlowReturn gst_rtcoinfer_imageenc_generate_output(GstBaseTransform *trans, GstBuffer **outbuf) {
  return rtcoinfer::one_output_per_input(
      trans, outbuf, [trans](GstBuffer *inbuf, GstBuffer **out) { return encode_frame(trans, inbuf, out); });
}

static void gst_rtcoinfer_imageenc_set_property(GObject *object, guint prop_id, const GValue *value,
                                                GParamSpec *pspec) {
  auto *self = GST_RTCOINFER_IMAGEENC(object);
  GST_OBJECT_LOCK(self);
  switch (prop_id) {
    case PROP_CODEC: self->state->codec = ImageCodec(g_value_get_enum(value)); break;
    case PROP_QUALITY: self->state->quality = g_value_get_int(value); break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
  }
  GST_OBJECT_UNLOCK(self);
}

static void gst_rtcoinfer_imageenc_get_property(GObject *object, guint prop_id, GValue *value, GParamSpec *pspec) {
  auto *self = GST_RTCOINFER_IMAGEENC(object);
  ImageencState *st = self->state;
  GST_OBJECT_LOCK(self);
  switch (prop_id) {
    case PROP_CODEC: g_value_set_enum(value, int(st->codec)); break;
    case PROP_QUALITY: g_value_set_int(value, st->quality); break;
    case PROP_STATS: {
      GstStructure *drops = gst_structure_new_empty("drops");
      guint64 dropped = 0;
      for (const char *reason : {"unmappable", "encode-failed", "too-large"}) {
        auto it = st->drops.find(reason);
        const guint64 n = it == st->drops.end() ? 0 : it->second;
        dropped += n;
        gst_structure_set(drops, reason, G_TYPE_UINT64, n, nullptr);
      }
      GstStructure *s = gst_structure_new("rtcoinfer-imageenc-stats", "frames", G_TYPE_UINT64, st->frames, "bytes",
                                          G_TYPE_UINT64, st->bytes, "mean-bytes", G_TYPE_DOUBLE,
                                          st->frames ? double(st->bytes) / double(st->frames) : 0.0, "dropped",
                                          G_TYPE_UINT64, dropped, "drops", GST_TYPE_STRUCTURE, drops, nullptr);
      gst_structure_free(drops);
      g_value_take_boxed(value, s);
      break;
    }
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
  }
  GST_OBJECT_UNLOCK(self);
}

static void gst_rtcoinfer_imageenc_finalize(GObject *object) {
  delete GST_RTCOINFER_IMAGEENC(object)->state;
  G_OBJECT_CLASS(parent_class)->finalize(object);
}

static void gst_rtcoinfer_imageenc_init(GstRtcoinferImageenc *self) { self->state = new ImageencState(); }

static void gst_rtcoinfer_imageenc_class_init(GstRtcoinferImageencClass *klass) {
  GObjectClass *gobject_class = G_OBJECT_CLASS(klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS(klass);
  GstBaseTransformClass *trans_class = GST_BASE_TRANSFORM_CLASS(klass);
  gobject_class->set_property = gst_rtcoinfer_imageenc_set_property;
  gobject_class->get_property = gst_rtcoinfer_imageenc_get_property;
  gobject_class->finalize = gst_rtcoinfer_imageenc_finalize;

  const auto rw_playing = GParamFlags(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_PLAYING);
  /**
   * GstRtcoinferImageenc:codec:
   *
   * The image codec: `png` (lossless, compression level 6) or `jpeg` (lossy, at
   * `quality`). May change while PLAYING: applies from the next frame.
   */
  g_object_class_install_property(
      gobject_class, PROP_CODEC,
      g_param_spec_enum("codec", "Codec", "Image codec: png (lossless) or jpeg (lossy, see quality)",
                        GST_TYPE_RTCOINFER_IMAGE_CODEC, int(DEFAULT_CODEC), rw_playing));
  /**
   * GstRtcoinferImageenc:quality:
   *
   * The JPEG quality, 1..100 (85, the default, is also jpegenc's); ignored for png. May
   * change while PLAYING: applies from the next frame.
   */
  g_object_class_install_property(gobject_class, PROP_QUALITY,
                                  g_param_spec_int("quality", "JPEG quality", "JPEG quality, 1..100; ignored for png",
                                                   1, 100, DEFAULT_QUALITY, rw_playing));
  /**
   * GstRtcoinferImageenc:stats:
   *
   * Read-only counters since the last start:
   * - `frames` (guint64): image frames pushed;
   * - `bytes` (guint64) and `mean-bytes` (gdouble): of the image frames, headers included;
   * - `dropped` (guint64) and `drops` (GstStructure): video frames dropped, in all and per
   *   reason (unmappable, encode-failed, too-large).
   */
  g_object_class_install_property(
      gobject_class, PROP_STATS,
      g_param_spec_boxed("stats", "Statistics", "Counters: frames, bytes, mean-bytes, dropped, drops",
                         GST_TYPE_STRUCTURE, GParamFlags(G_PARAM_READABLE | G_PARAM_STATIC_STRINGS)));

  gst_element_class_add_static_pad_template(element_class, &sink_template);
  gst_element_class_add_static_pad_template(element_class, &src_template);
  gst_type_mark_as_plugin_api(GST_TYPE_RTCOINFER_IMAGE_CODEC, GstPluginAPIFlags(0));
  gst_element_class_set_static_metadata(element_class, "RTCoInfer image offload encoder", "Codec/Encoder/Image",
                                        "Encodes frames as PNG or JPEG image frames for rtcoinfer-imagedec "
                                        "(the image-offload baseline)",
                                        "gst-rtcoinfer developers");
  trans_class->start = GST_DEBUG_FUNCPTR(gst_rtcoinfer_imageenc_start);
  trans_class->transform_caps = GST_DEBUG_FUNCPTR(gst_rtcoinfer_imageenc_transform_caps);
  trans_class->set_caps = GST_DEBUG_FUNCPTR(gst_rtcoinfer_imageenc_set_caps);
  trans_class->generate_output = GST_DEBUG_FUNCPTR(gst_rtcoinfer_imageenc_generate_output);
  trans_class->passthrough_on_same_caps = FALSE;
}
