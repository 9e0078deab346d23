// The buffer contract between the rtcoinfer elements: caps names and buffer metas.
//
// application/x-rtcoinfer-features: one float32 C x H x W tensor per buffer (all C
//   partition-layer channels, native endianness), caps fields channels, height, width
//   (ints) and model-id (8 hex digits, the bundle's frame model id). Each buffer carries
//   a GstRtcoinferFeaturesMeta naming the setup the head computed it for.
// application/x-rtcoinfer-frame: one coded feature frame per buffer (docs/wire-format.md),
//   caps field model-id.
// application/x-rtcoinfer-image: one image frame per buffer (docs/wire-format.md, "Image
//   frames"): a PNG or JPEG camera image with its frame number, capture time and truth,
//   from rtcoinfer-imageenc (the image-offload baseline).
// GstRtcoinferTruthMeta: the ground-truth class of a video frame from a labeled source
//   (rtcoinfer-datasetsrc); rtcoinfer-head copies it into the features meta and from there
//   it rides inside the feature frame to the tail.
// GstRtcoinferResultMeta: rtcoinfer-tail's classification of the frame, on each result
//   buffer.
// The metas carry no tags, so GstBaseTransform-based elements (videoconvert,
// videoscale, queue...) keep them.
#pragma once

#include <gst/gst.h>

#include <cstdint>
#include <optional>
#include <string>

G_BEGIN_DECLS

#define RTCOINFER_FEATURES_CAPS_NAME "application/x-rtcoinfer-features"
#define RTCOINFER_FRAME_CAPS_NAME "application/x-rtcoinfer-frame"
#define RTCOINFER_IMAGE_CAPS_NAME "application/x-rtcoinfer-image"

typedef struct {
  GstMeta meta;
  gint channels;      /* k of the setup the head computed this tensor for */
  gint bits;          /* bits of that setup */
  gint setup_index;   /* index in the model's setup table, -1 if unknown */
  guint64 seq;        /* frame sequence number at the head */
  guint64 capture_us; /* CLOCK_REALTIME microseconds when the frame entered the head */
  gint truth;         /* ground-truth class when the source knows it, else -1 */
} GstRtcoinferFeaturesMeta;

GType gst_rtcoinfer_features_meta_api_get_type(void);
const GstMetaInfo *gst_rtcoinfer_features_meta_get_info(void);
#define GST_RTCOINFER_FEATURES_META_API_TYPE (gst_rtcoinfer_features_meta_api_get_type())

GstRtcoinferFeaturesMeta *gst_buffer_add_rtcoinfer_features_meta(GstBuffer *buffer);
#define gst_buffer_get_rtcoinfer_features_meta(b) \
  ((GstRtcoinferFeaturesMeta *)gst_buffer_get_meta((b), GST_RTCOINFER_FEATURES_META_API_TYPE))

typedef struct {
  GstMeta meta;
  gint label;    /* class index in the dataset, -1 if unknown */
  guint64 index; /* image index in the dataset */
} GstRtcoinferTruthMeta;

GType gst_rtcoinfer_truth_meta_api_get_type(void);
#define GST_RTCOINFER_TRUTH_META_API_TYPE (gst_rtcoinfer_truth_meta_api_get_type())
GstRtcoinferTruthMeta *gst_buffer_add_rtcoinfer_truth_meta(GstBuffer *buffer);
#define gst_buffer_get_rtcoinfer_truth_meta(b) \
  ((GstRtcoinferTruthMeta *)gst_buffer_get_meta((b), GST_RTCOINFER_TRUTH_META_API_TYPE))

typedef struct {
  GstMeta meta;
  guint64 seq;      /* unwrapped frame sequence number */
  gint class_index; /* top-1 class */
  gfloat score;     /* its softmax probability */
  gint truth;       /* ground truth, -1 if unknown */
  gint channels, bits;
  gdouble latency_ms; /* capture -> result */
} GstRtcoinferResultMeta;

GType gst_rtcoinfer_result_meta_api_get_type(void);
#define GST_RTCOINFER_RESULT_META_API_TYPE (gst_rtcoinfer_result_meta_api_get_type())
GstRtcoinferResultMeta *gst_buffer_add_rtcoinfer_result_meta(GstBuffer *buffer);
#define gst_buffer_get_rtcoinfer_result_meta(b) \
  ((GstRtcoinferResultMeta *)gst_buffer_get_meta((b), GST_RTCOINFER_RESULT_META_API_TYPE))

/* What a frame received from the link said about itself before it was decoded (set by
 * rtcoinfer-imagedec on the raw image it decodes), so the element that answers it can
 * report the sender's numbering, capture time, truth and bytes. */
typedef struct {
  GstMeta meta;
  guint16 seq;        /* the sender's 16-bit frame number */
  guint32 capture_us; /* the sender's capture time, low 32 bits of CLOCK_REALTIME microseconds */
  gint truth;         /* ground truth, -1 if unknown */
  guint64 bytes;      /* bytes of the frame as received */
  gchar codec[8];     /* how it was sent ("png", "jpeg"), NUL-terminated */
} GstRtcoinferOriginMeta;

GType gst_rtcoinfer_origin_meta_api_get_type(void);
#define GST_RTCOINFER_ORIGIN_META_API_TYPE (gst_rtcoinfer_origin_meta_api_get_type())
GstRtcoinferOriginMeta *gst_buffer_add_rtcoinfer_origin_meta(GstBuffer *buffer);
#define gst_buffer_get_rtcoinfer_origin_meta(b) \
  ((GstRtcoinferOriginMeta *)gst_buffer_get_meta((b), GST_RTCOINFER_ORIGIN_META_API_TYPE))

G_END_DECLS

namespace rtcoinfer {

// Frame model ids travel in caps as 8 lowercase hex digits.
std::string model_id_to_string(std::uint32_t id);
std::optional<std::uint32_t> model_id_from_string(const char *text);

struct FeaturesFormat {
  int channels = 0, height = 0, width = 0;
  std::uint32_t model_id = 0;
};
// Reads a fixed application/x-rtcoinfer-features caps; nullopt if a field is missing.
std::optional<FeaturesFormat> features_format_from_caps(const GstCaps *caps);
GstCaps *features_caps_new(const FeaturesFormat &f);

// Wall-clock microseconds (CLOCK_REALTIME), the capture-time base of every frame.
std::uint64_t realtime_us();

}  // namespace rtcoinfer
