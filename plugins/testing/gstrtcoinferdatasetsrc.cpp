/**
 * SECTION:element-rtcoinfer-datasetsrc
 * @title: rtcoinfer-datasetsrc
 *
 * A source of labeled video frames from an image dataset: Fashion-MNIST (the Debian
 * package dataset-fashion-mnist; its test split, in order, by default) or an
 * ImageFolder tree (`<location>/<split>/<class>/<image>.jpg` or `.png`). Each buffer carries a
 * GstRtcoinferTruthMeta with the image's class, which rtcoinfer-head puts into the
 * feature frame so rtcoinfer-tail can report accuracy end to end.
 *
 * With `is-live=true` frames are released in real time at `framerate`, like a camera;
 * otherwise as fast as downstream takes them (timestamps still follow `framerate`).
 * Images that cannot be decoded are skipped, counted in `stats` and reported with a
 * warning.
 *
 * ## Example launch line
 * |[
 * gst-launch-1.0 rtcoinfer-datasetsrc num-buffers=10 ! videoconvert ! videoscale \
 *     ! video/x-raw,width=280,height=280 ! pngenc ! multifilesink location=image-%02d.png
 * ]| Writes the first 10 Fashion-MNIST test images, enlarged, as PNG files (autovideosink
 * in place of pngenc shows them on a desktop).
 * |[
 * gst-launch-1.0 rtcoinfer-datasetsrc is-live=true framerate=30/1 shuffle=true num-buffers=300 \
 *     ! fakesink sync=true
 * ]| Ten seconds of shuffled test images at camera pace.
 */
#include "gstrtcoinferdatasetsrc.h"

#include <gst/video/video.h>

#include <algorithm>
#include <memory>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "data/labeled_images.h"
#include "contract/rtcoinfer_meta.h"

GST_DEBUG_CATEGORY_STATIC(gst_rtcoinfer_dataset_src_debug);
#define GST_CAT_DEFAULT gst_rtcoinfer_dataset_src_debug

enum DatasetKind { DATASET_FASHION_MNIST = 0, DATASET_IMAGE_FOLDER = 1 };

#define DEFAULT_DATASET DATASET_FASHION_MNIST
#define DEFAULT_SPLIT "test"
#define DEFAULT_FPS_N 30
#define DEFAULT_FPS_D 1
#define DEFAULT_LOOP FALSE
#define DEFAULT_SHUFFLE FALSE
#define DEFAULT_SEED 0
#define DEFAULT_IS_LIVE FALSE
#define DEFAULT_WIDTH 224
#define DEFAULT_HEIGHT 224

namespace {

struct SourceState {
  // properties, with the object lock
  DatasetKind kind = DEFAULT_DATASET;
  std::string location;  // empty: the dataset's default
  std::string split = DEFAULT_SPLIT;
  gint fps_n = DEFAULT_FPS_N, fps_d = DEFAULT_FPS_D;
  gboolean loop = DEFAULT_LOOP, shuffle = DEFAULT_SHUFFLE, live = DEFAULT_IS_LIVE;
  guint seed = DEFAULT_SEED;
  gint width = DEFAULT_WIDTH, height = DEFAULT_HEIGHT;  // image-folder output size

  // written by start/stop (streaming stopped) and the streaming thread, with the object
  // lock; the streaming thread reads them without it, get_property (stats) with it
  std::unique_ptr<rtcoinfer::LabeledImages> data;
  guint64 frames = 0, skipped = 0, epoch = 0;

  // streaming thread only (and start, before streaming begins)
  std::vector<std::size_t> order;
  std::size_t position = 0;
  GstVideoInfo vinfo;
  GstClockTime live_offset = GST_CLOCK_TIME_NONE;
};

}  // namespace

struct _GstRtcoinferDatasetSrc {
  GstPushSrc parent;
  SourceState *state;
};

enum {
  PROP_0,
  PROP_DATASET,
  PROP_LOCATION,
  PROP_SPLIT,
  PROP_FRAMERATE,
  PROP_LOOP,
  PROP_SHUFFLE,
  PROP_SEED,
  PROP_IS_LIVE,
  PROP_WIDTH,
  PROP_HEIGHT,
  PROP_STATS
};

static GstStaticPadTemplate src_template =
    GST_STATIC_PAD_TEMPLATE("src", GST_PAD_SRC, GST_PAD_ALWAYS,
                            GST_STATIC_CAPS("video/x-raw, format=(string){ GRAY8, BGR }, "
                                            "width=(int)[1,MAX], height=(int)[1,MAX], "
                                            "framerate=(fraction)[0/1,MAX]"));

GType gst_rtcoinfer_dataset_kind_get_type(void) {
  static GType type = 0;
  static const GEnumValue values[] = {
      {DATASET_FASHION_MNIST, "Fashion-MNIST IDX files (gzip), 28x28 GRAY8", "fashion-mnist"},
      {DATASET_IMAGE_FOLDER, "ImageFolder tree <location>/<split>/<class>/*.jpg|png, BGR", "image-folder"},
      {0, nullptr, nullptr}};
  if (g_once_init_enter(&type)) g_once_init_leave(&type, g_enum_register_static("GstRtcoinferDatasetKind", values));
  return type;
}

#define gst_rtcoinfer_dataset_src_parent_class parent_class
G_DEFINE_TYPE_WITH_CODE(GstRtcoinferDatasetSrc, gst_rtcoinfer_dataset_src, GST_TYPE_PUSH_SRC,
                        GST_DEBUG_CATEGORY_INIT(gst_rtcoinfer_dataset_src_debug, "rtcoinfer-datasetsrc", 0,
                                                "RTCoInfer labeled dataset source"));
GST_ELEMENT_REGISTER_DEFINE(rtcoinfer_datasetsrc, "rtcoinfer-datasetsrc", GST_RANK_NONE,
                            GST_TYPE_RTCOINFER_DATASET_SRC);

// Restarts the order for the current epoch. Streaming thread (or start), with the
// object lock not held: it takes it to read shuffle and seed.
static void reshuffle(GstRtcoinferDatasetSrc *self) {
  SourceState *st = self->state;
  GST_OBJECT_LOCK(self);
  const gboolean shuffle = st->shuffle;
  const guint seed = st->seed;
  GST_OBJECT_UNLOCK(self);
  st->order.resize(st->data->size());
  std::iota(st->order.begin(), st->order.end(), std::size_t(0));
  if (shuffle) {
    std::mt19937_64 rng(seed + st->epoch);
    std::shuffle(st->order.begin(), st->order.end(), rng);
  }
  st->position = 0;
}

static gboolean gst_rtcoinfer_dataset_src_start(GstBaseSrc *src) {
  auto *self = GST_RTCOINFER_DATASET_SRC(src);
  SourceState *st = self->state;
  GST_OBJECT_LOCK(self);
  const DatasetKind kind = st->kind;
  const std::string location =
      st->location.empty() && kind == DATASET_FASHION_MNIST ? rtcoinfer::kFashionMnistRoot : st->location;
  const std::string split = st->split;
  GST_OBJECT_UNLOCK(self);
  std::unique_ptr<rtcoinfer::LabeledImages> data;
  try {
    data = kind == DATASET_FASHION_MNIST ? rtcoinfer::open_fashion_mnist(location, split)
                                         : rtcoinfer::open_image_folder(location, split);
  } catch (const std::exception &e) {
    GST_ELEMENT_ERROR(
        self, RESOURCE, OPEN_READ, ("Cannot open the dataset: %s", e.what()),
        ("dataset=%s location=%s split=%s", kind == DATASET_FASHION_MNIST ? "fashion-mnist" : "image-folder",
         location.c_str(), split.c_str()));
    return FALSE;
  }
  GST_OBJECT_LOCK(self);
  st->data = std::move(data);
  st->frames = st->skipped = st->epoch = 0;
  GST_OBJECT_UNLOCK(self);
  st->live_offset = GST_CLOCK_TIME_NONE;
  reshuffle(self);
  GST_INFO_OBJECT(self, "%zu images, %zu classes", st->data->size(), st->data->classes().size());
  return TRUE;
}

static gboolean gst_rtcoinfer_dataset_src_stop(GstBaseSrc *src) {
  auto *self = GST_RTCOINFER_DATASET_SRC(src);
  GST_OBJECT_LOCK(self);
  std::unique_ptr<rtcoinfer::LabeledImages> data = std::move(self->state->data);
  GST_OBJECT_UNLOCK(self);
  data.reset();  // outside the lock
  return TRUE;
}

static GstCaps *gst_rtcoinfer_dataset_src_fixate(GstBaseSrc *src, GstCaps *caps) {
  auto *self = GST_RTCOINFER_DATASET_SRC(src);
  SourceState *st = self->state;
  caps = gst_caps_make_writable(caps);
  caps = gst_caps_truncate(caps);
  GstStructure *s = gst_caps_get_structure(caps, 0);
  GST_OBJECT_LOCK(self);
  if (st->kind == DATASET_FASHION_MNIST) {
    gst_structure_set(s, "format", G_TYPE_STRING, "GRAY8", "width", G_TYPE_INT, 28, "height", G_TYPE_INT, 28, nullptr);
  } else {
    gst_structure_set(s, "format", G_TYPE_STRING, "BGR", "width", G_TYPE_INT, st->width, "height", G_TYPE_INT,
                      st->height, nullptr);
  }
  gst_structure_set(s, "framerate", GST_TYPE_FRACTION, st->fps_n, st->fps_d, nullptr);
  GST_OBJECT_UNLOCK(self);
  return GST_BASE_SRC_CLASS(parent_class)->fixate(src, caps);
}

static gboolean gst_rtcoinfer_dataset_src_set_caps(GstBaseSrc *src, GstCaps *caps) {
  auto *self = GST_RTCOINFER_DATASET_SRC(src);
  if (!gst_video_info_from_caps(&self->state->vinfo, caps)) return FALSE;
  return TRUE;
}

static void gst_rtcoinfer_dataset_src_get_times(GstBaseSrc *src, GstBuffer *buf, GstClockTime *start,
                                                GstClockTime *end) {
  // Only a live source waits for the clock; timestamps are running times.
  if (gst_base_src_is_live(src) && GST_BUFFER_PTS_IS_VALID(buf)) {
    *start = GST_BUFFER_PTS(buf);
    *end = GST_BUFFER_DURATION_IS_VALID(buf) ? *start + GST_BUFFER_DURATION(buf) : GST_CLOCK_TIME_NONE;
  } else {
    *start = *end = GST_CLOCK_TIME_NONE;
  }
}

// Copies (and for image-folder, resizes) one dataset image into a frame of the
// negotiated format.
static bool fill_frame(const rtcoinfer::Image &img, GstVideoFrame *frame) {
  const int w = GST_VIDEO_FRAME_WIDTH(frame), h = GST_VIDEO_FRAME_HEIGHT(frame);
  const int ch = GST_VIDEO_FRAME_N_COMPONENTS(frame);
  if (img.channels != ch) return false;
  auto *dst = static_cast<guint8 *>(GST_VIDEO_FRAME_PLANE_DATA(frame, 0));
  const int stride = GST_VIDEO_FRAME_PLANE_STRIDE(frame, 0);
  for (int y = 0; y < h; ++y) {
    const int sy = int(gint64(y) * img.height / h);
    for (int x = 0; x < w; ++x) {
      // nearest neighbour keeps the source free of OpenCV; exact when sizes match
      const int sx = int(gint64(x) * img.width / w);
      const guint8 *p = img.pixels.data() + (std::size_t(sy) * img.width + sx) * ch;
      std::copy_n(p, ch, dst + std::size_t(y) * stride + std::size_t(x) * ch);
    }
  }
  return true;
}

static GstFlowReturn gst_rtcoinfer_dataset_src_create(GstPushSrc *src, GstBuffer **outbuf) {
  auto *self = GST_RTCOINFER_DATASET_SRC(src);
  SourceState *st = self->state;
  GST_OBJECT_LOCK(self);
  const gboolean loop = st->loop;
  const gint fps_n = st->fps_n, fps_d = st->fps_d;
  GST_OBJECT_UNLOCK(self);

  for (;;) {
    if (st->position >= st->order.size()) {
      if (!loop) return GST_FLOW_EOS;
      GST_OBJECT_LOCK(self);
      st->epoch++;
      GST_OBJECT_UNLOCK(self);
      reshuffle(self);
    }
    const std::size_t index = st->order[st->position++];
    rtcoinfer::Image img;
    try {
      img = st->data->image(index);
    } catch (const std::exception &e) {
      GST_OBJECT_LOCK(self);
      st->skipped++;
      GST_OBJECT_UNLOCK(self);
      GST_ELEMENT_WARNING(self, RESOURCE, READ, ("Skipped an image: %s", e.what()), (nullptr));
      continue;
    }
    GstBuffer *buf = gst_buffer_new_allocate(nullptr, GST_VIDEO_INFO_SIZE(&st->vinfo), nullptr);
    GstVideoFrame frame;
    gst_video_frame_map(&frame, &st->vinfo, buf, GST_MAP_WRITE);
    const bool ok = fill_frame(img, &frame);
    gst_video_frame_unmap(&frame);
    if (!ok) {
      gst_buffer_unref(buf);
      GST_ELEMENT_ERROR(self, CORE, NEGOTIATION, ("Image channels do not match the negotiated format"), (nullptr));
      return GST_FLOW_NOT_NEGOTIATED;
    }
    GstRtcoinferTruthMeta *truth = gst_buffer_add_rtcoinfer_truth_meta(buf);
    truth->label = st->data->label(index);
    truth->index = index;

    const guint64 n = st->frames;
    GstClockTime ts = 0, dur = GST_CLOCK_TIME_NONE;
    if (fps_n > 0) {
      ts = gst_util_uint64_scale(n, fps_d * GST_SECOND, fps_n);
      dur = gst_util_uint64_scale(n + 1, fps_d * GST_SECOND, fps_n) - ts;
    }
    if (gst_base_src_is_live(GST_BASE_SRC(src))) {
      if (!GST_CLOCK_TIME_IS_VALID(st->live_offset)) {
        GstClock *clock = gst_element_get_clock(GST_ELEMENT(src));
        st->live_offset = 0;
        if (clock) {
          st->live_offset = gst_clock_get_time(clock) - gst_element_get_base_time(GST_ELEMENT(src));
          gst_object_unref(clock);
        }
      }
      ts += st->live_offset;
    }
    GST_BUFFER_PTS(buf) = ts;
    GST_BUFFER_DTS(buf) = GST_CLOCK_TIME_NONE;
    GST_BUFFER_DURATION(buf) = dur;
    GST_BUFFER_OFFSET(buf) = n;
    GST_BUFFER_OFFSET_END(buf) = n + 1;
    GST_OBJECT_LOCK(self);
    st->frames++;
    GST_OBJECT_UNLOCK(self);
    *outbuf = buf;
    return GST_FLOW_OK;
  }
}

static void gst_rtcoinfer_dataset_src_set_property(GObject *object, guint prop_id, const GValue *value,
                                                   GParamSpec *pspec) {
  auto *self = GST_RTCOINFER_DATASET_SRC(object);
  SourceState *st = self->state;
  GST_OBJECT_LOCK(self);
  switch (prop_id) {
    case PROP_DATASET: st->kind = DatasetKind(g_value_get_enum(value)); break;
    case PROP_LOCATION: st->location = g_value_get_string(value) ? g_value_get_string(value) : ""; break;
    case PROP_SPLIT: st->split = g_value_get_string(value) ? g_value_get_string(value) : DEFAULT_SPLIT; break;
    case PROP_FRAMERATE:
      st->fps_n = gst_value_get_fraction_numerator(value);
      st->fps_d = gst_value_get_fraction_denominator(value);
      break;
    case PROP_LOOP: st->loop = g_value_get_boolean(value); break;
    case PROP_SHUFFLE: st->shuffle = g_value_get_boolean(value); break;
    case PROP_SEED: st->seed = g_value_get_uint(value); break;
    case PROP_IS_LIVE:
      st->live = g_value_get_boolean(value);
      GST_OBJECT_UNLOCK(self);
      gst_base_src_set_live(GST_BASE_SRC(self), st->live);
      return;
    case PROP_WIDTH: st->width = g_value_get_int(value); break;
    case PROP_HEIGHT: st->height = g_value_get_int(value); break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
  }
  GST_OBJECT_UNLOCK(self);
}

static void gst_rtcoinfer_dataset_src_get_property(GObject *object, guint prop_id, GValue *value, GParamSpec *pspec) {
  auto *self = GST_RTCOINFER_DATASET_SRC(object);
  SourceState *st = self->state;
  GST_OBJECT_LOCK(self);
  switch (prop_id) {
    case PROP_DATASET: g_value_set_enum(value, st->kind); break;
    case PROP_LOCATION:
      g_value_set_string(value, st->location.empty() && st->kind == DATASET_FASHION_MNIST ? rtcoinfer::kFashionMnistRoot
                                                                                          : st->location.c_str());
      break;
    case PROP_SPLIT: g_value_set_string(value, st->split.c_str()); break;
    case PROP_FRAMERATE: gst_value_set_fraction(value, st->fps_n, st->fps_d); break;
    case PROP_LOOP: g_value_set_boolean(value, st->loop); break;
    case PROP_SHUFFLE: g_value_set_boolean(value, st->shuffle); break;
    case PROP_SEED: g_value_set_uint(value, st->seed); break;
    case PROP_IS_LIVE: g_value_set_boolean(value, st->live); break;
    case PROP_WIDTH: g_value_set_int(value, st->width); break;
    case PROP_HEIGHT: g_value_set_int(value, st->height); break;
    case PROP_STATS:
      g_value_take_boxed(value,
                         gst_structure_new("rtcoinfer-datasetsrc-stats", "frames", G_TYPE_UINT64, st->frames, "skipped",
                                           G_TYPE_UINT64, st->skipped, "epoch", G_TYPE_UINT64, st->epoch, "images",
                                           G_TYPE_UINT64, guint64(st->data ? st->data->size() : 0), nullptr));
      break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
  }
  GST_OBJECT_UNLOCK(self);
}

static void gst_rtcoinfer_dataset_src_finalize(GObject *object) {
  delete GST_RTCOINFER_DATASET_SRC(object)->state;
  G_OBJECT_CLASS(parent_class)->finalize(object);
}

static void gst_rtcoinfer_dataset_src_init(GstRtcoinferDatasetSrc *self) {
  self->state = new SourceState();
  gst_base_src_set_format(GST_BASE_SRC(self), GST_FORMAT_TIME);
  gst_base_src_set_live(GST_BASE_SRC(self), DEFAULT_IS_LIVE);
}

static void gst_rtcoinfer_dataset_src_class_init(GstRtcoinferDatasetSrcClass *klass) {
  GObjectClass *gobject_class = G_OBJECT_CLASS(klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS(klass);
  GstBaseSrcClass *basesrc_class = GST_BASE_SRC_CLASS(klass);
  GstPushSrcClass *pushsrc_class = GST_PUSH_SRC_CLASS(klass);
  gobject_class->set_property = gst_rtcoinfer_dataset_src_set_property;
  gobject_class->get_property = gst_rtcoinfer_dataset_src_get_property;
  gobject_class->finalize = gst_rtcoinfer_dataset_src_finalize;

  const auto rw = GParamFlags(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS);
  /**
   * GstRtcoinferDatasetSrc:dataset:
   *
   * The dataset layout: `fashion-mnist` (the gzip IDX files, 28x28 GRAY8) or
   * `image-folder` (`<location>/<split>/<class>/<image>.jpg` or `.png`, BGR at `width` x
   * `height`).
   * Read when the element starts (and when caps are fixated).
   */
  g_object_class_install_property(
      gobject_class, PROP_DATASET,
      g_param_spec_enum("dataset", "Dataset", "Dataset layout: fashion-mnist or image-folder",
                        GST_TYPE_RTCOINFER_DATASET_KIND, DEFAULT_DATASET, rw));
  /**
   * GstRtcoinferDatasetSrc:location:
   *
   * The dataset's root folder. For fashion-mnist it defaults to
   * /usr/share/datasets/fashion-mnist (the Debian package dataset-fashion-mnist), which
   * reading the property then returns; image-folder requires it. Read when the element
   * starts.
   */
  g_object_class_install_property(
      gobject_class, PROP_LOCATION,
      g_param_spec_string("location", "Location", "Dataset root folder (fashion-mnist has a default)", nullptr, rw));
  /**
   * GstRtcoinferDatasetSrc:split:
   *
   * Which split: `train` or `test` for fashion-mnist; for image-folder, the folder under
   * `location` (e.g. `train`, `val`). Read when the element starts.
   */
  g_object_class_install_property(
      gobject_class, PROP_SPLIT,
      g_param_spec_string("split", "Split", "Dataset split, e.g. \"train\" or \"test\"", DEFAULT_SPLIT, rw));
  /**
   * GstRtcoinferDatasetSrc:framerate:
   *
   * Frames per second of the output: the timestamps follow it and, with `is-live`, the
   * pace. 0/1 is an unknown rate: timestamps all 0, no durations. Read at caps fixation
   * and for each frame.
   */
  g_object_class_install_property(
      gobject_class, PROP_FRAMERATE,
      gst_param_spec_fraction("framerate", "Frame rate", "Output frames per second; 0/1 = unknown (timestamps all 0)",
                              0, 1, G_MAXINT, 1, DEFAULT_FPS_N, DEFAULT_FPS_D, rw));
  /**
   * GstRtcoinferDatasetSrc:loop:
   *
   * After the last image, start over (reshuffled, if `shuffle` is set) instead of
   * sending EOS; `stats` counts the completed loops as `epoch`.
   */
  g_object_class_install_property(
      gobject_class, PROP_LOOP,
      g_param_spec_boolean("loop", "Loop", "Start over after the last image instead of EOS", DEFAULT_LOOP, rw));
  /**
   * GstRtcoinferDatasetSrc:shuffle:
   *
   * Send the images in a random order drawn from `seed` (and the epoch) instead of
   * dataset order.
   */
  g_object_class_install_property(
      gobject_class, PROP_SHUFFLE,
      g_param_spec_boolean("shuffle", "Shuffle", "Random order (from seed) instead of dataset order", DEFAULT_SHUFFLE,
                           rw));
  /**
   * GstRtcoinferDatasetSrc:seed:
   *
   * The seed of the shuffle order, 0..2^32-1; each loop uses seed + epoch.
   */
  g_object_class_install_property(
      gobject_class, PROP_SEED,
      g_param_spec_uint("seed", "Seed", "Seed of the shuffle order, 0..2^32-1", 0, G_MAXUINT, DEFAULT_SEED, rw));
  /**
   * GstRtcoinferDatasetSrc:is-live:
   *
   * Act like a camera: a live source that releases frames in real time at `framerate`.
   * Otherwise frames go as fast as downstream takes them.
   */
  g_object_class_install_property(
      gobject_class, PROP_IS_LIVE,
      g_param_spec_boolean("is-live", "Is live", "Act like a camera: release frames in real time at framerate",
                           DEFAULT_IS_LIVE, rw));
  /**
   * GstRtcoinferDatasetSrc:width:
   *
   * The image-folder output width in pixels, 1..8192; images are resized (nearest
   * neighbour). Fashion-MNIST is always 28 wide. Read at caps fixation.
   */
  g_object_class_install_property(
      gobject_class, PROP_WIDTH,
      g_param_spec_int("width", "Width", "image-folder output width in pixels, 1..8192", 1, 8192, DEFAULT_WIDTH, rw));
  /**
   * GstRtcoinferDatasetSrc:height:
   *
   * The image-folder output height in pixels, 1..8192; images are resized (nearest
   * neighbour). Fashion-MNIST is always 28 high. Read at caps fixation.
   */
  g_object_class_install_property(gobject_class, PROP_HEIGHT,
                                  g_param_spec_int("height", "Height", "image-folder output height in pixels, 1..8192",
                                                   1, 8192, DEFAULT_HEIGHT, rw));
  /**
   * GstRtcoinferDatasetSrc:stats:
   *
   * Read-only counters (guint64): `frames` (pushed), `skipped` (images that could not be
   * decoded), `epoch` (completed loops), `images` (in the split; 0 when stopped).
   */
  g_object_class_install_property(
      gobject_class, PROP_STATS,
      g_param_spec_boxed("stats", "Statistics", "Counters: frames, skipped, epoch, images", GST_TYPE_STRUCTURE,
                         GParamFlags(G_PARAM_READABLE | G_PARAM_STATIC_STRINGS)));

  gst_element_class_add_static_pad_template(element_class, &src_template);
  gst_element_class_set_static_metadata(element_class, "RTCoInfer labeled dataset source", "Source/Video",
                                        "Frames of a labeled image dataset, with the ground truth as meta",
                                        "gst-rtcoinfer developers");
  gst_type_mark_as_plugin_api(GST_TYPE_RTCOINFER_DATASET_KIND, GstPluginAPIFlags(0));
  basesrc_class->start = GST_DEBUG_FUNCPTR(gst_rtcoinfer_dataset_src_start);
  basesrc_class->stop = GST_DEBUG_FUNCPTR(gst_rtcoinfer_dataset_src_stop);
  basesrc_class->fixate = GST_DEBUG_FUNCPTR(gst_rtcoinfer_dataset_src_fixate);
  basesrc_class->set_caps = GST_DEBUG_FUNCPTR(gst_rtcoinfer_dataset_src_set_caps);
  basesrc_class->get_times = GST_DEBUG_FUNCPTR(gst_rtcoinfer_dataset_src_get_times);
  pushsrc_class->create = GST_DEBUG_FUNCPTR(gst_rtcoinfer_dataset_src_create);
}
