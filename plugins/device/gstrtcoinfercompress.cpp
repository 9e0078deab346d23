/**
 * SECTION:element-rtcoinfer-compress
 * @title: rtcoinfer-compress
 *
 * Turns each partition-layer feature tensor from rtcoinfer-head into one feature
 * frame: the first k channels, quantized min-max per channel to 2^b - 1 levels,
 * tightly packed and, where it pays, entropy-coded with zstd. The frame is
 * self-describing (docs/wire-format.md), so the server needs no other signalling.
 *
 * The setup (k channels, b bits) comes from each buffer's features meta (`setup=auto`)
 * or is fixed by the `setup` property. An upstream `rtcoinfer-setup` event (sent by
 * rtcoinfer-mpcrate or an application) takes effect from the next buffer and is
 * forwarded upstream so rtcoinfer-head switches its BatchNorm statistics too.
 * Buffers that cannot be coded are dropped, counted in `stats` and reported with a
 * warning.
 *
 * ## Example launch line
 * |[
 * gst-launch-1.0 rtcoinfer-datasetsrc num-buffers=100 ! rtcoinfer-head model=models/zoo/fashion-mnist-swcnn.rcib \
 *     ! rtcoinfer-compress setup=8x2 entropy=auto ! fakesink
 * ]| Codes 100 Fashion-MNIST test images at 8 channels x 2 bits.
 * |[
 * gst-launch-1.0 rtcoinfer-datasetsrc num-buffers=10 ! rtcoinfer-head model=models/zoo/fashion-mnist-swcnn.rcib \
 *     ! rtcoinfer-compress setup=32x8 entropy=none ! filesink location=frames.bin
 * ]| Writes ten feature frames at 32 channels x 8 bits, without entropy coding, to a file.
 */
#include "gstrtcoinfercompress.h"

#include "common/one_output.h"

#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "wire/feature_frame.h"
#include "contract/rtcoinfer_meta.h"
#include "contract/setup_event.h"

GST_DEBUG_CATEGORY_STATIC(gst_rtcoinfer_compress_debug);
#define GST_CAT_DEFAULT gst_rtcoinfer_compress_debug

using rtcoinfer::Entropy;
using rtcoinfer::Setup;

#define DEFAULT_SETUP "auto"
#define DEFAULT_ENTROPY Entropy::Auto
#define DEFAULT_ZSTD_LEVEL 1

namespace {

struct SetupCount {
  guint64 frames = 0, bytes = 0;
};

// Everything C++ lives here; the GObject struct only holds a pointer to it.
struct CompressState {
  // properties, with the object lock
  std::optional<Setup> fixed;  // nullopt: DEFAULT_SETUP ("auto", follow the meta)
  Entropy entropy = DEFAULT_ENTROPY;
  int zstd_level = DEFAULT_ZSTD_LEVEL;
  // set by rtcoinfer-setup events, with the object lock
  std::optional<Setup> requested;

  // streaming thread only (start resets local_seq before streaming begins)
  std::optional<rtcoinfer::FeaturesFormat> format;
  std::unique_ptr<rtcoinfer::FrameEncoder> encoder;
  int encoder_level = 0;
  guint64 local_seq = 0;

  // statistics, with the object lock
  guint64 frames = 0, bytes = 0;
  std::map<std::string, guint64> drops;  // reason -> count
  std::map<std::string, SetupCount> per_setup;
  std::string last_setup;
};

}  // namespace

struct _GstRtcoinferCompress {
  GstBaseTransform parent;
  CompressState *state;
};

enum { PROP_0, PROP_SETUP, PROP_ENTROPY, PROP_ZSTD_LEVEL, PROP_STATS };

static GstStaticPadTemplate sink_template = GST_STATIC_PAD_TEMPLATE(
    "sink", GST_PAD_SINK, GST_PAD_ALWAYS,
    GST_STATIC_CAPS(RTCOINFER_FEATURES_CAPS_NAME ", channels=(int)[1,256], height=(int)[1,256], "
                                                 "width=(int)[1,256]"));
static GstStaticPadTemplate src_template =
    GST_STATIC_PAD_TEMPLATE("src", GST_PAD_SRC, GST_PAD_ALWAYS, GST_STATIC_CAPS(RTCOINFER_FRAME_CAPS_NAME));

GType gst_rtcoinfer_entropy_get_type(void) {
  static GType type = 0;
  static const GEnumValue values[] = {{int(Entropy::None), "Packed codes only", "none"},
                                      {int(Entropy::Zstd), "Always zstd-code the packed codes", "zstd"},
                                      {int(Entropy::Auto), "zstd where it makes the frame smaller", "auto"},
                                      {0, nullptr, nullptr}};
  if (g_once_init_enter(&type)) g_once_init_leave(&type, g_enum_register_static("GstRtcoinferEntropy", values));
  return type;
}

#define gst_rtcoinfer_compress_parent_class parent_class
G_DEFINE_TYPE_WITH_CODE(GstRtcoinferCompress, gst_rtcoinfer_compress, GST_TYPE_BASE_TRANSFORM,
                        GST_DEBUG_CATEGORY_INIT(gst_rtcoinfer_compress_debug, "rtcoinfer-compress", 0,
                                                "RTCoInfer feature compression"));
GST_ELEMENT_REGISTER_DEFINE(rtcoinfer_compress, "rtcoinfer-compress", GST_RANK_NONE, GST_TYPE_RTCOINFER_COMPRESS);

static void count_drop(GstRtcoinferCompress *self, const char *reason) {
  GST_OBJECT_LOCK(self);
  self->state->drops[reason]++;
  GST_OBJECT_UNLOCK(self);
}

static GstStructure *build_stats(GstRtcoinferCompress *self) {
  CompressState *st = self->state;
  GST_OBJECT_LOCK(self);
  guint64 dropped = 0;
  GstStructure *drops = gst_structure_new_empty("drops");
  for (const auto &[reason, n] : st->drops) {
    dropped += n;
    gst_structure_set(drops, reason.c_str(), G_TYPE_UINT64, n, nullptr);
  }
  GValue setups = G_VALUE_INIT;
  gst_value_array_init(&setups, st->per_setup.size());
  for (const auto &[name, c] : st->per_setup) {
    GValue v = G_VALUE_INIT;
    g_value_init(&v, GST_TYPE_STRUCTURE);
    GstStructure *s = gst_structure_new("setup", "setup", G_TYPE_STRING, name.c_str(), "frames", G_TYPE_UINT64,
                                        c.frames, "bytes", G_TYPE_UINT64, c.bytes, nullptr);
    g_value_take_boxed(&v, s);
    gst_value_array_append_and_take_value(&setups, &v);
  }
  GstStructure *stats = gst_structure_new("rtcoinfer-compress-stats", "frames", G_TYPE_UINT64, st->frames, "bytes",
                                          G_TYPE_UINT64, st->bytes, "dropped", G_TYPE_UINT64, dropped, "last-setup",
                                          G_TYPE_STRING, st->last_setup.c_str(), nullptr);
  GST_OBJECT_UNLOCK(self);
  gst_structure_take_value(stats, "setups", &setups);
  gst_structure_set(stats, "drops", GST_TYPE_STRUCTURE, drops, nullptr);
  gst_structure_free(drops);
  return stats;
}

static void gst_rtcoinfer_compress_set_property(GObject *object, guint prop_id, const GValue *value,
                                                GParamSpec *pspec) {
  auto *self = GST_RTCOINFER_COMPRESS(object);
  CompressState *st = self->state;
  switch (prop_id) {
    case PROP_SETUP: {
      const gchar *text = g_value_get_string(value);
      if (!text || g_str_equal(text, "auto")) {
        GST_OBJECT_LOCK(self);
        st->fixed.reset();
        GST_OBJECT_UNLOCK(self);
        break;
      }
      std::string error;
      auto setup = rtcoinfer::parse_setup(text, &error);
      if (!setup) {
        GST_ELEMENT_WARNING(self, LIBRARY, SETTINGS, ("Ignoring setup property: %s", error.c_str()), (nullptr));
        break;
      }
      GST_OBJECT_LOCK(self);
      st->fixed = setup;
      st->requested.reset();
      GST_OBJECT_UNLOCK(self);
      break;
    }
    case PROP_ENTROPY:
      GST_OBJECT_LOCK(self);
      st->entropy = static_cast<Entropy>(g_value_get_enum(value));
      GST_OBJECT_UNLOCK(self);
      break;
    case PROP_ZSTD_LEVEL:
      GST_OBJECT_LOCK(self);
      st->zstd_level = g_value_get_int(value);
      GST_OBJECT_UNLOCK(self);
      break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
  }
}

static void gst_rtcoinfer_compress_get_property(GObject *object, guint prop_id, GValue *value, GParamSpec *pspec) {
  auto *self = GST_RTCOINFER_COMPRESS(object);
  CompressState *st = self->state;
  switch (prop_id) {
    case PROP_SETUP:
      GST_OBJECT_LOCK(self);
      g_value_set_string(value, st->fixed ? st->fixed->name().c_str() : "auto");
      GST_OBJECT_UNLOCK(self);
      break;
    case PROP_ENTROPY:
      GST_OBJECT_LOCK(self);
      g_value_set_enum(value, int(st->entropy));
      GST_OBJECT_UNLOCK(self);
      break;
    case PROP_ZSTD_LEVEL:
      GST_OBJECT_LOCK(self);
      g_value_set_int(value, st->zstd_level);
      GST_OBJECT_UNLOCK(self);
      break;
    case PROP_STATS: g_value_take_boxed(value, build_stats(self)); break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
  }
}

static GstCaps *gst_rtcoinfer_compress_transform_caps(GstBaseTransform *trans, GstPadDirection direction, GstCaps *caps,
                                                      GstCaps *filter) {
  // Only model-id crosses the element; the shape is inside every frame.
  GstCaps *out = gst_caps_new_empty();
  for (guint i = 0; i < gst_caps_get_size(caps); ++i) {
    const GstStructure *in = gst_caps_get_structure(caps, i);
    GstStructure *s;
    if (direction == GST_PAD_SINK) {
      s = gst_structure_new_empty(RTCOINFER_FRAME_CAPS_NAME);
    } else {
      s = gst_structure_new(RTCOINFER_FEATURES_CAPS_NAME, "channels", GST_TYPE_INT_RANGE, 1, 256, "height",
                            GST_TYPE_INT_RANGE, 1, 256, "width", GST_TYPE_INT_RANGE, 1, 256, nullptr);
    }
    if (const GValue *id = gst_structure_get_value(in, "model-id")) gst_structure_set_value(s, "model-id", id);
    gst_caps_append_structure(out, s);
  }
  if (filter) {
    GstCaps *tmp = gst_caps_intersect_full(filter, out, GST_CAPS_INTERSECT_FIRST);
    gst_caps_unref(out);
    out = tmp;
  }
  GST_DEBUG_OBJECT(trans, "transformed %" GST_PTR_FORMAT " to %" GST_PTR_FORMAT, caps, out);
  return out;
}

static gboolean gst_rtcoinfer_compress_set_caps(GstBaseTransform *trans, GstCaps *incaps, GstCaps *) {
  auto *self = GST_RTCOINFER_COMPRESS(trans);
  auto format = rtcoinfer::features_format_from_caps(incaps);
  if (!format) {
    GST_ELEMENT_ERROR(self, STREAM, FORMAT, ("Input caps are not fixed rtcoinfer features caps"),
                      ("need %s with channels, height, width (1..256) and model-id (8 hex digits); "
                       "got %" GST_PTR_FORMAT,
                       RTCOINFER_FEATURES_CAPS_NAME, incaps));
    return FALSE;
  }
  GST_OBJECT_LOCK(self);
  const std::optional<Setup> fixed = self->state->fixed;
  GST_OBJECT_UNLOCK(self);
  if (fixed && fixed->channels > format->channels) {
    GST_ELEMENT_ERROR(self, CORE, NEGOTIATION,
                      ("Setup %s keeps %d channels but the features have only %d", fixed->name().c_str(),
                       fixed->channels, format->channels),
                      ("choose a setup with at most %d channels", format->channels));
    return FALSE;
  }
  self->state->format = format;
  return TRUE;
}

static gboolean gst_rtcoinfer_compress_src_event(GstBaseTransform *trans, GstEvent *event) {
  auto *self = GST_RTCOINFER_COMPRESS(trans);
  if (auto setup = rtcoinfer::setup_event_parse(event)) {
    GST_INFO_OBJECT(self, "rtcoinfer-setup event: %s from the next buffer", setup->name().c_str());
    GST_OBJECT_LOCK(self);
    if (self->state->fixed)
      self->state->fixed = setup;
    else
      self->state->requested = setup;
    GST_OBJECT_UNLOCK(self);
  }
  // Forward upstream (the default) so rtcoinfer-head switches as well.
  return GST_BASE_TRANSFORM_CLASS(parent_class)->src_event(trans, event);
}

static void free_vector(gpointer data) { delete static_cast<std::vector<guint8> *>(data); }

static GstFlowReturn encode_frame(GstBaseTransform *trans, GstBuffer *inbuf, GstBuffer **outbuf) {
  auto *self = GST_RTCOINFER_COMPRESS(trans);
  CompressState *st = self->state;
  if (!st->format) {
    GST_ELEMENT_ERROR(self, CORE, NEGOTIATION, ("No caps were negotiated before data"), (nullptr));
    return GST_FLOW_NOT_NEGOTIATED;
  }
  const auto &fmt = *st->format;
  const GstRtcoinferFeaturesMeta *meta = gst_buffer_get_rtcoinfer_features_meta(inbuf);

  GST_OBJECT_LOCK(self);
  std::optional<Setup> setup = st->fixed;
  if (!setup && st->requested) {
    // An event asked for a setup the head has not caught up with yet: honour it now,
    // and go back to following the meta once the head computes that setup itself.
    if (meta && meta->channels == st->requested->channels && meta->bits == st->requested->bits)
      st->requested.reset();
    else
      setup = st->requested;
  }
  const Entropy entropy = st->entropy;
  const int level = st->zstd_level;
  GST_OBJECT_UNLOCK(self);
  if (!setup && meta) setup = Setup{meta->setup_index, meta->channels, meta->bits};
  if (!setup) {
    count_drop(self, "no-setup");
    GST_ELEMENT_WARNING(self, STREAM, FORMAT, ("Dropped a buffer without rtcoinfer features meta"),
                        ("setup=auto needs the meta rtcoinfer-head attaches; set a fixed setup "
                         "to code plain tensors"));
    return GST_BASE_TRANSFORM_FLOW_DROPPED;
  }

  const gsize expected = gsize(fmt.channels) * fmt.height * fmt.width * sizeof(float);
  GstMapInfo map;
  if (!gst_buffer_map(inbuf, &map, GST_MAP_READ)) {
    count_drop(self, "unmappable");
    GST_ELEMENT_WARNING(self, RESOURCE, READ, ("Dropped a buffer that could not be mapped"), (nullptr));
    return GST_BASE_TRANSFORM_FLOW_DROPPED;
  }
  if (map.size != expected || (reinterpret_cast<guintptr>(map.data) % alignof(float)) != 0) {
    gst_buffer_unmap(inbuf, &map);
    count_drop(self, "malformed");
    GST_ELEMENT_WARNING(self, STREAM, FORMAT, ("Dropped a malformed features buffer"),
                        ("%" G_GSIZE_FORMAT " bytes; caps %dx%dx%d float32 need %" G_GSIZE_FORMAT, map.size,
                         fmt.channels, fmt.height, fmt.width, expected));
    return GST_BASE_TRANSFORM_FLOW_DROPPED;
  }

  if (!st->encoder || st->encoder_level != level) {
    st->encoder = std::make_unique<rtcoinfer::FrameEncoder>(level);
    st->encoder_level = level;
  }
  rtcoinfer::EncodeParams params;
  params.setup = *setup;
  params.entropy = entropy;
  params.model_id = fmt.model_id;
  params.seq = guint16(meta ? meta->seq : st->local_seq);
  params.capture_us = guint32(meta ? meta->capture_us : rtcoinfer::realtime_us());
  if (meta && meta->truth >= 0 && meta->truth <= 0xffff) params.truth = guint16(meta->truth);
  st->local_seq++;

  auto *bytes = new std::vector<guint8>();
  rtcoinfer::FrameStatus status = st->encoder->encode(reinterpret_cast<const float *>(map.data), fmt.channels,
                                                      fmt.height, fmt.width, params, *bytes);
  gst_buffer_unmap(inbuf, &map);
  if (!status.ok()) {
    delete bytes;
    count_drop(self, rtcoinfer::frame_error_name(status.error));
    GST_ELEMENT_WARNING(self, STREAM, ENCODE, ("Dropped a frame that could not be coded"),
                        ("setup %s: %s", setup->name().c_str(), status.message.c_str()));
    return GST_BASE_TRANSFORM_FLOW_DROPPED;
  }

  const gsize size = bytes->size();
  *outbuf = gst_buffer_new_wrapped_full(GST_MEMORY_FLAG_READONLY, bytes->data(), size, 0, size, bytes, free_vector);
  gst_buffer_copy_into(*outbuf, inbuf, GST_BUFFER_COPY_METADATA, 0, -1);

  GST_OBJECT_LOCK(self);
  st->frames++;
  st->bytes += size;
  const std::string name = setup->name();
  auto &c = st->per_setup[name];
  c.frames++;
  c.bytes += size;
  st->last_setup = name;
  GST_OBJECT_UNLOCK(self);
  GST_LOG_OBJECT(self, "coded seq %u at %s: %" G_GSIZE_FORMAT " bytes", params.seq, name.c_str(), size);
  return GST_FLOW_OK;
}

// One output of its own size per input: generate_output, as GstBaseTransform intends for
// output that is not a transform of the input's size.
static GstFlowReturn gst_rtcoinfer_compress_generate_output(GstBaseTransform *trans, GstBuffer **outbuf) {
  return rtcoinfer::one_output_per_input(
      trans, outbuf, [trans](GstBuffer *inbuf, GstBuffer **out) { return encode_frame(trans, inbuf, out); });
}

static gboolean gst_rtcoinfer_compress_start(GstBaseTransform *trans) {
  auto *self = GST_RTCOINFER_COMPRESS(trans);
  GST_OBJECT_LOCK(self);
  CompressState *st = self->state;
  st->frames = st->bytes = 0;
  st->drops.clear();
  st->per_setup.clear();
  st->last_setup.clear();
  st->local_seq = 0;
  GST_OBJECT_UNLOCK(self);
  return TRUE;
}

static void gst_rtcoinfer_compress_finalize(GObject *object) {
  delete GST_RTCOINFER_COMPRESS(object)->state;
  G_OBJECT_CLASS(parent_class)->finalize(object);
}

static void gst_rtcoinfer_compress_init(GstRtcoinferCompress *self) { self->state = new CompressState(); }

static void gst_rtcoinfer_compress_class_init(GstRtcoinferCompressClass *klass) {
  GObjectClass *gobject_class = G_OBJECT_CLASS(klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS(klass);
  GstBaseTransformClass *trans_class = GST_BASE_TRANSFORM_CLASS(klass);

  gobject_class->set_property = gst_rtcoinfer_compress_set_property;
  gobject_class->get_property = gst_rtcoinfer_compress_get_property;
  gobject_class->finalize = gst_rtcoinfer_compress_finalize;

  const auto rw_playing = GParamFlags(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_PLAYING);
  /**
   * GstRtcoinferCompress:setup:
   *
   * The compression setup as `<channels>x<bits>`: keep the first 1..256 channels (at
   * most the tensor's), quantize each to 1..16 bits (2^bits - 1 levels); e.g. `32x8`,
   * `1x1`. `auto` uses the setup in each buffer's features meta (from rtcoinfer-head).
   * Text that does not parse is ignored with a warning. Setting a fixed setup cancels a
   * pending `rtcoinfer-setup` request; while a fixed setup is set, an `rtcoinfer-setup`
   * event replaces it. A fixed setup with more channels than the negotiated features
   * fails the negotiation. May change while PLAYING: applies from the next buffer.
   */
  g_object_class_install_property(
      gobject_class, PROP_SETUP,
      g_param_spec_string("setup", "Setup",
                          "Setup \"<channels>x<bits>\" (e.g. \"32x8\"), or \"auto\" to follow the features meta",
                          DEFAULT_SETUP, rw_playing));
  /**
   * GstRtcoinferCompress:entropy:
   *
   * The lossless entropy stage after bit packing: `none` (packed codes only), `zstd`
   * (always), or `auto` (zstd only when the frame gets smaller). May change while
   * PLAYING: applies from the next buffer.
   */
  g_object_class_install_property(
      gobject_class, PROP_ENTROPY,
      g_param_spec_enum("entropy", "Entropy coding", "Lossless stage after bit packing: none, zstd or auto",
                        GST_TYPE_RTCOINFER_ENTROPY, int(DEFAULT_ENTROPY), rw_playing));
  /**
   * GstRtcoinferCompress:zstd-level:
   *
   * The zstd compression level, 1 (fastest) .. 19 (smallest), used when `entropy` is
   * `zstd` or `auto`. May change while PLAYING: applies from the next buffer.
   */
  g_object_class_install_property(
      gobject_class, PROP_ZSTD_LEVEL,
      g_param_spec_int("zstd-level", "zstd level", "zstd compression level, 1 (fastest) .. 19 (smallest)", 1, 19,
                       DEFAULT_ZSTD_LEVEL, rw_playing));
  /**
   * GstRtcoinferCompress:stats:
   *
   * Read-only counters since the last start:
   * - `frames`, `bytes` (guint64): frames emitted and their bytes, all headers included;
   * - `dropped` (guint64) and `drops` (GstStructure): buffers dropped, in all and per
   *   reason (no-setup, unmappable, malformed, or the encoder's error name, e.g. bad-setup);
   * - `last-setup` (string): the setup of the last frame emitted;
   * - `setups` (array of GstStructure): per setup, `setup` (string), `frames` and
   *   `bytes` (guint64).
   */
  g_object_class_install_property(
      gobject_class, PROP_STATS,
      g_param_spec_boxed("stats", "Statistics", "Counters: frames, bytes, dropped, drops, last-setup, setups",
                         GST_TYPE_STRUCTURE, GParamFlags(G_PARAM_READABLE | G_PARAM_STATIC_STRINGS)));

  gst_element_class_add_static_pad_template(element_class, &sink_template);
  gst_element_class_add_static_pad_template(element_class, &src_template);
  gst_element_class_set_static_metadata(
      element_class, "RTCoInfer feature compressor", "Filter/Encoder/Network",
      "Quantizes, packs and entropy-codes partition-layer features into self-describing frames",
      "gst-rtcoinfer developers");
  gst_type_mark_as_plugin_api(GST_TYPE_RTCOINFER_ENTROPY, GstPluginAPIFlags(0));

  trans_class->transform_caps = GST_DEBUG_FUNCPTR(gst_rtcoinfer_compress_transform_caps);
  trans_class->set_caps = GST_DEBUG_FUNCPTR(gst_rtcoinfer_compress_set_caps);
  trans_class->src_event = GST_DEBUG_FUNCPTR(gst_rtcoinfer_compress_src_event);
  trans_class->generate_output = GST_DEBUG_FUNCPTR(gst_rtcoinfer_compress_generate_output);
  trans_class->start = GST_DEBUG_FUNCPTR(gst_rtcoinfer_compress_start);
  trans_class->passthrough_on_same_caps = FALSE;
}
