#include "setup_event.h"

#include <cmath>

namespace rtcoinfer {

GstEvent *setup_event_new(const Setup &setup) {
  GstStructure *s = gst_structure_new(kSetupEventName, "channels", G_TYPE_INT, setup.channels, "bits", G_TYPE_INT,
                                      setup.bits, "setup", G_TYPE_STRING, setup.name().c_str(), nullptr);
  return gst_event_new_custom(GST_EVENT_CUSTOM_UPSTREAM, s);
}

std::optional<Setup> setup_event_parse(GstEvent *event) {
  if (!event || GST_EVENT_TYPE(event) != GST_EVENT_CUSTOM_UPSTREAM) return std::nullopt;
  const GstStructure *s = gst_event_get_structure(event);
  if (!s || !gst_structure_has_name(s, kSetupEventName)) return std::nullopt;
  Setup setup;
  if (!gst_structure_get_int(s, "channels", &setup.channels) || !gst_structure_get_int(s, "bits", &setup.bits))
    return std::nullopt;
  if (setup.channels < 1 || setup.channels > 256 || setup.bits < 1 || setup.bits > 16) return std::nullopt;
  return setup;
}

GstEvent *answered_event_new() {
  return gst_event_new_custom(GST_EVENT_CUSTOM_DOWNSTREAM, gst_structure_new_empty(kAnsweredEventName));
}

bool is_answered_event(GstEvent *event) {
  if (!event || GST_EVENT_TYPE(event) != GST_EVENT_CUSTOM_DOWNSTREAM) return false;
  const GstStructure *s = gst_event_get_structure(event);
  return s && gst_structure_has_name(s, kAnsweredEventName);
}

GstEvent *dropped_event_new(guint16 seq, const std::string &reason) {
  GstStructure *s = gst_structure_new(kDroppedEventName, "seq", G_TYPE_UINT, guint(seq), "reason", G_TYPE_STRING,
                                      reason.c_str(), nullptr);
  return gst_event_new_custom(GST_EVENT_CUSTOM_DOWNSTREAM, s);
}

GstEvent *dropped_event_new_unnumbered(const std::string &reason) {
  GstStructure *s = gst_structure_new(kDroppedEventName, "reason", G_TYPE_STRING, reason.c_str(), nullptr);
  return gst_event_new_custom(GST_EVENT_CUSTOM_DOWNSTREAM, s);
}

std::optional<DroppedFrame> dropped_event_parse(GstEvent *event) {
  if (!event || GST_EVENT_TYPE(event) != GST_EVENT_CUSTOM_DOWNSTREAM) return std::nullopt;
  const GstStructure *s = gst_event_get_structure(event);
  if (!s || !gst_structure_has_name(s, kDroppedEventName)) return std::nullopt;
  const char *reason = gst_structure_get_string(s, "reason");
  if (!reason || !*reason) return std::nullopt;
  DroppedFrame d;
  d.reason = reason;
  guint seq = 0;
  if (gst_structure_has_field(s, "seq")) {
    if (!gst_structure_get_uint(s, "seq", &seq) || seq > 0xffff) return std::nullopt;
    d.has_seq = true;
    d.seq = guint16(seq);
  }
  return d;
}

GstQuery *wire_bytes_query_new(GstBuffer *frame) {
  GstStructure *s = gst_structure_new(kWireBytesQueryName, "frame", GST_TYPE_BUFFER, frame, nullptr);
  return gst_query_new_custom(GST_QUERY_CUSTOM, s);
}

GstBuffer *wire_bytes_query_frame(GstQuery *query) {
  if (!query || GST_QUERY_TYPE(query) != GST_QUERY_CUSTOM) return nullptr;
  const GstStructure *s = gst_query_get_structure(query);
  if (!s || !gst_structure_has_name(s, kWireBytesQueryName)) return nullptr;
  const GValue *v = gst_structure_get_value(s, "frame");
  return v && GST_VALUE_HOLDS_BUFFER(v) ? gst_value_get_buffer(v) : nullptr;
}

void wire_bytes_query_answer(GstQuery *query, guint64 bytes) {
  gst_structure_set(gst_query_writable_structure(query), "bytes", G_TYPE_UINT64, bytes, nullptr);
}

std::optional<guint64> wire_bytes_query_result(GstQuery *query) {
  guint64 bytes = 0;
  const GstStructure *s = gst_query_get_structure(query);
  if (!s || !gst_structure_get_uint64(s, "bytes", &bytes)) return std::nullopt;
  return bytes;
}

GstQuery *wire_bytes_query_new_for_setup(int channels, int bits, guint64 bytes) {
  GstStructure *s = gst_structure_new(kWireBytesQueryName, "channels", G_TYPE_INT, channels, "bits", G_TYPE_INT, bits,
                                      "table-bytes", G_TYPE_UINT64, bytes, nullptr);
  return gst_query_new_custom(GST_QUERY_CUSTOM, s);
}

std::optional<WireBytesSetup> wire_bytes_query_setup(GstQuery *query) {
  if (!query || GST_QUERY_TYPE(query) != GST_QUERY_CUSTOM) return std::nullopt;
  const GstStructure *s = gst_query_get_structure(query);
  if (!s || !gst_structure_has_name(s, kWireBytesQueryName)) return std::nullopt;
  WireBytesSetup w;
  if (!gst_structure_get_int(s, "channels", &w.channels) || !gst_structure_get_int(s, "bits", &w.bits) ||
      !gst_structure_get_uint64(s, "table-bytes", &w.bytes))
    return std::nullopt;
  return w;
}

GstEvent *server_time_event_new(double ms) {
  return gst_event_new_custom(GST_EVENT_CUSTOM_UPSTREAM,
                              gst_structure_new(kServerTimeEventName, "ms", G_TYPE_DOUBLE, ms, nullptr));
}

std::optional<double> server_time_event_parse(GstEvent *event) {
  if (!event || GST_EVENT_TYPE(event) != GST_EVENT_CUSTOM_UPSTREAM) return std::nullopt;
  const GstStructure *s = gst_event_get_structure(event);
  double ms = 0;
  if (!s || !gst_structure_has_name(s, kServerTimeEventName) || !gst_structure_get_double(s, "ms", &ms))
    return std::nullopt;
  if (!std::isfinite(ms) || ms < 0) return std::nullopt;
  return ms;
}

}  // namespace rtcoinfer
