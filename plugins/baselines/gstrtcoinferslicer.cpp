/**
 * SECTION:element-rtcoinfer-slicer
 * @title: rtcoinfer-slicer
 *
 * The device side of the CLIO-style baseline: cuts each feature frame into progressive
 * channel slices, each sent as a feature frame of its own (docs/wire-format.md,
 * "Slices") with the frame's sequence number. The slices end at the channel counts of
 * the `model` bundle's setups of the frame's bit depth (1, 2, ..., 8, 16, 32 for the
 * shipped model at 4 bits), so every prefix that arrives is a setup the tail can run;
 * without `model`, at 1, 2, 4, 8 and so on. The payloader then sends every slice as its own RTP frame,
 * so a slice that arrives is usable even when a later one is late or lost; on the
 * server rtcoinfer-sliceassembler joins them again for rtcoinfer-tail, at each frame's
 * `slice-deadline` with the longest prefix that arrived.
 *
 * Quantization is per channel, so a slice decodes to exactly the channels of the whole
 * frame. Put it after rtcoinfer-mpcrate (with `bits` set to the slices' bit depth): it
 * answers mpcrate's rtcoinfer-wire-bytes query with what the slices of each frame cost,
 * so the controller budgets the real bytes (the frame is cut once, for both). Frames that
 * cannot be parsed are dropped and counted.
 *
 * ## Example launch line
 * |[
 * gst-launch-1.0 rtcoinfer-datasetsrc num-buffers=100 ! rtcoinfer-head model=models/zoo/fashion-mnist-swcnn.rcib \
 *     ! rtcoinfer-compress setup=8x4 ! rtcoinfer-slicer model=models/zoo/fashion-mnist-swcnn.rcib \
 *     ! rtcoinfer-sliceassembler model=models/zoo/fashion-mnist-swcnn.rcib \
 *     ! rtcoinfer-tail model=models/zoo/fashion-mnist-swcnn.rcib ! fdsink
 * ]| Each 8x4 frame leaves as eight one-channel slices; the assembler joins them and the
 * tail answers each frame.
 */
#include "gstrtcoinferslicer.h"

#include <cstring>
#include <deque>
#include <map>
#include <string>
#include <vector>

#include "wire/feature_frame.h"
#include "wire/progressive_slices.h"
#include "common/model_loading.h"
#include "common/drop_warning.h"
#include "contract/rtcoinfer_meta.h"
#include "contract/setup_event.h"

GST_DEBUG_CATEGORY_STATIC(gst_rtcoinfer_slicer_debug);
#define GST_CAT_DEFAULT gst_rtcoinfer_slicer_debug

namespace {

struct SlicerState {
  std::string model_path;  // property (object lock)
  // per bit depth; empty without a model. Written in start(), read while streaming and
  // by mpcrate's per-setup query, which comes after start() (downstream starts first)
  std::map<int, std::vector<int>> setup_channels;
  rtcoinfer::FrameDecoder decoder;
  rtcoinfer::FrameEncoder encoder;
  std::vector<float> values;
  std::vector<std::vector<std::uint8_t>> slices_out;
  std::deque<GstBuffer *> pending;  // slices of the current frame not yet handed out
  // The frame whose slices are in slices_out, byte for byte: mpcrate asks
  // rtcoinfer-wire-bytes just before it passes the same frame on, so each frame is cut
  // once. Compared by content, not by address: a frame mpcrate then skips is freed, and
  // the next one may be allocated at the same address with the same size.
  std::vector<std::uint8_t> cut_input;
  // statistics (object lock)
  guint64 frames = 0, slices = 0, bytes_in = 0, bytes_out = 0, dropped = 0;
};

}  // namespace

struct _GstRtcoinferSlicer {
  GstBaseTransform parent;
  SlicerState *state;
};

enum { PROP_0, PROP_MODEL, PROP_STATS };

static GstStaticPadTemplate sink_template =
    GST_STATIC_PAD_TEMPLATE("sink", GST_PAD_SINK, GST_PAD_ALWAYS, GST_STATIC_CAPS(RTCOINFER_FRAME_CAPS_NAME));
static GstStaticPadTemplate src_template =
    GST_STATIC_PAD_TEMPLATE("src", GST_PAD_SRC, GST_PAD_ALWAYS, GST_STATIC_CAPS(RTCOINFER_FRAME_CAPS_NAME));

#define gst_rtcoinfer_slicer_parent_class parent_class
G_DEFINE_TYPE_WITH_CODE(GstRtcoinferSlicer, gst_rtcoinfer_slicer, GST_TYPE_BASE_TRANSFORM,
                        GST_DEBUG_CATEGORY_INIT(gst_rtcoinfer_slicer_debug, "rtcoinfer-slicer", 0,
                                                "RTCoInfer CLIO-style progressive slices"));
GST_ELEMENT_REGISTER_DEFINE(rtcoinfer_slicer, "rtcoinfer-slicer", GST_RANK_NONE, GST_TYPE_RTCOINFER_SLICER);

// The channel counts slices of `bits`-bit frames end at: the bundle's setups of that bit
// depth, or none (slice_ends then takes 1, 2, 4, 8...).
static const std::vector<int> &cut_channels(const SlicerState *st, int bits) {
  static const std::vector<int> none;
  auto it = st->setup_channels.find(bits);
  return it != st->setup_channels.end() ? it->second : none;
}

// Cuts `buf` into st->slices_out. Fails (with the reason) for a frame it cannot slice.
static rtcoinfer::FrameStatus cut(GstRtcoinferSlicer *self, GstBuffer *buf) {
  SlicerState *st = self->state;
  GstMapInfo map;
  if (!gst_buffer_map(buf, &map, GST_MAP_READ))
    return rtcoinfer::FrameStatus::failure(rtcoinfer::FrameError::Truncated, "buffer could not be mapped");
  if (!st->cut_input.empty() && map.size == st->cut_input.size() &&
      std::memcmp(map.data, st->cut_input.data(), map.size) == 0) {
    gst_buffer_unmap(buf, &map);
    return {};  // cut for the query already
  }
  st->cut_input.clear();
  rtcoinfer::FrameHeader hdr;
  rtcoinfer::FrameStatus status = st->decoder.decode(map.data, map.size, hdr, st->values);
  if (status.ok() && hdr.slice)
    status = rtcoinfer::FrameStatus::failure(rtcoinfer::FrameError::BadSetup, "the frame is a slice already");
  if (!status.ok()) {
    gst_buffer_unmap(buf, &map);
    return status;
  }
  rtcoinfer::EncodeParams p;
  p.entropy = rtcoinfer::Entropy::Auto;
  p.model_id = hdr.model_id;
  p.seq = hdr.seq;
  p.capture_us = hdr.capture_us;
  p.truth = hdr.truth;
  const std::vector<int> ends = rtcoinfer::slice_ends(cut_channels(st, hdr.bits), hdr.channels);
  status = rtcoinfer::encode_slices(st->encoder, st->values.data(), hdr.channels, hdr.height, hdr.width, hdr.bits, ends,
                                    p, st->slices_out);
  if (status.ok()) st->cut_input.assign(map.data, map.data + map.size);
  gst_buffer_unmap(buf, &map);
  return status;
}

// Cuts one frame into st->pending; GST_BASE_TRANSFORM_FLOW_DROPPED when it cannot.
static GstFlowReturn slice_frame(GstBaseTransform *trans, GstBuffer *inbuf) {
  auto *self = GST_RTCOINFER_SLICER(trans);
  SlicerState *st = self->state;
  GST_OBJECT_LOCK(self);
  st->bytes_in += gst_buffer_get_size(inbuf);
  GST_OBJECT_UNLOCK(self);
  const rtcoinfer::FrameStatus status = cut(self, inbuf);
  st->cut_input.clear();  // this frame is consumed
  if (!status.ok()) {
    GST_OBJECT_LOCK(self);
    const guint64 n = ++st->dropped;
    GST_OBJECT_UNLOCK(self);
    if (rtcoinfer::drop_worth_a_warning(n))
      GST_ELEMENT_WARNING(self, STREAM, DECODE,
                          ("Dropped a feature frame it cannot slice, %" G_GUINT64_FORMAT " so far", n),
                          ("%s: %s", rtcoinfer::frame_error_name(status.error), status.message.c_str()));
    return GST_BASE_TRANSFORM_FLOW_DROPPED;
  }
  for (const auto &bytes : st->slices_out) {
    GstBuffer *out = gst_buffer_new_memdup(bytes.data(), bytes.size());
    gst_buffer_copy_into(out, inbuf, GstBufferCopyFlags(GST_BUFFER_COPY_FLAGS | GST_BUFFER_COPY_TIMESTAMPS), 0, -1);
    st->pending.push_back(out);
    GST_OBJECT_LOCK(self);
    st->slices++;
    st->bytes_out += bytes.size();
    GST_OBJECT_UNLOCK(self);
  }
  GST_OBJECT_LOCK(self);
  st->frames++;
  GST_OBJECT_UNLOCK(self);
  return GST_FLOW_OK;
}

// rtcoinfer-wire-bytes from rtcoinfer-mpcrate: what this frame will cost once sliced, or,
// asked for a setup before any frame, its table bytes plus one more frame header for
// each slice after the first (each frame's real answer then refines it).
static gboolean gst_rtcoinfer_slicer_query(GstBaseTransform *trans, GstPadDirection direction, GstQuery *query) {
  auto *self = GST_RTCOINFER_SLICER(trans);
  if (direction == GST_PAD_SINK) {
    if (auto setup = rtcoinfer::wire_bytes_query_setup(query)) {
      const std::size_t n = rtcoinfer::slice_ends(cut_channels(self->state, setup->bits), setup->channels).size();
      rtcoinfer::wire_bytes_query_answer(
          query, setup->bytes + guint64(rtcoinfer::FrameLayout::kHeaderSize) * (n > 0 ? n - 1 : 0));
      return TRUE;
    }
  }
  GstBuffer *frame = direction == GST_PAD_SINK ? rtcoinfer::wire_bytes_query_frame(query) : nullptr;
  if (!frame) return GST_BASE_TRANSFORM_CLASS(parent_class)->query(trans, direction, query);
  if (!cut(self, frame).ok()) return FALSE;  // the frame will be dropped: its own size is a fine guess
  guint64 bytes = 0;
  for (const auto &slice : self->state->slices_out) bytes += slice.size();
  rtcoinfer::wire_bytes_query_answer(query, bytes);
  return TRUE;
}

// 1 -> N: GstBaseTransform calls this after each input until it gives no buffer, so each
// call hands out the next slice of the frame.
static GstFlowReturn gst_rtcoinfer_slicer_generate_output(GstBaseTransform *trans, GstBuffer **outbuf) {
  SlicerState *st = GST_RTCOINFER_SLICER(trans)->state;
  *outbuf = nullptr;
  if (st->pending.empty() && trans->queued_buf) {
    GstBuffer *inbuf = trans->queued_buf;
    trans->queued_buf = nullptr;
    const GstFlowReturn ret = slice_frame(trans, inbuf);
    gst_buffer_unref(inbuf);
    if (ret != GST_FLOW_OK && ret != GST_BASE_TRANSFORM_FLOW_DROPPED) return ret;
  }
  if (st->pending.empty()) return GST_FLOW_OK;
  *outbuf = st->pending.front();
  st->pending.pop_front();
  return GST_FLOW_OK;
}

static gboolean gst_rtcoinfer_slicer_stop(GstBaseTransform *trans) {
  SlicerState *st = GST_RTCOINFER_SLICER(trans)->state;
  for (GstBuffer *b : st->pending) gst_buffer_unref(b);
  st->pending.clear();
  return TRUE;
}

static void gst_rtcoinfer_slicer_get_property(GObject *object, guint prop_id, GValue *value, GParamSpec *pspec) {
  auto *self = GST_RTCOINFER_SLICER(object);
  SlicerState *st = self->state;
  if (prop_id == PROP_MODEL) {
    GST_OBJECT_LOCK(self);
    g_value_set_string(value, st->model_path.empty() ? nullptr : st->model_path.c_str());
    GST_OBJECT_UNLOCK(self);
    return;
  }
  if (prop_id != PROP_STATS) {
    G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
    return;
  }
  GST_OBJECT_LOCK(self);
  g_value_take_boxed(
      value, gst_structure_new("rtcoinfer-slicer-stats", "frames", G_TYPE_UINT64, st->frames, "slices", G_TYPE_UINT64,
                               st->slices, "bytes-in", G_TYPE_UINT64, st->bytes_in, "bytes-out", G_TYPE_UINT64,
                               st->bytes_out, "dropped", G_TYPE_UINT64, st->dropped, nullptr));
  GST_OBJECT_UNLOCK(self);
}

static gboolean gst_rtcoinfer_slicer_start(GstBaseTransform *trans) {
  auto *self = GST_RTCOINFER_SLICER(trans);
  SlicerState *st = self->state;
  GST_OBJECT_LOCK(self);
  st->frames = st->slices = st->bytes_in = st->bytes_out = st->dropped = 0;
  const std::string path = st->model_path;
  GST_OBJECT_UNLOCK(self);
  st->setup_channels.clear();
  if (path.empty()) return TRUE;
  auto manifest = rtcoinfer::load_manifest_for(GST_ELEMENT(self), path);
  if (!manifest) return FALSE;
  for (const auto &s : manifest->info.setups.all()) st->setup_channels[s.bits].push_back(s.channels);
  return TRUE;
}

static void gst_rtcoinfer_slicer_set_property(GObject *object, guint prop_id, const GValue *value, GParamSpec *pspec) {
  auto *self = GST_RTCOINFER_SLICER(object);
  if (prop_id != PROP_MODEL) {
    G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
    return;
  }
  GST_OBJECT_LOCK(self);
  self->state->model_path = g_value_get_string(value) ? g_value_get_string(value) : "";
  GST_OBJECT_UNLOCK(self);
}

static void gst_rtcoinfer_slicer_finalize(GObject *object) {
  delete GST_RTCOINFER_SLICER(object)->state;
  G_OBJECT_CLASS(parent_class)->finalize(object);
}

static void gst_rtcoinfer_slicer_init(GstRtcoinferSlicer *self) { self->state = new SlicerState(); }

static void gst_rtcoinfer_slicer_class_init(GstRtcoinferSlicerClass *klass) {
  GObjectClass *gobject_class = G_OBJECT_CLASS(klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS(klass);
  GstBaseTransformClass *trans_class = GST_BASE_TRANSFORM_CLASS(klass);
  gobject_class->set_property = gst_rtcoinfer_slicer_set_property;
  gobject_class->get_property = gst_rtcoinfer_slicer_get_property;
  gobject_class->finalize = gst_rtcoinfer_slicer_finalize;
  /**
   * GstRtcoinferSlicer:model:
   *
   * The bundle rtcoinfer-head runs (path or /models/<id> URL): slices end at its setups'
   * channel counts. Unset, slices end at 1, 2, 4, 8... channels. Only the torch-free
   * manifest is read, when the element starts.
   */
  g_object_class_install_property(
      gobject_class, PROP_MODEL,
      g_param_spec_string("model", "Model bundle", "Bundle whose setups the slices end at (path or URL)", nullptr,
                          GParamFlags(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS)));
  /**
   * GstRtcoinferSlicer:stats:
   *
   * Read-only, all guint64: `frames` (sliced), `slices` (pushed), `bytes-in`,
   * `bytes-out` (the slices' own headers and ranges make it larger), `dropped` (frames
   * that could not be parsed, or were slices already).
   */
  g_object_class_install_property(
      gobject_class, PROP_STATS,
      g_param_spec_boxed("stats", "Statistics", "Frames, slices, bytes in and out, dropped frames", GST_TYPE_STRUCTURE,
                         GParamFlags(G_PARAM_READABLE | G_PARAM_STATIC_STRINGS)));
  gst_element_class_add_static_pad_template(element_class, &sink_template);
  gst_element_class_add_static_pad_template(element_class, &src_template);
  gst_element_class_set_static_metadata(element_class, "RTCoInfer progressive slicer", "Filter/Network",
                                        "Cuts feature frames into progressive channel slices "
                                        "(the CLIO-style baseline)",
                                        "gst-rtcoinfer developers");
  trans_class->start = GST_DEBUG_FUNCPTR(gst_rtcoinfer_slicer_start);
  trans_class->generate_output = GST_DEBUG_FUNCPTR(gst_rtcoinfer_slicer_generate_output);
  trans_class->query = GST_DEBUG_FUNCPTR(gst_rtcoinfer_slicer_query);
  trans_class->stop = GST_DEBUG_FUNCPTR(gst_rtcoinfer_slicer_stop);
  trans_class->passthrough_on_same_caps = FALSE;
}
