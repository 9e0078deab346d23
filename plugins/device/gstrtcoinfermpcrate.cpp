/**
 * SECTION:element-rtcoinfer-mpcrate
 * @title: rtcoinfer-mpcrate
 *
 * Chooses the compression setup of each frame from network feedback. It sits between
 * rtcoinfer-compress and the RTP payloader, reads the `RTPTWCCPackets` events that
 * rtpbin's rtpsession sends upstream when the stream carries the TWCC header
 * extension, estimates the delivery rate, queueing delay and loss, and runs a Model
 * Predictive Controller over the bundle's setups (their measured top-1 and bytes,
 * refined online with the bytes compress really emits). When the chosen setup
 * changes it sends an `rtcoinfer-setup` event upstream; rtcoinfer-compress applies it
 * from the next frame and forwards it to rtcoinfer-head.
 *
 * A frame that would miss its deadline even at the smallest setup is dropped
 * (skipped) and counted. Policies `rate` (largest setup whose bytes fit the forecast)
 * and `fixed` are there for comparison.
 *
 * Every decision is posted as an `rtcoinfer-rate` element message with the fields
 * `setup` (the next frames' setup, or `skip` when this frame is dropped), `requested`
 * (the setup asked upstream), `skip`, `frame-bytes` (this frame), `forecast-bps` (the
 * estimator's robust forecast), `planned-bps` (what the controller planned with: the
 * forecast, raised while probing a quiet link), `sample-bps` (the newest delivery-rate
 * sample), `feedback` (TWCC reports so far), `in-flight-bytes` (estimated bottleneck
 * queue before this frame), `predicted-latency-ms`, `frame-interval-ms` (smoothed from
 * the buffer timestamps), `rtt-ms`, `server-latency-ms` (what it planned with: see
 * `server-latency`), `reported-server-ms` (the server's newest report, 0 before any),
 * `decide-us`, `loss` (the packet loss the plan assumed) and `fec` (this frame leaves
 * protected: see `fec`). `pipelines/device --rate-log`
 * writes them as JSON lines and `pipelines/plot-run` plots them.
 *
 * On a network it runs inside rtcoinfersink, the device bin, which adds the RTP
 * transport and the TWCC feedback it plans with
 * (`... ! videoconvert ! rtcoinfersink model=M server=HOST:5000`, docs/pipelines.md).
 * Composed by hand with rtpbin, a finite source can leave gst-launch-1.0 waiting after
 * the last packet (GStreamer 1.22's RTCP EOS race, which the bin handles).
 *
 * ## Example launch line
 * |[
 * gst-launch-1.0 rtcoinfer-datasetsrc is-live=true num-buffers=90 ! rtcoinfer-head model=models/zoo/fashion-mnist-swcnn.rcib \
 *   ! rtcoinfer-compress ! rtcoinfer-mpcrate model=models/zoo/fashion-mnist-swcnn.rcib policy=rate deadline=150 \
 *   ! rtcoinfer-tail model=models/zoo/fashion-mnist-swcnn.rcib ! fakesink
 * ]| The controller in a pipeline without a network: with no feedback it keeps to what
 * its start-up forecast allows, and each decision is posted as an `rtcoinfer-rate`
 * message.
 */
#include "gstrtcoinfermpcrate.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "wire/feature_frame.h"
#include "common/model_loading.h"
#include "control/mpc_controller.h"
#include "control/rate_session.h"
#include "common/drop_warning.h"
#include "contract/rtcoinfer_meta.h"
#include "contract/setup_event.h"

GST_DEBUG_CATEGORY_STATIC(gst_rtcoinfer_mpc_rate_debug);
#define GST_CAT_DEFAULT gst_rtcoinfer_mpc_rate_debug

using rtcoinfer::Policy;

#define DEFAULT_SERVER_LATENCY_MS 30.0
#define DEFAULT_BITS 0

static GParamSpec *fec_percentage_pspec;

namespace {

struct RateState {
  // properties (object lock)
  std::string model_path, fixed_text, min_text, max_text;
  int bits = DEFAULT_BITS;  // 0: every bit depth
  rtcoinfer::MpcConfig cfg;
  // server-latency: auto plans with what the server reports for this stream
  // (rtcoinfer-server-time), DEFAULT_SERVER_LATENCY_MS until the first report; a number
  // plans with that number (cfg.tail_s)
  bool server_auto = true;
  double fixed_server_s = DEFAULT_SERVER_LATENCY_MS / 1000.0;
  std::optional<double> reported_server_s;  // the newest report applied
  guint64 server_reports = 0;
  guint fec_percentage = 0;  // the protection chosen for the frames now leaving: 0 or 100

  // with the object lock: the controller, taken by the streaming thread for each decision
  std::unique_ptr<rtcoinfer::RateSession> rate;  // created in start(), from the bundle's setup table

  // with FEEDBACK_LOCK: TWCC reports as rtpsession's thread hands them over. They are
  // applied, in order and with their arrival times, before the next decision, so that
  // thread only ever waits for this short lock, never behind a decision.
  GMutex feedback_lock;
  std::vector<std::pair<std::vector<rtcoinfer::PacketReport>, double>> pending_twcc;
  guint64 twcc_overflow = 0;
  std::optional<double> pending_server_s;  // the newest server report, not yet applied
  guint64 pending_server_reports = 0;

  // streaming thread only
  GstElement *rtp_session = nullptr;  // the rtpsession downstream, for RR statistics
  gint64 last_rr_poll_us = 0;
};

}  // namespace

struct _GstRtcoinferMpcRate {
  GstBaseTransform parent;
  RateState *state;
};

enum {
  PROP_0,
  PROP_MODEL,
  PROP_POLICY,
  PROP_DEADLINE,
  PROP_HORIZON,
  PROP_SETUP,
  PROP_SWITCH_PENALTY,
  PROP_MIN_SETUP,
  PROP_MAX_SETUP,
  PROP_SERVER_LATENCY,
  PROP_MARGIN,
  PROP_BITS,
  PROP_FEC,
  PROP_FEC_PERCENTAGE,
  PROP_STATS
};

// TWCC reports kept for the next decision; more (no frames for a long while) drop the oldest
#define MAX_PENDING_TWCC 1024

#define FEEDBACK_LOCK(self) g_mutex_lock(&(self)->state->feedback_lock)
#define FEEDBACK_UNLOCK(self) g_mutex_unlock(&(self)->state->feedback_lock)

static GstStaticPadTemplate sink_template =
    GST_STATIC_PAD_TEMPLATE("sink", GST_PAD_SINK, GST_PAD_ALWAYS, GST_STATIC_CAPS(RTCOINFER_FRAME_CAPS_NAME));
static GstStaticPadTemplate src_template =
    GST_STATIC_PAD_TEMPLATE("src", GST_PAD_SRC, GST_PAD_ALWAYS, GST_STATIC_CAPS(RTCOINFER_FRAME_CAPS_NAME));

GType gst_rtcoinfer_policy_get_type(void) {
  static GType type = 0;
  static const GEnumValue values[] = {
      {int(Policy::Mpc), "Model predictive control over the horizon", "mpc"},
      {int(Policy::Rate), "Largest setup whose bytes fit the bandwidth forecast", "rate"},
      {int(Policy::Fixed), "Always the `setup` property", "fixed"},
      {0, nullptr, nullptr}};
  if (g_once_init_enter(&type)) g_once_init_leave(&type, g_enum_register_static("GstRtcoinferPolicy", values));
  return type;
}

#define gst_rtcoinfer_mpc_rate_parent_class parent_class
G_DEFINE_TYPE_WITH_CODE(GstRtcoinferMpcRate, gst_rtcoinfer_mpc_rate, GST_TYPE_BASE_TRANSFORM,
                        GST_DEBUG_CATEGORY_INIT(gst_rtcoinfer_mpc_rate_debug, "rtcoinfer-mpcrate", 0,
                                                "RTCoInfer rate control"));
GST_ELEMENT_REGISTER_DEFINE(rtcoinfer_mpcrate, "rtcoinfer-mpcrate", GST_RANK_NONE, GST_TYPE_RTCOINFER_MPC_RATE);

// What a frame of `setup` that the bundle's table says is `bytes` long will cost on the
// wire, asked downstream before any frame (the slicer adds its slices' headers), else
// `bytes`. Each frame sent at the setup then refines it (wire_bytes below).
static double setup_wire_bytes(GstRtcoinferMpcRate *self, const rtcoinfer::Setup &setup, double bytes) {
  GstQuery *q = rtcoinfer::wire_bytes_query_new_for_setup(setup.channels, setup.bits, guint64(std::llround(bytes)));
  std::optional<guint64> answer;
  if (gst_pad_peer_query(GST_BASE_TRANSFORM_SRC_PAD(self), q)) answer = rtcoinfer::wire_bytes_query_result(q);
  gst_query_unref(q);
  return answer ? double(*answer) + (bytes - std::llround(bytes)) : bytes;
}

// A server-latency number: milliseconds, 0..10000, nothing else in the text.
static bool parse_ms(const std::string &text, double *ms) {
  if (text.empty()) return false;
  gchar *end = nullptr;
  const double v = g_ascii_strtod(text.c_str(), &end);
  if (!end || *end != '\0' || !std::isfinite(v) || v < 0 || v > 10000) return false;
  *ms = v;
  return true;
}

// The server latency the controller plans with (object lock).
static double planned_server_s_locked(const RateState *st) {
  if (!st->server_auto) return st->fixed_server_s;
  return st->reported_server_s.value_or(DEFAULT_SERVER_LATENCY_MS / 1000.0);
}

static gboolean gst_rtcoinfer_mpc_rate_start(GstBaseTransform *trans) {
  auto *self = GST_RTCOINFER_MPC_RATE(trans);
  RateState *st = self->state;
  GST_OBJECT_LOCK(self);
  const std::string path = st->model_path, fixed = st->fixed_text, lo = st->min_text, hi = st->max_text;
  const int bits = st->bits;
  st->reported_server_s.reset();  // a new run waits for its server's first report
  st->server_reports = 0;
  st->cfg.tail_s = planned_server_s_locked(st);
  rtcoinfer::MpcConfig cfg = st->cfg;
  GST_OBJECT_UNLOCK(self);
  // the controller needs the bundle's per-setup accuracy and bytes table
  auto manifest = rtcoinfer::load_manifest_for(GST_ELEMENT(self), path);
  if (!manifest) return FALSE;
  const auto &info = manifest->info;
  auto bound = [&](const std::string &text, const char *what) -> std::optional<rtcoinfer::Setup> {
    if (text.empty()) return std::nullopt;
    std::string e;
    auto s = info.setups.lookup(text, &e);
    if (!s) GST_ELEMENT_ERROR(self, LIBRARY, SETTINGS, ("%s: %s", what, e.c_str()), (nullptr));
    return s;
  };
  auto lo_s = bound(lo, "min-setup"), hi_s = bound(hi, "max-setup");
  if ((!lo.empty() && !lo_s) || (!hi.empty() && !hi_s)) return FALSE;
  auto bytes_of = [&](const rtcoinfer::Setup &s) { return info.stats.at(s.index).bytes; };
  std::vector<rtcoinfer::SetupProfile> profiles;
  for (const auto &s : info.stats) {
    if (s.top1 < 0 || s.bytes <= 0) {
      GST_ELEMENT_ERROR(
          self, LIBRARY, SETTINGS,
          ("Model bundle \"%s\" has no measured accuracy/bytes for %s", path.c_str(), s.setup.name().c_str()),
          ("run rtcoinfer-train eval on the bundle to fill its setup table"));
      return FALSE;
    }
    if (lo_s && s.bytes < bytes_of(*lo_s)) continue;
    if (hi_s && s.bytes > bytes_of(*hi_s)) continue;
    if (bits && s.setup.bits != bits) continue;
    profiles.push_back({s.setup, s.top1, setup_wire_bytes(self, s.setup, s.bytes)});
  }
  if (profiles.empty()) {
    GST_ELEMENT_ERROR(self, LIBRARY, SETTINGS, ("min-setup, max-setup and bits leave no setup to choose from"),
                      (nullptr));
    return FALSE;
  }
  if (cfg.policy == Policy::Fixed) {
    auto f = bound(fixed.empty() ? info.setups.largest().name() : fixed, "setup");
    if (!f) return FALSE;
    cfg.fixed_index = -1;
    for (std::size_t i = 0; i < profiles.size(); ++i)
      if (profiles[i].setup == *f) cfg.fixed_index = int(i);
    if (cfg.fixed_index < 0) {
      GST_ELEMENT_ERROR(self, LIBRARY, SETTINGS, ("setup %s is outside min-setup/max-setup", f->name().c_str()),
                        (nullptr));
      return FALSE;
    }
  }
  GST_OBJECT_LOCK(self);
  st->rate = std::make_unique<rtcoinfer::RateSession>(std::move(profiles), cfg);
  GST_OBJECT_UNLOCK(self);
  return TRUE;
}

static gboolean gst_rtcoinfer_mpc_rate_stop(GstBaseTransform *trans) {
  auto *self = GST_RTCOINFER_MPC_RATE(trans);
  FEEDBACK_LOCK(self);
  self->state->pending_twcc.clear();
  self->state->pending_server_s.reset();
  self->state->pending_server_reports = 0;
  FEEDBACK_UNLOCK(self);
  GST_OBJECT_LOCK(self);
  self->state->rate.reset();
  GstElement *session = self->state->rtp_session;
  self->state->rtp_session = nullptr;
  GST_OBJECT_UNLOCK(self);
  if (session) gst_object_unref(session);
  return TRUE;
}

// Follows the data downstream (payloader, capsfilter, into rtpbin) to the rtpsession
// that sends this stream; nullptr if there is none within a few hops.
static GstElement *find_rtp_session(GstRtcoinferMpcRate *self) {
  GstPad *pad = gst_pad_get_peer(GST_BASE_TRANSFORM_SRC_PAD(self));
  for (int hop = 0; pad && hop < 8; ++hop) {
    while (GST_IS_GHOST_PAD(pad)) {
      GstPad *target = gst_ghost_pad_get_target(GST_GHOST_PAD(pad));
      gst_object_unref(pad);
      pad = target;
      if (!pad) return nullptr;
    }
    GstElement *el = gst_pad_get_parent_element(pad);
    gst_object_unref(pad);
    pad = nullptr;
    if (!el) return nullptr;
    GstElementFactory *f = gst_element_get_factory(el);
    if (f && g_str_equal(GST_OBJECT_NAME(f), "rtpsession")) return el;
    GstPad *src = gst_element_get_static_pad(el, "src");
    gst_object_unref(el);
    if (!src) return nullptr;
    pad = gst_pad_get_peer(src);
    gst_object_unref(src);
  }
  if (pad) gst_object_unref(pad);
  return nullptr;
}

// Receiver reports: round trip (NTP short format, 16.16 s) and fraction lost (x/256),
// from the rtpsession's `stats`. They set the RTT in the latency prediction, and the
// loss where no TWCC feedback arrives.
static void poll_receiver_reports(GstRtcoinferMpcRate *self) {
  RateState *st = self->state;
  const gint64 now = g_get_monotonic_time();
  if (now - st->last_rr_poll_us < G_USEC_PER_SEC) return;
  st->last_rr_poll_us = now;
  if (!st->rtp_session) st->rtp_session = find_rtp_session(self);
  if (!st->rtp_session) return;
  GstStructure *stats = nullptr;
  g_object_get(st->rtp_session, "stats", &stats, nullptr);
  if (!stats) return;
  const GValue *sources = gst_structure_get_value(stats, "source-stats");
  G_GNUC_BEGIN_IGNORE_DEPRECATIONS  // rtpsession hands out a GValueArray
      if (sources && G_VALUE_HOLDS(sources, g_value_array_get_type())) {
    auto *arr = static_cast<GValueArray *>(g_value_get_boxed(sources));
    for (guint i = 0; arr && i < arr->n_values; ++i) {
      const GstStructure *src = gst_value_get_structure(g_value_array_get_nth(arr, i));
      gboolean have_rb = FALSE;
      guint rtt = 0, fraction = 0;
      if (gst_structure_get_boolean(src, "have-rb", &have_rb) && have_rb &&
          gst_structure_get_uint(src, "rb-round-trip", &rtt) &&
          gst_structure_get_uint(src, "rb-fractionlost", &fraction)) {
        GST_OBJECT_LOCK(self);
        if (st->rate) st->rate->on_receiver_report(rtt / 65536.0, fraction / 256.0);
        GST_OBJECT_UNLOCK(self);
      }
    }
  }
  G_GNUC_END_IGNORE_DEPRECATIONS
  gst_structure_free(stats);
}

// RTPTWCCPackets (rtpsession, 1.22): packets = (GValueArray) < (structure) RTPTWCCPacket,
// seqnum=(uint), local-ts=(guint64), remote-ts=(guint64, NONE when lost), size=(uint),
// lost=(boolean), payload-type=(guchar) >. Remote times come in TWCC's 250 us steps.
static rtcoinfer::PacketReport parse_twcc_packet(const GstStructure *p) {
  rtcoinfer::PacketReport r;
  guint seq = 0, size = 0;
  guint64 local = GST_CLOCK_TIME_NONE, remote = GST_CLOCK_TIME_NONE;
  gboolean lost = FALSE;
  gst_structure_get_uint(p, "seqnum", &seq);
  gst_structure_get_uint(p, "size", &size);
  gst_structure_get_uint64(p, "local-ts", &local);
  gst_structure_get_uint64(p, "remote-ts", &remote);
  gst_structure_get_boolean(p, "lost", &lost);
  r.seqnum = guint16(seq);
  r.size = size;
  r.send_ns = GST_CLOCK_TIME_IS_VALID(local) ? gint64(local) : -1;
  r.arrival_ns = (!lost && GST_CLOCK_TIME_IS_VALID(remote)) ? gint64(remote) : -1;
  return r;
}

static std::vector<rtcoinfer::PacketReport> parse_twcc(const GstStructure *s) {
  std::vector<rtcoinfer::PacketReport> out;
  const GValue *list = gst_structure_get_value(s, "packets");
  if (!list) return out;
  auto add = [&](const GValue *v) {
    if (v && GST_VALUE_HOLDS_STRUCTURE(v)) out.push_back(parse_twcc_packet(gst_value_get_structure(v)));
  };
  G_GNUC_BEGIN_IGNORE_DEPRECATIONS  // rtpsession sends a GValueArray
      if (G_VALUE_HOLDS(list, g_value_array_get_type())) {
    auto *arr = static_cast<GValueArray *>(g_value_get_boxed(list));
    for (guint i = 0; arr && i < arr->n_values; ++i) add(g_value_array_get_nth(arr, i));
    return out;
  }
  G_GNUC_END_IGNORE_DEPRECATIONS
  if (GST_VALUE_HOLDS_LIST(list)) {
    for (guint i = 0; i < gst_value_list_get_size(list); ++i) add(gst_value_list_get_value(list, i));
  } else if (GST_VALUE_HOLDS_ARRAY(list)) {
    for (guint i = 0; i < gst_value_array_get_size(list); ++i) add(gst_value_array_get_value(list, i));
  }
  return out;
}

static gboolean gst_rtcoinfer_mpc_rate_src_event(GstBaseTransform *trans, GstEvent *event) {
  auto *self = GST_RTCOINFER_MPC_RATE(trans);
  if (const auto server_ms = rtcoinfer::server_time_event_parse(event)) {
    FEEDBACK_LOCK(self);
    self->state->pending_server_s = *server_ms / 1000.0;
    self->state->pending_server_reports++;
    FEEDBACK_UNLOCK(self);
    GST_LOG_OBJECT(self, "server time %.2f ms", *server_ms);
    gst_event_unref(event);
    return TRUE;  // consumed
  }
  if (GST_EVENT_TYPE(event) == GST_EVENT_CUSTOM_UPSTREAM) {
    const GstStructure *s = gst_event_get_structure(event);
    if (s && gst_structure_has_name(s, "RTPTWCCPackets")) {
      auto packets = parse_twcc(s);
      const std::size_t n = packets.size();
      RateState *st = self->state;
      FEEDBACK_LOCK(self);
      st->pending_twcc.emplace_back(std::move(packets), g_get_monotonic_time() / 1e6);
      if (st->pending_twcc.size() > MAX_PENDING_TWCC) {
        st->pending_twcc.erase(st->pending_twcc.begin());
        st->twcc_overflow++;
      }
      FEEDBACK_UNLOCK(self);
      GST_LOG_OBJECT(self, "TWCC feedback: %zu packets", n);
      gst_event_unref(event);
      return TRUE;  // consumed: nothing upstream uses it
    }
  }
  return GST_BASE_TRANSFORM_CLASS(parent_class)->src_event(trans, event);
}

// What the frame will cost on the wire: downstream's answer to rtcoinfer-wire-bytes (an
// element there may change what is sent, as the CLIO-style slicer does), else its size.
static double wire_bytes(GstRtcoinferMpcRate *self, GstBuffer *buf) {
  GstQuery *q = rtcoinfer::wire_bytes_query_new(buf);
  std::optional<guint64> answer;
  if (gst_pad_peer_query(GST_BASE_TRANSFORM_SRC_PAD(self), q)) answer = rtcoinfer::wire_bytes_query_result(q);
  gst_query_unref(q);
  return double(answer.value_or(gst_buffer_get_size(buf)));
}

static GstFlowReturn gst_rtcoinfer_mpc_rate_transform_ip(GstBaseTransform *trans, GstBuffer *buf) {
  auto *self = GST_RTCOINFER_MPC_RATE(trans);
  RateState *st = self->state;
  const gsize size = gst_buffer_get_size(buf);
  poll_receiver_reports(self);
  // Which setup this frame was coded at (header check only; the payload is the tail's).
  rtcoinfer::FrameHeader h;
  GstMapInfo map;
  bool valid = false;
  if (gst_buffer_map(buf, &map, GST_MAP_READ)) {
    valid = rtcoinfer::FrameDecoder::parse_header(map.data, map.size, h).ok();
    gst_buffer_unmap(buf, &map);
  }
  const double bytes = valid ? wire_bytes(self, buf) : double(size);

  std::vector<std::pair<std::vector<rtcoinfer::PacketReport>, double>> twcc;
  std::optional<double> server_s;
  FEEDBACK_LOCK(self);
  twcc.swap(st->pending_twcc);
  server_s = st->pending_server_s;
  st->pending_server_s.reset();
  const guint64 server_reports = st->pending_server_reports;
  st->pending_server_reports = 0;
  FEEDBACK_UNLOCK(self);
  GST_OBJECT_LOCK(self);
  if (!st->rate) {
    GST_OBJECT_UNLOCK(self);
    return GST_FLOW_NOT_NEGOTIATED;
  }
  rtcoinfer::RateSession &rate = *st->rate;
  st->server_reports += server_reports;
  if (server_s) st->reported_server_s = server_s;
  if (const double plan = planned_server_s_locked(st); rate.controller().config().tail_s != plan) {
    rtcoinfer::MpcConfig c = rate.controller().config();
    c.tail_s = plan;
    rate.set_config(c);
  }
  const double planned_server_ms = rate.controller().config().tail_s * 1000;
  const double reported_server_ms = st->reported_server_s.value_or(0) * 1000;
  for (const auto &[packets, arrived_s] : twcc) rate.on_twcc(packets, arrived_s);
  std::optional<double> pts_s;
  if (GST_BUFFER_PTS_IS_VALID(buf)) pts_s = double(GST_BUFFER_PTS(buf)) / GST_SECOND;
  std::optional<rtcoinfer::Setup> coded;
  if (valid) coded = rtcoinfer::Setup{-1, h.channels, h.bits};
  const rtcoinfer::FrameOutcome out = rate.on_frame(g_get_monotonic_time() / 1e6, pts_s, coded, bytes);
  const rtcoinfer::Decision &d = out.decision;
  const auto &profiles = rate.controller().profiles();
  std::optional<rtcoinfer::Setup> ask;
  if (out.request_changed) ask = profiles[out.request].setup;
  const double queued = out.queued_bytes;
  const std::string chosen = d.skip ? "skip" : profiles[d.index].setup.name();
  GST_LOG_OBJECT(self, "frame %" G_GSIZE_FORMAT " B: forecast %.0f bit/s, in flight %.0f B -> %s (%.1f ms predicted)",
                 size, d.forecast_bps, queued, chosen.c_str(), d.predicted_latency_s * 1000);
  const guint64 skips = rate.stats().skips, feedback = rate.stats().feedback;
  const std::string requested = profiles[out.request].setup.name();
  const double sample_bps = rate.estimator().last_sample_bps();
  const double interval_ms = rate.controller().config().frame_interval_s * 1000;
  const double rtt_ms = rate.estimator().rtt_s() * 1000;
  const double forecast_bps = rate.estimator().forecast_bps().value_or(0);
  const double loss = rate.estimator().smoothed_loss();
  const guint fec_percentage = d.fec ? 100 : 0;
  const bool fec_changed = !d.skip && fec_percentage != st->fec_percentage;
  if (fec_changed) st->fec_percentage = fec_percentage;
  GST_OBJECT_UNLOCK(self);
  // before the frame leaves: a bound FEC encoder (rtcoinfersink's) protects it as chosen
  if (fec_changed) g_object_notify_by_pspec(G_OBJECT(self), fec_percentage_pspec);

  gst_element_post_message(
      GST_ELEMENT(self),
      gst_message_new_element(
          GST_OBJECT(self),
          gst_structure_new(
              "rtcoinfer-rate", "setup", G_TYPE_STRING, chosen.c_str(), "requested", G_TYPE_STRING, requested.c_str(),
              "skip", G_TYPE_BOOLEAN, d.skip, "forecast-bps", G_TYPE_DOUBLE, forecast_bps, "sample-bps", G_TYPE_DOUBLE,
              sample_bps, "feedback", G_TYPE_UINT64, feedback, "predicted-latency-ms", G_TYPE_DOUBLE,
              d.predicted_latency_s * 1000, "in-flight-bytes", G_TYPE_DOUBLE, queued, "frame-bytes", G_TYPE_UINT64,
              guint64(size), "decide-us", G_TYPE_DOUBLE, d.decide_us, "planned-bps", G_TYPE_DOUBLE, out.planned_bps,
              "frame-interval-ms", G_TYPE_DOUBLE, interval_ms, "rtt-ms", G_TYPE_DOUBLE, rtt_ms, "server-latency-ms",
              G_TYPE_DOUBLE, planned_server_ms, "reported-server-ms", G_TYPE_DOUBLE, reported_server_ms, "loss",
              G_TYPE_DOUBLE, loss, "fec", G_TYPE_BOOLEAN, gboolean(d.fec), nullptr)));
  if (ask) {
    GST_INFO_OBJECT(self, "asking upstream for %s", ask->name().c_str());
    gst_pad_push_event(GST_BASE_TRANSFORM_SINK_PAD(trans), rtcoinfer::setup_event_new(*ask));
  }
  if (d.skip) {
    if (rtcoinfer::drop_worth_a_warning(skips))
      GST_ELEMENT_WARNING(self, STREAM, FAILED,
                          ("Skipped a frame that would miss its deadline (%" G_GUINT64_FORMAT " so far)", skips),
                          ("predicted %.1f ms even at the smallest setup", d.predicted_latency_s * 1000));
    return GST_BASE_TRANSFORM_FLOW_DROPPED;
  }
  return GST_FLOW_OK;
}

guint64 gst_rtcoinfer_mpc_rate_skips(GstRtcoinferMpcRate *self) {
  GST_OBJECT_LOCK(self);
  const guint64 skips = self->state->rate ? self->state->rate->stats().skips : 0;
  GST_OBJECT_UNLOCK(self);
  return skips;
}

static GstStructure *build_stats(GstRtcoinferMpcRate *self) {
  RateState *st = self->state;
  GST_OBJECT_LOCK(self);
  const rtcoinfer::RateSession *rate = st->rate.get();
  const rtcoinfer::RateSessionStats c = rate ? rate->stats() : rtcoinfer::RateSessionStats{};
  const std::string setup =
      rate && rate->requested() >= 0 ? rate->controller().profiles()[rate->requested()].setup.name() : "";
  const rtcoinfer::BandwidthEstimator *est = rate ? &rate->estimator() : nullptr;
  const double estimate = est ? est->estimate_bps().value_or(0) : 0.0;
  const double forecast = est ? est->forecast_bps().value_or(0) : 0.0;
  const double queue_ms = est ? est->queue_delay_s() * 1000 : 0.0;
  const double loss = est ? est->smoothed_loss() : 0.0;
  const double predicted_ms = rate ? rate->last().predicted_latency_s * 1000 : 0.0;
  const double server_ms = rate ? rate->controller().config().tail_s * 1000 : planned_server_s_locked(st) * 1000;
  const guint64 server_reports = st->server_reports;
  const double reported_ms = st->reported_server_s.value_or(0) * 1000;
  const rtcoinfer::RateSessionStats counted = c;
  GST_OBJECT_UNLOCK(self);
  return gst_structure_new("rtcoinfer-mpcrate-stats", "frames", G_TYPE_UINT64, counted.frames, "skips", G_TYPE_UINT64,
                           counted.skips, "switches", G_TYPE_UINT64, c.switches, "feedback", G_TYPE_UINT64, c.feedback,
                           "probes", G_TYPE_UINT64, c.probes, "protected-frames", G_TYPE_UINT64, c.protected_frames,
                           "setup", G_TYPE_STRING, setup.c_str(), "estimate-bps", G_TYPE_DOUBLE, estimate,
                           "forecast-bps", G_TYPE_DOUBLE, forecast, "queue-delay-ms", G_TYPE_DOUBLE, queue_ms, "loss",
                           G_TYPE_DOUBLE, loss, "predicted-latency-ms", G_TYPE_DOUBLE, predicted_ms, "mean-decide-us",
                           G_TYPE_DOUBLE, c.frames ? c.decide_us_total / c.frames : 0.0, "max-decide-us", G_TYPE_DOUBLE,
                           c.decide_us_max, "server-latency-ms", G_TYPE_DOUBLE, server_ms, "server-reports",
                           G_TYPE_UINT64, server_reports, "reported-server-ms", G_TYPE_DOUBLE, reported_ms, nullptr);
}

static void gst_rtcoinfer_mpc_rate_set_property(GObject *object, guint prop_id, const GValue *value,
                                                GParamSpec *pspec) {
  auto *self = GST_RTCOINFER_MPC_RATE(object);
  RateState *st = self->state;
  auto str = [&] { return std::string(g_value_get_string(value) ? g_value_get_string(value) : ""); };
  GST_OBJECT_LOCK(self);
  switch (prop_id) {
    case PROP_MODEL: st->model_path = str(); break;
    case PROP_POLICY: st->cfg.policy = Policy(g_value_get_enum(value)); break;
    case PROP_DEADLINE: st->cfg.deadline_s = g_value_get_double(value) / 1000.0; break;
    case PROP_HORIZON: st->cfg.horizon = g_value_get_int(value); break;
    case PROP_SETUP: st->fixed_text = str(); break;
    case PROP_SWITCH_PENALTY: st->cfg.switch_penalty = g_value_get_double(value); break;
    case PROP_MIN_SETUP: st->min_text = str(); break;
    case PROP_MAX_SETUP: st->max_text = str(); break;
    case PROP_SERVER_LATENCY: {
      const std::string text = str();
      double ms = 0;
      if (text == "auto") {
        st->server_auto = true;
      } else if (parse_ms(text, &ms)) {
        st->server_auto = false;
        st->fixed_server_s = ms / 1000.0;
      } else {
        g_warning(
            "rtcoinfer-mpcrate: server-latency must be \"auto\" or milliseconds 0..10000, not \"%s\"; "
            "it stays %s",
            text.c_str(), st->server_auto ? "auto" : std::to_string(st->fixed_server_s * 1000).c_str());
      }
      st->cfg.tail_s = planned_server_s_locked(st);
      break;
    }
    case PROP_MARGIN: st->cfg.margin_s = g_value_get_double(value) / 1000.0; break;
    case PROP_BITS: st->bits = g_value_get_int(value); break;
    case PROP_FEC: st->cfg.fec = g_value_get_boolean(value); break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
  }
  // deadline, horizon, switch penalty, server latency, margin and fec apply to a running controller at once
  if (st->rate && (prop_id == PROP_DEADLINE || prop_id == PROP_HORIZON || prop_id == PROP_SWITCH_PENALTY ||
                   prop_id == PROP_SERVER_LATENCY || prop_id == PROP_MARGIN || prop_id == PROP_FEC)) {
    rtcoinfer::MpcConfig cfg = st->rate->controller().config();
    cfg.deadline_s = st->cfg.deadline_s;
    cfg.horizon = st->cfg.horizon;
    cfg.margin_s = st->cfg.margin_s;
    cfg.switch_penalty = st->cfg.switch_penalty;
    cfg.tail_s = st->cfg.tail_s;
    cfg.fec = st->cfg.fec;
    st->rate->set_config(cfg);
  }
  GST_OBJECT_UNLOCK(self);
}

static void gst_rtcoinfer_mpc_rate_get_property(GObject *object, guint prop_id, GValue *value, GParamSpec *pspec) {
  auto *self = GST_RTCOINFER_MPC_RATE(object);
  RateState *st = self->state;
  if (prop_id == PROP_STATS) {
    g_value_take_boxed(value, build_stats(self));
    return;
  }
  GST_OBJECT_LOCK(self);
  switch (prop_id) {
    case PROP_MODEL: g_value_set_string(value, st->model_path.c_str()); break;
    case PROP_POLICY: g_value_set_enum(value, int(st->cfg.policy)); break;
    case PROP_DEADLINE: g_value_set_double(value, st->cfg.deadline_s * 1000.0); break;
    case PROP_HORIZON: g_value_set_int(value, st->cfg.horizon); break;
    case PROP_SETUP: g_value_set_string(value, st->fixed_text.c_str()); break;
    case PROP_SWITCH_PENALTY: g_value_set_double(value, st->cfg.switch_penalty); break;
    case PROP_MIN_SETUP: g_value_set_string(value, st->min_text.c_str()); break;
    case PROP_MAX_SETUP: g_value_set_string(value, st->max_text.c_str()); break;
    case PROP_SERVER_LATENCY: {
      gchar *text = st->server_auto ? g_strdup("auto") : g_strdup_printf("%g", st->fixed_server_s * 1000.0);
      g_value_take_string(value, text);
      break;
    }
    case PROP_MARGIN: g_value_set_double(value, st->cfg.margin_s * 1000.0); break;
    case PROP_BITS: g_value_set_int(value, st->bits); break;
    case PROP_FEC: g_value_set_boolean(value, st->cfg.fec); break;
    case PROP_FEC_PERCENTAGE: g_value_set_uint(value, st->fec_percentage); break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
  }
  GST_OBJECT_UNLOCK(self);
}

static void gst_rtcoinfer_mpc_rate_finalize(GObject *object) {
  g_mutex_clear(&GST_RTCOINFER_MPC_RATE(object)->state->feedback_lock);
  delete GST_RTCOINFER_MPC_RATE(object)->state;
  G_OBJECT_CLASS(parent_class)->finalize(object);
}

static void gst_rtcoinfer_mpc_rate_init(GstRtcoinferMpcRate *self) {
  self->state = new RateState();
  g_mutex_init(&self->state->feedback_lock);
  self->state->cfg.tail_s = planned_server_s_locked(self->state);
  gst_base_transform_set_in_place(GST_BASE_TRANSFORM(self), TRUE);
}

static void gst_rtcoinfer_mpc_rate_class_init(GstRtcoinferMpcRateClass *klass) {
  GObjectClass *gobject_class = G_OBJECT_CLASS(klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS(klass);
  GstBaseTransformClass *trans_class = GST_BASE_TRANSFORM_CLASS(klass);
  gobject_class->set_property = gst_rtcoinfer_mpc_rate_set_property;
  gobject_class->get_property = gst_rtcoinfer_mpc_rate_get_property;
  gobject_class->finalize = gst_rtcoinfer_mpc_rate_finalize;
  const auto rw = GParamFlags(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS);
  const auto rw_playing = GParamFlags(rw | GST_PARAM_MUTABLE_PLAYING);
  const rtcoinfer::MpcConfig def;

  // The controller's defaults have one owner, rtcoinfer::MpcConfig (gst/control).
  /**
   * GstRtcoinferMpcRate:model:
   *
   * The bundle rtcoinfer-head runs (path or /models/<id> URL). Its setup table (top-1
   * and mean bytes per setup, from rtcoinfer-train eval) is what the controller
   * optimizes; only the torch-free manifest is read. Read when the element starts.
   */
  g_object_class_install_property(
      gobject_class, PROP_MODEL,
      g_param_spec_string("model", "Model bundle", "Bundle whose setup table the controller optimizes (path or URL)",
                          nullptr, rw));
  /**
   * GstRtcoinferMpcRate:policy:
   *
   * mpc plans over `horizon` frames; rate takes the largest setup whose bytes fit the
   * bandwidth forecast (greedy); fixed always sends `setup`. Read when the element starts.
   */
  g_object_class_install_property(gobject_class, PROP_POLICY,
                                  g_param_spec_enum("policy", "Policy", "How the setup is chosen: mpc, rate or fixed",
                                                    GST_TYPE_RTCOINFER_POLICY, int(Policy::Mpc), rw));
  /**
   * GstRtcoinferMpcRate:deadline:
   *
   * Capture-to-result deadline per frame in milliseconds, 1..60000. A frame predicted
   * past it is skipped. May change while PLAYING.
   */
  g_object_class_install_property(
      gobject_class, PROP_DEADLINE,
      g_param_spec_double("deadline", "Deadline", "Capture-to-result deadline per frame, ms", 1, 60000,
                          def.deadline_s * 1000, rw_playing));
  /**
   * GstRtcoinferMpcRate:horizon:
   *
   * Frames the MPC plans ahead, 1..20. May change while PLAYING.
   */
  g_object_class_install_property(
      gobject_class, PROP_HORIZON,
      g_param_spec_int("horizon", "Horizon", "Frames the MPC plans ahead", 1, 20, def.horizon, rw_playing));
  /**
   * GstRtcoinferMpcRate:setup:
   *
   * The setup "<channels>x<bits>" that policy=fixed sends; empty sends the largest.
   * Read when the element starts.
   */
  g_object_class_install_property(
      gobject_class, PROP_SETUP,
      g_param_spec_string("setup", "Fixed setup", "Setup CxB for policy=fixed; empty = the largest", "", rw));
  /**
   * GstRtcoinferMpcRate:switch-penalty:
   *
   * Accuracy points (0..100) the MPC charges per setup switch. May change while PLAYING.
   */
  g_object_class_install_property(
      gobject_class, PROP_SWITCH_PENALTY,
      g_param_spec_double("switch-penalty", "Switch penalty", "Accuracy points the MPC charges per setup switch", 0,
                          100, def.switch_penalty, rw_playing));
  /**
   * GstRtcoinferMpcRate:margin:
   *
   * Milliseconds (0..10000) below the deadline that the MPC's plans aim at: the
   * bandwidth forecast is a guess, and a late frame loses its whole accuracy. Frames are
   * still skipped only when predicted past the deadline itself. 0 plans right up to the
   * deadline. May change while PLAYING.
   */
  g_object_class_install_property(
      gobject_class, PROP_MARGIN,
      g_param_spec_double("margin", "Planning margin", "ms below the deadline that plans aim at", 0, 10000,
                          def.margin_s * 1000.0, rw_playing));
  /**
   * GstRtcoinferMpcRate:min-setup:
   *
   * Never choose a setup with fewer mean bytes than this "<channels>x<bits>"; empty sets
   * no limit. Read when the element starts.
   */
  g_object_class_install_property(
      gobject_class, PROP_MIN_SETUP,
      g_param_spec_string("min-setup", "Minimum setup", "No setup with fewer mean bytes than this CxB", "", rw));
  /**
   * GstRtcoinferMpcRate:max-setup:
   *
   * Never choose a setup with more mean bytes than this "<channels>x<bits>"; empty sets
   * no limit. Read when the element starts.
   */
  g_object_class_install_property(
      gobject_class, PROP_MAX_SETUP,
      g_param_spec_string("max-setup", "Maximum setup", "No setup with more mean bytes than this CxB", "", rw));
  /**
   * GstRtcoinferMpcRate:server-latency:
   *
   * The time a frame spends on the server after it arrives (queue, batch, inference),
   * part of the predicted latency. `auto` (the default) plans with what the server
   * reports for this stream: rtcoinfersrc measures each stream's recent 95th percentile
   * and sends it in every RTCP compound (APP "RCIA"); rtcoinfersink hands it to this
   * element as an `rtcoinfer-server-time` event. Until the first report, and with no
   * server that reports, auto plans with 30 ms. A number of milliseconds (0..10000)
   * plans with that number whatever the server reports. `stats` shows the value in use
   * (`server-latency-ms`). May change while PLAYING.
   */
  g_object_class_install_property(
      gobject_class, PROP_SERVER_LATENCY,
      g_param_spec_string("server-latency", "Server latency",
                          "ms (0..10000) a frame spends on the server after arriving, or auto: what the server reports",
                          "auto", rw_playing));
  /**
   * GstRtcoinferMpcRate:bits:
   *
   * Choose only among the setups of this many bits per value, 1..16; 0 considers every
   * setup. The CLIO-style baseline uses it with rtcoinfer-slicer downstream, which answers
   * the rtcoinfer-wire-bytes query with what its slices cost. Read when the element starts.
   */
  g_object_class_install_property(
      gobject_class, PROP_BITS,
      g_param_spec_int("bits", "Bit depth", "Only setups of this many bits; 0 = every setup", 0, 16, DEFAULT_BITS, rw));
  /**
   * GstRtcoinferMpcRate:fec:
   *
   * Whether frames may be sent protected: each packet followed by its ULPFEC copy, for
   * twice the bytes, so that a frame is lost only when a packet and its copy both are. The
   * controller weighs each setup's accuracy by the chance its frame arrives whole at the
   * loss the feedback shows, protected or not, and picks setup and protection together
   * (with no loss it never protects). Its choice is `fec-percentage`, which an
   * rtpulpfecenc downstream must follow: rtcoinfersink binds its encoder to it and sets
   * this. May change while PLAYING.
   */
  g_object_class_install_property(
      gobject_class, PROP_FEC,
      g_param_spec_boolean("fec", "Forward error correction",
                           "Plan protected (ULPFEC) sends; an rtpulpfecenc must follow fec-percentage", def.fec,
                           rw_playing));
  /**
   * GstRtcoinferMpcRate:fec-percentage:
   *
   * Read-only: the protection chosen for the frames now leaving, as rtpulpfecenc's
   * `percentage`: 100 (each packet's ULPFEC copy is sent) or 0 (none). Notified when it
   * changes, before the first frame it applies to leaves.
   */
  fec_percentage_pspec =
      g_param_spec_uint("fec-percentage", "FEC percentage",
                        "ULPFEC overhead for the frames now leaving, 0 or 100 (for rtpulpfecenc percentage)", 0, 100, 0,
                        GParamFlags(G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));
  g_object_class_install_property(gobject_class, PROP_FEC_PERCENTAGE, fec_percentage_pspec);
  /**
   * GstRtcoinferMpcRate:stats:
   *
   * Read-only:
   * - `frames`, `skips`, `switches` (guint64);
   * - `feedback` (TWCC events), `probes` (frames planned with a raised forecast because
   *   no rate sample came for a while), `protected-frames` (sent with ULPFEC copies);
   * - `setup` (the current one, string);
   * - `estimate-bps`, `forecast-bps` (bits/s), `queue-delay-ms`, `loss` (0..1: the lost
   *   fraction of about the last 50 packets TWCC reported, what the plans assume),
   *   `predicted-latency-ms`, `mean-decide-us`, `max-decide-us` (gdouble);
   * - `server-latency-ms` (gdouble: what the controller plans with now),
   *   `server-reports` (guint64: server-time reports received), `reported-server-ms`
   *   (gdouble: the newest, 0 before any).
   */
  g_object_class_install_property(
      gobject_class, PROP_STATS,
      g_param_spec_boxed("stats", "Statistics", "Counters and the controller's view of the link", GST_TYPE_STRUCTURE,
                         GParamFlags(G_PARAM_READABLE | G_PARAM_STATIC_STRINGS)));

  gst_element_class_add_static_pad_template(element_class, &sink_template);
  gst_element_class_add_static_pad_template(element_class, &src_template);
  gst_element_class_set_static_metadata(element_class, "RTCoInfer MPC rate control", "Filter/Network",
                                        "Chooses the SW-CNN compression setup per frame from RTCP/TWCC feedback",
                                        "gst-rtcoinfer developers");
  gst_type_mark_as_plugin_api(GST_TYPE_RTCOINFER_POLICY, GstPluginAPIFlags(0));
  trans_class->start = GST_DEBUG_FUNCPTR(gst_rtcoinfer_mpc_rate_start);
  trans_class->stop = GST_DEBUG_FUNCPTR(gst_rtcoinfer_mpc_rate_stop);
  trans_class->src_event = GST_DEBUG_FUNCPTR(gst_rtcoinfer_mpc_rate_src_event);
  trans_class->transform_ip = GST_DEBUG_FUNCPTR(gst_rtcoinfer_mpc_rate_transform_ip);
  trans_class->passthrough_on_same_caps = FALSE;
}
