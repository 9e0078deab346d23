/**
 * SECTION:element-rtcoinfer-sliceassembler
 * @title: rtcoinfer-sliceassembler
 *
 * The server side of the CLIO-style baseline: joins the progressive channel slices that
 * rtcoinfer-slicer cut (docs/wire-format.md, "Slices") back into whole feature frames for
 * rtcoinfer-tail. A frame goes out as soon as all its slices are in, or at its deadline
 * (`slice-deadline` after capture, on the pipeline clock) with the longest prefix of
 * channels that arrived, coded at the largest setup of its bit depth that the prefix
 * covers. A frame with no usable prefix, a slice that arrives after its frame went out,
 * and an invalid slice are reported downstream as `rtcoinfer-dropped` events (incomplete,
 * late, malformed); the tail's ledger counts such a drop only for a frame that has no
 * outcome yet, so a late slice of an answered frame is counted here (`late`) and the
 * frame once, by its result. Frames that are not sliced pass through unchanged.
 *
 * Output leaves from a task on the source pad that waits for the next deadline with a
 * GstClockID, so tests drive it with a GstTestClock.
 *
 * ## Example launch line
 * |[
 * gst-launch-1.0 rtcoinfer-datasetsrc num-buffers=100 ! rtcoinfer-head model=models/zoo/fashion-mnist-swcnn.rcib \
 *     ! rtcoinfer-compress setup=8x4 ! rtcoinfer-slicer model=models/zoo/fashion-mnist-swcnn.rcib \
 *     ! rtcoinfer-sliceassembler model=models/zoo/fashion-mnist-swcnn.rcib \
 *     ! rtcoinfer-tail model=models/zoo/fashion-mnist-swcnn.rcib ! fdsink
 * ]| Cuts 8x4 frames into slices and joins them again before the tail.
 */
#include "gstrtcoinfersliceassembler.h"

#include "common/element_clock.h"

#include <cmath>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "common/model_loading.h"
#include "contract/rtcoinfer_meta.h"
#include "contract/setup_event.h"
#include "wire/feature_frame.h"
#include "wire/slice_assembler.h"

GST_DEBUG_CATEGORY_STATIC(gst_rtcoinfer_slice_assembler_debug);
#define GST_CAT_DEFAULT gst_rtcoinfer_slice_assembler_debug

#define DEFAULT_SLICE_DEADLINE_MS 140.0
#define DEFAULT_MAX_PENDING 64

namespace {

// What the task pushes, in order: a frame, or an event (a drop report, or a serialized
// event that must stay behind the frames before it).
using Output = std::variant<GstBuffer *, GstEvent *>;

struct AssemblerState {
  GMutex lock;  // STATE_LOCK
  GCond cond;   // STATE_WAIT: the task waits here for output or a deadline
  // with STATE_LOCK
  std::string model_path;
  double slice_deadline_ms = DEFAULT_SLICE_DEADLINE_MS;
  std::optional<rtcoinfer::BundleInfo> info;          // from the manifest, while running
  std::unique_ptr<rtcoinfer::SliceAssembler> slices;  // keyed by unwrapped sequence number
  std::deque<Output> out;
  GstClockID wait_id = nullptr;  // the task's pending deadline wait, to unschedule
  bool flushing = true, eos = false;
  bool have_seq = false;
  guint64 last_key = 0;
  guint64 frames_in = 0, slices_in = 0, frames_out = 0, incomplete = 0, late = 0, malformed = 0;

  // sink pad streaming thread only
  rtcoinfer::FrameDecoder decoder;
  std::vector<float> values;
  // src pad task only
  rtcoinfer::FrameEncoder encoder;
};

}  // namespace

struct _GstRtcoinferSliceAssembler {
  GstElement parent;
  GstPad *sinkpad, *srcpad;
  AssemblerState *state;
};

// The element's one state lock, as rtpjitterbuffer's JBUF_LOCK: it guards everything in
// AssemblerState marked "with STATE_LOCK". It is not the object lock, because the task
// asks for the element's clock (which takes the object lock) while it holds it.
#define STATE_LOCK(self) g_mutex_lock(&(self)->state->lock)
#define STATE_UNLOCK(self) g_mutex_unlock(&(self)->state->lock)
#define STATE_WAIT(self) g_cond_wait(&(self)->state->cond, &(self)->state->lock)
#define STATE_SIGNAL(self) g_cond_signal(&(self)->state->cond)

enum { PROP_0, PROP_MODEL, PROP_SLICE_DEADLINE, PROP_STATS };

static GstStaticPadTemplate sink_template =
    GST_STATIC_PAD_TEMPLATE("sink", GST_PAD_SINK, GST_PAD_ALWAYS, GST_STATIC_CAPS(RTCOINFER_FRAME_CAPS_NAME));
static GstStaticPadTemplate src_template =
    GST_STATIC_PAD_TEMPLATE("src", GST_PAD_SRC, GST_PAD_ALWAYS, GST_STATIC_CAPS(RTCOINFER_FRAME_CAPS_NAME));

#define gst_rtcoinfer_slice_assembler_parent_class parent_class
G_DEFINE_TYPE_WITH_CODE(GstRtcoinferSliceAssembler, gst_rtcoinfer_slice_assembler, GST_TYPE_ELEMENT,
                        GST_DEBUG_CATEGORY_INIT(gst_rtcoinfer_slice_assembler_debug, "rtcoinfer-sliceassembler", 0,
                                                "RTCoInfer CLIO-style slice assembly"));
GST_ELEMENT_REGISTER_DEFINE(rtcoinfer_sliceassembler, "rtcoinfer-sliceassembler", GST_RANK_NONE,
                            GST_TYPE_RTCOINFER_SLICE_ASSEMBLER);

static void free_output(Output &o) {
  if (auto *b = std::get_if<GstBuffer *>(&o)) gst_buffer_unref(*b);
  if (auto *e = std::get_if<GstEvent *>(&o)) gst_event_unref(*e);
}

// Wakes the task: something to push, or an earlier deadline. With STATE_LOCK.
static void wake_task(GstRtcoinferSliceAssembler *self) {
  if (self->state->wait_id) gst_clock_id_unschedule(self->state->wait_id);
  STATE_SIGNAL(self);
}

// The pipeline clock's time in seconds, or nullopt without a clock.
static std::optional<double> clock_now_s(GstRtcoinferSliceAssembler *self) {
  const GstClockTime now = rtcoinfer::element_clock_time(GST_ELEMENT(self));
  if (!GST_CLOCK_TIME_IS_VALID(now)) return std::nullopt;
  return double(now) / GST_SECOND;
}

// A frame taken from the assembler -> a whole feature frame at the largest setup of its
// bits that its prefix covers, or a drop report. With STATE_LOCK.
static Output answer(GstRtcoinferSliceAssembler *self, rtcoinfer::SliceAssembler::Frame &f) {
  AssemblerState *st = self->state;
  const auto &info = *st->info;
  std::optional<rtcoinfer::Setup> setup;
  for (const auto &s : info.setups.all())
    if (s.bits == f.bits && s.channels <= f.prefix && (!setup || s.channels > setup->channels)) setup = s;
  if (!setup) {
    st->incomplete++;
    return rtcoinfer::dropped_event_new(guint16(f.seq), "incomplete");
  }
  rtcoinfer::EncodeParams p;
  p.setup = *setup;
  p.entropy = rtcoinfer::Entropy::None;
  p.model_id = info.frame_model_id;
  p.seq = guint16(f.seq);
  p.capture_us = f.capture_us;
  p.truth = f.truth;
  std::vector<std::uint8_t> bytes;
  if (!st->encoder
           .encode(f.values.data(), info.partition_channels, info.partition_height, info.partition_width, p, bytes)
           .ok()) {
    st->malformed++;
    return rtcoinfer::dropped_event_new(guint16(f.seq), "malformed");
  }
  GstBuffer *buf = gst_buffer_new_memdup(bytes.data(), bytes.size());
  GstRtcoinferOriginMeta *origin = gst_buffer_add_rtcoinfer_origin_meta(buf);
  origin->seq = guint16(f.seq);
  origin->capture_us = f.capture_us;
  origin->truth = f.truth ? int(*f.truth) : -1;
  origin->bytes = f.bytes;  // what the slices cost on the wire
  g_strlcpy(origin->codec, "slices", sizeof origin->codec);
  st->frames_out++;
  return buf;
}

// Moves due (or, at EOS, all) frames and forgotten ones to the output queue. With STATE_LOCK.
static void collect(GstRtcoinferSliceAssembler *self, bool all) {
  AssemblerState *st = self->state;
  if (!st->slices) return;
  std::vector<rtcoinfer::SliceAssembler::Frame> due;
  if (all) {
    due = st->slices->take_all();
  } else if (auto now = clock_now_s(self)) {
    // deadlines are seconds as doubles and waits whole nanoseconds: a microsecond of
    // slack keeps a wait that ended exactly at a deadline from finding it not yet due
    due = st->slices->take_due(*now + 1e-6);
  }
  for (auto &f : due) st->out.push_back(answer(self, f));
  for (guint64 key : st->slices->take_evicted()) {
    st->incomplete++;
    st->out.push_back(rtcoinfer::dropped_event_new(guint16(key), "incomplete"));
  }
}

// The source pad task: pushes what is queued; otherwise waits for the next deadline on
// the pipeline clock, or for the streaming thread to queue something.
static void gst_rtcoinfer_slice_assembler_loop(GstRtcoinferSliceAssembler *self) {
  AssemblerState *st = self->state;
  STATE_LOCK(self);
  while (!st->flushing) {
    collect(self, false);
    if (!st->out.empty()) {
      Output o = st->out.front();
      st->out.pop_front();
      STATE_UNLOCK(self);
      if (auto *b = std::get_if<GstBuffer *>(&o)) {
        const GstFlowReturn ret = gst_pad_push(self->srcpad, *b);
        if (ret != GST_FLOW_OK) {
          GST_DEBUG_OBJECT(self, "push: %s", gst_flow_get_name(ret));
          if (ret == GST_FLOW_FLUSHING || ret <= GST_FLOW_EOS) {
            if (ret <= GST_FLOW_NOT_NEGOTIATED) GST_ELEMENT_FLOW_ERROR(self, ret);
            gst_pad_pause_task(self->srcpad);
            return;
          }
        }
      } else {
        const bool is_eos = GST_EVENT_TYPE(std::get<GstEvent *>(o)) == GST_EVENT_EOS;
        gst_pad_push_event(self->srcpad, std::get<GstEvent *>(o));
        if (is_eos) {
          gst_pad_pause_task(self->srcpad);
          return;
        }
      }
      STATE_LOCK(self);
      continue;
    }
    const auto next = st->slices ? st->slices->next_deadline() : std::nullopt;
    GstClock *clock = next ? gst_element_get_clock(GST_ELEMENT(self)) : nullptr;
    if (!clock) {
      STATE_WAIT(self);
      continue;
    }
    st->wait_id = gst_clock_new_single_shot_id(clock, GstClockTime(std::ceil(*next * GST_SECOND)));
    gst_object_unref(clock);
    GstClockID id = st->wait_id;
    STATE_UNLOCK(self);
    gst_clock_id_wait(id, nullptr);
    STATE_LOCK(self);
    st->wait_id = nullptr;
    gst_clock_id_unref(id);
  }
  STATE_UNLOCK(self);
  gst_pad_pause_task(self->srcpad);
}

// 16-bit wire numbers -> keys, relative to the newest frame: a late slice of an earlier
// frame keys to that frame, not to a new one. With STATE_LOCK.
static guint64 key_of(AssemblerState *st, guint16 seq) {
  if (!st->have_seq) {
    st->have_seq = true;
    st->last_key = (guint64(1) << 32) + seq;
    return st->last_key;
  }
  const gint16 delta = gint16(guint16(seq - guint16(st->last_key)));
  const guint64 key = guint64(gint64(st->last_key) + delta);
  if (delta > 0) st->last_key = key;
  return key;
}

static GstFlowReturn gst_rtcoinfer_slice_assembler_chain(GstPad *, GstObject *parent, GstBuffer *buf) {
  auto *self = GST_RTCOINFER_SLICE_ASSEMBLER(parent);
  AssemblerState *st = self->state;
  GstMapInfo map;
  rtcoinfer::FrameHeader hdr;
  bool sliced = false;
  rtcoinfer::FrameStatus status;
  if (gst_buffer_map(buf, &map, GST_MAP_READ)) {
    status = rtcoinfer::FrameDecoder::parse_header(map.data, map.size, hdr);
    sliced = status.ok() && hdr.slice;
    if (sliced) status = st->decoder.decode(map.data, map.size, hdr, st->values);
    gst_buffer_unmap(buf, &map);
  }
  STATE_LOCK(self);
  if (st->flushing) {
    STATE_UNLOCK(self);
    gst_buffer_unref(buf);
    return GST_FLOW_FLUSHING;
  }
  if (!sliced) {  // a whole frame (or one the tail will reject): in order with the rest
    st->frames_in++;
    st->out.push_back(buf);
    wake_task(self);
    STATE_UNLOCK(self);
    return GST_FLOW_OK;
  }
  st->slices_in++;
  const gsize bytes = gst_buffer_get_size(buf);
  gst_buffer_unref(buf);
  if (!status.ok()) {
    st->malformed++;
    st->out.push_back(rtcoinfer::dropped_event_new(hdr.seq, "malformed"));
    wake_task(self);
    STATE_UNLOCK(self);
    return GST_FLOW_OK;
  }
  // the deadline counts from capture, on the device's realtime clock as latency does
  const double age_ms = gint32(guint32(rtcoinfer::realtime_us()) - hdr.capture_us) / 1000.0;
  const double now_s = clock_now_s(self).value_or(0.0);
  const double deadline_s = now_s + (st->slice_deadline_ms - age_ms) / 1000.0;
  const guint64 key = key_of(st, hdr.seq);
  std::string why;
  const auto added = st->slices->add(key, hdr, st->values.data(), bytes, deadline_s, &why);
  switch (added) {
    case rtcoinfer::SliceAssembler::Added::Late:
      st->late++;
      st->out.push_back(rtcoinfer::dropped_event_new(hdr.seq, "late"));
      break;
    case rtcoinfer::SliceAssembler::Added::Invalid:
      GST_DEBUG_OBJECT(self, "invalid slice: %s", why.c_str());
      st->malformed++;
      st->out.push_back(rtcoinfer::dropped_event_new(hdr.seq, "malformed"));
      break;
    case rtcoinfer::SliceAssembler::Added::Complete:
      if (auto f = st->slices->take(key)) st->out.push_back(answer(self, *f));
      break;
    case rtcoinfer::SliceAssembler::Added::Pending: break;
  }
  wake_task(self);
  STATE_UNLOCK(self);
  return GST_FLOW_OK;
}

static void flush_state(GstRtcoinferSliceAssembler *self) {  // with STATE_LOCK
  AssemblerState *st = self->state;
  for (auto &o : st->out) free_output(o);
  st->out.clear();
  if (st->slices) st->slices->clear();
  st->have_seq = false;
}

static gboolean gst_rtcoinfer_slice_assembler_sink_event(GstPad *pad, GstObject *parent, GstEvent *event) {
  auto *self = GST_RTCOINFER_SLICE_ASSEMBLER(parent);
  AssemblerState *st = self->state;
  switch (GST_EVENT_TYPE(event)) {
    case GST_EVENT_FLUSH_START:
      STATE_LOCK(self);
      st->flushing = true;
      wake_task(self);
      STATE_UNLOCK(self);
      gst_pad_push_event(self->srcpad, event);
      gst_pad_pause_task(self->srcpad);
      return TRUE;
    case GST_EVENT_FLUSH_STOP:
      STATE_LOCK(self);
      flush_state(self);
      st->flushing = false;
      STATE_UNLOCK(self);
      gst_pad_push_event(self->srcpad, event);
      return gst_pad_start_task(self->srcpad, (GstTaskFunction)gst_rtcoinfer_slice_assembler_loop, self, nullptr);
    case GST_EVENT_EOS:  // the frames still waiting are answered with what they have
      STATE_LOCK(self);
      collect(self, true);
      st->out.push_back(event);
      wake_task(self);
      STATE_UNLOCK(self);
      return TRUE;
    default:
      if (GST_EVENT_IS_SERIALIZED(event) && GST_EVENT_TYPE(event) > GST_EVENT_CAPS) {
        STATE_LOCK(self);  // after the frames queued before it
        st->out.push_back(event);
        wake_task(self);
        STATE_UNLOCK(self);
        return TRUE;
      }
      return gst_pad_event_default(pad, parent, event);
  }
}

static gboolean gst_rtcoinfer_slice_assembler_src_activate_mode(GstPad *pad, GstObject *parent, GstPadMode mode,
                                                                gboolean active) {
  auto *self = GST_RTCOINFER_SLICE_ASSEMBLER(parent);
  if (mode != GST_PAD_MODE_PUSH) return FALSE;
  STATE_LOCK(self);
  self->state->flushing = !active;
  if (!active) wake_task(self);
  STATE_UNLOCK(self);
  if (active) return gst_pad_start_task(pad, (GstTaskFunction)gst_rtcoinfer_slice_assembler_loop, self, nullptr);
  return gst_pad_stop_task(pad);
}

static GstStateChangeReturn gst_rtcoinfer_slice_assembler_change_state(GstElement *element, GstStateChange transition) {
  auto *self = GST_RTCOINFER_SLICE_ASSEMBLER(element);
  AssemblerState *st = self->state;
  if (transition == GST_STATE_CHANGE_READY_TO_PAUSED) {
    STATE_LOCK(self);
    const std::string path = st->model_path;
    STATE_UNLOCK(self);
    auto manifest = rtcoinfer::load_manifest_for(element, path);
    if (!manifest) return GST_STATE_CHANGE_FAILURE;
    const auto &info = manifest->info;
    STATE_LOCK(self);
    st->info = info;
    st->slices = std::make_unique<rtcoinfer::SliceAssembler>(info.partition_channels, info.partition_height,
                                                             info.partition_width, DEFAULT_MAX_PENDING);
    st->frames_in = st->slices_in = st->frames_out = st->incomplete = st->late = st->malformed = 0;
    st->have_seq = false;
    STATE_UNLOCK(self);
  }
  const GstStateChangeReturn ret = GST_ELEMENT_CLASS(parent_class)->change_state(element, transition);
  if (transition == GST_STATE_CHANGE_PAUSED_TO_READY) {
    STATE_LOCK(self);
    flush_state(self);
    st->slices.reset();
    st->info.reset();
    STATE_UNLOCK(self);
  }
  return ret;
}

static void gst_rtcoinfer_slice_assembler_set_property(GObject *object, guint prop_id, const GValue *value,
                                                       GParamSpec *pspec) {
  auto *self = GST_RTCOINFER_SLICE_ASSEMBLER(object);
  STATE_LOCK(self);
  switch (prop_id) {
    case PROP_MODEL: self->state->model_path = g_value_get_string(value) ? g_value_get_string(value) : ""; break;
    case PROP_SLICE_DEADLINE: self->state->slice_deadline_ms = g_value_get_double(value); break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
  }
  STATE_UNLOCK(self);
}

static void gst_rtcoinfer_slice_assembler_get_property(GObject *object, guint prop_id, GValue *value,
                                                       GParamSpec *pspec) {
  auto *self = GST_RTCOINFER_SLICE_ASSEMBLER(object);
  AssemblerState *st = self->state;
  STATE_LOCK(self);
  switch (prop_id) {
    case PROP_MODEL: g_value_set_string(value, st->model_path.c_str()); break;
    case PROP_SLICE_DEADLINE: g_value_set_double(value, st->slice_deadline_ms); break;
    case PROP_STATS:
      g_value_take_boxed(
          value, gst_structure_new("rtcoinfer-sliceassembler-stats", "frames-in", G_TYPE_UINT64, st->frames_in,
                                   "slices-in", G_TYPE_UINT64, st->slices_in, "frames-out", G_TYPE_UINT64,
                                   st->frames_out, "incomplete", G_TYPE_UINT64, st->incomplete, "late", G_TYPE_UINT64,
                                   st->late, "malformed", G_TYPE_UINT64, st->malformed, "pending", G_TYPE_UINT64,
                                   guint64(st->slices ? st->slices->pending() : 0), nullptr));
      break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
  }
  STATE_UNLOCK(self);
}

static void gst_rtcoinfer_slice_assembler_finalize(GObject *object) {
  auto *self = GST_RTCOINFER_SLICE_ASSEMBLER(object);
  for (auto &o : self->state->out) free_output(o);
  g_cond_clear(&self->state->cond);
  g_mutex_clear(&self->state->lock);
  delete self->state;
  G_OBJECT_CLASS(parent_class)->finalize(object);
}

static void gst_rtcoinfer_slice_assembler_init(GstRtcoinferSliceAssembler *self) {
  self->state = new AssemblerState();
  g_mutex_init(&self->state->lock);
  g_cond_init(&self->state->cond);
  self->sinkpad = gst_pad_new_from_static_template(&sink_template, "sink");
  gst_pad_set_chain_function(self->sinkpad, GST_DEBUG_FUNCPTR(gst_rtcoinfer_slice_assembler_chain));
  gst_pad_set_event_function(self->sinkpad, GST_DEBUG_FUNCPTR(gst_rtcoinfer_slice_assembler_sink_event));
  GST_PAD_SET_PROXY_CAPS(self->sinkpad);
  gst_element_add_pad(GST_ELEMENT(self), self->sinkpad);
  self->srcpad = gst_pad_new_from_static_template(&src_template, "src");
  gst_pad_set_activatemode_function(self->srcpad, GST_DEBUG_FUNCPTR(gst_rtcoinfer_slice_assembler_src_activate_mode));
  GST_PAD_SET_PROXY_CAPS(self->srcpad);
  gst_pad_use_fixed_caps(self->srcpad);
  gst_element_add_pad(GST_ELEMENT(self), self->srcpad);
}

static void gst_rtcoinfer_slice_assembler_class_init(GstRtcoinferSliceAssemblerClass *klass) {
  GObjectClass *gobject_class = G_OBJECT_CLASS(klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS(klass);
  gobject_class->set_property = gst_rtcoinfer_slice_assembler_set_property;
  gobject_class->get_property = gst_rtcoinfer_slice_assembler_get_property;
  gobject_class->finalize = gst_rtcoinfer_slice_assembler_finalize;
  element_class->change_state = GST_DEBUG_FUNCPTR(gst_rtcoinfer_slice_assembler_change_state);

  const auto rw = GParamFlags(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS);
  /**
   * GstRtcoinferSliceAssembler:model:
   *
   * The bundle the tail runs (path or /models/<id> URL): its setups decide which prefix
   * of slices a frame is answered with. Only the manifest is read, when the element
   * starts.
   */
  g_object_class_install_property(
      gobject_class, PROP_MODEL,
      g_param_spec_string("model", "Model bundle", "Bundle whose setups decide the prefix a frame is answered with",
                          nullptr, rw));
  /**
   * GstRtcoinferSliceAssembler:slice-deadline:
   *
   * Milliseconds after capture (1..60000) at which a sliced frame goes out with the
   * longest prefix of channels that arrived; slices later than that are dropped as late.
   * May change while PLAYING.
   */
  g_object_class_install_property(
      gobject_class, PROP_SLICE_DEADLINE,
      g_param_spec_double("slice-deadline", "Slice deadline",
                          "Milliseconds after capture at which a sliced frame goes "
                          "out with what arrived, 1..60000",
                          1, 60000, DEFAULT_SLICE_DEADLINE_MS, GParamFlags(rw | GST_PARAM_MUTABLE_PLAYING)));
  /**
   * GstRtcoinferSliceAssembler:stats:
   *
   * Read-only: `frames-in` (whole frames passed through), `slices-in`, `frames-out`
   * (joined frames pushed), `incomplete` (frames), `late` and `malformed` (slices; each
   * reported downstream as rtcoinfer-dropped), `pending` (frames waiting for slices), all
   * guint64.
   */
  g_object_class_install_property(
      gobject_class, PROP_STATS,
      g_param_spec_boxed("stats", "Statistics",
                         "Counters: frames-in, slices-in, frames-out, incomplete, late, "
                         "malformed, pending",
                         GST_TYPE_STRUCTURE, GParamFlags(G_PARAM_READABLE | G_PARAM_STATIC_STRINGS)));
  gst_element_class_add_static_pad_template(element_class, &sink_template);
  gst_element_class_add_static_pad_template(element_class, &src_template);
  gst_element_class_set_static_metadata(element_class, "RTCoInfer slice assembler (CLIO-style baseline)",
                                        "Codec/Depayloader/Network",
                                        "Joins progressive channel slices into frames "
                                        "at their deadline",
                                        "gst-rtcoinfer developers");
}
