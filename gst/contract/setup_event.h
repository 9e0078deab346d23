// The custom events of the RTCoInfer contract.
//
// rtcoinfer-setup (upstream): asks every element that computes or codes features
// (rtcoinfer-compress, rtcoinfer-head) to use a setup from its next buffer on.
// rtcoinfer-mpcrate sends it; applications may send it too.
// Structure: rtcoinfer-setup, channels=(int)k, bits=(int)b, setup=(string)"kxb".
//
// rtcoinfer-answered (downstream, serialized): a captured frame was answered before it
// reached the element that numbers frames (rtcoinfer-head): it takes the next frame
// number, so the receiver sees the gap, and is counted as answered upstream.
// Structure: rtcoinfer-answered.
//
// rtcoinfer-dropped (downstream, serialized): an element between the link and the
// answering element (rtcoinfer-tail, rtcoinfer-classify) dropped frame `seq` (the 16-bit
// wire number; absent when the frame was too broken to tell) for `reason`; the answering
// element counts it as that drop instead of as missing.
// Structure: rtcoinfer-dropped, reason=(string)r[, seq=(uint)s].
//
// rtcoinfer-wire-bytes (a custom query, downstream): "what will this frame cost on the
// wire?" rtcoinfer-mpcrate asks it of each frame before deciding; an element that changes
// what is sent (the baselines' rtcoinfer-slicer) answers with its bytes, so the
// controller budgets what really leaves. Unanswered, the frame's own size counts.
// Structure: rtcoinfer-wire-bytes, frame=(GstBuffer), bytes=(guint64, the answer).
//
// rtcoinfer-server-time (upstream, out of band): the server's time for this stream's
// recent frames, arrival -> result (queue, batch, inference), as the server reported it
// (rtcoinfersink: APP "RCIA"). rtcoinfer-mpcrate server-latency=auto plans with it.
// Structure: rtcoinfer-server-time, ms=(double, >= 0).
#pragma once

#include <gst/gst.h>

#include <optional>
#include <string>

#include "wire/setup_table.h"

namespace rtcoinfer {

constexpr const char *kSetupEventName = "rtcoinfer-setup";

GstEvent *setup_event_new(const Setup &setup);
// nullopt when the event is not an rtcoinfer-setup event or its fields are invalid.
std::optional<Setup> setup_event_parse(GstEvent *event);

constexpr const char *kAnsweredEventName = "rtcoinfer-answered";
GstEvent *answered_event_new();
bool is_answered_event(GstEvent *event);

constexpr const char *kDroppedEventName = "rtcoinfer-dropped";
struct DroppedFrame {
  bool has_seq = false;
  guint16 seq = 0;
  std::string reason;
};
GstEvent *dropped_event_new(guint16 seq, const std::string &reason);
GstEvent *dropped_event_new_unnumbered(const std::string &reason);
// nullopt when the event is not an rtcoinfer-dropped event or lacks its fields.
std::optional<DroppedFrame> dropped_event_parse(GstEvent *event);

constexpr const char *kWireBytesQueryName = "rtcoinfer-wire-bytes";
GstQuery *wire_bytes_query_new(GstBuffer *frame);
// The frame asked about (borrowed), or null when `query` is not an rtcoinfer-wire-bytes query.
GstBuffer *wire_bytes_query_frame(GstQuery *query);
void wire_bytes_query_answer(GstQuery *query, guint64 bytes);
// The answer, or nullopt when nobody answered.
std::optional<guint64> wire_bytes_query_result(GstQuery *query);
// The same question before any frame exists: what will a frame coded at CxB that is
// `bytes` long cost? rtcoinfer-mpcrate asks it for every setup of its table when it
// starts, so the setups it has not sent yet are priced as downstream will send them.
// Answered with wire_bytes_query_answer.
GstQuery *wire_bytes_query_new_for_setup(int channels, int bits, guint64 bytes);
struct WireBytesSetup {
  int channels = 0, bits = 0;
  guint64 bytes = 0;
};
// The setup asked about, or nullopt when `query` is not a per-setup rtcoinfer-wire-bytes query.
std::optional<WireBytesSetup> wire_bytes_query_setup(GstQuery *query);

constexpr const char *kServerTimeEventName = "rtcoinfer-server-time";
GstEvent *server_time_event_new(double ms);
// nullopt when the event is not an rtcoinfer-server-time event or its time is not a
// finite number >= 0.
std::optional<double> server_time_event_parse(GstEvent *event);

}  // namespace rtcoinfer
