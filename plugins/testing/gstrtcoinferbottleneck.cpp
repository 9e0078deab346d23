/**
 * SECTION:element-rtcoinfer-bottleneck
 * @title: rtcoinfer-bottleneck
 *
 * An in-process bottleneck link for experiments and tests: buffers (typically RTP
 * packets) enter a FIFO drop-tail queue served at a rate that follows a bandwidth
 * trace, then wait a fixed propagation delay before leaving. Unlike netsim, which
 * drops what exceeds its rate, this queues - so delay builds up as on a real
 * bottleneck and TWCC feedback sees it. The schedule is computed from arrival times
 * by a deterministic model (LinkModel); drops are counted in `stats`.
 *
 * Put it between rtpbin's send_rtp_src and the udpsink of a device pipeline.
 *
 * ## Example launch line
 * |[
 * gst-launch-1.0 videotestsrc is-live=true num-buffers=150 ! rtpvrawpay ! rtcoinfer-bottleneck rate=2000 delay=20 \
 *     queue-size=65536 ! fakesink sync=false
 * ]| Raw video RTP through a 2 Mbit/s link with 20 ms of propagation delay.
 * With `trace=` it replays a bandwidth trace instead (pipelines/device --link-trace puts
 * it in front of the RTP stream's udpsink).
 */
#include "gstrtcoinferbottleneck.h"

#include "common/element_clock.h"

#include <deque>
#include <memory>
#include <string>

#include "sim/link_model.h"

GST_DEBUG_CATEGORY_STATIC(gst_rtcoinfer_bottleneck_debug);
#define GST_CAT_DEFAULT gst_rtcoinfer_bottleneck_debug

#define DEFAULT_RATE_KBPS 10000.0
#define DEFAULT_TRACE_SCALE 1.0
#define DEFAULT_DELAY_MS 10.0
#define DEFAULT_QUEUE_SIZE (64 * 1024)

namespace {

struct Item {
  GstMiniObject *obj;    // buffer or serialized event
  GstClockTime release;  // running time
};

// Two locks: the object lock guards the properties, `lock` the link (the chain function
// and the src pad task share it; `cond` wakes the task). build_model() takes the object
// lock first and then `lock`, never the other way round.
struct LinkState {
  // properties, with the object lock
  double rate_kbps = DEFAULT_RATE_KBPS, delay_ms = DEFAULT_DELAY_MS, trace_scale = DEFAULT_TRACE_SCALE;
  guint64 queue_size = DEFAULT_QUEUE_SIZE;
  std::string trace;

  // the link and its statistics, with `lock` (model is also reset at activation, before
  // the src pad task and the chain function run)
  std::unique_ptr<rtcoinfer::LinkModel> model;
  GstClockTime start = GST_CLOCK_TIME_NONE;  // running time of the first packet
  std::deque<Item> items;
  GMutex lock;
  GCond cond;
  bool flushing = true, eos = false;
  GstFlowReturn last_ret = GST_FLOW_OK;
  GstClockID wait_id = nullptr;
  guint64 forwarded = 0, dropped = 0, bytes = 0;
};

}  // namespace

struct _GstRtcoinferBottleneck {
  GstElement parent;
  GstPad *sinkpad, *srcpad;
  LinkState *state;
};

enum { PROP_0, PROP_RATE, PROP_TRACE, PROP_TRACE_SCALE, PROP_DELAY, PROP_QUEUE_SIZE, PROP_STATS };

static GstStaticPadTemplate sink_template =
    GST_STATIC_PAD_TEMPLATE("sink", GST_PAD_SINK, GST_PAD_ALWAYS, GST_STATIC_CAPS_ANY);
static GstStaticPadTemplate src_template =
    GST_STATIC_PAD_TEMPLATE("src", GST_PAD_SRC, GST_PAD_ALWAYS, GST_STATIC_CAPS_ANY);

#define gst_rtcoinfer_bottleneck_parent_class parent_class
G_DEFINE_TYPE_WITH_CODE(GstRtcoinferBottleneck, gst_rtcoinfer_bottleneck, GST_TYPE_ELEMENT,
                        GST_DEBUG_CATEGORY_INIT(gst_rtcoinfer_bottleneck_debug, "rtcoinfer-bottleneck", 0,
                                                "RTCoInfer in-process bottleneck link"));
GST_ELEMENT_REGISTER_DEFINE(rtcoinfer_bottleneck, "rtcoinfer-bottleneck", GST_RANK_NONE, GST_TYPE_RTCOINFER_BOTTLENECK);

static GstClockTime running_time_now(GstElement *e) {
  const GstClockTime now = rtcoinfer::element_clock_time(e);
  return GST_CLOCK_TIME_IS_VALID(now) ? now - gst_element_get_base_time(e) : GST_CLOCK_TIME_NONE;
}

// Builds the link model from the properties. Call with neither lock held: it takes the
// object lock, then `lock`.
static bool build_model(GstRtcoinferBottleneck *self) {
  LinkState *st = self->state;
  GST_OBJECT_LOCK(self);
  rtcoinfer::LinkConfig cfg;
  const std::string trace = st->trace;
  const double scale = st->trace_scale, rate = st->rate_kbps;
  cfg.delay_s = st->delay_ms / 1000.0;
  cfg.queue_bytes = st->queue_size;
  GST_OBJECT_UNLOCK(self);
  try {
    cfg.trace = trace.empty() ? rtcoinfer::BandwidthTrace::constant(rate * 1000.0)
                              : rtcoinfer::BandwidthTrace::load(trace, scale);
  } catch (const std::exception &e) {
    GST_ELEMENT_ERROR(self, RESOURCE, OPEN_READ, ("%s", e.what()), (nullptr));
    return false;
  }
  g_mutex_lock(&st->lock);
  st->model = std::make_unique<rtcoinfer::LinkModel>(cfg);
  st->start = GST_CLOCK_TIME_NONE;
  g_mutex_unlock(&st->lock);
  return true;
}

static GstFlowReturn gst_rtcoinfer_bottleneck_chain(GstPad *, GstObject *parent, GstBuffer *buf) {
  auto *self = GST_RTCOINFER_BOTTLENECK(parent);
  LinkState *st = self->state;
  const GstClockTime now = running_time_now(GST_ELEMENT(self));
  g_mutex_lock(&st->lock);
  if (st->flushing) {
    g_mutex_unlock(&st->lock);
    gst_buffer_unref(buf);
    return GST_FLOW_FLUSHING;
  }
  if (st->last_ret != GST_FLOW_OK) {
    const GstFlowReturn ret = st->last_ret;
    g_mutex_unlock(&st->lock);
    gst_buffer_unref(buf);
    return ret;
  }
  if (!st->model) {
    // built at the first packet, so properties set after the state change still count
    g_mutex_unlock(&st->lock);
    const bool ok = build_model(self);
    g_mutex_lock(&st->lock);
    if (!ok) {
      g_mutex_unlock(&st->lock);
      gst_buffer_unref(buf);
      return GST_FLOW_ERROR;
    }
  }
  if (!GST_CLOCK_TIME_IS_VALID(st->start)) st->start = GST_CLOCK_TIME_IS_VALID(now) ? now : 0;
  const double t = GST_CLOCK_TIME_IS_VALID(now) ? double(now - st->start) / GST_SECOND : 0.0;
  auto leave = st->model->send(t, guint32(gst_buffer_get_size(buf)));
  if (!leave) {
    st->dropped++;
    g_mutex_unlock(&st->lock);
    GST_LOG_OBJECT(self, "queue full: dropped %" G_GSIZE_FORMAT " bytes", gst_buffer_get_size(buf));
    gst_buffer_unref(buf);
    return GST_FLOW_OK;
  }
  st->items.push_back({GST_MINI_OBJECT_CAST(buf), st->start + GstClockTime(*leave * GST_SECOND)});
  g_cond_signal(&st->cond);
  g_mutex_unlock(&st->lock);
  return GST_FLOW_OK;
}

// The src pad task: waits for the head of the queue's release time, then pushes it.
static void gst_rtcoinfer_bottleneck_loop(GstRtcoinferBottleneck *self) {
  LinkState *st = self->state;
  g_mutex_lock(&st->lock);
  while (!st->flushing && st->items.empty()) g_cond_wait(&st->cond, &st->lock);
  if (st->flushing) {
    g_mutex_unlock(&st->lock);
    gst_pad_pause_task(self->srcpad);
    return;
  }
  Item item = st->items.front();
  GstClock *clock = gst_element_get_clock(GST_ELEMENT(self));
  if (clock && GST_IS_BUFFER(item.obj)) {
    const GstClockTime at = item.release + gst_element_get_base_time(GST_ELEMENT(self));
    st->wait_id = gst_clock_new_single_shot_id(clock, at);
    GstClockID id = st->wait_id;
    g_mutex_unlock(&st->lock);
    gst_clock_id_wait(id, nullptr);
    g_mutex_lock(&st->lock);
    gst_clock_id_unref(id);
    st->wait_id = nullptr;
  }
  if (clock) gst_object_unref(clock);
  if (st->flushing) {
    g_mutex_unlock(&st->lock);
    gst_pad_pause_task(self->srcpad);
    return;
  }
  st->items.pop_front();
  // Counted when it leaves the link, before the push: a reader that already holds the
  // packet downstream must see it in the stats.
  if (GST_IS_BUFFER(item.obj)) {
    st->forwarded++;
    st->bytes += gst_buffer_get_size(GST_BUFFER(item.obj));
  }
  g_mutex_unlock(&st->lock);

  if (GST_IS_BUFFER(item.obj)) {
    const GstFlowReturn ret = gst_pad_push(self->srcpad, GST_BUFFER(item.obj));
    if (ret != GST_FLOW_OK) {
      g_mutex_lock(&st->lock);
      st->last_ret = ret;
      g_mutex_unlock(&st->lock);
    }
    if (ret != GST_FLOW_OK && ret != GST_FLOW_FLUSHING) {
      GST_ELEMENT_FLOW_ERROR(self, ret);
      gst_pad_pause_task(self->srcpad);
    }
  } else {
    GstEvent *ev = GST_EVENT(item.obj);
    const bool is_eos = GST_EVENT_TYPE(ev) == GST_EVENT_EOS;
    gst_pad_push_event(self->srcpad, ev);
    if (is_eos) gst_pad_pause_task(self->srcpad);
  }
}

static void set_flushing(GstRtcoinferBottleneck *self, bool flushing) {
  LinkState *st = self->state;
  g_mutex_lock(&st->lock);
  st->flushing = flushing;
  if (flushing) {
    if (st->wait_id) gst_clock_id_unschedule(st->wait_id);
    for (auto &i : st->items) gst_mini_object_unref(i.obj);
    st->items.clear();
  } else {
    st->last_ret = GST_FLOW_OK;
  }
  g_cond_signal(&st->cond);
  g_mutex_unlock(&st->lock);
}

static gboolean gst_rtcoinfer_bottleneck_sink_event(GstPad *pad, GstObject *parent, GstEvent *event) {
  auto *self = GST_RTCOINFER_BOTTLENECK(parent);
  LinkState *st = self->state;
  switch (GST_EVENT_TYPE(event)) {
    case GST_EVENT_FLUSH_START:
      set_flushing(self, true);
      gst_pad_push_event(self->srcpad, event);
      gst_pad_pause_task(self->srcpad);
      return TRUE;
    case GST_EVENT_FLUSH_STOP:
      gst_pad_push_event(self->srcpad, event);
      set_flushing(self, false);
      return gst_pad_start_task(self->srcpad, (GstTaskFunction)gst_rtcoinfer_bottleneck_loop, self, nullptr);
    default: break;
  }
  if (GST_EVENT_IS_SERIALIZED(event) && GST_EVENT_TYPE(event) != GST_EVENT_CAPS &&
      GST_EVENT_TYPE(event) != GST_EVENT_STREAM_START && GST_EVENT_TYPE(event) != GST_EVENT_SEGMENT) {
    // keep order with the queued buffers (EOS leaves after the last packet)
    g_mutex_lock(&st->lock);
    if (st->flushing) {
      g_mutex_unlock(&st->lock);
      gst_event_unref(event);
      return FALSE;
    }
    st->items.push_back({GST_MINI_OBJECT_CAST(event), 0});
    g_cond_signal(&st->cond);
    g_mutex_unlock(&st->lock);
    return TRUE;
  }
  return gst_pad_event_default(pad, parent, event);
}

static gboolean gst_rtcoinfer_bottleneck_src_activate_mode(GstPad *pad, GstObject *parent, GstPadMode mode,
                                                           gboolean active) {
  auto *self = GST_RTCOINFER_BOTTLENECK(parent);
  if (mode != GST_PAD_MODE_PUSH) return FALSE;
  if (active) {
    self->state->model.reset();
    set_flushing(self, false);
    return gst_pad_start_task(pad, (GstTaskFunction)gst_rtcoinfer_bottleneck_loop, self, nullptr);
  }
  set_flushing(self, true);
  return gst_pad_stop_task(pad);
}

static void gst_rtcoinfer_bottleneck_set_property(GObject *object, guint prop_id, const GValue *value,
                                                  GParamSpec *pspec) {
  auto *self = GST_RTCOINFER_BOTTLENECK(object);
  LinkState *st = self->state;
  GST_OBJECT_LOCK(self);
  switch (prop_id) {
    case PROP_RATE: st->rate_kbps = g_value_get_double(value); break;
    case PROP_TRACE: st->trace = g_value_get_string(value) ? g_value_get_string(value) : ""; break;
    case PROP_TRACE_SCALE: st->trace_scale = g_value_get_double(value); break;
    case PROP_DELAY: st->delay_ms = g_value_get_double(value); break;
    case PROP_QUEUE_SIZE: st->queue_size = g_value_get_uint64(value); break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
  }
  GST_OBJECT_UNLOCK(self);
}

static void gst_rtcoinfer_bottleneck_get_property(GObject *object, guint prop_id, GValue *value, GParamSpec *pspec) {
  auto *self = GST_RTCOINFER_BOTTLENECK(object);
  LinkState *st = self->state;
  if (prop_id == PROP_STATS) {
    g_mutex_lock(&st->lock);
    g_value_take_boxed(
        value, gst_structure_new("rtcoinfer-bottleneck-stats", "forwarded", G_TYPE_UINT64, st->forwarded, "dropped",
                                 G_TYPE_UINT64, st->dropped, "bytes", G_TYPE_UINT64, st->bytes, "queued", G_TYPE_UINT64,
                                 guint64(st->items.size()), nullptr));
    g_mutex_unlock(&st->lock);
    return;
  }
  GST_OBJECT_LOCK(self);
  switch (prop_id) {
    case PROP_RATE: g_value_set_double(value, st->rate_kbps); break;
    case PROP_TRACE: g_value_set_string(value, st->trace.c_str()); break;
    case PROP_TRACE_SCALE: g_value_set_double(value, st->trace_scale); break;
    case PROP_DELAY: g_value_set_double(value, st->delay_ms); break;
    case PROP_QUEUE_SIZE: g_value_set_uint64(value, st->queue_size); break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
  }
  GST_OBJECT_UNLOCK(self);
}

static void gst_rtcoinfer_bottleneck_finalize(GObject *object) {
  LinkState *st = GST_RTCOINFER_BOTTLENECK(object)->state;
  for (auto &i : st->items) gst_mini_object_unref(i.obj);
  g_mutex_clear(&st->lock);
  g_cond_clear(&st->cond);
  delete st;
  G_OBJECT_CLASS(parent_class)->finalize(object);
}

static void gst_rtcoinfer_bottleneck_init(GstRtcoinferBottleneck *self) {
  self->state = new LinkState();
  g_mutex_init(&self->state->lock);
  g_cond_init(&self->state->cond);
  self->sinkpad = gst_pad_new_from_static_template(&sink_template, "sink");
  gst_pad_set_chain_function(self->sinkpad, GST_DEBUG_FUNCPTR(gst_rtcoinfer_bottleneck_chain));
  gst_pad_set_event_function(self->sinkpad, GST_DEBUG_FUNCPTR(gst_rtcoinfer_bottleneck_sink_event));
  GST_PAD_SET_PROXY_CAPS(self->sinkpad);
  GST_PAD_SET_PROXY_ALLOCATION(self->sinkpad);
  gst_element_add_pad(GST_ELEMENT(self), self->sinkpad);
  self->srcpad = gst_pad_new_from_static_template(&src_template, "src");
  gst_pad_set_activatemode_function(self->srcpad, GST_DEBUG_FUNCPTR(gst_rtcoinfer_bottleneck_src_activate_mode));
  GST_PAD_SET_PROXY_CAPS(self->srcpad);
  gst_element_add_pad(GST_ELEMENT(self), self->srcpad);
}

static void gst_rtcoinfer_bottleneck_class_init(GstRtcoinferBottleneckClass *klass) {
  GObjectClass *gobject_class = G_OBJECT_CLASS(klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS(klass);
  gobject_class->set_property = gst_rtcoinfer_bottleneck_set_property;
  gobject_class->get_property = gst_rtcoinfer_bottleneck_get_property;
  gobject_class->finalize = gst_rtcoinfer_bottleneck_finalize;
  const auto rw = GParamFlags(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS);
  /**
   * GstRtcoinferBottleneck:rate:
   *
   * The link rate in kbit/s, 1..10000000, when no `trace` is set. Like the other link
   * properties it is read at the first packet after the element starts.
   */
  g_object_class_install_property(
      gobject_class, PROP_RATE,
      g_param_spec_double("rate", "Rate", "Link rate in kbit/s, 1..10000000, when no trace is set", 1, 1e7,
                          DEFAULT_RATE_KBPS, rw));
  /**
   * GstRtcoinferBottleneck:trace:
   *
   * A bandwidth trace file, one line `time_s throughput_Mbit/s` per step (as in
   * ../shared/traces), replayed from the first packet and looping; it overrides `rate`.
   * Empty: the constant `rate`. Read at the first packet after the element starts; a file
   * that cannot be loaded is an error.
   */
  g_object_class_install_property(
      gobject_class, PROP_TRACE,
      g_param_spec_string("trace", "Trace", "Bandwidth trace file to replay (looping); empty = constant rate", nullptr,
                          rw));
  /**
   * GstRtcoinferBottleneck:trace-scale:
   *
   * Multiplies the trace's rates by this factor, 0.0001..1000. Read at the first packet
   * after the element starts.
   */
  g_object_class_install_property(
      gobject_class, PROP_TRACE_SCALE,
      g_param_spec_double("trace-scale", "Trace scale", "Factor applied to the trace's rates, 0.0001..1000", 1e-4, 1000,
                          DEFAULT_TRACE_SCALE, rw));
  /**
   * GstRtcoinferBottleneck:delay:
   *
   * The one-way propagation delay in milliseconds, 0..10000, added after the queue.
   * Read at the first packet after the element starts.
   */
  g_object_class_install_property(
      gobject_class, PROP_DELAY,
      g_param_spec_double("delay", "Delay", "One-way propagation delay in milliseconds, 0..10000", 0, 10000,
                          DEFAULT_DELAY_MS, rw));
  /**
   * GstRtcoinferBottleneck:queue-size:
   *
   * The drop-tail queue's capacity in bytes, 1..4294967295 (2^32 - 1); packets that do
   * not fit are dropped and counted. Read at the first packet after the element starts.
   */
  g_object_class_install_property(
      gobject_class, PROP_QUEUE_SIZE,
      g_param_spec_uint64("queue-size", "Queue size", "Drop-tail queue capacity in bytes, 1..2^32-1", 1, G_MAXUINT32,
                          DEFAULT_QUEUE_SIZE, rw));
  /**
   * GstRtcoinferBottleneck:stats:
   *
   * Read-only counters (guint64): `forwarded` (packets that left the link), `dropped`
   * (queue full), `bytes` (forwarded), `queued` (items waiting, serialized events
   * included).
   */
  g_object_class_install_property(
      gobject_class, PROP_STATS,
      g_param_spec_boxed("stats", "Statistics", "Counters: forwarded, dropped, bytes, queued", GST_TYPE_STRUCTURE,
                         GParamFlags(G_PARAM_READABLE | G_PARAM_STATIC_STRINGS)));
  gst_element_class_add_static_pad_template(element_class, &sink_template);
  gst_element_class_add_static_pad_template(element_class, &src_template);
  gst_element_class_set_static_metadata(
      element_class, "RTCoInfer bottleneck link", "Filter/Network",
      "Trace-driven drop-tail queue with propagation delay (in-process link emulation)", "gst-rtcoinfer developers");
}
