/**
 * SECTION:element-rtcoinfersrc
 * @title: rtcoinfersrc
 *
 * The RTCoInfer server as one element, for any number of devices on one port: results
 * (one JSON object per line, application/x-ndjson) out of its src pad.
 *
 * Inside, RTP on `port` and RTCP on `port` + 1 go through rtpssrcdemux, and every sender
 * SSRC (a device, an rtcoinfersink) gets an rtpbin session of its own, with its own
 * jitterbuffer, its own RTCP and TWCC feedback (TWCC sequence numbers of two senders
 * must not meet in one session), its own `rtpgstdepay ! queue ! rtcoinfer-tail` and so its own
 * ledger; the tails share one model instance. Each session's RTCP goes back to the
 * address the device's RTCP came from, from the server's RTCP socket, so devices behind
 * any address or port get their feedback. The receiving sessions' RTCP bandwidth is set
 * to `rtcp-bandwidth` (TWCC feedback every ~34 ms instead of every 300 ms on a thin
 * stream). A device that stops, restarts (a new SSRC) or sends garbage costs the others
 * nothing; at most `max-streams` senders are served, later SSRCs are dropped. An SSRC
 * belongs to the address its RTP (and, apart, its RTCP) first came from: packets of it
 * from anywhere else, a replay or a spoofed SSRC, are dropped and counted (`foreign`);
 * datagrams that are no RTP of the stream's payload type, and RTCP of an SSRC that sent
 * no RTP from that host, are dropped before they can make a stream (`junk`). A tail that
 * cannot keep up costs only its own stream frames: its queue holds at most `max-queue`
 * frames and drops the oldest, counted `busy`.
 *
 * Each device's RTCP reports how many frames it numbered (APP "RCIF"), so each stream's
 * count is exact at both ends, and each device gets its own results back in its
 * session's RTCP (APP "RCIR"). The server tells each device how far it has accounted for
 * its frames (APP "RCIA"); stopped with an EOS (gst-launch-1.0 -e, Ctrl-C) or by a state
 * change while devices still run, it counts each stream up to its newest frame and tells
 * the device, whose next server then counts from there: across a server restart every
 * frame is counted once. Each result carries the stream's SSRC as `stream`. The children keep their names:
 * rtp (rtpbin), demux, and per stream depay_<ssrc>, queue_<ssrc> and tail_<ssrc>; `stats` lists every
 * stream's counters and their total.
 *
 * Each stream's lost packets are rebuilt, where they can be, from the ULPFEC copies
 * (RFC 5109) that a device sends when its link loses packets (rtcoinfersink `fec`): the
 * jitterbuffer gives up on a missing packet after `latency`, and the stream's
 * rtpulpfecdec recovers it from the session's packet storage; `stats` counts both.
 *
 * A stream silent for `stream-timeout` seconds is torn down (its session and elements
 * freed; its counts stay in `stats` and in the results service). With `http-port` set,
 * one results service serves every stream (docs/results-service.md): /api/streams,
 * ?stream= on every endpoint, a `stream` label in /metrics, a stream picker on the
 * dashboard. With `idle-timeout` set, the server ends (EOS out of its src pad) once no
 * RTP packet has come for that many seconds after the first one and every device that
 * reports its count has said it ended (its final report): a device that falls silent
 * without one is in an outage, and its stream waits for it until `stream-timeout`.
 *
 * A server for any number of devices on UDP 5000/5001, until it is stopped:
 * `gst-launch-1.0 rtcoinfersrc model=M ! filesink location=results.jsonl`.
 *
 * ## Example launch line
 * |[
 * gst-launch-1.0 rtcoinfersrc model=models/zoo/fashion-mnist-swcnn.rcib port=5300 idle-timeout=1 ! fakesink \
 *     rtcoinfer-datasetsrc is-live=true num-buffers=30 ! videoconvert \
 *     ! rtcoinfersink model=models/zoo/fashion-mnist-swcnn.rcib server=127.0.0.1:5300
 * ]| A device and its server in one process: 30 frames, then the server ends a second
 * after the last packet.
 */
#include "gstrtcoinfersrc.h"

#include <gio/gio.h>
#include <gst/net/gstnetaddressmeta.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <gst/rtp/gstrtpbuffer.h>

#include <algorithm>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "common/bin_parts.h"
#include "common/drop_warning.h"
#include "common/http_properties.h"
#include "common/model_instance.h"
#include "common/model_loading.h"
#include "common/tail_batcher.h"
#include "contract/rtcoinfer_meta.h"
#include "server/gstrtcoinfertail.h"
#include "service/results_service.h"
#include "wire/feature_frame.h"
#include "wire/rtcp_app.h"

GST_DEBUG_CATEGORY_STATIC(gst_rtcoinfer_src_debug);
#define GST_CAT_DEFAULT gst_rtcoinfer_src_debug

#define DEFAULT_ADDRESS "0.0.0.0"
#define DEFAULT_PORT 5000
// How long a stream's jitterbuffer waits for a packet missing before those it holds: the
// device's default deadline (150 ms) less the link's and the server's time. In-order
// packets pass at once; through 0-60 ms of jitter, 20 ms gave up on packets that came
// (40 late) and answered 90 % of frames on time, 100 ms answers 98 % (test_jitter.py).
#define DEFAULT_LATENCY_MS 100
#define DEFAULT_RTCP_BANDWIDTH 20000.0
#define DEFAULT_MAX_STREAMS 64
#define DEFAULT_MAX_LATENCY_MS 0.0
#define DEFAULT_THREADS 1
#define DEFAULT_IDLE_TIMEOUT_S 0.0
#define DEFAULT_STREAM_TIMEOUT_S 30.0
#define DEFAULT_MAX_QUEUE 8
#define DEFAULT_MAX_BATCH 8
#define DEFAULT_BATCH_TIMEOUT_MS 2.0
#define IDLE_CHECK_INTERVAL (100 * GST_MSECOND)
// Results waiting for a stream's next RTCP, at most (a device whose RTCP stalls costs this)
#define MAX_RETURNS_PENDING 256
// How soon after a result its session is asked to send RTCP
#define RETURN_DELAY (20 * GST_MSECOND)
// Ended streams whose counts `stats` keeps (older ones are only counted in streams-ended)
#define ENDED_STREAMS_KEPT 64
// How much longer than the jitterbuffer's latency a session stores its packets for the FEC
// decoder: the ULPFEC packet of a frame follows its last packet
#define STORAGE_MARGIN (200 * GST_MSECOND)
#define RTP_CAPS                                                                                 \
  "application/x-rtp,media=application,clock-rate=90000,encoding-name=X-GST,extmap-5=(string)\"" \
  "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01\""

namespace {

// What happened to a stream's packets before they became frames: its jitterbuffer's late
// packets (they came after it gave up on them) and lost ones (it gave up on them), and its
// FEC decoder's packets recovered from ULPFEC and lost ones it could not recover.
struct PacketCounts {
  guint64 late = 0, lost = 0, recovered = 0, unrecovered = 0;
};

// One device's branch. With the object lock.
struct Stream {
  guint session = 0;
  GstElement *rtcp_out = nullptr;  // multiudpsink: this session's RTCP, back to the device
  GstElement *depay = nullptr, *queue = nullptr, *tail = nullptr;
  std::string rtcp_to;        // where the device's RTCP came from ("" until it did)
  gint64 last_packet_us = 0;  // g_get_monotonic_time() of its newest RTP packet
  bool ending = false;        // torn down after stream-timeout of silence
  bool linked = false;        // its tail feeds the results funnel
  // results not yet returned to the device (in its session's next RTCP), oldest first;
  // at most MAX_RETURNS_PENDING, older ones are dropped and counted
  std::deque<rtcoinfer::ReturnedResult> returns;
  guint64 returned = 0, returns_dropped = 0;
  GObject *rtp_session = nullptr;      // the session's RTPSession (a reference), to ask for early RTCP
  GstElement *jitterbuffer = nullptr;  // rtpbin's for this stream (a reference): its late and lost packets
  GstElement *fec_decoder = nullptr;   // rtpbin's rtpulpfecdec for this stream (a reference): packets it recovered
  // rtpbin's packet storage of this session (a reference), which the FEC decoder recovers
  // from: it keeps nothing until the stream's first ULPFEC packet comes (`storing`)
  GstElement *storage = nullptr;
  bool storing = false;
  // the server stops while the device runs: its final RCIA went out, its ledger counts no
  // further (the device's next server counts from its horizon)
  bool handed_over = false;
  // each frame's arrival -> result time, whose recent 95th percentile goes in RCIA
  std::shared_ptr<rtcoinfer::ServerTimer> timer = std::make_shared<rtcoinfer::ServerTimer>();
};

// What is left of a stream that was torn down: its counts.
struct EndedStream {
  guint ssrc = 0;
  std::string address;
  std::shared_ptr<const rtcoinfer::ResultLedger> ledger;
  guint64 returned = 0, returns_dropped = 0;
  std::string name;
  PacketCounts packets;  // its jitterbuffer's and FEC decoder's, at its end
};

// The C++ members, with the object lock.
struct SrcState {
  std::map<guint, Stream> streams;  // by SSRC
  // The address each SSRC's RTP, and its RTCP, first came from: packets of a known SSRC
  // from anywhere else (a replay, a spoofed SSRC) are dropped and counted as foreign
  std::map<guint, std::string> rtp_from, rtcp_from;
  std::deque<EndedStream> ended;  // the newest ENDED_STREAMS_KEPT
  guint64 streams_ended = 0;
  std::string http_address = RTCOINFER_DEFAULT_HTTP_ADDRESS, http_token;
  std::shared_ptr<rtcoinfer::ResultsService> service;  // READY and up, with http-port
  std::shared_ptr<rtcoinfer::TailBatcher> batcher;     // READY and up, with max-batch > 1
  std::size_t max_frame_bytes = 0;                     // the model's largest frame (READY and up)
  guint64 oversized = 0;                               // frames cut at a depayloader
};

}  // namespace

struct _GstRtcoinferSrc {
  GstBin parent;
  // made in init, owned by the bin
  GstElement *rtp_in, *rtcp_in, *demux, *rtpbin, *funnel;
  bool built;
  // with the object lock
  gchar *model, *address;
  gint port, latency_ms, threads;
  gdouble idle_timeout_s, stream_timeout_s;
  gint http_port;
  GstClockID idle_check;  // the periodic check while PLAYING with idle-timeout or stream-timeout set
  gint64 last_packet_us;  // g_get_monotonic_time() of the newest RTP packet taken; 0 before the first
  guint max_streams, max_queue, max_batch;
  gdouble batch_timeout_ms;
  gdouble rtcp_bandwidth, max_latency_ms;
  GSocket *rtcp_socket;  // READY and up: the RTCP socket, both ways, shared by every session
  SrcState *state;
  guint64 foreign, junk;
  guint next_session;
  bool stopping;  // with the object lock: an EOS came from outside (the application stops the server)
};

enum {
  PROP_0,
  PROP_MODEL,
  PROP_ADDRESS,
  PROP_PORT,
  PROP_LATENCY,
  PROP_RTCP_BANDWIDTH,
  PROP_MAX_STREAMS,
  PROP_MAX_LATENCY,
  PROP_THREADS,
  PROP_IDLE_TIMEOUT,
  PROP_STREAM_TIMEOUT,
  PROP_MAX_QUEUE,
  PROP_MAX_BATCH,
  PROP_BATCH_TIMEOUT,
  PROP_HTTP_PORT,
  PROP_HTTP_ADDRESS,
  PROP_HTTP_TOKEN,
  PROP_STATS
};

static GstStaticPadTemplate src_template =
    GST_STATIC_PAD_TEMPLATE("src", GST_PAD_SRC, GST_PAD_ALWAYS, GST_STATIC_CAPS("application/x-ndjson"));

#define gst_rtcoinfer_src_parent_class parent_class
G_DEFINE_TYPE_WITH_CODE(GstRtcoinferSrc, gst_rtcoinfer_src, GST_TYPE_BIN,
                        GST_DEBUG_CATEGORY_INIT(gst_rtcoinfer_src_debug, "rtcoinfersrc", 0, "RTCoInfer server bin"));
GST_ELEMENT_REGISTER_DEFINE(rtcoinfersrc, "rtcoinfersrc", GST_RANK_NONE, GST_TYPE_RTCOINFER_SRC);

static GstElement *make(GstRtcoinferSrc *self, const char *factory, const char *name) {
  return rtcoinfer::add_child(GST_BIN(self), factory, name);
}

using rtcoinfer::link_pads;

// The device's RTCP source address: where its session's RTCP goes back to.
// Where a datagram came from (udpsrc's net address meta), or nullopt.
struct SourceAddress {
  std::string host;
  int port = 0;
  std::string text() const { return host + ":" + std::to_string(port); }
};

static std::optional<SourceAddress> source_of(GstBuffer *buf) {
  GstNetAddressMeta *meta = gst_buffer_get_net_address_meta(buf);
  if (!meta || !G_IS_INET_SOCKET_ADDRESS(meta->addr)) return std::nullopt;
  GInetSocketAddress *addr = G_INET_SOCKET_ADDRESS(meta->addr);
  gchar *host = g_inet_address_to_string(g_inet_socket_address_get_address(addr));
  SourceAddress out{host, g_inet_socket_address_get_port(addr)};
  g_free(host);
  return out;
}

static GstPadProbeReturn on_device_rtcp(GstPad *, GstPadProbeInfo *info, gpointer user_data) {
  auto *self = GST_RTCOINFER_SRC(gst_object_get_parent(GST_OBJECT(user_data)));
  if (!self) return GST_PAD_PROBE_OK;
  if (const auto source = source_of(GST_PAD_PROBE_INFO_BUFFER(info))) {
    const std::string to = source->text();
    GstElement *out = GST_ELEMENT(user_data);
    bool changed = false;
    GST_OBJECT_LOCK(self);
    for (auto &[ssrc, s] : self->state->streams)
      if (s.rtcp_out == out && s.rtcp_to != to) {
        s.rtcp_to = to;
        changed = true;
      }
    GST_OBJECT_UNLOCK(self);
    if (changed) {
      GST_INFO_OBJECT(self, "RTCP of %s goes back to %s", GST_OBJECT_NAME(out), to.c_str());
      g_signal_emit_by_name(out, "clear");
      g_signal_emit_by_name(out, "add", source->host.c_str(), source->port);
    }
  }
  gst_object_unref(self);
  return GST_PAD_PROBE_OK;
}

// Senders remembered, at most (further SSRCs pass unchecked: rtpssrcdemux's
// max-streams refuses them anyway).
#define MAX_SENDERS 4096

static std::string host_of(const std::string &host_port) { return host_port.substr(0, host_port.rfind(':')); }

// On the sockets' src pads, before rtpssrcdemux can make a stream of a packet:
// - RTP must be version 2 with a payload type of the stream (its frames' or their ULPFEC
//   packets'), and an SSRC belongs to the
//   address its RTP first came from;
// - RTCP (the first packet's sender SSRC) must be of an SSRC whose RTP came from the same
//   host, and then keeps to the port it first came from.
// Anything else is dropped and counted (`junk`; `foreign`: a known SSRC from elsewhere,
// as a replay or a spoofed SSRC is), so it can neither make streams nor redirect one's
// feedback.
static GstPadProbeReturn check_sender(GstRtcoinferSrc *self, GstBuffer *buf, bool rtcp) {
  guint8 b[12];
  const gsize need = rtcp ? 8 : 12;
  const auto source = source_of(buf);
  const std::string from = source ? source->text() : "";
  const bool plausible =
      gst_buffer_extract(buf, 0, b, need) == need && (b[0] >> 6) == 2 && !from.empty() &&
      (rtcp ? b[1] >= 200 && b[1] <= 206
            : (b[1] & 0x7f) == rtcoinfer::kFramePayloadType || (b[1] & 0x7f) == rtcoinfer::kFecPayloadType);
  const gsize at = rtcp ? 4 : 8;
  const guint ssrc = guint(b[at]) << 24 | guint(b[at + 1]) << 16 | guint(b[at + 2]) << 8 | guint(b[at + 3]);
  const char *refused = nullptr;
  // the storage and FEC decoder of a stream whose first ULPFEC packet this is
  GstElement *store_from_now = nullptr, *recover_from_now = nullptr;
  guint64 keep = 0;
  GST_OBJECT_LOCK(self);
  if (!plausible) {
    refused = "junk";
  } else if (!rtcp) {
    auto it = self->state->rtp_from.find(ssrc);
    if (it == self->state->rtp_from.end()) {
      if (self->state->rtp_from.size() < MAX_SENDERS) self->state->rtp_from.emplace(ssrc, from);
    } else if (it->second != from) {
      refused = "foreign";
    }
    if (!refused) {
      self->last_packet_us = g_get_monotonic_time();
      auto stream = self->state->streams.find(ssrc);
      if (stream != self->state->streams.end()) {
        Stream &st = stream->second;
        st.last_packet_us = self->last_packet_us;
        if ((b[1] & 0x7f) == rtcoinfer::kFecPayloadType && !st.storing && st.storage && st.fec_decoder) {
          st.storing = true;
          store_from_now = GST_ELEMENT(gst_object_ref(st.storage));
          recover_from_now = GST_ELEMENT(gst_object_ref(st.fec_decoder));
          keep = guint64(self->latency_ms) * GST_MSECOND + STORAGE_MARGIN;
        }
      }
    }
  } else {
    auto rtp = self->state->rtp_from.find(ssrc);
    auto it = self->state->rtcp_from.find(ssrc);
    if (rtp == self->state->rtp_from.end() || host_of(rtp->second) != host_of(from))
      refused = rtp == self->state->rtp_from.end() ? "junk" : "foreign";
    else if (it == self->state->rtcp_from.end())
      self->state->rtcp_from.emplace(ssrc, from);
    else if (it->second != from)
      refused = "foreign";
  }
  guint64 n = 0;
  if (refused) n = std::string(refused) == "junk" ? ++self->junk : ++self->foreign;
  GST_OBJECT_UNLOCK(self);
  if (store_from_now) {
    // before this packet reaches them: the copies, and the packets they protect, are
    // kept, and the decoder rebuilds lost ones from them
    g_object_set(store_from_now, "size-time", keep, nullptr);
    g_object_set(recover_from_now, "passthrough", FALSE, nullptr);
    gst_object_unref(store_from_now);
    gst_object_unref(recover_from_now);
  }
  if (!refused) return GST_PAD_PROBE_OK;
  if (std::string(refused) == "foreign" && (n == 1 || n % 100 == 0))
    GST_ELEMENT_WARNING(self, STREAM, FAILED,
                        ("Dropped %s of SSRC %u from %s: it belongs to another sender (%" G_GUINT64_FORMAT " so far)",
                         rtcp ? "RTCP" : "RTP", ssrc, from.c_str(), n),
                        ("a replay or a spoofed SSRC; a restarted device sends with a new SSRC"));
  else
    GST_LOG_OBJECT(self, "dropped a %s packet from %s (%s)", rtcp ? "RTCP" : "RTP", from.c_str(), refused);
  return GST_PAD_PROBE_DROP;
}

static GstPadProbeReturn on_rtp_packet(GstPad *, GstPadProbeInfo *info, gpointer user_data) {
  return check_sender(GST_RTCOINFER_SRC(user_data), GST_PAD_PROBE_INFO_BUFFER(info), false);
}

static GstPadProbeReturn on_rtcp_packet(GstPad *, GstPadProbeInfo *info, gpointer user_data) {
  return check_sender(GST_RTCOINFER_SRC(user_data), GST_PAD_PROBE_INFO_BUFFER(info), true);
}

// An RTCP APP packet of a session (its RTCP thread): the device's RCIF frame count goes
// into that stream's ledger. The session is the device's own (demuxed by SSRC), so the
// packet's SSRC field is not needed to find it.
struct SessionTag {
  GstRtcoinferSrc *self;
  guint ssrc;
};

static void on_app_rtcp(GObject *, guint subtype, guint, const gchar *name, GstBuffer *data, gpointer user_data) {
  const auto *tag = static_cast<const SessionTag *>(user_data);
  GST_LOG_OBJECT(tag->self, "stream %u: APP %s", tag->ssrc, name ? name : "(none)");
  const auto bytes = rtcoinfer::rtcp_app_data(name, rtcoinfer::FrameCountReport::kName, data);
  if (!bytes) return;
  const auto report = rtcoinfer::FrameCountReport::decode(subtype, bytes->data(), bytes->size());
  if (!report) {
    GST_DEBUG_OBJECT(tag->self, "stream %u: a malformed RCIF report, ignored", tag->ssrc);
    return;
  }
  GstElement *tail = nullptr;
  GST_OBJECT_LOCK(tag->self);
  auto it = tag->self->state->streams.find(tag->ssrc);
  if (it != tag->self->state->streams.end() && it->second.tail) tail = GST_ELEMENT(gst_object_ref(it->second.tail));
  GST_OBJECT_UNLOCK(tag->self);
  GST_LOG_OBJECT(tag->self, "stream %u: %u frames numbered from %u, %u skipped%s", tag->ssrc, report->numbered,
                 report->first_seq, report->skipped, report->final ? " (final)" : "");
  if (!tail) return;
  rtcoinfer::ResultLedger::DeviceReport r;
  r.first_seq = report->first_seq;
  r.numbered = report->numbered;
  r.skipped = report->skipped;
  r.final = report->final;
  gst_rtcoinfer_inference_get_ledger(GST_RTCOINFER_INFERENCE(tail))->device_report(r);
  gst_object_unref(tail);
}

// A result of a stream's tail (its streaming thread): queued for the device's return path.
static GstPadProbeReturn on_tail_result(GstPad *, GstPadProbeInfo *info, gpointer user_data) {
  const auto *tag = static_cast<const SessionTag *>(user_data);
  const GstRtcoinferResultMeta *meta = gst_buffer_get_rtcoinfer_result_meta(GST_PAD_PROBE_INFO_BUFFER(info));
  if (!meta) return GST_PAD_PROBE_OK;
  rtcoinfer::ReturnedResult r;
  r.seq = guint16(meta->seq);
  r.class_index = guint16(meta->class_index);
  r.score = meta->score;
  r.server_us = guint32(rtcoinfer::realtime_us());
  const gint64 now = g_get_monotonic_time();
  GObject *session = nullptr;
  GST_OBJECT_LOCK(tag->self);
  auto it = tag->self->state->streams.find(tag->ssrc);
  if (it != tag->self->state->streams.end()) {
    Stream &s = it->second;
    s.timer->answered(r.seq, now);
    s.returns.push_back(r);
    if (s.returns.size() > MAX_RETURNS_PENDING) {
      s.returns.pop_front();
      s.returns_dropped++;
    }
    if (s.rtp_session) session = G_OBJECT(g_object_ref(s.rtp_session));
  }
  GST_OBJECT_UNLOCK(tag->self);
  // the next RTCP soon (AVPF early feedback, as for TWCC), not at the next regular
  // interval: after a device's last frame the regular one is seconds away
  if (session) {
    g_signal_emit_by_name(session, "send-rtcp", guint64(RETURN_DELAY));
    g_object_unref(session);
  }
  return GST_PAD_PROBE_OK;
}

// The oldest results waiting for a stream's device, as many as one RCIR packet carries,
// taken out of its queue. With the object lock.
static std::vector<rtcoinfer::ReturnedResult> take_returns_locked(Stream &s) {
  std::vector<rtcoinfer::ReturnedResult> batch;
  while (!s.returns.empty() && batch.size() < rtcoinfer::ResultBatch::kMaxEntries) {
    batch.push_back(s.returns.front());
    s.returns.pop_front();
  }
  return batch;
}

// The APP "RCIA" packet: how far this server accounted for a device's frames, under the
// SSRC of the server's session with it (the device sees a new server by a new SSRC).
static bool add_accounted(GstBuffer *compound, GObject *session, const rtcoinfer::ResultLedger::Coverage &cov,
                          std::optional<double> server_ms, bool final) {
  guint internal = 0;
  g_object_get(session, "internal-ssrc", &internal, nullptr);
  rtcoinfer::AccountedReport report;
  report.horizon = cov.horizon;
  report.accounted = guint32(std::min<guint64>(cov.accounted, G_MAXUINT32));
  if (server_ms) report.server_time = rtcoinfer::AccountedReport::server_time_of(*server_ms);
  report.final = final;
  return rtcoinfer::add_rtcp_app(compound, report.subtype(), internal, rtcoinfer::AccountedReport::kName,
                                 report.encode());
}

// A session builds an RTCP compound for its device (TWCC feedback goes out every few
// tens of ms): how far this server has accounted for the device's frames goes in (APP
// "RCIA", with the server time of its recent frames), and the results waiting for that
// device (APP "RCIR").
static gboolean on_server_rtcp(GObject *session, GstBuffer *buffer, gboolean, gpointer user_data) {
  const auto *tag = static_cast<const SessionTag *>(user_data);
  std::vector<rtcoinfer::ReturnedResult> batch;
  GstElement *tail = nullptr;
  std::shared_ptr<const rtcoinfer::ServerTimer> timer;
  GST_OBJECT_LOCK(tag->self);
  auto it = tag->self->state->streams.find(tag->ssrc);
  // until the device's first RTCP says where it listens, RTCP goes nowhere: keep them
  if (it != tag->self->state->streams.end() && !it->second.rtcp_to.empty()) {
    Stream &s = it->second;
    batch = take_returns_locked(s);
    if (s.tail && !s.handed_over) tail = GST_ELEMENT(gst_object_ref(s.tail));
    timer = s.timer;
  }
  GST_OBJECT_UNLOCK(tag->self);
  if (tail) {  // how far this server has accounted for the device's frames (RCIA)
    if (const auto cov = gst_rtcoinfer_inference_get_ledger(GST_RTCOINFER_INFERENCE(tail))->coverage())
      add_accounted(buffer, session, *cov, timer->recent_ms(), false);
    gst_object_unref(tail);
  }
  if (batch.empty()) return FALSE;
  const bool sent = rtcoinfer::add_rtcp_app(buffer, 0, tag->ssrc, rtcoinfer::ResultBatch::kName,
                                            rtcoinfer::ResultBatch::encode(batch));
  GST_OBJECT_LOCK(tag->self);
  it = tag->self->state->streams.find(tag->ssrc);
  if (it != tag->self->state->streams.end()) {
    Stream &s = it->second;
    if (sent) {
      s.returned += batch.size();
    } else {  // no room in this one: back to the front, for the next
      s.returns.insert(s.returns.begin(), batch.begin(), batch.end());
      while (s.returns.size() > MAX_RETURNS_PENDING) {
        s.returns.pop_back();
        s.returns_dropped++;
      }
    }
  }
  GST_OBJECT_UNLOCK(tag->self);
  GST_LOG_OBJECT(tag->self, "stream %u: %zu results into RTCP, the last for frame %u%s", tag->ssrc, batch.size(),
                 batch.back().seq, sent ? "" : " (no room: kept)");
  // an early packet with nothing but our results would be suppressed otherwise
  return sent ? TRUE : FALSE;
}

// The server stops while a device still runs (an EOS from outside, or the state going
// down): that stream's ledger stops at the newest frame that arrived, and the device is
// told so in a final RCIA, sent at once from the RTCP socket (twice: it is one datagram
// that a restart must not lose). The device counts the frames after it for its next
// server, so a server restart counts each frame once (docs/wire-format.md).
static void hand_over(GstRtcoinferSrc *self, guint ssrc) {
  GST_OBJECT_LOCK(self);
  auto it = self->state->streams.find(ssrc);
  if (it == self->state->streams.end() || it->second.handed_over || !it->second.tail) {
    GST_OBJECT_UNLOCK(self);
    return;
  }
  Stream &s = it->second;
  s.handed_over = true;
  GstElement *tail = GST_ELEMENT(gst_object_ref(s.tail));
  GObject *session = s.rtp_session ? G_OBJECT(g_object_ref(s.rtp_session)) : nullptr;
  GSocket *socket = self->rtcp_socket ? G_SOCKET(g_object_ref(self->rtcp_socket)) : nullptr;
  const std::string to = s.rtcp_to;
  const std::optional<double> server_ms = s.timer->recent_ms();
  // the last results go with it
  const std::vector<rtcoinfer::ReturnedResult> batch =
      to.empty() ? std::vector<rtcoinfer::ReturnedResult>() : take_returns_locked(s);
  s.returned += batch.size();
  GST_OBJECT_UNLOCK(self);
  const auto cov = gst_rtcoinfer_inference_get_ledger(GST_RTCOINFER_INFERENCE(tail))->hand_over();
  gst_object_unref(tail);
  const std::size_t colon = to.rfind(':');
  if (cov && session && socket && colon != std::string::npos) {
    GSocketAddress *addr =
        g_inet_socket_address_new_from_string(to.substr(0, colon).c_str(), guint(std::stoi(to.substr(colon + 1))));
    GstBuffer *compound = gst_rtcp_buffer_new(1500);
    GstRTCPBuffer rtcp = GST_RTCP_BUFFER_INIT;
    GstRTCPPacket packet;
    guint internal = 0;
    g_object_get(session, "internal-ssrc", &internal, nullptr);
    bool ok = gst_rtcp_buffer_map(compound, GST_MAP_READWRITE, &rtcp);
    ok = ok && gst_rtcp_buffer_add_packet(&rtcp, GST_RTCP_TYPE_RR, &packet);  // a compound begins with SR or RR
    if (ok) gst_rtcp_packet_rr_set_ssrc(&packet, internal);
    if (rtcp.buffer) gst_rtcp_buffer_unmap(&rtcp);
    ok = ok && addr && add_accounted(compound, session, *cov, server_ms, true);
    if (ok && !batch.empty())
      rtcoinfer::add_rtcp_app(compound, 0, ssrc, rtcoinfer::ResultBatch::kName, rtcoinfer::ResultBatch::encode(batch));
    GstMapInfo map;
    if (ok && gst_buffer_map(compound, &map, GST_MAP_READ)) {
      for (int i = 0; i < 2; ++i)
        g_socket_send_to(socket, addr, reinterpret_cast<const gchar *>(map.data), map.size, nullptr, nullptr);
      gst_buffer_unmap(compound, &map);
    }
    gst_buffer_unref(compound);
    if (addr) g_object_unref(addr);
    GST_INFO_OBJECT(self, "stream %u handed over at frame %u (%" G_GUINT64_FORMAT " accounted here) to %s", ssrc,
                    cov->horizon, cov->accounted, to.c_str());
  }
  if (session) g_object_unref(session);
  if (socket) g_object_unref(socket);
}

// A stream's tail ends (its streaming thread): when the server is being stopped, after
// its last frame the stream is handed over.
static GstPadProbeReturn on_tail_event(GstPad *, GstPadProbeInfo *info, gpointer user_data) {
  if (GST_EVENT_TYPE(GST_PAD_PROBE_INFO_EVENT(info)) != GST_EVENT_EOS) return GST_PAD_PROBE_OK;
  const auto *tag = static_cast<const SessionTag *>(user_data);
  GST_OBJECT_LOCK(tag->self);
  const bool stopping = tag->self->stopping;
  GST_OBJECT_UNLOCK(tag->self);
  if (stopping) hand_over(tag->self, tag->ssrc);
  return GST_PAD_PROBE_OK;
}

// A stream's queue in front of its tail (the tail runs on the queue's thread, so
// inference never holds up the session's RTP and RTCP): a frame the queue drops because
// the tail cannot keep up is counted `busy` in the tail's ledger, before the tail sees
// the frame after it.
struct QueueTag {
  GstRtcoinferSrc *self;
  guint ssrc;
  std::shared_ptr<rtcoinfer::QueueWatch> watch;
  std::shared_ptr<rtcoinfer::ResultLedger> ledger;
  std::shared_ptr<rtcoinfer::ServerTimer> timer;  // the stream's: a frame's server time starts here
};

static void count_busy(const QueueTag *tag, const std::vector<guint16> &dropped) {
  guint64 busy = 0;
  for (guint16 seq : dropped) {
    if (tag->ledger->claim_arrived(seq))
      busy = tag->ledger->count_drop("busy");
    else
      tag->ledger->count_unreadable();
  }
  if (busy && rtcoinfer::drop_worth_a_warning(busy))
    GST_ELEMENT_WARNING(
        tag->self, RESOURCE, BUSY,
        ("Stream %u: dropped a frame the server could not take (%" G_GUINT64_FORMAT " so far)", tag->ssrc, busy),
        ("its queue for inference was full (max-queue); counted as busy"));
}

static GstPadProbeReturn on_queue_in(GstPad *, GstPadProbeInfo *info, gpointer user_data) {
  const auto *tag = static_cast<const QueueTag *>(user_data);
  if (const auto hdr = rtcoinfer::frame_header_of(GST_PAD_PROBE_INFO_BUFFER(info))) {
    tag->watch->entered(hdr->seq);
    tag->timer->arrived(hdr->seq, g_get_monotonic_time());
  }
  return GST_PAD_PROBE_OK;
}

static GstPadProbeReturn on_queue_out(GstPad *, GstPadProbeInfo *info, gpointer user_data) {
  const auto *tag = static_cast<const QueueTag *>(user_data);
  if (GST_PAD_PROBE_INFO_TYPE(info) & GST_PAD_PROBE_TYPE_BUFFER) {
    if (const auto hdr = rtcoinfer::frame_header_of(GST_PAD_PROBE_INFO_BUFFER(info))) {
      const std::vector<guint16> dropped = tag->watch->left(hdr->seq);
      if (!dropped.empty())
        GST_DEBUG_OBJECT(tag->self, "stream %u: frame %u leaves the queue, %zu before it were dropped (%u..%u)",
                         tag->ssrc, hdr->seq, dropped.size(), dropped.front(), dropped.back());
      count_busy(tag, dropped);
    }
  } else if (GST_EVENT_TYPE(GST_PAD_PROBE_INFO_EVENT(info)) == GST_EVENT_EOS) {
    count_busy(tag, tag->watch->ended());
  }
  return GST_PAD_PROBE_OK;
}

// A stream's depayloader holds a frame's fragments until the packet with the marker
// bit: a sender that never sets it would grow it without end. So once a frame's
// fragments pass the model's largest frame, the frame is cut: its packets up to its
// marker are dropped, and the next frame's first is marked DISCONT, which makes
// rtpgstdepay let go of what it held. The cut frame's number is unreadable, so its
// ledger counts it so and the gap counts it missing; `stats` counts it `oversized`.
// The depayloader's streaming thread only: no lock.
struct FragmentCap {
  GstRtcoinferSrc *self;
  guint ssrc;
  std::size_t limit;
  std::shared_ptr<rtcoinfer::ResultLedger> ledger;
  std::size_t held = 0;  // payload bytes since the last marker (or gap)
  bool cutting = false, discont_next = false;
  std::optional<guint16> last_seq;
  guint16 fec_seen = 0;  // ULPFEC packets dropped so far (mod 2^16): the later packets' numbers move down by it
};

static GstPadProbeReturn on_depay_in(GstPad *, GstPadProbeInfo *info, gpointer user_data) {
  auto *cap = static_cast<FragmentCap *>(user_data);
  GstBuffer *buffer = GST_PAD_PROBE_INFO_BUFFER(info);
  GstRTPBuffer rtp = GST_RTP_BUFFER_INIT;
  if (!gst_rtp_buffer_map(buffer, GST_MAP_READ, &rtp)) return GST_PAD_PROBE_OK;
  const std::size_t payload = gst_rtp_buffer_get_payload_len(&rtp);
  const bool marker = gst_rtp_buffer_get_marker(&rtp);
  const guint pt = gst_rtp_buffer_get_payload_type(&rtp);
  // The ULPFEC packets came through the FEC decoder (which recovers from their stored
  // copies) between the frames' packets: they go, and the packets after them are
  // numbered as if they had never been there, so that only a packet really lost is a gap
  // for the depayloader (which would otherwise start over, and warn, at every frame).
  if (pt == rtcoinfer::kFecPayloadType) {
    gst_rtp_buffer_unmap(&rtp);
    cap->fec_seen++;
    return GST_PAD_PROBE_DROP;
  }
  const guint16 seq = guint16(gst_rtp_buffer_get_seq(&rtp) - cap->fec_seen);
  gst_rtp_buffer_unmap(&rtp);
  if (cap->fec_seen) {
    buffer = gst_buffer_make_writable(buffer);
    if (gst_rtp_buffer_map(buffer, GST_MAP_WRITE, &rtp)) {
      gst_rtp_buffer_set_seq(&rtp, seq);
      gst_rtp_buffer_unmap(&rtp);
    }
    GST_PAD_PROBE_INFO_DATA(info) = buffer;
  }
  // after a gap the depayloader starts over (a lost marker must not make the next frame
  // look too large)
  if (cap->last_seq && seq != guint16(*cap->last_seq + 1)) cap->held = 0;
  cap->last_seq = seq;
  if (cap->cutting) {
    if (marker) cap->cutting = false;
    return GST_PAD_PROBE_DROP;
  }
  if (cap->discont_next) {
    cap->discont_next = false;
    buffer = gst_buffer_make_writable(buffer);
    GST_BUFFER_FLAG_SET(buffer, GST_BUFFER_FLAG_DISCONT);
    GST_PAD_PROBE_INFO_DATA(info) = buffer;
  }
  cap->held += payload;
  if (marker) {
    cap->held = 0;
    return GST_PAD_PROBE_OK;
  }
  if (cap->held <= cap->limit) return GST_PAD_PROBE_OK;
  cap->held = 0;
  cap->cutting = cap->discont_next = true;
  cap->ledger->count_unreadable();
  GST_OBJECT_LOCK(cap->self);
  const guint64 n = ++cap->self->state->oversized;
  GST_OBJECT_UNLOCK(cap->self);
  if (rtcoinfer::drop_worth_a_warning(n))
    GST_ELEMENT_WARNING(
        cap->self, STREAM, DECODE,
        ("Stream %u: cut a frame larger than any of the model's (%" G_GUINT64_FORMAT " so far)", cap->ssrc, n),
        ("its fragments passed %zu bytes without an end; dropped up to its marker", cap->limit));
  return GST_PAD_PROBE_DROP;
}

// rtpssrcdemux found a new sender: a session of its own in rtpbin (streaming thread).
static void on_new_ssrc(GstElement *demux, guint ssrc, GstPad *rtp_pad, gpointer user_data) {
  auto *self = GST_RTCOINFER_SRC(user_data);
  GST_OBJECT_LOCK(self);
  if (self->state->streams.count(ssrc)) {
    GST_OBJECT_UNLOCK(self);
    return;
  }
  const guint session = self->next_session++;
  const double rtcp_bw = self->rtcp_bandwidth;
  const std::string model = self->model ? self->model : "";
  const int threads = self->threads;
  const double max_latency = self->max_latency_ms;
  const guint max_queue = self->max_queue;
  GSocket *socket = self->rtcp_socket ? G_SOCKET(g_object_ref(self->rtcp_socket)) : nullptr;
  std::shared_ptr<rtcoinfer::ResultsService> service = self->state->service;
  std::shared_ptr<rtcoinfer::TailBatcher> batcher = self->state->batcher;
  const std::size_t max_frame_bytes = self->state->max_frame_bytes;
  Stream &fresh = self->state->streams[ssrc];
  fresh.session = session;
  fresh.last_packet_us = g_get_monotonic_time();
  const std::shared_ptr<rtcoinfer::ServerTimer> timer = fresh.timer;
  GST_OBJECT_UNLOCK(self);

  gchar *name = g_strdup_printf("rtcp_out_%u", ssrc);
  GstElement *rtcp_out = gst_element_factory_make("multiudpsink", name);
  g_free(name);
  name = g_strdup_printf("depay_%u", ssrc);
  GstElement *depay = gst_element_factory_make("rtpgstdepay", name);
  g_free(name);
  name = g_strdup_printf("queue_%u", ssrc);
  GstElement *queue = gst_element_factory_make("queue", name);
  g_free(name);
  name = g_strdup_printf("tail_%u", ssrc);
  GstElement *tail = gst_element_factory_make("rtcoinfer-tail", name);
  g_free(name);
  if (!rtcp_out || !depay || !queue || !tail) {
    GST_ELEMENT_ERROR(self, CORE, MISSING_PLUGIN, ("Cannot make a stream's elements"),
                      ("needs multiudpsink, rtpgstdepay, queue and rtcoinfer-tail"));
    if (socket) g_object_unref(socket);
    return;
  }
  g_object_set(rtcp_out, "socket", socket, "close-socket", FALSE, "sync", FALSE, "async", FALSE, nullptr);
  // the feedback socket is no sink of the bin: the bin is a source, ended by its src pad
  GST_OBJECT_FLAG_UNSET(rtcp_out, GST_ELEMENT_FLAG_SINK);
  if (socket) g_object_unref(socket);
  const std::string stream_id = std::to_string(ssrc);
  g_object_set(tail, "model", model.c_str(), "threads", threads, "max-latency", max_latency, "stream-id",
               stream_id.c_str(), nullptr);
  if (service) gst_rtcoinfer_tail_share_service(GST_RTCOINFER_TAIL(tail), std::move(service));
  if (batcher) gst_rtcoinfer_tail_share_batcher(GST_RTCOINFER_TAIL(tail), std::move(batcher));
  g_object_set(queue, "max-size-buffers", max_queue, "max-size-bytes", 0u, "max-size-time", guint64(0), nullptr);
  gst_util_set_object_arg(G_OBJECT(queue), "leaky", "downstream");  // the oldest frame goes
  const QueueTag queue_tag{self, ssrc, std::make_shared<rtcoinfer::QueueWatch>(),
                           gst_rtcoinfer_inference_get_ledger(GST_RTCOINFER_INFERENCE(tail)), timer};
  auto forget_queue_tag = +[](gpointer data) { delete static_cast<QueueTag *>(data); };
  GstPad *depay_in = gst_element_get_static_pad(depay, "sink");
  gst_pad_add_probe(
      depay_in, GST_PAD_PROBE_TYPE_BUFFER, on_depay_in,
      new FragmentCap{self, ssrc, max_frame_bytes, gst_rtcoinfer_inference_get_ledger(GST_RTCOINFER_INFERENCE(tail))},
      +[](gpointer data) { delete static_cast<FragmentCap *>(data); });
  gst_object_unref(depay_in);
  GstPad *queue_in = gst_element_get_static_pad(queue, "sink");
  gst_pad_add_probe(queue_in, GST_PAD_PROBE_TYPE_BUFFER, on_queue_in, new QueueTag(queue_tag), forget_queue_tag);
  gst_object_unref(queue_in);
  GstPad *queue_out = gst_element_get_static_pad(queue, "src");
  gst_pad_add_probe(queue_out, GstPadProbeType(GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM),
                    on_queue_out, new QueueTag(queue_tag), forget_queue_tag);
  gst_object_unref(queue_out);
  gst_bin_add_many(GST_BIN(self), rtcp_out, depay, queue, tail, nullptr);
  GST_OBJECT_LOCK(self);
  Stream &s = self->state->streams[ssrc];
  s.rtcp_out = rtcp_out;
  s.depay = depay;
  s.queue = queue;
  s.tail = tail;
  GST_OBJECT_UNLOCK(self);

  gchar *pad = g_strdup_printf("recv_rtp_sink_%u", session);
  bool ok = link_pads(GST_PAD(gst_object_ref(rtp_pad)), gst_element_request_pad_simple(self->rtpbin, pad));
  g_free(pad);
  pad = g_strdup_printf("rtcp_src_%u", ssrc);
  GstPad *device_rtcp = gst_element_get_static_pad(demux, pad);
  g_free(pad);
  if (device_rtcp) gst_pad_add_probe(device_rtcp, GST_PAD_PROBE_TYPE_BUFFER, on_device_rtcp, rtcp_out, nullptr);
  pad = g_strdup_printf("recv_rtcp_sink_%u", session);
  ok = ok && link_pads(device_rtcp, gst_element_request_pad_simple(self->rtpbin, pad));
  g_free(pad);
  pad = g_strdup_printf("send_rtcp_src_%u", session);
  ok = ok && link_pads(gst_element_request_pad_simple(self->rtpbin, pad), gst_element_get_static_pad(rtcp_out, "sink"));
  g_free(pad);
  ok = ok && gst_element_link_many(depay, queue, tail, nullptr);
  GObject *rtpsession = nullptr;
  g_signal_emit_by_name(self->rtpbin, "get-session", session, &rtpsession);
  if (rtpsession) {
    if (rtcp_bw > 0) g_object_set(rtpsession, "rtcp-fraction", rtcp_bw, nullptr);
    g_object_unref(rtpsession);
  }
  GObject *internal = nullptr;
  g_signal_emit_by_name(self->rtpbin, "get-internal-session", session, &internal);
  auto forget_tag = +[](gpointer data, GClosure *) { delete static_cast<SessionTag *>(data); };
  if (internal) {
    g_signal_connect_data(internal, "on-app-rtcp", G_CALLBACK(on_app_rtcp), new SessionTag{self, ssrc}, forget_tag,
                          GConnectFlags(0));
    g_signal_connect_data(internal, "on-sending-rtcp", G_CALLBACK(on_server_rtcp), new SessionTag{self, ssrc},
                          forget_tag, GConnectFlags(0));
    GST_OBJECT_LOCK(self);
    self->state->streams[ssrc].rtp_session = internal;  // takes the reference
    GST_OBJECT_UNLOCK(self);
  }
  GstPad *results = gst_element_get_static_pad(tail, "src");
  gst_pad_add_probe(
      results, GST_PAD_PROBE_TYPE_BUFFER, on_tail_result, new SessionTag{self, ssrc},
      +[](gpointer data) { delete static_cast<SessionTag *>(data); });
  gst_pad_add_probe(
      results, GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM, on_tail_event, new SessionTag{self, ssrc},
      +[](gpointer data) { delete static_cast<SessionTag *>(data); });
  gst_object_unref(results);
  for (GstElement *e : {rtcp_out, depay, queue, tail}) gst_element_sync_state_with_parent(e);
  if (!ok) {
    GST_ELEMENT_ERROR(self, CORE, PAD, ("Cannot link the stream of SSRC %u", ssrc), (nullptr));
    return;
  }
  GST_INFO_OBJECT(self, "stream %u: session %u", ssrc, session);
  gst_element_post_message(
      GST_ELEMENT(self),
      gst_message_new_element(GST_OBJECT(self), gst_structure_new("rtcoinfer-stream", "ssrc", G_TYPE_UINT, ssrc,
                                                                  "session", G_TYPE_UINT, session, nullptr)));
}

// A stream's packet counts, from its jitterbuffer's `stats` and its FEC decoder's
// counters (either may be null).
static PacketCounts packet_counts(GstElement *jitterbuffer, GstElement *fec_decoder) {
  PacketCounts c;
  if (jitterbuffer) {
    GstStructure *st = nullptr;
    g_object_get(jitterbuffer, "stats", &st, nullptr);
    if (st) {
      gst_structure_get_uint64(st, "num-late", &c.late);
      gst_structure_get_uint64(st, "num-lost", &c.lost);
      gst_structure_free(st);
    }
  }
  if (fec_decoder) {
    guint recovered = 0, unrecovered = 0;
    g_object_get(fec_decoder, "recovered", &recovered, "unrecovered", &unrecovered, nullptr);
    c.recovered = recovered;
    c.unrecovered = unrecovered;
  }
  return c;
}

// One of the elements rtpbin made for a session, kept (a reference) in `field` of the
// session's stream.
static void keep_for_stream(GstRtcoinferSrc *self, guint session, GstElement *Stream::*field, GstElement *element) {
  GST_OBJECT_LOCK(self);
  for (auto &[ssrc, s] : self->state->streams)
    if (s.session == session && !(s.*field)) s.*field = GST_ELEMENT(gst_object_ref(element));
  GST_OBJECT_UNLOCK(self);
}

// rtpbin made the jitterbuffer of a session's stream (streaming thread): kept for stats.
static void on_new_jitterbuffer(GstElement *, GstElement *jitterbuffer, guint session, guint, gpointer user_data) {
  keep_for_stream(GST_RTCOINFER_SRC(user_data), session, &Stream::jitterbuffer, jitterbuffer);
}

// rtpbin asks for a session's FEC decoder (streaming thread, as the stream's first packet
// comes): rtpulpfecdec on the session's packet storage. When the jitterbuffer gives up on
// a packet (do-lost), the decoder rebuilds it from the ULPFEC packet that protected it,
// if that came, and the frame goes on whole.
static GstElement *on_request_fec_decoder(GstElement *rtpbin, guint session, gpointer user_data) {
  auto *self = GST_RTCOINFER_SRC(user_data);
  GstElement *decoder = gst_element_factory_make("rtpulpfecdec", nullptr);
  if (!decoder) {
    GST_WARNING_OBJECT(self, "no rtpulpfecdec (gst-plugins-good): session %u recovers no lost packet", session);
    return nullptr;
  }
  GObject *storage = nullptr;
  g_signal_emit_by_name(rtpbin, "get-internal-storage", session, &storage);
  // passing everything through, lost-packet events included, until the stream's first
  // ULPFEC packet (check_sender): a stream without copies has nothing to rebuild from
  g_object_set(decoder, "pt", rtcoinfer::kFecPayloadType, "storage", storage, "passthrough", TRUE, nullptr);
  if (storage) g_object_unref(storage);
  keep_for_stream(self, session, &Stream::fec_decoder, decoder);
  return decoder;
}

// A session's packet storage, which the FEC decoder recovers from: kept for the stream,
// empty (size-time 0) until its first ULPFEC packet comes (check_sender), so that a stream
// without any, or a flood of junk fragments, costs no memory there; from then on it keeps
// each packet as long as the jitterbuffer may still wait for one missing before it, and
// then some.
static void on_new_storage(GstElement *, GstElement *storage, guint session, gpointer user_data) {
  g_object_set(storage, "size-time", guint64(0), nullptr);
  keep_for_stream(GST_RTCOINFER_SRC(user_data), session, &Stream::storage, storage);
}

// The caps of a payload type rtpbin meets in a stream (its session and jitterbuffer need
// each one's clock rate; the session reads the TWCC extension of the frames' from theirs):
// the feature frames' as the socket gives them, and the ULPFEC packets'; any other payload
// type never gets past check_sender. The ULPFEC packets' caps name no payload type, so
// that caps reaching the FEC decoder cannot make it expect theirs for the packets it
// rebuilds (type 96). (It still refuses about two rebuilt packets per 300-frame run at 10 %
// loss as of an "unexpected payload type (96)"; why is not known.)
static GstCaps *on_request_pt_map(GstElement *, guint, guint pt, gpointer user_data) {
  auto *self = GST_RTCOINFER_SRC(user_data);
  if (pt == rtcoinfer::kFecPayloadType)
    return gst_caps_new_simple("application/x-rtp", "media", G_TYPE_STRING, "application", "clock-rate", G_TYPE_INT,
                               90000, "encoding-name", G_TYPE_STRING, "ULPFEC", nullptr);
  if (pt != rtcoinfer::kFramePayloadType) return nullptr;
  GstCaps *caps = nullptr;
  g_object_get(self->rtp_in, "caps", &caps, nullptr);
  if (caps) {
    caps = gst_caps_make_writable(caps);
    gst_caps_set_simple(caps, "payload", G_TYPE_INT, gint(pt), nullptr);
  }
  return caps;
}

// rtpbin's decoded-side pad of a session: into that stream's depayloader.
static void on_rtpbin_pad(GstElement *, GstPad *pad, gpointer user_data) {
  auto *self = GST_RTCOINFER_SRC(user_data);
  guint session = 0, ssrc = 0, pt = 0;
  if (sscanf(GST_PAD_NAME(pad), "recv_rtp_src_%u_%u_%u", &session, &ssrc, &pt) != 3) return;
  GstElement *depay = nullptr, *tail = nullptr;
  GST_OBJECT_LOCK(self);
  for (auto &[key, s] : self->state->streams)
    if (s.session == session && s.depay) {
      depay = GST_ELEMENT(gst_object_ref(s.depay));
      tail = GST_ELEMENT(gst_object_ref(s.tail));
    }
  GST_OBJECT_UNLOCK(self);
  if (!depay) return;
  GstPad *sink = gst_element_get_static_pad(depay, "sink");
  if (gst_pad_is_linked(sink)) {  // a second SSRC in one session cannot happen: demuxed before
    GST_WARNING_OBJECT(self, "session %u already has a stream; %s stays unlinked", session, GST_PAD_NAME(pad));
    gst_object_unref(sink);
  } else if (  // only now into the results (before any buffer can come): a sender whose
               // packets never make a stream (junk) must not hold the funnel's EOS back
      !link_pads(gst_element_get_static_pad(tail, "src"), gst_element_request_pad_simple(self->funnel, "sink_%u")) ||
      !link_pads(GST_PAD(gst_object_ref(pad)), sink)) {
    GST_ELEMENT_ERROR(self, CORE, PAD, ("Cannot link %s", GST_PAD_NAME(pad)), (nullptr));
  } else {
    GST_OBJECT_LOCK(self);
    for (auto &[key, s] : self->state->streams)
      if (s.session == session) s.linked = true;
    GST_OBJECT_UNLOCK(self);
  }
  gst_object_unref(depay);
  gst_object_unref(tail);
}

static void end_stream_locked(GstRtcoinferSrc *self, guint ssrc);

// Tears a stream down that has been silent for stream-timeout (a thread of GStreamer's
// pool, not a streaming thread): its demuxer pads, its rtpbin session, its elements.
// What it counted stays in `stats` (ended-<ssrc>) and in the results service.
static void end_stream(GstElement *element, gpointer data) {
  // the state lock keeps a state change out while the children change; stopped (or
  // stopping) meanwhile, the stream goes with the rest
  GST_STATE_LOCK(element);
  if (GST_STATE(element) < GST_STATE_PAUSED || GST_STATE_PENDING(element) == GST_STATE_READY ||
      GST_STATE_PENDING(element) == GST_STATE_NULL) {
    GST_STATE_UNLOCK(element);
    return;
  }
  end_stream_locked(GST_RTCOINFER_SRC(element), GPOINTER_TO_UINT(data));
  GST_STATE_UNLOCK(element);
}

static void end_stream_locked(GstRtcoinferSrc *self, guint ssrc) {
  GstElement *element = GST_ELEMENT(self);
  GST_OBJECT_LOCK(self);
  auto it = self->state->streams.find(ssrc);
  if (it == self->state->streams.end()) {
    GST_OBJECT_UNLOCK(self);
    return;
  }
  const Stream stream = it->second;
  self->state->streams.erase(it);
  if (stream.rtp_session) g_object_unref(stream.rtp_session);  // its reference, from the map
  auto from = self->state->rtp_from.find(ssrc);
  const std::string address = from != self->state->rtp_from.end() ? from->second : "";
  self->state->rtp_from.erase(ssrc);  // the device may come back, from anywhere
  self->state->rtcp_from.erase(ssrc);
  GST_OBJECT_UNLOCK(self);
  const PacketCounts packets = packet_counts(stream.jitterbuffer, stream.fec_decoder);
  for (GstElement *e : {stream.jitterbuffer, stream.fec_decoder, stream.storage})  // references, from the map
    if (e) gst_object_unref(e);

  g_signal_emit_by_name(self->demux, "clear-ssrc", ssrc);
  for (const char *form : {"recv_rtp_sink_%u", "recv_rtcp_sink_%u", "send_rtcp_src_%u"}) {
    gchar *name = g_strdup_printf(form, stream.session);
    if (GstPad *pad = gst_element_get_static_pad(self->rtpbin, name)) {
      gst_element_release_request_pad(self->rtpbin, pad);
      gst_object_unref(pad);
    }
    g_free(name);
  }
  std::shared_ptr<const rtcoinfer::ResultLedger> ledger;
  std::string name;
  if (stream.tail) {
    auto counting = gst_rtcoinfer_inference_get_ledger(GST_RTCOINFER_INFERENCE(stream.tail));
    counting->finish();  // a device silent this long has ended: its last report is final
    ledger = counting;
    gchar *named = nullptr;
    g_object_get(stream.tail, "stream-id", &named, nullptr);
    name = named ? named : "";
    g_free(named);
    GstPad *src = gst_element_get_static_pad(stream.tail, "src");
    if (GstPad *funnel_pad = gst_pad_get_peer(src)) {
      gst_pad_unlink(src, funnel_pad);
      gst_element_release_request_pad(self->funnel, funnel_pad);
      gst_object_unref(funnel_pad);
    }
    gst_object_unref(src);
  }
  for (GstElement *e : {stream.rtcp_out, stream.depay, stream.queue, stream.tail}) {
    if (!e) continue;
    gst_element_set_locked_state(e, TRUE);
    gst_element_set_state(e, GST_STATE_NULL);
    gst_bin_remove(GST_BIN(self), e);
  }
  GstStructure *counts =
      gst_rtcoinfer_snapshot_structure(ledger ? ledger->snapshot() : rtcoinfer::ResultLedger().snapshot(), "counts");
  GST_OBJECT_LOCK(self);
  self->state->ended.push_back({ssrc, address, ledger, stream.returned, stream.returns_dropped, name, packets});
  if (self->state->ended.size() > ENDED_STREAMS_KEPT) self->state->ended.pop_front();
  self->state->streams_ended++;
  const double timeout = self->stream_timeout_s;
  GST_OBJECT_UNLOCK(self);
  GST_INFO_OBJECT(self, "stream %u (%s) silent for %g s: ended", ssrc, address.c_str(), timeout);
  GstStructure *msg = gst_structure_new("rtcoinfer-stream-ended", "ssrc", G_TYPE_UINT, ssrc, "address", G_TYPE_STRING,
                                        address.c_str(), "counts", GST_TYPE_STRUCTURE, counts, nullptr);
  gst_structure_free(counts);
  gst_element_post_message(element, gst_message_new_element(GST_OBJECT(self), msg));
#ifdef __GLIBC__
  // What the stream held (its session, jitterbuffer, packet storage, queue and threads)
  // goes back to the system: glibc keeps freed heap otherwise, and a server whose devices
  // come and go would keep the high-water mark of its busiest moment as its RSS.
  malloc_trim(0);
#endif
}

// The clock thread, every IDLE_CHECK_INTERVAL: ends streams silent for stream-timeout,
// and ends the server once it has been idle for idle-timeout. That EOS goes in at the
// sockets and flows through every stream, so each tail finishes what it has.
static gboolean periodic_check(GstClock *, GstClockTime, GstClockID id, gpointer user_data) {
  auto *self = GST_RTCOINFER_SRC(user_data);
  const gint64 now = g_get_monotonic_time();
  std::vector<guint> silent;
  GST_OBJECT_LOCK(self);
  const gint64 last = self->last_packet_us;
  const double timeout = self->idle_timeout_s, stream_timeout = self->stream_timeout_s;
  const bool current = self->idle_check == id;
  if (current && stream_timeout > 0)
    for (auto &[ssrc, s] : self->state->streams)
      if (!s.ending && double(now - s.last_packet_us) / 1e6 >= stream_timeout) {
        s.ending = true;
        silent.push_back(ssrc);
      }
  GST_OBJECT_UNLOCK(self);
  for (guint ssrc : silent) gst_element_call_async(GST_ELEMENT(self), end_stream, GUINT_TO_POINTER(ssrc), nullptr);
  if (!current || timeout <= 0 || last == 0 || double(now - last) / 1e6 < timeout) return TRUE;
  // Silence is no end while a device that reports its count (rtcoinfersink's RCIF) has
  // not said it ended: that is an outage, and the stream waits for its device's final
  // report or for stream-timeout, which tears it down. (A hand-composed device reports
  // nothing, so its silence is taken as its end.)
  GST_OBJECT_LOCK(self);
  const bool outage = std::any_of(self->state->streams.begin(), self->state->streams.end(), [](const auto &kv) {
    const Stream &s = kv.second;
    if (s.ending || !s.tail) return false;
    const auto ledger = gst_rtcoinfer_inference_get_ledger(GST_RTCOINFER_INFERENCE(s.tail));
    return ledger->sender_reports() && !ledger->sender_ended();
  });
  const bool linked = std::any_of(self->state->streams.begin(), self->state->streams.end(),
                                  [](const auto &kv) { return kv.second.linked; });
  GST_OBJECT_UNLOCK(self);
  if (outage) {
    GST_LOG_OBJECT(self, "no packet for %g s, but a device has not ended: waiting", timeout);
    return TRUE;
  }
  GST_INFO_OBJECT(self, "no packet for %g s: ending", timeout);
  gst_clock_id_unschedule(id);
  // RTCP first: the RTP EOS ends the pipeline, which the application may then stop at
  // once, so nothing here touches a child after it
  gst_element_send_event(self->rtcp_in, gst_event_new_eos());
  gst_element_send_event(self->rtp_in, gst_event_new_eos());  // through every stream, into the funnel
  if (!linked) {
    // every stream ended (torn down) or none ever gave results: the funnel has no pad an
    // EOS could come through, and nothing else pushes on its src pad
    GstPad *out = gst_element_get_static_pad(self->funnel, "src");
    gst_pad_push_event(out, gst_event_new_eos());
    gst_object_unref(out);
  }
  return TRUE;
}

static void start_idle_check(GstRtcoinferSrc *self) {
  GST_OBJECT_LOCK(self);
  const bool needed = self->idle_timeout_s > 0 || self->stream_timeout_s > 0;
  self->last_packet_us = 0;
  GST_OBJECT_UNLOCK(self);
  if (!needed) return;
  GstClock *clock = gst_system_clock_obtain();
  GstClockID id =
      gst_clock_new_periodic_id(clock, gst_clock_get_time(clock) + IDLE_CHECK_INTERVAL, IDLE_CHECK_INTERVAL);
  gst_object_unref(clock);
  GST_OBJECT_LOCK(self);
  self->idle_check = id;
  GST_OBJECT_UNLOCK(self);
  gst_clock_id_wait_async(id, periodic_check, gst_object_ref(self), gst_object_unref);
}

static void stop_idle_check(GstRtcoinferSrc *self) {
  GST_OBJECT_LOCK(self);
  GstClockID id = self->idle_check;
  self->idle_check = nullptr;
  GST_OBJECT_UNLOCK(self);
  if (id) {
    gst_clock_id_unschedule(id);
    gst_clock_id_unref(id);
  }
}

static void gst_rtcoinfer_src_init(GstRtcoinferSrc *self) {
  self->model = nullptr;
  self->address = g_strdup(DEFAULT_ADDRESS);
  self->port = DEFAULT_PORT;
  self->latency_ms = DEFAULT_LATENCY_MS;
  self->threads = DEFAULT_THREADS;
  self->idle_timeout_s = DEFAULT_IDLE_TIMEOUT_S;
  self->stream_timeout_s = DEFAULT_STREAM_TIMEOUT_S;
  self->http_port = RTCOINFER_DEFAULT_HTTP_PORT;
  self->max_streams = DEFAULT_MAX_STREAMS;
  self->max_queue = DEFAULT_MAX_QUEUE;
  self->max_batch = DEFAULT_MAX_BATCH;
  self->batch_timeout_ms = DEFAULT_BATCH_TIMEOUT_MS;
  self->rtcp_bandwidth = DEFAULT_RTCP_BANDWIDTH;
  self->max_latency_ms = DEFAULT_MAX_LATENCY_MS;
  self->state = new SrcState();
  self->rtp_in = make(self, "udpsrc", "rtp_in");
  self->rtcp_in = make(self, "udpsrc", "rtcp_in");
  self->demux = make(self, "rtpssrcdemux", "demux");
  self->rtpbin = make(self, "rtpbin", "rtp");
  self->funnel = make(self, "funnel", "results");
  if (!self->rtp_in || !self->rtcp_in || !self->demux || !self->rtpbin || !self->funnel) return;
  // No payload type in the socket's caps: the stream has two (on_request_pt_map), and the
  // jitterbuffer and the FEC decoder take caps without one for both.
  GstCaps *caps = gst_caps_from_string(RTP_CAPS);
  {
    // The payload's caps out of band, as rtpgstdepay reads them from its sink caps: a
    // stream can be depayloaded from its first packet, even when the packet that
    // carries them in band (rtpgstpay's config-interval) came late or not at all.
    // Through 0-60 ms of jitter the first second of frames was lost without them.
    static const char frame_caps[] = RTCOINFER_FRAME_CAPS_NAME;
    gchar *encoded = g_base64_encode(reinterpret_cast<const guchar *>(frame_caps), sizeof frame_caps);
    gst_caps_set_simple(caps, "caps", G_TYPE_STRING, encoded, "capsversion", G_TYPE_STRING, "0", nullptr);
    g_free(encoded);
  }
  // no SO_REUSEADDR: a second server on the same port is an error, not half the packets
  g_object_set(self->rtp_in, "caps", caps, "buffer-size", 8388608, "reuse", FALSE, nullptr);
  gst_caps_unref(caps);
  caps = gst_caps_new_empty_simple("application/x-rtcp");
  g_object_set(self->rtcp_in, "caps", caps, nullptr);
  gst_caps_unref(caps);
  gst_util_set_object_arg(G_OBJECT(self->rtpbin), "rtp-profile", "avpf");
  g_object_set(self->demux, "max-streams", DEFAULT_MAX_STREAMS, nullptr);
  bool ok = link_pads(gst_element_get_static_pad(self->rtp_in, "src"), gst_element_get_static_pad(self->demux, "sink"));
  ok = ok && link_pads(gst_element_get_static_pad(self->rtcp_in, "src"),
                       gst_element_get_static_pad(self->demux, "rtcp_sink"));
  if (!ok) {
    GST_ERROR_OBJECT(self, "could not link the server pipeline");
    return;
  }
  for (auto [socket, probe] : {std::pair{self->rtp_in, on_rtp_packet}, std::pair{self->rtcp_in, on_rtcp_packet}}) {
    GstPad *pad = gst_element_get_static_pad(socket, "src");
    gst_pad_add_probe(pad, GST_PAD_PROBE_TYPE_BUFFER, probe, self, nullptr);
    gst_object_unref(pad);
  }
  g_signal_connect(self->demux, "new-ssrc-pad", G_CALLBACK(on_new_ssrc), self);
  g_signal_connect(self->rtpbin, "pad-added", G_CALLBACK(on_rtpbin_pad), self);
  g_signal_connect(self->rtpbin, "new-jitterbuffer", G_CALLBACK(on_new_jitterbuffer), self);
  // Lost packets are recovered from the device's ULPFEC packets: the jitterbuffer tells
  // the session's FEC decoder which packets it gave up on (do-lost)
  // (one decoder per stream: with a payload demuxer after it, each payload type got one of
  // its own, and a lost packet's event went to whichever had the newest packet; so no
  // demuxing by payload type, and the depayloader's probe drops the ULPFEC packets)
  g_object_set(self->rtpbin, "do-lost", TRUE, "ignore-pt", TRUE, nullptr);
  g_signal_connect(self->rtpbin, "request-fec-decoder", G_CALLBACK(on_request_fec_decoder), self);
  g_signal_connect(self->rtpbin, "new-storage", G_CALLBACK(on_new_storage), self);
  g_signal_connect(self->rtpbin, "request-pt-map", G_CALLBACK(on_request_pt_map), self);
  GstPad *target = gst_element_get_static_pad(self->funnel, "src");
  gst_element_add_pad(GST_ELEMENT(self),
                      gst_ghost_pad_new_from_template("src", target, gst_static_pad_template_get(&src_template)));
  gst_object_unref(target);
  self->built = true;
}

// Binds the sockets; call before the children go to READY.
static bool configure_transport(GstRtcoinferSrc *self) {
  GST_OBJECT_LOCK(self);
  const std::string address = self->address ? self->address : DEFAULT_ADDRESS;
  const int port = self->port, latency = self->latency_ms;
  const guint max_streams = self->max_streams;
  GST_OBJECT_UNLOCK(self);
  GInetAddress *ip = g_inet_address_new_from_string(address.c_str());
  if (!ip) {
    GST_ELEMENT_ERROR(self, RESOURCE, SETTINGS, ("address \"%s\" is not an IP address", address.c_str()),
                      ("give the local address to listen on, e.g. 0.0.0.0 or 127.0.0.1"));
    return false;
  }
  GError *err = nullptr;
  GSocket *socket = rtcoinfer::bind_udp_socket(ip, port + 1, &err);
  g_object_unref(ip);
  if (!socket) {
    GST_ELEMENT_ERROR(self, RESOURCE, OPEN_READ, ("Cannot listen for RTCP on %s:%d", address.c_str(), port + 1),
                      ("%s", err ? err->message : "unknown error"));
    g_clear_error(&err);
    return false;
  }
  g_object_set(self->rtp_in, "address", address.c_str(), "port", port, nullptr);
  g_object_set(self->rtcp_in, "socket", socket, "close-socket", FALSE, nullptr);
  g_object_set(self->rtpbin, "latency", guint(latency), nullptr);
  g_object_set(self->demux, "max-streams", max_streams, nullptr);
  GST_OBJECT_LOCK(self);
  if (self->rtcp_socket) g_object_unref(self->rtcp_socket);
  self->rtcp_socket = socket;
  self->state->rtp_from.clear();
  self->state->rtcp_from.clear();
  self->state->ended.clear();
  self->state->streams_ended = 0;
  self->state->oversized = 0;
  self->foreign = self->junk = 0;
  GST_OBJECT_UNLOCK(self);
  return true;
}

// With max-batch > 1: the one batcher of every stream's tail, on the process's instance
// of the bundle (loaded here, before the first device comes).
static bool start_batcher(GstRtcoinferSrc *self, const std::string &model) {
  GST_OBJECT_LOCK(self);
  rtcoinfer::TailBatcher::Options options;
  options.max_batch = int(self->max_batch);
  options.timeout = GstClockTime(self->batch_timeout_ms * GST_MSECOND);
  const int threads = self->threads;
  GST_OBJECT_UNLOCK(self);
  if (options.max_batch <= 1) return true;
  std::shared_ptr<rtcoinfer::InferenceModel> instance = rtcoinfer::acquire_model_for(GST_ELEMENT(self), model, threads);
  if (!instance) return false;  // it posted why
  // on the system clock until the bin gets the pipeline's (set_clock below)
  GstClock *clock = gst_element_get_clock(GST_ELEMENT(self));
  options.clock = clock;
  auto batcher = std::make_shared<rtcoinfer::TailBatcher>(std::move(instance), options);
  if (clock) gst_object_unref(clock);
  GST_OBJECT_LOCK(self);
  self->state->batcher = std::move(batcher);
  GST_OBJECT_UNLOCK(self);
  return true;
}

// Checks the bundle before any device comes (a wrong file is an error at start), and
// with http-port set starts one results service for every stream's tail, offering the
// bundle to devices from the start (they may fetch it before they can send).
static bool start_service(GstRtcoinferSrc *self, const std::string &model) {
  rtcoinfer::ResultsService::Options http;
  GST_OBJECT_LOCK(self);
  http.port = self->http_port;
  http.address = self->state->http_address;
  http.token = self->state->http_token;
  GST_OBJECT_UNLOCK(self);
  const std::optional<std::string> file = rtcoinfer::resolve_bundle_for(GST_ELEMENT(self), model);
  if (!file) return false;
  rtcoinfer::ServedModel served;
  try {
    served.bundle = rtcoinfer::read_bundle_bytes(*file);
    const rtcoinfer::BundleManifest manifest = rtcoinfer::read_manifest(served.bundle.data(), served.bundle.size());
    served.id = manifest.info.model_id;
    served.metadata_json = manifest.info.metadata_json;
    std::size_t largest = 0;
    for (std::size_t i = 0; i < manifest.info.setups.size(); ++i)
      largest = std::max(largest, rtcoinfer::max_frame_bytes(manifest.info.setups.at(i), manifest.info.partition_height,
                                                             manifest.info.partition_width));
    GST_OBJECT_LOCK(self);
    self->state->max_frame_bytes = largest;
    GST_OBJECT_UNLOCK(self);
  } catch (const std::exception &e) {
    GST_ELEMENT_ERROR(self, RESOURCE, OPEN_READ, ("Cannot load model bundle %s: %s", file->c_str(), e.what()),
                      ("give the bundle the devices run (rtcoinfer-train writes one)"));
    return false;
  }
  if (http.port == 0) return true;
  http.model = std::make_shared<const rtcoinfer::ServedModel>(std::move(served));
  std::string error;
  std::shared_ptr<rtcoinfer::ResultsService> service = rtcoinfer::ResultsService::start(http, &error);
  if (!service) {
    GST_ELEMENT_ERROR(self, RESOURCE, OPEN_READ_WRITE, ("Cannot serve results over HTTP: %s", error.c_str()),
                      ("check http-address and http-port; port %d may be in use", http.port));
    return false;
  }
  GST_INFO_OBJECT(self, "results of every stream on http://%s:%d/", http.address.c_str(), service->port());
  GST_OBJECT_LOCK(self);
  self->state->service = std::move(service);
  GST_OBJECT_UNLOCK(self);
  return true;
}

// An EOS sent to the bin is the application stopping the server (gst-launch-1.0 -e on
// Ctrl-C, pipelines/server on a signal): each stream is handed over once its tail has
// its last frame. The bin's own EOS (idle-timeout) goes to its sockets directly.
static gboolean gst_rtcoinfer_src_send_event(GstElement *element, GstEvent *event) {
  auto *self = GST_RTCOINFER_SRC(element);
  if (GST_EVENT_TYPE(event) == GST_EVENT_EOS) {
    GST_OBJECT_LOCK(self);
    self->stopping = true;
    GST_OBJECT_UNLOCK(self);
  }
  return GST_ELEMENT_CLASS(parent_class)->send_event(element, event);
}

static GstStateChangeReturn gst_rtcoinfer_src_change_state(GstElement *element, GstStateChange transition) {
  auto *self = GST_RTCOINFER_SRC(element);
  if (transition == GST_STATE_CHANGE_NULL_TO_READY) {
    if (!self->built) {
      GST_ELEMENT_ERROR(self, CORE, MISSING_PLUGIN, ("rtcoinfersrc could not build its pipeline"),
                        ("it needs udpsrc, rtpssrcdemux, rtpbin, funnel, rtpgstdepay and rtcoinfer-tail; "
                         "GST_DEBUG=rtcoinfersrc:1 names the one missing"));
      return GST_STATE_CHANGE_FAILURE;
    }
    GST_OBJECT_LOCK(self);
    const std::string model = self->model ? self->model : "";
    GST_OBJECT_UNLOCK(self);
    if (model.empty()) {
      GST_ELEMENT_ERROR(self, RESOURCE, NOT_FOUND, ("No model bundle given"),
                        ("set model=<bundle>, the same the devices run"));
      return GST_STATE_CHANGE_FAILURE;
    }
    if (!configure_transport(self) || !start_service(self, model) || !start_batcher(self, model))
      return GST_STATE_CHANGE_FAILURE;
  }
  if (transition == GST_STATE_CHANGE_NULL_TO_READY || transition == GST_STATE_CHANGE_READY_TO_PAUSED) {
    GST_OBJECT_LOCK(self);
    self->stopping = false;
    GST_OBJECT_UNLOCK(self);
  }
  if (transition == GST_STATE_CHANGE_PAUSED_TO_READY) {
    // stopped without an EOS: the streams not handed over yet are, while the RTCP socket
    // is still open
    std::vector<guint> ssrcs;
    GST_OBJECT_LOCK(self);
    for (const auto &[ssrc, st] : self->state->streams) ssrcs.push_back(ssrc);
    GST_OBJECT_UNLOCK(self);
    for (guint ssrc : ssrcs) hand_over(self, ssrc);
  }
  GstStateChangeReturn ret = GST_ELEMENT_CLASS(parent_class)->change_state(element, transition);
  if (transition == GST_STATE_CHANGE_PAUSED_TO_PLAYING && ret != GST_STATE_CHANGE_FAILURE) start_idle_check(self);
  if (transition == GST_STATE_CHANGE_PLAYING_TO_PAUSED) stop_idle_check(self);
  if (transition == GST_STATE_CHANGE_READY_TO_NULL || ret == GST_STATE_CHANGE_FAILURE) {
    GST_OBJECT_LOCK(self);
    GSocket *socket = self->rtcp_socket;
    self->rtcp_socket = nullptr;
    std::shared_ptr<rtcoinfer::ResultsService> service = std::move(self->state->service);
    std::shared_ptr<rtcoinfer::TailBatcher> batcher = std::move(self->state->batcher);
    GST_OBJECT_UNLOCK(self);
    rtcoinfer::close_socket(socket);
    service.reset();  // after the tails stopped: joins the HTTP thread
    batcher.reset();  // the tails that still hold it free it with them
  }
  return ret;
}

// A stream's counts in `stats`: its ledger's, with the address its RTP comes from.
static void add_stream_stats(GstStructure *out, const char *form, guint ssrc, const std::string &address,
                             const std::string &name, const rtcoinfer::ResultLedger &ledger, guint64 returned,
                             guint64 returns_dropped, bool handed_over, double server_time_ms,
                             const PacketCounts &packets) {
  GstStructure *s = gst_rtcoinfer_snapshot_structure(ledger.snapshot(), "stream");
  gst_structure_set(s, "address", G_TYPE_STRING, address.c_str(), "name", G_TYPE_STRING, name.c_str(), "returned",
                    G_TYPE_UINT64, returned, "returns-dropped", G_TYPE_UINT64, returns_dropped, "handed-over",
                    G_TYPE_BOOLEAN, handed_over, "server-time-ms", G_TYPE_DOUBLE, server_time_ms, "late-packets",
                    G_TYPE_UINT64, packets.late, "lost-packets", G_TYPE_UINT64, packets.lost, "fec-recovered",
                    G_TYPE_UINT64, packets.recovered, "fec-unrecovered", G_TYPE_UINT64, packets.unrecovered, nullptr);
  gchar *field = g_strdup_printf(form, ssrc);
  gst_structure_set(out, field, GST_TYPE_STRUCTURE, s, nullptr);
  g_free(field);
  gst_structure_free(s);
}

static GstStructure *collect_stats(GstRtcoinferSrc *self) {
  struct Row {
    guint ssrc;
    std::string address;
    std::shared_ptr<const rtcoinfer::ResultLedger> ledger;
    guint64 returned, returns_dropped;
    std::string name;
    GstElement *tail;  // a reference, for active streams
    bool handed_over;
    double server_time_ms;
    GstElement *jitterbuffer, *fec_decoder;  // references, for active streams that have them
    PacketCounts packets;                    // ended streams: at their end
  };
  std::vector<Row> active, ended;
  GST_OBJECT_LOCK(self);
  for (auto &[ssrc, s] : self->state->streams) {
    if (!s.tail) continue;
    auto from = self->state->rtp_from.find(ssrc);
    active.push_back({ssrc,
                      from != self->state->rtp_from.end() ? from->second : "",
                      gst_rtcoinfer_inference_get_ledger(GST_RTCOINFER_INFERENCE(s.tail)),
                      s.returned,
                      s.returns_dropped,
                      "",
                      GST_ELEMENT(gst_object_ref(s.tail)),
                      s.handed_over,
                      s.timer->recent_ms().value_or(0),
                      s.jitterbuffer ? GST_ELEMENT(gst_object_ref(s.jitterbuffer)) : nullptr,
                      s.fec_decoder ? GST_ELEMENT(gst_object_ref(s.fec_decoder)) : nullptr,
                      {}});
  }
  for (const EndedStream &e : self->state->ended)
    if (e.ledger)
      ended.push_back({e.ssrc, e.address, e.ledger, e.returned, e.returns_dropped, e.name, nullptr, false, 0, nullptr,
                       nullptr, e.packets});
  const guint64 foreign = self->foreign, junk = self->junk, streams_ended = self->state->streams_ended,
                oversized = self->state->oversized;
  const std::shared_ptr<rtcoinfer::TailBatcher> batcher = self->state->batcher;
  GST_OBJECT_UNLOCK(self);
  GstStructure *out = gst_structure_new(
      "rtcoinfersrc-stats", "streams", G_TYPE_UINT, guint(active.size()), "streams-ended", G_TYPE_UINT64, streams_ended,
      "foreign", G_TYPE_UINT64, foreign, "junk", G_TYPE_UINT64, junk, "oversized", G_TYPE_UINT64, oversized, nullptr);
  if (batcher) {
    const rtcoinfer::TailBatcher::Stats b = batcher->stats();
    gst_structure_set(out, "batches", G_TYPE_UINT64, guint64(b.batches), "largest-batch", G_TYPE_UINT64,
                      guint64(b.largest), "mean-batch", G_TYPE_DOUBLE, b.mean_batch, "mean-forward-ms", G_TYPE_DOUBLE,
                      b.mean_forward_ms, "mean-batch-wait-ms", G_TYPE_DOUBLE, b.mean_wait_ms, "batcher-late",
                      G_TYPE_UINT64, guint64(b.late), nullptr);
  }
  std::vector<const rtcoinfer::ResultLedger *> all;
  for (const Row &r : active) {
    gchar *name = nullptr;
    g_object_get(r.tail, "stream-id", &name, nullptr);
    gst_object_unref(r.tail);
    add_stream_stats(out, "stream-%u", r.ssrc, r.address, name ? name : "", *r.ledger, r.returned, r.returns_dropped,
                     r.handed_over, r.server_time_ms, packet_counts(r.jitterbuffer, r.fec_decoder));
    for (GstElement *e : {r.jitterbuffer, r.fec_decoder})
      if (e) gst_object_unref(e);
    g_free(name);
    all.push_back(r.ledger.get());
  }
  for (const Row &r : ended) {
    add_stream_stats(out, "ended-%u", r.ssrc, r.address, r.name, *r.ledger, r.returned, r.returns_dropped, false, 0,
                     r.packets);
    all.push_back(r.ledger.get());
  }
  GstStructure *total = gst_rtcoinfer_snapshot_structure(rtcoinfer::ResultLedger::merged(all), "total");
  gst_structure_set(out, "total", GST_TYPE_STRUCTURE, total, nullptr);
  gst_structure_free(total);
  return out;
}

static void gst_rtcoinfer_src_set_property(GObject *object, guint prop_id, const GValue *value, GParamSpec *pspec) {
  auto *self = GST_RTCOINFER_SRC(object);
  GST_OBJECT_LOCK(self);
  switch (prop_id) {
    case PROP_MODEL:
      g_free(self->model);
      self->model = g_value_dup_string(value);
      break;
    case PROP_ADDRESS:
      g_free(self->address);
      self->address = g_value_dup_string(value);
      break;
    case PROP_PORT: self->port = g_value_get_int(value); break;
    case PROP_LATENCY: self->latency_ms = g_value_get_int(value); break;
    case PROP_RTCP_BANDWIDTH: self->rtcp_bandwidth = g_value_get_double(value); break;
    case PROP_MAX_STREAMS: self->max_streams = g_value_get_uint(value); break;
    case PROP_MAX_LATENCY: self->max_latency_ms = g_value_get_double(value); break;
    case PROP_THREADS: self->threads = g_value_get_int(value); break;
    case PROP_IDLE_TIMEOUT: self->idle_timeout_s = g_value_get_double(value); break;
    case PROP_STREAM_TIMEOUT: self->stream_timeout_s = g_value_get_double(value); break;
    case PROP_MAX_QUEUE: self->max_queue = g_value_get_uint(value); break;
    case PROP_MAX_BATCH: self->max_batch = g_value_get_uint(value); break;
    case PROP_BATCH_TIMEOUT: self->batch_timeout_ms = g_value_get_double(value); break;
    case PROP_HTTP_PORT: self->http_port = g_value_get_int(value); break;
    case PROP_HTTP_ADDRESS:
      self->state->http_address =
          g_value_get_string(value) ? g_value_get_string(value) : RTCOINFER_DEFAULT_HTTP_ADDRESS;
      break;
    case PROP_HTTP_TOKEN: self->state->http_token = g_value_get_string(value) ? g_value_get_string(value) : ""; break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
  }
  GST_OBJECT_UNLOCK(self);
}

static void gst_rtcoinfer_src_get_property(GObject *object, guint prop_id, GValue *value, GParamSpec *pspec) {
  auto *self = GST_RTCOINFER_SRC(object);
  if (prop_id == PROP_STATS) {
    g_value_take_boxed(value, collect_stats(self));
    return;
  }
  GST_OBJECT_LOCK(self);
  switch (prop_id) {
    case PROP_MODEL: g_value_set_string(value, self->model); break;
    case PROP_ADDRESS: g_value_set_string(value, self->address); break;
    case PROP_PORT: g_value_set_int(value, self->port); break;
    case PROP_LATENCY: g_value_set_int(value, self->latency_ms); break;
    case PROP_RTCP_BANDWIDTH: g_value_set_double(value, self->rtcp_bandwidth); break;
    case PROP_MAX_STREAMS: g_value_set_uint(value, self->max_streams); break;
    case PROP_MAX_LATENCY: g_value_set_double(value, self->max_latency_ms); break;
    case PROP_THREADS: g_value_set_int(value, self->threads); break;
    case PROP_IDLE_TIMEOUT: g_value_set_double(value, self->idle_timeout_s); break;
    case PROP_STREAM_TIMEOUT: g_value_set_double(value, self->stream_timeout_s); break;
    case PROP_MAX_QUEUE: g_value_set_uint(value, self->max_queue); break;
    case PROP_MAX_BATCH: g_value_set_uint(value, self->max_batch); break;
    case PROP_BATCH_TIMEOUT: g_value_set_double(value, self->batch_timeout_ms); break;
    case PROP_HTTP_PORT: g_value_set_int(value, self->http_port); break;
    case PROP_HTTP_ADDRESS: g_value_set_string(value, self->state->http_address.c_str()); break;
    case PROP_HTTP_TOKEN:
      g_value_set_string(value, self->state->http_token.empty() ? nullptr : self->state->http_token.c_str());
      break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
  }
  GST_OBJECT_UNLOCK(self);
}

static void gst_rtcoinfer_src_finalize(GObject *object) {
  auto *self = GST_RTCOINFER_SRC(object);
  g_free(self->model);
  g_free(self->address);
  if (self->rtcp_socket) g_object_unref(self->rtcp_socket);
  if (self->idle_check) gst_clock_id_unref(self->idle_check);
  for (auto &[ssrc, s] : self->state->streams) {
    if (s.rtp_session) g_object_unref(s.rtp_session);
    for (GstElement *e : {s.jitterbuffer, s.fec_decoder, s.storage})
      if (e) gst_object_unref(e);
  }
  delete self->state;
  G_OBJECT_CLASS(parent_class)->finalize(object);
}

// The batcher times its batches on the pipeline's clock, as the bin's children do.
static gboolean gst_rtcoinfer_src_set_clock(GstElement *element, GstClock *clock) {
  GstRtcoinferSrc *self = GST_RTCOINFER_SRC(element);
  GST_OBJECT_LOCK(self);
  const std::shared_ptr<rtcoinfer::TailBatcher> batcher = self->state->batcher;
  GST_OBJECT_UNLOCK(self);
  if (batcher && clock) batcher->set_clock(clock);
  return GST_ELEMENT_CLASS(parent_class)->set_clock(element, clock);
}

static void gst_rtcoinfer_src_class_init(GstRtcoinferSrcClass *klass) {
  GObjectClass *gobject_class = G_OBJECT_CLASS(klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS(klass);
  gobject_class->set_property = gst_rtcoinfer_src_set_property;
  gobject_class->get_property = gst_rtcoinfer_src_get_property;
  gobject_class->finalize = gst_rtcoinfer_src_finalize;
  const auto rw = GParamFlags(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS);
  /**
   * GstRtcoinferSrc:model:
   *
   * The model bundle the devices run (path or URL); every stream's tail uses it, and
   * they share one model instance. Read when the element starts.
   */
  g_object_class_install_property(
      gobject_class, PROP_MODEL,
      g_param_spec_string("model", "Model bundle", "Bundle the devices run; one instance for all", nullptr, rw));
  /**
   * GstRtcoinferSrc:address:
   *
   * Local IP address to listen on (0.0.0.0: every IPv4 interface). Read when the element
   * starts.
   */
  g_object_class_install_property(
      gobject_class, PROP_ADDRESS,
      g_param_spec_string("address", "Address", "Local IP address to listen on", DEFAULT_ADDRESS, rw));
  /**
   * GstRtcoinferSrc:port:
   *
   * UDP port of the RTP; RTCP uses port + 1, both ways. Read when the element starts.
   */
  g_object_class_install_property(
      gobject_class, PROP_PORT,
      g_param_spec_int("port", "Port", "UDP port of the RTP; RTCP on port + 1", 1, 65534, DEFAULT_PORT, rw));
  /**
   * GstRtcoinferSrc:latency:
   *
   * rtpbin's jitterbuffer latency per stream, milliseconds: how long it waits for a
   * missing packet before it gives up on it and passes on what it holds behind it
   * (in-order packets pass at once). The default is the device's default deadline, 150 ms,
   * less the link's and the server's time: a packet later than that could not make its
   * frame on time anyway. A packet that comes after it was given up is counted in the
   * stream's `late-packets`. Read when the element starts.
   */
  g_object_class_install_property(gobject_class, PROP_LATENCY,
                                  g_param_spec_int("latency", "Jitterbuffer latency", "Jitterbuffer latency, ms", 0,
                                                   10000, DEFAULT_LATENCY_MS, rw));
  /**
   * GstRtcoinferSrc:rtcp-bandwidth:
   *
   * RTCP bandwidth of each receiving session in bytes/s (rtpsession's rtcp-fraction): it
   * paces the TWCC feedback rtcoinfer-mpcrate plans with. 0 keeps GStreamer's default,
   * 5 % of the stream, which gives a thin stream feedback every 300 ms. Read when a
   * stream starts.
   */
  g_object_class_install_property(
      gobject_class, PROP_RTCP_BANDWIDTH,
      g_param_spec_double("rtcp-bandwidth", "RTCP bandwidth", "RTCP bandwidth per session, bytes/s; 0 = default", 0,
                          1e9, DEFAULT_RTCP_BANDWIDTH, rw));
  /**
   * GstRtcoinferSrc:max-streams:
   *
   * Most senders (SSRCs) served at once; packets of further SSRCs are dropped. Read when
   * the element starts.
   */
  g_object_class_install_property(
      gobject_class, PROP_MAX_STREAMS,
      g_param_spec_uint("max-streams", "Maximum streams", "Most senders served", 1, 4096, DEFAULT_MAX_STREAMS, rw));
  /**
   * GstRtcoinferSrc:max-latency:
   *
   * Each tail drops frames older than this (ms since capture) as `late`; 0 never drops.
   * Read when a stream starts.
   */
  g_object_class_install_property(
      gobject_class, PROP_MAX_LATENCY,
      g_param_spec_double("max-latency", "Maximum latency", "Drop frames older than this, ms; 0 = never", 0, 3600000,
                          DEFAULT_MAX_LATENCY_MS, rw));
  /**
   * GstRtcoinferSrc:threads:
   *
   * LibTorch threads of the shared tail model instance.
   */
  g_object_class_install_property(
      gobject_class, PROP_THREADS,
      g_param_spec_int("threads", "Threads", "LibTorch threads of the tail", 1, 64, DEFAULT_THREADS, rw));
  /**
   * GstRtcoinferSrc:idle-timeout:
   *
   * Seconds without an RTP packet of any stream, after the first one, after which the
   * server ends (EOS), once every device that reports its count (rtcoinfersink) has said
   * it ended: silence before that is an outage, which lasts until the device's final
   * report or until `stream-timeout` ends its stream (with stream-timeout 0, until its
   * final report). A hand-composed device reports nothing; its silence ends the server as
   * any. 0 serves until stopped. Read when the element starts playing.
   */
  g_object_class_install_property(
      gobject_class, PROP_IDLE_TIMEOUT,
      g_param_spec_double("idle-timeout", "Idle timeout", "End after this many idle seconds; 0 = never", 0, 86400,
                          DEFAULT_IDLE_TIMEOUT_S, rw));
  /**
   * GstRtcoinferSrc:stream-timeout:
   *
   * Seconds without an RTP packet after which a stream is torn down: its rtpbin session,
   * its tail and its sockets' share are freed, an `rtcoinfer-stream-ended` element message
   * (ssrc, address, counts) is posted and `stats` keeps its counts as `ended-<ssrc>`. A
   * device that comes back later gets a new stream. 0 keeps streams until the server
   * stops. Read when the element starts playing.
   */
  g_object_class_install_property(
      gobject_class, PROP_STREAM_TIMEOUT,
      g_param_spec_double("stream-timeout", "Stream timeout", "End a stream after this many silent seconds; 0 = never",
                          0, 86400, DEFAULT_STREAM_TIMEOUT_S, rw));
  /**
   * GstRtcoinferSrc:max-queue:
   *
   * Frames of one stream that may wait for its tail (a leaky queue in front of it; the
   * tail runs on the queue's thread, so inference never holds up the stream's RTP and
   * RTCP). When the tail cannot keep up, the oldest waiting frame is dropped and counted
   * in that stream's ledger as `busy`: memory stays bounded and the newest frames, the
   * ones that can still be on time, are answered. Read when a stream starts.
   */
  g_object_class_install_property(gobject_class, PROP_MAX_QUEUE,
                                  g_param_spec_uint("max-queue", "Max queue",
                                                    "Frames per stream waiting for inference; older ones are dropped "
                                                    "(busy)",
                                                    1, 65536, DEFAULT_MAX_QUEUE, rw));
  /**
   * GstRtcoinferSrc:max-batch:
   *
   * The tails of all streams share one model instance and one batcher: frames of
   * different streams, and of different setups, run in one forward of at most this many
   * (each with its own channels and BatchNorm statistics; results are those of one
   * forward per frame). A stream has at most one frame in a batch. 1 runs each frame on
   * its stream's own thread, unbatched. Read when the element starts.
   */
  g_object_class_install_property(
      gobject_class, PROP_MAX_BATCH,
      g_param_spec_uint("max-batch", "Max batch", "Frames of all streams in one tail forward, at most (1: no batching)",
                        1, 256, DEFAULT_MAX_BATCH, rw));
  /**
   * GstRtcoinferSrc:batch-timeout:
   *
   * Milliseconds the oldest waiting frame may wait for a fuller batch. A frame whose
   * deadline (max-latency after its capture, when set) would come sooner starts its
   * batch at once. Read when the element starts.
   */
  g_object_class_install_property(
      gobject_class, PROP_BATCH_TIMEOUT,
      g_param_spec_double("batch-timeout", "Batch timeout", "How long a frame may wait for a fuller batch, ms", 0, 1000,
                          DEFAULT_BATCH_TIMEOUT_MS, rw));
  // http-port, http-address, http-token: plugins/common/http_properties.h
  rtcoinfer::install_http_properties(gobject_class, PROP_HTTP_PORT, PROP_HTTP_ADDRESS, PROP_HTTP_TOKEN);
  /**
   * GstRtcoinferSrc:stats:
   *
   * Read-only: `streams` (guint: streams now), `streams-ended` (guint64: streams torn
   * down after stream-timeout), `foreign` (guint64: packets dropped because their SSRC
   * came first from another address), `junk` (guint64: packets dropped as no RTP of this
   * stream type, or RTCP of no stream), `oversized` (guint64: frames cut at a stream's
   * depayloader because their fragments passed the model's largest frame without an end;
   * each also counts unreadable in its stream); with max-batch > 1 the batcher's `batches`,
   * `largest-batch` (guint64), `mean-batch`, `mean-forward-ms` (per batch) and
   * `mean-batch-wait-ms` (per frame, before its batch started) (double) and `batcher-late`
   * (guint64: frames not run because a forward would have answered them past
   * max-latency; each stream counts its own as `late`); for each stream a `stream-<ssrc>` structure with
   * its tail's counters (rtcoinfer-tail's `stats`), the `address` its RTP comes from, its
   * `name`, `returned` and `returns-dropped` (results sent back to the device, and the
   * ones dropped because its RTCP stalled) and `handed-over` (gboolean: the server was
   * stopped while the device ran, and its counts end at the newest frame that arrived:
   * the device's next server counts from there), and `server-time-ms` (double: the 95th
   * percentile of its last 64 frames' arrival -> result time, queue, batch and inference,
   * 0 before any; sent to the device in RCIA for rtcoinfer-mpcrate server-latency=auto),
   * `late-packets` and `lost-packets` (guint64: its jitterbuffer's packets that came after
   * it had given up on them, and the ones it gave up on: its `latency` was too short for
   * the first), `fec-recovered` and `fec-unrecovered` (guint64: lost packets its FEC decoder
   * rebuilt from the device's ULPFEC packets, and lost ones it could not); the same as `ended-<ssrc>` for the
   * newest 64 ended streams, and `total`: the counters of all of these together.
   */
  g_object_class_install_property(
      gobject_class, PROP_STATS,
      g_param_spec_boxed("stats", "Statistics", "Every stream's tail counters", GST_TYPE_STRUCTURE,
                         GParamFlags(G_PARAM_READABLE | G_PARAM_STATIC_STRINGS)));
  gst_element_class_add_static_pad_template(element_class, &src_template);
  gst_element_class_set_static_metadata(element_class, "RTCoInfer server", "Source/Network",
                                        "Receives the feature streams of any number of rtcoinfersink devices, one "
                                        "RTP session each, and finishes their inference",
                                        "gst-rtcoinfer developers");
  element_class->change_state = GST_DEBUG_FUNCPTR(gst_rtcoinfer_src_change_state);
  element_class->send_event = GST_DEBUG_FUNCPTR(gst_rtcoinfer_src_send_event);
  element_class->set_clock = GST_DEBUG_FUNCPTR(gst_rtcoinfer_src_set_clock);
}
