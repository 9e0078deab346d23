/**
 * SECTION:element-rtcoinfersink
 * @title: rtcoinfersink
 *
 * The RTCoInfer device as one element: raw video in, feature frames out to a server
 * over RTP with TWCC and RTCP. It is the pipeline the evaluation runs:
 *
 *     queue ! rtcoinfer-head ! rtcoinfer-compress ! rtcoinfer-mpcrate
 *         ! rtpgstpay ! (TWCC header extension) ! rtpbin (AVPF) ! udpsink
 *
 * with rtpbin's RTCP sent to the server's port + 1 and the server's RTCP (receiver
 * reports and TWCC feedback, which mpcrate plans with) received on `rtcp-port`. The
 * RTCP leaves from that same socket, so a server answers it at the address it came from,
 * wherever the device is. The children keep their names (queue, head, compress, rate,
 * pay, rtp, rtpsink, rtcpsink, rtcpsrc): their `stats` are what the device reports.
 * An application may put an element of its own between rtpbin and the RTP socket with
 * `rtp-filter`, as playbin's video-filter does (pipelines/device puts an emulated
 * bottleneck link there).
 *
 * Every RTCP compound the device sends carries an APP packet "RCIF"
 * (docs/wire-format.md) with how many frames it has numbered since its first and how
 * many of those its controller skipped, marked final with its BYE: the server counts
 * from it the frames lost before the first one that arrived and after the last, and
 * tells skipped frames from lost ones. A server that stops while the device runs tells it
 * (APP "RCIA") up to which frame it counted, and the reports to the next server begin
 * there, so a restarted server counts no frame twice. The server returns the device's results in the
 * RTCP of its session (APP "RCIR"): each is posted as an `rtcoinfer-result` element
 * message and counted in `stats` with its capture -> received latency; at EOS the bin
 * waits up to 2 s for the results of its last frames. A requested `src` pad pushes them
 * out as JSON lines (`rtcoinfersink name=d ... d.src ! filesink location=back.jsonl`).
 *
 * On a link that loses packets, mpcrate sees the loss in the TWCC feedback and plans with
 * it: a frame of fewer packets is likelier to arrive whole, and a frame may go out with a
 * ULPFEC copy of each packet (rtpulpfecenc, inside rtpbin; the server rebuilds a lost
 * packet from its copy) where the link has the room (`fec`).
 *
 * At EOS the bin ends the RTCP stream too: in GStreamer 1.22 rtpsession may send its BYE
 * before it marks the RTP side as ended, and then never forwards EOS to its RTCP pad,
 * so the pipeline would never post EOS although every packet went out.
 *
 * ## Example launch line
 * |[
 * gst-launch-1.0 -e rtcoinfer-datasetsrc is-live=true num-buffers=300 ! videoconvert \
 *     ! rtcoinfersink model=models/zoo/fashion-mnist-swcnn.rcib server=127.0.0.1:5000
 * ]| Streams 300 Fashion-MNIST test images at 30 frames/s to an rtcoinfersrc on port
 * 5000, the setup chosen per frame by the MPC.
 */
#include "gstrtcoinfersink.h"

#include <gio/gio.h>
#include <gst/app/gstappsrc.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "common/bin_parts.h"
#include "common/host_port.h"
#include "control/mpc_controller.h"
#include "wire/feature_frame.h"
#include "contract/setup_event.h"
#include "wire/rtcp_app.h"
#include "common/gstrtcoinferinference.h"
#include "contract/rtcoinfer_meta.h"
#include "service/result_ledger.h"
#include "service/results_service.h"

#include <nlohmann/json.hpp>
#include "device/gstrtcoinfercompress.h"
#include "device/gstrtcoinfermpcrate.h"

GST_DEBUG_CATEGORY_STATIC(gst_rtcoinfer_sink_debug);
#define GST_CAT_DEFAULT gst_rtcoinfer_sink_debug

#define DEFAULT_SERVER "127.0.0.1:5000"
#define DEFAULT_DEADLINE_MS 150.0
#define DEFAULT_THREADS 1
// -1: the server's port + 5, where pipelines/server sends its RTCP
#define DEFAULT_RTCP_PORT 0
#define DEFAULT_MTU 1200
#define DEFAULT_CAMERA_QUEUE 4
// Frames remembered for matching returned results (34 s at 30 fps)
#define SENT_KEPT 1024
// At EOS the device waits for the results of its last frames: until nothing was sent or
// returned for RESULTS_QUIET, at most RESULTS_DRAIN
#define RESULTS_QUIET_US (300 * G_TIME_SPAN_MILLISECOND)
#define RESULTS_DRAIN_US (2 * G_TIME_SPAN_SECOND)
// The device's regular RTCP (its sender reports and RCIF), at least this often
#define RTCP_MIN_INTERVAL (1 * GST_SECOND)
// How long after the RTP side's EOS the RTCP side may still wait for rtpsession's own
#define RTCP_EOS_GRACE (1 * GST_SECOND)

// The TWCC header extension: mpcrate's only view of each packet's arrival.
#define TWCC_URI "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01"

// A frame the device sent, for matching the result the server returns for it.
struct Sent {
  bool valid;
  guint16 seq;
  guint32 capture_us;
  gint truth;            // -1: unknown
  guint64 skips_before;  // mpcrate's skips when it entered: the frames before it that it skipped
  bool answered;         // its result came back (a second one, repeated or replayed, is not counted)
};

struct _GstRtcoinferSink {
  GstBin parent;
  // the children, made in init and owned by the bin
  GstElement *queue, *head, *compress, *rate, *pay, *twcc_caps, *rtpbin, *rtpsink, *rtcpsink, *rtcpsrc;
  bool built;  // every child made and linked (init); else the bin refuses to start
  // with the object lock
  gchar *server;
  gchar *stream_id;  // the name the server gives this device's stream; null: its SSRC
  gint rtcp_port;
  GstElement *rtp_filter;  // between rtpbin and the RTP socket; set in NULL state only
  GSocket *rtcp_socket;    // READY and up: the RTCP socket, shared by rtcpsrc and rtcpsink
  // with the object lock: the pending end of the RTCP stream after EOS
  GstClockID rtcp_eos_id;
  // with the object lock: the frame numbers that entered mpcrate (the RCIF report)
  bool have_first;
  guint16 first_seq, newest_seq;
  guint64 numbered;
  // with the object lock: where the current server's count begins (RCIF first_seq): the
  // device's first frame, or the horizon of its previous server (RCIA, a server restart),
  // with the frames numbered and skipped before it
  guint16 base_seq;
  guint64 base_numbered, base_skips, server_changes;
  // with the object lock: the server whose RCIA came last (its session SSRC), whether it
  // let the stream go (final), and its newest horizon
  bool have_server, server_final, have_horizon;
  guint32 server_ssrc;
  guint16 server_horizon;
  // with the object lock: what was sent, by frame number modulo SENT_KEPT, to match the
  // results the server returns (RCIR); and their count (the device's own ledger)
  struct Sent *sent;
  rtcoinfer::ResultLedger *returned;
  gint64 last_activity_us;  // g_get_monotonic_time() of the newest frame numbered or result returned
  GstElement *results_src;  // with the object lock: the appsrc behind the requested src pad, or null
};

enum {
  PROP_0,
  PROP_MODEL,
  PROP_SERVER,
  PROP_POLICY,
  PROP_DEADLINE,
  PROP_SERVER_LATENCY,
  PROP_SETUP,
  PROP_THREADS,
  PROP_ENTROPY,
  PROP_RTCP_PORT,
  PROP_MTU,
  PROP_STREAM_ID,
  PROP_RTP_FILTER,
  PROP_FEC,
  PROP_STATS
};

static GstStaticPadTemplate sink_template =
    GST_STATIC_PAD_TEMPLATE("sink", GST_PAD_SINK, GST_PAD_ALWAYS, GST_STATIC_CAPS("video/x-raw"));
// Requested: the results the server returns, one JSON object per line
static GstStaticPadTemplate src_template =
    GST_STATIC_PAD_TEMPLATE("src", GST_PAD_SRC, GST_PAD_REQUEST, GST_STATIC_CAPS("application/x-ndjson"));

#define gst_rtcoinfer_sink_parent_class parent_class
G_DEFINE_TYPE_WITH_CODE(GstRtcoinferSink, gst_rtcoinfer_sink, GST_TYPE_BIN,
                        GST_DEBUG_CATEGORY_INIT(gst_rtcoinfer_sink_debug, "rtcoinfersink", 0, "RTCoInfer device bin"));
GST_ELEMENT_REGISTER_DEFINE(rtcoinfersink, "rtcoinfersink", GST_RANK_NONE, GST_TYPE_RTCOINFER_SINK);

static GstElement *make(GstRtcoinferSink *self, const char *factory, const char *name) {
  return rtcoinfer::add_child(GST_BIN(self), factory, name);
}

// Links src's pad to sink's pad; either may be a request pad (rtpbin's are).
static bool link_pads(GstElement *src, const char *src_name, bool src_request, GstElement *sink, const char *sink_name,
                      bool sink_request) {
  return rtcoinfer::link_pads(
      src_request ? gst_element_request_pad_simple(src, src_name) : gst_element_get_static_pad(src, src_name),
      sink_request ? gst_element_request_pad_simple(sink, sink_name) : gst_element_get_static_pad(sink, sink_name));
}

// The RTCP side's EOS, when rtpsession did not send it (the clock thread calls this).
static gboolean end_rtcp(GstClock *, GstClockTime, GstClockID, gpointer user_data) {
  auto *self = GST_RTCOINFER_SINK(user_data);
  GstPad *pad = gst_element_get_static_pad(self->rtcpsink, "sink");
  GstEvent *eos = gst_pad_get_sticky_event(pad, GST_EVENT_EOS, 0);
  if (eos) {
    gst_event_unref(eos);
  } else {
    GST_INFO_OBJECT(self, "rtpbin did not end its RTCP stream after the BYE (GStreamer 1.22 race): ending it");
    gst_pad_send_event(pad, gst_event_new_eos());
  }
  gst_object_unref(pad);
  return TRUE;
}

static GstPadProbeReturn on_rtp_event(GstPad *, GstPadProbeInfo *info, gpointer user_data) {
  auto *self = GST_RTCOINFER_SINK(user_data);
  if (GST_EVENT_TYPE(GST_PAD_PROBE_INFO_EVENT(info)) != GST_EVENT_EOS) return GST_PAD_PROBE_OK;
  // the last results are back (the camera's EOS waited for them): the results pad ends too
  GST_OBJECT_LOCK(self);
  GstElement *results = self->results_src ? GST_ELEMENT(gst_object_ref(self->results_src)) : nullptr;
  GST_OBJECT_UNLOCK(self);
  if (results) {
    gst_app_src_end_of_stream(GST_APP_SRC(results));
    gst_object_unref(results);
  }
  GstClock *clock = gst_system_clock_obtain();
  GstClockID id = gst_clock_new_single_shot_id(clock, gst_clock_get_time(clock) + RTCP_EOS_GRACE);
  gst_object_unref(clock);
  GST_OBJECT_LOCK(self);
  if (self->rtcp_eos_id) {
    gst_clock_id_unschedule(self->rtcp_eos_id);
    gst_clock_id_unref(self->rtcp_eos_id);
  }
  self->rtcp_eos_id = id;
  gst_clock_id_wait_async(id, end_rtcp, gst_object_ref(self), gst_object_unref);
  GST_OBJECT_UNLOCK(self);
  return GST_PAD_PROBE_OK;
}

// Every frame that enters mpcrate has its number: the span from the first to the newest
// is what the device numbered (skipped frames are inside it).
static GstPadProbeReturn on_numbered_frame(GstPad *, GstPadProbeInfo *info, gpointer user_data) {
  auto *self = GST_RTCOINFER_SINK(user_data);
  const std::optional<rtcoinfer::FrameHeader> parsed = rtcoinfer::frame_header_of(GST_PAD_PROBE_INFO_BUFFER(info));
  if (!parsed) return GST_PAD_PROBE_OK;
  const rtcoinfer::FrameHeader &hdr = *parsed;
  const guint64 skips =
      gst_rtcoinfer_mpc_rate_skips(GST_RTCOINFER_MPC_RATE(self->rate));  // mpcrate is done with the one before
  GST_OBJECT_LOCK(self);
  Sent &slot = self->sent[hdr.seq % SENT_KEPT];
  slot = {true, hdr.seq, hdr.capture_us, hdr.truth ? int(*hdr.truth) : -1, skips, false};
  self->last_activity_us = g_get_monotonic_time();
  if (!self->have_first) {
    self->have_first = true;
    self->first_seq = self->newest_seq = self->base_seq = hdr.seq;
    self->numbered = 1;
  } else {
    const gint16 step = gint16(guint16(hdr.seq - self->newest_seq));
    if (step > 0) {
      self->numbered += guint64(step);
      self->newest_seq = hdr.seq;
    }
  }
  GST_OBJECT_UNLOCK(self);
  return GST_PAD_PROBE_OK;
}

// rtpsession builds an RTCP compound: the RCIF report goes in, final when it has a BYE.
static gboolean on_sending_rtcp(GObject *, GstBuffer *buffer, gboolean, gpointer user_data) {
  auto *self = GST_RTCOINFER_SINK(user_data);
  guint64 skips = gst_rtcoinfer_mpc_rate_skips(GST_RTCOINFER_MPC_RATE(self->rate));
  guint ssrc = 0;
  GstStructure *pay_stats = nullptr;
  g_object_get(self->pay, "stats", &pay_stats, nullptr);
  if (pay_stats) {
    gst_structure_get_uint(pay_stats, "ssrc", &ssrc);
    gst_structure_free(pay_stats);
  }
  rtcoinfer::FrameCountReport report;
  GST_OBJECT_LOCK(self);
  report.first_seq = self->base_seq;  // from where the current server counts
  report.numbered = guint32(self->numbered - self->base_numbered);
  skips = skips > self->base_skips ? skips - self->base_skips : 0;
  GST_OBJECT_UNLOCK(self);
  report.skipped = guint32(std::min<guint64>(skips, report.numbered));
  report.final = rtcoinfer::rtcp_has_bye(buffer);
  if (!rtcoinfer::add_rtcp_app(buffer, report.subtype(), ssrc, rtcoinfer::FrameCountReport::kName, report.encode()))
    GST_DEBUG_OBJECT(self, "no room for the frame report in this RTCP packet");
  return FALSE;  // rtpsession decides whether to send it, as without us
}

// The device's server counts from `horizon` on (its previous one accounted for the frames
// before it): the RCIF reports move their first frame there. With the object lock.
static void count_from_locked(GstRtcoinferSink *self, guint16 horizon, guint64 skips_now) {
  if (!self->have_first) return;
  const guint16 ahead = guint16(horizon - self->base_seq);  // frames the previous server took
  const guint64 in_base = self->numbered - self->base_numbered;
  if (ahead == 0 || ahead > in_base) return;  // nothing, or not a frame numbered since the base
  const Sent &slot = self->sent[horizon % SENT_KEPT];
  // the horizon's own skip count; past the newest frame (or forgotten), the current one
  self->base_skips = slot.valid && slot.seq == horizon && ahead < in_base ? slot.skips_before : skips_now;
  self->base_numbered += ahead;
  self->base_seq = horizon;
  GST_INFO_OBJECT(self, "the server counts from frame %u: %" G_GUINT64_FORMAT " frames were its predecessor's", horizon,
                  self->base_numbered);
}

// A server's RCIA: how far it accounted for this device's frames. Final: the server
// stopped while the device runs, so its successor counts from there. A new server
// (another session SSRC) without a final one from the old: the old one died, and the new
// one counts from the old one's last horizon.
static void on_accounted(GstRtcoinferSink *self, guint subtype, guint ssrc, const gchar *name, GstBuffer *data) {
  const auto bytes = rtcoinfer::rtcp_app_data(name, rtcoinfer::AccountedReport::kName, data);
  const auto report = bytes ? rtcoinfer::AccountedReport::decode(subtype, bytes->data(), bytes->size()) : std::nullopt;
  if (!report) {
    GST_DEBUG_OBJECT(self, "a malformed RCIA packet, ignored");
    return;
  }
  const guint64 skips = gst_rtcoinfer_mpc_rate_skips(GST_RTCOINFER_MPC_RATE(self->rate));
  GST_OBJECT_LOCK(self);
  if (!self->have_server || ssrc != self->server_ssrc) {
    if (self->have_server) {
      if (!self->server_final && self->have_horizon) count_from_locked(self, self->server_horizon, skips);
      self->server_changes++;
    }
    self->have_server = true;
    self->server_ssrc = ssrc;
    self->server_final = self->have_horizon = false;
  }
  if (report->final && !self->server_final) {
    self->server_final = true;
    count_from_locked(self, report->horizon, skips);
  } else if (!report->final) {
    self->have_horizon = true;
    self->server_horizon = report->horizon;
  }
  GST_OBJECT_UNLOCK(self);
  // the server's time for this stream's recent frames: what server-latency=auto plans with
  if (report->server_time > 0) {
    GstPad *pad = gst_element_get_static_pad(self->rate, "src");
    if (pad) {
      gst_pad_send_event(pad, rtcoinfer::server_time_event_new(report->server_time_ms()));
      gst_object_unref(pad);
    }
  }
}

// The server's RTCP for this device: its results (APP "RCIR", the RTCP receive thread).
// Each is matched to the frame sent under its number, counted with its capture ->
// received latency, and posted as an rtcoinfer-result message.
static void on_device_app(GObject *, guint subtype, guint ssrc, const gchar *name, GstBuffer *data,
                          gpointer user_data) {
  auto *self = GST_RTCOINFER_SINK(user_data);
  if (name && std::strcmp(name, rtcoinfer::AccountedReport::kName) == 0) {
    on_accounted(self, subtype, ssrc, name, data);
    return;
  }
  const auto bytes = rtcoinfer::rtcp_app_data(name, rtcoinfer::ResultBatch::kName, data);
  if (!bytes) return;
  const auto batch = rtcoinfer::ResultBatch::decode(subtype, bytes->data(), bytes->size());
  if (!batch) {
    GST_DEBUG_OBJECT(self, "a malformed RCIR packet, ignored");
    return;
  }
  const auto model = gst_rtcoinfer_inference_get_model(GST_RTCOINFER_INFERENCE(self->head));
  const guint32 now = guint32(rtcoinfer::realtime_us());
  GST_LOG_OBJECT(self, "%zu results returned", batch->size());
  for (const rtcoinfer::ReturnedResult &r : *batch) {
    GST_OBJECT_LOCK(self);
    Sent &kept = self->sent[r.seq % SENT_KEPT];
    const Sent slot = kept;
    if (slot.valid && slot.seq == r.seq) kept.answered = true;
    GST_OBJECT_UNLOCK(self);
    if (!slot.valid || slot.seq != r.seq) {
      GST_DEBUG_OBJECT(self, "a result for frame %u, which this device did not send lately", r.seq);
      continue;
    }
    if (slot.answered) {
      GST_DEBUG_OBJECT(self, "a second result for frame %u, not counted", r.seq);
      continue;
    }
    const double latency_ms = gint32(now - slot.capture_us) / 1000.0;
    GST_LOG_OBJECT(self, "result for frame %u", r.seq);
    const std::optional<int> truth = slot.truth >= 0 ? std::optional<int>(slot.truth) : std::nullopt;
    const bool correct = truth && *truth == r.class_index;
    self->returned->count_result("", 0, latency_ms, truth, correct);
    GST_OBJECT_LOCK(self);
    self->last_activity_us = g_get_monotonic_time();
    GST_OBJECT_UNLOCK(self);
    nlohmann::json j = {{"seq", r.seq}, {"class", r.class_index}, {"score", r.score}, {"latency_ms", latency_ms}};
    if (model && r.class_index < model->info().labels.size()) j["label"] = model->info().labels[r.class_index];
    if (truth) {
      j["truth"] = *truth;
      j["correct"] = correct;
    }
    j["server_ms"] = gint32(r.server_us - slot.capture_us) / 1000.0;  // capture -> answered on the server
    const std::string line = j.dump();
    GST_OBJECT_LOCK(self);
    GstElement *out = self->results_src ? GST_ELEMENT(gst_object_ref(self->results_src)) : nullptr;
    GST_OBJECT_UNLOCK(self);
    if (out) {
      GstBuffer *buf = gst_buffer_new_memdup((line + "\n").data(), line.size() + 1);
      gst_app_src_push_buffer(GST_APP_SRC(out), buf);  // takes it
      gst_object_unref(out);
    }
    gst_element_post_message(
        GST_ELEMENT(self),
        gst_message_new_element(
            GST_OBJECT(self),
            gst_structure_new("rtcoinfer-result", "json", G_TYPE_STRING, line.c_str(), "seq", G_TYPE_UINT, guint(r.seq),
                              "class", G_TYPE_INT, int(r.class_index), "score", G_TYPE_DOUBLE, r.score, "latency-ms",
                              G_TYPE_DOUBLE, latency_ms, nullptr)));
  }
}

// The stream's caps on their way into the payloader, which sends them in-band: they carry
// stream-id, so the server names the stream by it before its first frame.
static GstPadProbeReturn on_pay_caps(GstPad *, GstPadProbeInfo *info, gpointer user_data) {
  GstEvent *event = GST_PAD_PROBE_INFO_EVENT(info);
  if (GST_EVENT_TYPE(event) != GST_EVENT_CAPS) return GST_PAD_PROBE_OK;
  auto *self = GST_RTCOINFER_SINK(user_data);
  GST_OBJECT_LOCK(self);
  const std::string id = self->stream_id ? self->stream_id : "";
  GST_OBJECT_UNLOCK(self);
  if (!rtcoinfer::valid_stream_name(id)) return GST_PAD_PROBE_OK;  // unset (checked at start)
  GstCaps *caps = nullptr;
  gst_event_parse_caps(event, &caps);
  GstCaps *named = gst_caps_copy(caps);
  gst_caps_set_simple(named, "stream-id", G_TYPE_STRING, id.c_str(), nullptr);
  GST_PAD_PROBE_INFO_DATA(info) = gst_event_new_caps(named);
  gst_caps_unref(named);
  gst_event_unref(event);
  return GST_PAD_PROBE_OK;
}

// The camera's EOS enters the bin (the source's thread): the frames still queued go out
// meanwhile, and the EOS waits until their results are back (nothing sent or returned
// for RESULTS_QUIET_US, at most RESULTS_DRAIN_US), so the device's summary has them.
static GstPadProbeReturn on_camera_event(GstPad *, GstPadProbeInfo *info, gpointer user_data) {
  if (GST_EVENT_TYPE(GST_PAD_PROBE_INFO_EVENT(info)) != GST_EVENT_EOS) return GST_PAD_PROBE_OK;
  auto *self = GST_RTCOINFER_SINK(user_data);
  const gint64 until = g_get_monotonic_time() + RESULTS_DRAIN_US;
  while (g_get_monotonic_time() < until) {
    GST_OBJECT_LOCK(self);
    const gint64 last = self->last_activity_us;
    GST_OBJECT_UNLOCK(self);
    if (g_get_monotonic_time() - last >= RESULTS_QUIET_US) break;
    g_usleep(20 * G_TIME_SPAN_MILLISECOND);
  }
  GST_INFO_OBJECT(self, "EOS after the results: %" G_GUINT64_FORMAT " received", self->returned->results());
  return GST_PAD_PROBE_OK;
}

// rtpbin asks for the FEC encoder of the session (as send_rtp_sink_0 is requested):
// rtpulpfecenc, whose protection mpcrate chooses per frame from the loss the feedback shows
// (its `fec-percentage`: 100 sends each packet's ULPFEC copy too, 0 none). The server bin's
// FEC decoder rebuilds a lost packet from its copy.
static GstElement *on_request_fec_encoder(GstElement *, guint, gpointer user_data) {
  auto *self = GST_RTCOINFER_SINK(user_data);
  GstElement *encoder = gst_element_factory_make("rtpulpfecenc", "fec");
  if (!encoder) {
    GST_WARNING_OBJECT(self, "no rtpulpfecenc (gst-plugins-good): frames are sent without loss protection");
    return nullptr;
  }
  g_object_set(encoder, "pt", rtcoinfer::kFecPayloadType, "multipacket", TRUE, nullptr);
  g_object_bind_property(self->rate, "fec-percentage", encoder, "percentage", G_BINDING_SYNC_CREATE);
  g_object_set(self->rate, "fec", TRUE, nullptr);
  return encoder;
}

static void gst_rtcoinfer_sink_init(GstRtcoinferSink *self) {
  self->sent = new Sent[SENT_KEPT]();
  self->returned = new rtcoinfer::ResultLedger();
  self->server = g_strdup(DEFAULT_SERVER);
  self->rtcp_port = DEFAULT_RTCP_PORT;
  self->queue = make(self, "queue", "queue");
  self->head = make(self, "rtcoinfer-head", "head");
  self->compress = make(self, "rtcoinfer-compress", "compress");
  self->rate = make(self, "rtcoinfer-mpcrate", "rate");
  self->pay = make(self, "rtpgstpay", "pay");
  self->twcc_caps = make(self, "capsfilter", "twcc");
  self->rtpbin = make(self, "rtpbin", "rtp");
  self->rtpsink = make(self, "udpsink", "rtpsink");
  self->rtcpsink = make(self, "udpsink", "rtcpsink");
  self->rtcpsrc = make(self, "udpsrc", "rtcpsrc");
  if (!self->queue || !self->head || !self->compress || !self->rate || !self->pay || !self->twcc_caps ||
      !self->rtpbin || !self->rtpsink || !self->rtcpsink || !self->rtcpsrc)
    return;  // change_state says so
  g_object_set(self->queue, "max-size-buffers", DEFAULT_CAMERA_QUEUE, "max-size-bytes", 0, "max-size-time", guint64(0),
               nullptr);
  g_object_set(self->rate, "deadline", DEFAULT_DEADLINE_MS, nullptr);
  g_object_set(self->pay, "pt", rtcoinfer::kFramePayloadType, "mtu", DEFAULT_MTU, "config-interval", 1, nullptr);
  GstCaps *caps = gst_caps_new_simple("application/x-rtp", "extmap-5", G_TYPE_STRING, TWCC_URI, nullptr);
  g_object_set(self->twcc_caps, "caps", caps, nullptr);
  gst_caps_unref(caps);
  gst_util_set_object_arg(G_OBJECT(self->rtpbin), "rtp-profile", "avpf");
  for (GstElement *s : {self->rtpsink, self->rtcpsink}) g_object_set(s, "sync", FALSE, "async", FALSE, nullptr);

  // before send_rtp_sink_0 is requested: rtpbin asks for the FEC encoder then
  g_signal_connect(self->rtpbin, "request-fec-encoder", G_CALLBACK(on_request_fec_encoder), self);
  bool ok =
      gst_element_link_many(self->queue, self->head, self->compress, self->rate, self->pay, self->twcc_caps, nullptr);
  // send_rtp_src_0 appears with send_rtp_sink_0
  ok = ok && link_pads(self->twcc_caps, "src", false, self->rtpbin, "send_rtp_sink_0", true);
  ok = ok && link_pads(self->rtpbin, "send_rtp_src_0", false, self->rtpsink, "sink", false);
  ok = ok && link_pads(self->rtpbin, "send_rtcp_src_0", true, self->rtcpsink, "sink", false);
  ok = ok && link_pads(self->rtcpsrc, "src", false, self->rtpbin, "recv_rtcp_sink_0", true);
  if (!ok) {
    GST_ERROR_OBJECT(self, "could not link the device pipeline");
    return;
  }
  GstPad *target = gst_element_get_static_pad(self->queue, "sink");
  gst_pad_add_probe(target, GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM, on_camera_event, self, nullptr);
  GstPad *ghost = gst_ghost_pad_new_from_template("sink", target, gst_static_pad_template_get(&sink_template));
  gst_object_unref(target);
  gst_element_add_pad(GST_ELEMENT(self), ghost);
  GstPad *rtp_in = gst_element_get_static_pad(self->rtpsink, "sink");
  gst_pad_add_probe(rtp_in, GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM, on_rtp_event, self, nullptr);
  gst_object_unref(rtp_in);
  GstPad *pay_in = gst_element_get_static_pad(self->pay, "sink");
  gst_pad_add_probe(pay_in, GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM, on_pay_caps, self, nullptr);
  gst_object_unref(pay_in);
  GstPad *numbered = gst_element_get_static_pad(self->rate, "sink");
  gst_pad_add_probe(numbered, GST_PAD_PROBE_TYPE_BUFFER, on_numbered_frame, self, nullptr);
  gst_object_unref(numbered);
  GObject *session = nullptr;
  g_signal_emit_by_name(self->rtpbin, "get-internal-session", 0u, &session);
  if (!session) {
    GST_ERROR_OBJECT(self, "rtpbin has no session 0");
    return;
  }
  // RTCP at least every RTCP_MIN_INTERVAL instead of every 5 s: a server that comes up
  // while the device streams (a restart) learns from it where to send its feedback and
  // results, and from where to count (RCIF)
  g_object_set(session, "rtcp-min-interval", guint64(RTCP_MIN_INTERVAL), nullptr);
  g_signal_connect(session, "on-sending-rtcp", G_CALLBACK(on_sending_rtcp), self);
  g_signal_connect(session, "on-app-rtcp", G_CALLBACK(on_device_app), self);
  g_object_unref(session);
  self->built = true;
}

// Points the sockets at the server and binds the RTCP socket; call before the children
// go to READY (udpsink and udpsrc both open their sockets then).
static bool configure_transport(GstRtcoinferSink *self) {
  GST_OBJECT_LOCK(self);
  const std::string server = self->server ? self->server : "";
  int rtcp_port = self->rtcp_port;
  GST_OBJECT_UNLOCK(self);
  const auto hp = rtcoinfer::parse_host_port(server, 65530);
  if (!hp) {
    GST_ELEMENT_ERROR(self, RESOURCE, SETTINGS, ("server \"%s\" is not host:port", server.c_str()),
                      ("give the rtcoinfersrc's address, e.g. server=127.0.0.1:5000 (RTCP goes to port + 1)"));
    return false;
  }
  g_object_set(self->rtpsink, "host", hp->host.c_str(), "port", hp->port, nullptr);
  g_object_set(self->rtcpsink, "host", hp->host.c_str(), "port", hp->port + 1, nullptr);
  if (rtcp_port < 0) rtcp_port = hp->port + 5;
  // One socket for the RTCP both ways: the server answers where the device's RTCP came
  // from, so it reaches a device behind any address or port
  GInetAddress *probe = g_inet_address_new_from_string(hp->host.c_str());
  const GSocketFamily family = probe ? g_inet_address_get_family(probe) : G_SOCKET_FAMILY_IPV4;
  if (probe) g_object_unref(probe);
  GError *err = nullptr;
  GInetAddress *any = g_inet_address_new_any(family);
  GSocket *socket = rtcoinfer::bind_udp_socket(any, rtcp_port, &err);
  g_object_unref(any);
  if (!socket) {
    GST_ELEMENT_ERROR(self, RESOURCE, OPEN_READ, ("Cannot bind the RTCP socket to port %d", rtcp_port),
                      ("%s; set rtcp-port to a free port, or 0 for any", err ? err->message : "unknown error"));
    g_clear_error(&err);
    return false;
  }
  g_object_set(self->rtcpsrc, "socket", socket, "close-socket", FALSE, nullptr);
  g_object_set(self->rtcpsink, "socket", socket, "close-socket", FALSE, nullptr);
  GST_OBJECT_LOCK(self);
  if (self->rtcp_socket) g_object_unref(self->rtcp_socket);
  self->rtcp_socket = socket;
  GST_OBJECT_UNLOCK(self);
  return true;
}

static GstStateChangeReturn gst_rtcoinfer_sink_change_state(GstElement *element, GstStateChange transition) {
  auto *self = GST_RTCOINFER_SINK(element);
  if (transition == GST_STATE_CHANGE_NULL_TO_READY) {
    if (!self->built) {
      GST_ELEMENT_ERROR(self, CORE, MISSING_PLUGIN, ("rtcoinfersink could not build its pipeline"),
                        ("it needs rtcoinfer-head (LibTorch build), rtpgstpay and rtpbin (gst-plugins-good) and "
                         "udpsink/udpsrc; GST_DEBUG=rtcoinfersink:1 names the one missing"));
      return GST_STATE_CHANGE_FAILURE;
    }
    GST_OBJECT_LOCK(self);
    const std::string name = self->stream_id ? self->stream_id : "";
    GST_OBJECT_UNLOCK(self);
    if (!name.empty() && !rtcoinfer::valid_stream_name(name)) {
      GST_ELEMENT_ERROR(self, RESOURCE, SETTINGS, ("stream-id \"%s\" is no stream name", name.c_str()),
                        ("1 to 64 printable ASCII characters"));
      return GST_STATE_CHANGE_FAILURE;
    }
    if (!configure_transport(self)) return GST_STATE_CHANGE_FAILURE;
    GST_OBJECT_LOCK(self);
    self->have_first = false;
    self->numbered = 0;
    self->base_seq = 0;
    self->base_numbered = self->base_skips = self->server_changes = 0;
    self->have_server = self->server_final = self->have_horizon = false;
    for (int i = 0; i < SENT_KEPT; ++i) self->sent[i].valid = false;
    GST_OBJECT_UNLOCK(self);
    self->returned->reset();
  }
  const GstStateChangeReturn ret = GST_ELEMENT_CLASS(parent_class)->change_state(element, transition);
  if (transition == GST_STATE_CHANGE_PAUSED_TO_READY) {
    GST_OBJECT_LOCK(self);
    GstClockID id = self->rtcp_eos_id;
    self->rtcp_eos_id = nullptr;
    GST_OBJECT_UNLOCK(self);
    if (id) {
      gst_clock_id_unschedule(id);
      gst_clock_id_unref(id);
    }
  }
  if (transition == GST_STATE_CHANGE_READY_TO_NULL || ret == GST_STATE_CHANGE_FAILURE) {
    GST_OBJECT_LOCK(self);
    GSocket *socket = self->rtcp_socket;
    self->rtcp_socket = nullptr;
    GST_OBJECT_UNLOCK(self);
    rtcoinfer::close_socket(socket);
  }
  return ret;
}

// Puts `filter` between rtpbin and the RTP socket (in NULL state).
static bool set_rtp_filter(GstRtcoinferSink *self, GstElement *filter) {
  if (GST_STATE(self) != GST_STATE_NULL || GST_STATE_PENDING(self) != GST_STATE_VOID_PENDING) {
    g_warning("rtcoinfersink: rtp-filter can only be set in the NULL state");
    return false;
  }
  GstPad *from = gst_element_get_static_pad(self->rtpbin, "send_rtp_src_0");
  GstPad *to = gst_element_get_static_pad(self->rtpsink, "sink");
  GstPad *peer = gst_pad_get_peer(from);
  if (peer) {
    gst_pad_unlink(from, peer);
    gst_object_unref(peer);
  }
  GST_OBJECT_LOCK(self);
  GstElement *old = self->rtp_filter;
  self->rtp_filter = filter ? GST_ELEMENT(gst_object_ref(filter)) : nullptr;
  GST_OBJECT_UNLOCK(self);
  if (old) {
    gst_element_unlink(old, self->rtpsink);
    gst_bin_remove(GST_BIN(self), old);
    gst_object_unref(old);
  }
  bool ok;
  if (filter) {
    gst_bin_add(GST_BIN(self), filter);
    GstPad *in = gst_element_get_static_pad(filter, "sink");
    ok = in && gst_pad_link(from, in) == GST_PAD_LINK_OK && gst_element_link(filter, self->rtpsink);
    if (in) gst_object_unref(in);
  } else {
    ok = gst_pad_link(from, to) == GST_PAD_LINK_OK;
  }
  gst_object_unref(from);
  gst_object_unref(to);
  if (!ok) g_warning("rtcoinfersink: could not link rtp-filter between rtpbin and the RTP socket");
  return ok;
}

static void gst_rtcoinfer_sink_set_property(GObject *object, guint prop_id, const GValue *value, GParamSpec *pspec) {
  auto *self = GST_RTCOINFER_SINK(object);
  if (!self->built) return;  // change_state reports it
  switch (prop_id) {
    case PROP_MODEL:
      g_object_set_property(G_OBJECT(self->head), "model", value);
      g_object_set_property(G_OBJECT(self->rate), "model", value);
      break;
    case PROP_SERVER:
      GST_OBJECT_LOCK(self);
      g_free(self->server);
      self->server = g_value_dup_string(value);
      GST_OBJECT_UNLOCK(self);
      break;
    case PROP_POLICY: g_object_set_property(G_OBJECT(self->rate), "policy", value); break;
    case PROP_DEADLINE: g_object_set_property(G_OBJECT(self->rate), "deadline", value); break;
    case PROP_SERVER_LATENCY: g_object_set_property(G_OBJECT(self->rate), "server-latency", value); break;
    case PROP_SETUP:
      g_object_set_property(G_OBJECT(self->head), "setup", value);
      g_object_set_property(G_OBJECT(self->rate), "setup", value);
      break;
    case PROP_THREADS: g_object_set_property(G_OBJECT(self->head), "threads", value); break;
    case PROP_ENTROPY: g_object_set_property(G_OBJECT(self->compress), "entropy", value); break;
    case PROP_RTCP_PORT:
      GST_OBJECT_LOCK(self);
      self->rtcp_port = g_value_get_int(value);
      GST_OBJECT_UNLOCK(self);
      break;
    case PROP_MTU: g_object_set_property(G_OBJECT(self->pay), "mtu", value); break;
    case PROP_STREAM_ID:
      GST_OBJECT_LOCK(self);
      g_free(self->stream_id);
      self->stream_id = g_value_dup_string(value);
      GST_OBJECT_UNLOCK(self);
      break;
    case PROP_RTP_FILTER: set_rtp_filter(self, GST_ELEMENT(g_value_get_object(value))); break;
    case PROP_FEC: g_object_set_property(G_OBJECT(self->rate), "fec", value); break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
  }
}

static void gst_rtcoinfer_sink_get_property(GObject *object, guint prop_id, GValue *value, GParamSpec *pspec) {
  auto *self = GST_RTCOINFER_SINK(object);
  if (!self->built) return;
  switch (prop_id) {
    case PROP_MODEL: g_object_get_property(G_OBJECT(self->head), "model", value); break;
    case PROP_SERVER:
      GST_OBJECT_LOCK(self);
      g_value_set_string(value, self->server);
      GST_OBJECT_UNLOCK(self);
      break;
    case PROP_POLICY: g_object_get_property(G_OBJECT(self->rate), "policy", value); break;
    case PROP_DEADLINE: g_object_get_property(G_OBJECT(self->rate), "deadline", value); break;
    case PROP_SERVER_LATENCY: g_object_get_property(G_OBJECT(self->rate), "server-latency", value); break;
    case PROP_SETUP: g_object_get_property(G_OBJECT(self->rate), "setup", value); break;
    case PROP_THREADS: g_object_get_property(G_OBJECT(self->head), "threads", value); break;
    case PROP_ENTROPY: g_object_get_property(G_OBJECT(self->compress), "entropy", value); break;
    case PROP_FEC: g_object_get_property(G_OBJECT(self->rate), "fec", value); break;
    case PROP_RTCP_PORT: {
      // the port really bound once the element is READY, else the property
      int port = 0;
      GST_OBJECT_LOCK(self);
      if (self->rtcp_socket) {
        GSocketAddress *addr = g_socket_get_local_address(self->rtcp_socket, nullptr);
        if (addr) {
          port = g_inet_socket_address_get_port(G_INET_SOCKET_ADDRESS(addr));
          g_object_unref(addr);
        }
      }
      g_value_set_int(value, port ? port : self->rtcp_port);  // bound, else as set
      GST_OBJECT_UNLOCK(self);
      break;
    }
    case PROP_MTU: g_object_get_property(G_OBJECT(self->pay), "mtu", value); break;
    case PROP_STREAM_ID:
      GST_OBJECT_LOCK(self);
      g_value_set_string(value, self->stream_id);
      GST_OBJECT_UNLOCK(self);
      break;
    case PROP_RTP_FILTER:
      GST_OBJECT_LOCK(self);
      g_value_set_object(value, self->rtp_filter);
      GST_OBJECT_UNLOCK(self);
      break;
    case PROP_STATS: {
      const rtcoinfer::ResultLedger::Snapshot c = self->returned->snapshot();
      GST_OBJECT_LOCK(self);
      const guint64 numbered = self->numbered, handed = self->base_numbered, changes = self->server_changes;
      GST_OBJECT_UNLOCK(self);
      g_value_take_boxed(
          value, gst_structure_new("rtcoinfersink-stats", "frames-numbered", G_TYPE_UINT64, numbered,
                                   "counted-by-earlier-servers", G_TYPE_UINT64, handed, "server-changes", G_TYPE_UINT64,
                                   changes, "results-received", G_TYPE_UINT64, guint64(c.results), "with-truth",
                                   G_TYPE_UINT64, guint64(c.with_truth), "correct", G_TYPE_UINT64, guint64(c.correct),
                                   "accuracy", G_TYPE_DOUBLE, c.accuracy(), "latency-p50-ms", G_TYPE_DOUBLE,
                                   c.latency_p50_ms, "latency-p99-ms", G_TYPE_DOUBLE, c.latency_p99_ms, nullptr));
      break;
    }
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
  }
}

static void gst_rtcoinfer_sink_finalize(GObject *object) {
  auto *self = GST_RTCOINFER_SINK(object);
  g_free(self->server);
  g_free(self->stream_id);
  if (self->rtp_filter) gst_object_unref(self->rtp_filter);
  if (self->rtcp_socket) g_object_unref(self->rtcp_socket);
  if (self->rtcp_eos_id) gst_clock_id_unref(self->rtcp_eos_id);
  if (self->results_src) gst_object_unref(self->results_src);
  delete[] self->sent;
  delete self->returned;
  G_OBJECT_CLASS(parent_class)->finalize(object);
}

// The src pad, on request: the returned results as JSON lines, from an appsrc that drops
// its oldest lines beyond 1 MB when nothing downstream reads them.
static GstPad *gst_rtcoinfer_sink_request_new_pad(GstElement *element, GstPadTemplate *templ, const gchar *,
                                                  const GstCaps *) {
  auto *self = GST_RTCOINFER_SINK(element);
  GST_OBJECT_LOCK(self);
  const bool taken = self->results_src != nullptr;
  GST_OBJECT_UNLOCK(self);
  if (taken) return nullptr;  // one results pad
  GstElement *app = gst_element_factory_make("appsrc", "results");
  if (!app) return nullptr;
  GstCaps *caps = gst_caps_new_empty_simple("application/x-ndjson");
  g_object_set(app, "caps", caps, "format", GST_FORMAT_BYTES, "is-live", TRUE, "max-bytes", guint64(1 << 20), nullptr);
  gst_caps_unref(caps);
  gst_util_set_object_arg(G_OBJECT(app), "leaky-type", "downstream");
  gst_bin_add(GST_BIN(self), app);
  GstPad *target = gst_element_get_static_pad(app, "src");
  GstPad *pad = gst_ghost_pad_new_from_template("src", target, templ);
  gst_object_unref(target);
  gst_pad_set_active(pad, TRUE);
  gst_element_add_pad(element, pad);
  gst_element_sync_state_with_parent(app);
  GST_OBJECT_LOCK(self);
  self->results_src = GST_ELEMENT(gst_object_ref(app));
  GST_OBJECT_UNLOCK(self);
  return pad;
}

static void gst_rtcoinfer_sink_release_pad(GstElement *element, GstPad *pad) {
  auto *self = GST_RTCOINFER_SINK(element);
  GST_OBJECT_LOCK(self);
  GstElement *app = self->results_src;
  self->results_src = nullptr;
  GST_OBJECT_UNLOCK(self);
  gst_element_remove_pad(element, pad);
  if (app) {
    gst_element_set_state(app, GST_STATE_NULL);
    gst_bin_remove(GST_BIN(self), app);
    gst_object_unref(app);
  }
}

static void gst_rtcoinfer_sink_class_init(GstRtcoinferSinkClass *klass) {
  GObjectClass *gobject_class = G_OBJECT_CLASS(klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS(klass);
  gobject_class->set_property = gst_rtcoinfer_sink_set_property;
  gobject_class->get_property = gst_rtcoinfer_sink_get_property;
  gobject_class->finalize = gst_rtcoinfer_sink_finalize;
  const auto rw = GParamFlags(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS);
  const auto rw_playing = GParamFlags(rw | GST_PARAM_MUTABLE_PLAYING);
  /**
   * GstRtcoinferSink:model:
   *
   * The model bundle (path or /models/<id> URL of a results service); the head runs
   * its first layers and the controller plans with its setup table. The server must
   * run the same bundle.
   */
  g_object_class_install_property(
      gobject_class, PROP_MODEL,
      g_param_spec_string("model", "Model bundle", "Bundle the head runs and the controller plans with", nullptr, rw));
  /**
   * GstRtcoinferSink:server:
   *
   * host:port of the rtcoinfersrc (IPv6 in brackets): RTP goes to the port, RTCP to
   * port + 1. Read when the element starts.
   */
  g_object_class_install_property(
      gobject_class, PROP_SERVER,
      g_param_spec_string("server", "Server", "host:port of the server; RTCP goes to port + 1", DEFAULT_SERVER, rw));
  /**
   * GstRtcoinferSink:policy:
   *
   * How the setup of each frame is chosen: mpc (the product), rate (greedy) or fixed
   * (`setup`). Read when the element starts.
   */
  g_object_class_install_property(gobject_class, PROP_POLICY,
                                  g_param_spec_enum("policy", "Policy", "How each frame's setup is chosen",
                                                    GST_TYPE_RTCOINFER_POLICY, int(rtcoinfer::Policy::Mpc), rw));
  /**
   * GstRtcoinferSink:deadline:
   *
   * Capture-to-result deadline per frame in milliseconds, 1..60000: frames predicted
   * past it are skipped. May change while PLAYING.
   */
  g_object_class_install_property(gobject_class, PROP_DEADLINE,
                                  g_param_spec_double("deadline", "Deadline", "Capture-to-result deadline, ms", 1,
                                                      60000, DEFAULT_DEADLINE_MS, rw_playing));
  /**
   * GstRtcoinferSink:server-latency:
   *
   * What the controller plans a frame's time on the server to be: `auto` (the default)
   * plans with the server's own measure for this stream (its recent 95th percentile,
   * arrival -> result, sent in every RTCP compound as APP "RCIA"), 30 ms until the first
   * report; a number of milliseconds (0..10000) plans with that number. May change while
   * PLAYING.
   */
  g_object_class_install_property(
      gobject_class, PROP_SERVER_LATENCY,
      g_param_spec_string("server-latency", "Server latency",
                          "ms (0..10000) a frame spends on the server, or auto: what the server reports", "auto",
                          rw_playing));
  /**
   * GstRtcoinferSink:setup:
   *
   * "<channels>x<bits>": the setup policy=fixed sends, and the one the first frame is
   * coded at with the other policies. Empty: the largest.
   */
  g_object_class_install_property(
      gobject_class, PROP_SETUP,
      g_param_spec_string("setup", "Setup", "Fixed (or first) setup CxB; empty = the largest", "", rw));
  /**
   * GstRtcoinferSink:threads:
   *
   * LibTorch threads of the head's model instance, 1..64.
   */
  g_object_class_install_property(
      gobject_class, PROP_THREADS,
      g_param_spec_int("threads", "Threads", "LibTorch threads of the head", 1, 64, DEFAULT_THREADS, rw));
  /**
   * GstRtcoinferSink:entropy:
   *
   * Entropy coding of the feature codes (rtcoinfer-compress): auto keeps zstd where it
   * makes a frame smaller.
   */
  g_object_class_install_property(gobject_class, PROP_ENTROPY,
                                  g_param_spec_enum("entropy", "Entropy coding", "Entropy coding of the codes",
                                                    GST_TYPE_RTCOINFER_ENTROPY, int(rtcoinfer::Entropy::Auto), rw));
  /**
   * GstRtcoinferSink:rtcp-port:
   *
   * Local UDP port where the server's RTCP (receiver reports, TWCC feedback) arrives;
   * the device's own RTCP leaves from it. 0, the default, lets the system choose a free
   * one: rtcoinfersrc answers at the address the RTCP came from, so any number of
   * devices share a host. -1 takes the server's port + 5, where the baselines'
   * one-stream server (pipelines/server --policy clio:B or offload:...) sends it. A port
   * already in use is an error. Once the element is READY, reading the property gives
   * the port bound.
   */
  g_object_class_install_property(
      gobject_class, PROP_RTCP_PORT,
      g_param_spec_int("rtcp-port", "RTCP port", "Local port of the RTCP socket; 0 = any, -1 = server port + 5", -1,
                       65535, DEFAULT_RTCP_PORT, rw));
  /**
   * GstRtcoinferSink:mtu:
   *
   * Largest RTP packet in bytes (rtpgstpay); larger frames go out as several packets.
   */
  g_object_class_install_property(
      gobject_class, PROP_MTU,
      g_param_spec_uint("mtu", "MTU", "Largest RTP packet, bytes", 28, G_MAXINT, DEFAULT_MTU, rw));
  /**
   * GstRtcoinferSink:stream-id:
   *
   * The name of this device's stream on the server: its results carry it as `stream`,
   * and the results service lists the stream under it (/api/streams, ?stream=, the
   * `stream` label). It travels in the stream's caps, which the payloader sends in-band
   * before the first frame and every second. Unset: the server names the stream by the
   * device's SSRC. At most 64 printable characters. Read when the element starts.
   */
  g_object_class_install_property(
      gobject_class, PROP_STREAM_ID,
      g_param_spec_string("stream-id", "Stream id", "Name of this device's stream on the server; unset = its SSRC",
                          nullptr, rw));
  /**
   * GstRtcoinferSink:fec:
   *
   * Loss protection: when the feedback shows packets lost, the controller may send a frame
   * with a ULPFEC copy of each packet (RFC 5109, rtpulpfecenc), from which rtcoinfersrc
   * rebuilds a lost packet, choosing setup and protection together (rtcoinfer-mpcrate
   * `fec`). On a link that loses nothing no copy is sent. FALSE never sends one. May
   * change while PLAYING.
   */
  g_object_class_install_property(
      gobject_class, PROP_FEC,
      g_param_spec_boolean("fec", "Loss protection", "Send ULPFEC copies of a frame's packets when the link loses some",
                           TRUE, GParamFlags(rw | GST_PARAM_MUTABLE_PLAYING)));
  /**
   * GstRtcoinferSink:rtp-filter:
   *
   * An element with one sink and one src pad for RTP, placed between rtpbin and the
   * RTP socket (an emulated link, a tee for capture); unset, rtpbin sends directly. Set
   * it in the NULL state; the bin owns it from then on.
   */
  g_object_class_install_property(
      gobject_class, PROP_RTP_FILTER,
      g_param_spec_object("rtp-filter", "RTP filter", "Element between rtpbin and the RTP socket", GST_TYPE_ELEMENT,
                          rw));
  /**
   * GstRtcoinferSink:stats:
   *
   * Read-only, the device's view of its results, which the server returns in its RTCP
   * (APP "RCIR", docs/wire-format.md): `frames-numbered` (guint64: frames that reached
   * the controller), `counted-by-earlier-servers` (guint64: of those, the frames a server
   * that was stopped or restarted meanwhile accounted for, APP "RCIA"; the current server
   * counts the rest), `server-changes` (guint64: servers that took over the stream),
   * `results-received`, `with-truth`, `correct` (guint64), `accuracy` (double, %),
   * `latency-p50-ms`, `latency-p99-ms` (double: capture to result received here). Each result is also posted as an `rtcoinfer-result` element message (`json`,
   * `seq`, `class`, `score`, `latency-ms`).
   */
  g_object_class_install_property(
      gobject_class, PROP_STATS,
      g_param_spec_boxed("stats", "Statistics", "Results returned to this device", GST_TYPE_STRUCTURE,
                         GParamFlags(G_PARAM_READABLE | G_PARAM_STATIC_STRINGS)));
  gst_element_class_add_static_pad_template(element_class, &sink_template);
  gst_element_class_add_static_pad_template(element_class, &src_template);
  element_class->request_new_pad = GST_DEBUG_FUNCPTR(gst_rtcoinfer_sink_request_new_pad);
  element_class->release_pad = GST_DEBUG_FUNCPTR(gst_rtcoinfer_sink_release_pad);
  gst_element_class_set_static_metadata(element_class, "RTCoInfer device", "Sink/Network",
                                        "Runs the first CNN layers on raw video and streams the compressed features "
                                        "to an rtcoinfersrc, each frame's setup chosen from the network feedback",
                                        "gst-rtcoinfer developers");
  element_class->change_state = GST_DEBUG_FUNCPTR(gst_rtcoinfer_sink_change_state);
}
