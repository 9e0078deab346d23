/**
 * SECTION:element-rtcoinfer-imagedec
 * @title: rtcoinfer-imagedec
 *
 * The server side of the image-offload baseline: checks each image frame from
 * rtcoinfer-imageenc (docs/wire-format.md, "Image frames") and decodes its PNG or JPEG
 * image into raw video (GRAY8 for gray images, BGR for color ones) at the size its header
 * declares, with a GstRtcoinferOriginMeta carrying the sender's frame number, capture
 * time, truth, bytes and codec, for rtcoinfer-classify. The image header is checked
 * against the frame header and the size limit before OpenCV sees the data, so a
 * decompression bomb is refused. A frame that fails is reported downstream as an
 * `rtcoinfer-dropped` event (malformed) and counted in `stats`.
 *
 * ## Example launch line
 * |[
 * gst-launch-1.0 rtcoinfer-datasetsrc num-buffers=100 ! rtcoinfer-imageenc codec=png ! rtcoinfer-imagedec \
 *     ! rtcoinfer-classify model=models/zoo/fashion-mnist-swcnn.rcib ! fdsink
 * ]| Classifies PNG-offloaded images with the whole model (results say "setup": "png").
 */
#include "gstrtcoinferimagedec.h"

#include "common/one_output.h"

#include <gst/video/video.h>

#include <opencv2/imgcodecs.hpp>
#include <string>

#include "common/drop_warning.h"
#include "contract/rtcoinfer_meta.h"
#include "contract/setup_event.h"
#include "wire/image_frame.h"

GST_DEBUG_CATEGORY_STATIC(gst_rtcoinfer_imagedec_debug);
#define GST_CAT_DEFAULT gst_rtcoinfer_imagedec_debug

// Images larger than this are refused before decoding (8-bit BGR: 48 MiB).
#define MAX_IMAGE_PIXELS (std::size_t(4096) * 4096)

namespace {

struct ImagedecState {
  // with the object lock
  guint64 frames = 0, malformed = 0;
  int width = 0, height = 0, channels = 0;  // of the caps last sent
};

}  // namespace

struct _GstRtcoinferImagedec {
  GstBaseTransform parent;
  ImagedecState *state;
};

enum { PROP_0, PROP_STATS };

static GstStaticPadTemplate sink_template =
    GST_STATIC_PAD_TEMPLATE("sink", GST_PAD_SINK, GST_PAD_ALWAYS, GST_STATIC_CAPS(RTCOINFER_IMAGE_CAPS_NAME));
static GstStaticPadTemplate src_template =
    GST_STATIC_PAD_TEMPLATE("src", GST_PAD_SRC, GST_PAD_ALWAYS, GST_STATIC_CAPS(GST_VIDEO_CAPS_MAKE("{ GRAY8, BGR }")));

#define gst_rtcoinfer_imagedec_parent_class parent_class
G_DEFINE_TYPE_WITH_CODE(GstRtcoinferImagedec, gst_rtcoinfer_imagedec, GST_TYPE_BASE_TRANSFORM,
                        GST_DEBUG_CATEGORY_INIT(gst_rtcoinfer_imagedec_debug, "rtcoinfer-imagedec", 0,
                                                "RTCoInfer image-offload decoder (baselines)"));
GST_ELEMENT_REGISTER_DEFINE(rtcoinfer_imagedec, "rtcoinfer-imagedec", GST_RANK_NONE, GST_TYPE_RTCOINFER_IMAGEDEC);

static void drop(GstRtcoinferImagedec *self, std::optional<guint16> seq, const std::string &detail) {
  GST_OBJECT_LOCK(self);
  const guint64 n = ++self->state->malformed;
  GST_OBJECT_UNLOCK(self);
  if (rtcoinfer::drop_worth_a_warning(n))
    GST_ELEMENT_WARNING(self, STREAM, DECODE, ("Dropped an image frame (malformed), %" G_GUINT64_FORMAT " so far", n),
                        ("%s", detail.c_str()));
  gst_pad_push_event(GST_BASE_TRANSFORM_SRC_PAD(self), seq ? rtcoinfer::dropped_event_new(*seq, "malformed")
                                                           : rtcoinfer::dropped_event_new_unnumbered("malformed"));
}

// The images' own caps once the first one is decoded (so a renegotiation keeps them);
// before that, any raw size the template allows.
static GstCaps *current_video_caps(GstRtcoinferImagedec *self) {
  GST_OBJECT_LOCK(self);
  const int w = self->state->width, h = self->state->height, c = self->state->channels;
  GST_OBJECT_UNLOCK(self);
  if (w <= 0) return gst_static_pad_template_get_caps(&src_template);
  GstVideoInfo info;
  gst_video_info_set_format(&info, c == 1 ? GST_VIDEO_FORMAT_GRAY8 : GST_VIDEO_FORMAT_BGR, guint(w), guint(h));
  return gst_video_info_to_caps(&info);
}

static GstCaps *gst_rtcoinfer_imagedec_transform_caps(GstBaseTransform *trans, GstPadDirection direction, GstCaps *,
                                                      GstCaps *filter) {
  GstCaps *out = direction == GST_PAD_SINK ? current_video_caps(GST_RTCOINFER_IMAGEDEC(trans))
                                           : gst_static_pad_template_get_caps(&sink_template);
  if (filter) {
    GstCaps *tmp = gst_caps_intersect_full(filter, out, GST_CAPS_INTERSECT_FIRST);
    gst_caps_unref(out);
    out = tmp;
  }
  return out;
}

// The output caps follow each image; sent again only when the size or color changes.
static bool ensure_caps(GstRtcoinferImagedec *self, int width, int height, int channels) {
  ImagedecState *st = self->state;
  GST_OBJECT_LOCK(self);
  const bool same = st->width == width && st->height == height && st->channels == channels;
  GST_OBJECT_UNLOCK(self);
  if (same) return true;
  GstVideoInfo info;
  gst_video_info_set_format(&info, channels == 1 ? GST_VIDEO_FORMAT_GRAY8 : GST_VIDEO_FORMAT_BGR, guint(width),
                            guint(height));
  GstCaps *caps = gst_video_info_to_caps(&info);
  const bool ok = gst_base_transform_update_src_caps(GST_BASE_TRANSFORM(self), caps);
  gst_caps_unref(caps);
  if (ok) {
    GST_OBJECT_LOCK(self);
    st->width = width;
    st->height = height;
    st->channels = channels;
    GST_OBJECT_UNLOCK(self);
  }
  return ok;
}

static GstBuffer *decode(GstRtcoinferImagedec *self, GstBuffer *inbuf) {
  GstMapInfo map;
  if (!gst_buffer_map(inbuf, &map, GST_MAP_READ)) {
    drop(self, std::nullopt, "buffer could not be mapped");
    return nullptr;
  }
  rtcoinfer::ImageFrameHeader hdr;
  const rtcoinfer::FrameStatus status = rtcoinfer::parse_image_frame(map.data, map.size, hdr, MAX_IMAGE_PIXELS);
  if (!status.ok()) {
    gst_buffer_unmap(inbuf, &map);
    drop(self, std::nullopt, std::string(rtcoinfer::frame_error_name(status.error)) + ": " + status.message);
    return nullptr;
  }
  const cv::Mat coded(1, int(hdr.payload_length), CV_8UC1, map.data + hdr.payload_offset);
  cv::Mat image;
  try {
    image = cv::imdecode(coded, hdr.channels == 1 ? cv::IMREAD_GRAYSCALE : cv::IMREAD_COLOR);
  } catch (const cv::Exception &e) {
    GST_DEBUG_OBJECT(self, "imdecode: %s", e.what());
  }
  const gsize bytes = map.size;
  gst_buffer_unmap(inbuf, &map);
  const char *codec = rtcoinfer::image_codec_name(hdr.codec);
  if (image.empty() || image.cols != hdr.width || image.rows != hdr.height || !image.isContinuous()) {
    drop(self, hdr.seq,
         std::string("the ") + codec + " image data does not decode to the " + std::to_string(hdr.width) + "x" +
             std::to_string(hdr.height) + " its header declares");
    return nullptr;
  }
  if (!ensure_caps(self, hdr.width, hdr.height, hdr.channels)) return nullptr;
  GstBuffer *out = gst_buffer_new_allocate(nullptr, image.total() * image.elemSize(), nullptr);
  gst_buffer_fill(out, 0, image.data, image.total() * image.elemSize());
  gst_buffer_copy_into(out, inbuf, GstBufferCopyFlags(GST_BUFFER_COPY_FLAGS | GST_BUFFER_COPY_TIMESTAMPS), 0, -1);
  GstRtcoinferOriginMeta *origin = gst_buffer_add_rtcoinfer_origin_meta(out);
  origin->seq = hdr.seq;
  origin->capture_us = hdr.capture_us;
  origin->truth = hdr.truth ? int(*hdr.truth) : -1;
  origin->bytes = bytes;
  g_strlcpy(origin->codec, codec, sizeof origin->codec);
  GST_OBJECT_LOCK(self);
  self->state->frames++;
  GST_OBJECT_UNLOCK(self);
  return out;
}

static GstFlowReturn gst_rtcoinfer_imagedec_generate_output(GstBaseTransform *trans, GstBuffer **outbuf) {
  return rtcoinfer::one_output_per_input(trans, outbuf, [trans](GstBuffer *inbuf, GstBuffer **out) {
    *out = decode(GST_RTCOINFER_IMAGEDEC(trans), inbuf);
    return GST_FLOW_OK;
  });
}

static gboolean gst_rtcoinfer_imagedec_start(GstBaseTransform *trans) {
  auto *self = GST_RTCOINFER_IMAGEDEC(trans);
  GST_OBJECT_LOCK(self);
  self->state->frames = self->state->malformed = 0;
  self->state->width = self->state->height = self->state->channels = 0;
  GST_OBJECT_UNLOCK(self);
  return TRUE;
}

static void gst_rtcoinfer_imagedec_get_property(GObject *object, guint prop_id, GValue *value, GParamSpec *pspec) {
  auto *self = GST_RTCOINFER_IMAGEDEC(object);
  GST_OBJECT_LOCK(self);
  switch (prop_id) {
    case PROP_STATS:
      g_value_take_boxed(value,
                         gst_structure_new("rtcoinfer-imagedec-stats", "frames", G_TYPE_UINT64, self->state->frames,
                                           "malformed", G_TYPE_UINT64, self->state->malformed, nullptr));
      break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
  }
  GST_OBJECT_UNLOCK(self);
}

static void gst_rtcoinfer_imagedec_finalize(GObject *object) {
  delete GST_RTCOINFER_IMAGEDEC(object)->state;
  G_OBJECT_CLASS(parent_class)->finalize(object);
}

static void gst_rtcoinfer_imagedec_init(GstRtcoinferImagedec *self) { self->state = new ImagedecState(); }

static void gst_rtcoinfer_imagedec_class_init(GstRtcoinferImagedecClass *klass) {
  GObjectClass *gobject_class = G_OBJECT_CLASS(klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS(klass);
  GstBaseTransformClass *trans_class = GST_BASE_TRANSFORM_CLASS(klass);
  gobject_class->get_property = gst_rtcoinfer_imagedec_get_property;
  gobject_class->finalize = gst_rtcoinfer_imagedec_finalize;
  /**
   * GstRtcoinferImagedec:stats:
   *
   * Read-only: `frames` (images decoded and pushed) and `malformed` (frames dropped and
   * reported downstream), both guint64.
   */
  g_object_class_install_property(
      gobject_class, PROP_STATS,
      g_param_spec_boxed("stats", "Statistics", "Counters: frames, malformed", GST_TYPE_STRUCTURE,
                         GParamFlags(G_PARAM_READABLE | G_PARAM_STATIC_STRINGS)));
  gst_element_class_add_static_pad_template(element_class, &sink_template);
  gst_element_class_add_static_pad_template(element_class, &src_template);
  gst_element_class_set_static_metadata(element_class, "RTCoInfer image-offload decoder (baselines)",
                                        "Codec/Decoder/Image", "Decodes image frames into raw video with their origin",
                                        "gst-rtcoinfer developers");
  trans_class->start = GST_DEBUG_FUNCPTR(gst_rtcoinfer_imagedec_start);
  trans_class->transform_caps = GST_DEBUG_FUNCPTR(gst_rtcoinfer_imagedec_transform_caps);
  trans_class->generate_output = GST_DEBUG_FUNCPTR(gst_rtcoinfer_imagedec_generate_output);
  trans_class->passthrough_on_same_caps = FALSE;
}
