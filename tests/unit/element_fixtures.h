// What the element tests share: the shipped bundle, Fashion-MNIST frames as buffers,
// results pulled from a harness, the drop counters of an element's stats.
// nlohmann/json first: Check's `fail` macro would break it.
#pragma once

#include <nlohmann/json.hpp>

#include <gst/check/gstcheck.h>
#include <gio/gio.h>
#include <gst/check/gstharness.h>

#include <string>
#include <vector>

#include "contract/rtcoinfer_meta.h"
#include "data/labeled_images.h"
#include "wire/feature_frame.h"

namespace fixtures {

inline std::string model_path() {
  const char *p = g_getenv("RTCOINFER_TEST_MODEL");
  fail_unless(p != nullptr, "RTCOINFER_TEST_MODEL is not set");
  return p;
}

inline GstBuffer *gray_image_buffer(const rtcoinfer::Image &img, int label) {
  GstBuffer *buf = gst_buffer_new_allocate(nullptr, img.pixels.size(), nullptr);
  gst_buffer_fill(buf, 0, img.pixels.data(), img.pixels.size());
  gst_buffer_add_rtcoinfer_truth_meta(buf)->label = label;
  GST_BUFFER_PTS(buf) = 0;
  return buf;
}

inline nlohmann::json pull_result(GstHarness *h) {
  GstBuffer *out = gst_harness_pull(h);
  fail_unless(out != nullptr);
  GstMapInfo map;
  gst_buffer_map(out, &map, GST_MAP_READ);
  std::string line(reinterpret_cast<const char *>(map.data), map.size);
  gst_buffer_unmap(out, &map);
  fail_unless(gst_buffer_get_rtcoinfer_result_meta(out) != nullptr, "no result meta");
  gst_buffer_unref(out);
  fail_unless(!line.empty() && line.back() == '\n');
  return nlohmann::json::parse(line);
}

inline guint64 drops_of(GstElement *element, const char *reason) {
  GstStructure *s = nullptr;
  g_object_get(element, "stats", &s, nullptr);
  const GstStructure *d = gst_value_get_structure(gst_structure_get_value(s, "drops"));
  guint64 n = 0;
  gst_structure_get_uint64(d, reason, &n);
  gst_structure_free(s);
  return n;
}

inline guint64 stat_of(GstElement *element, const char *field) {
  GstStructure *s = nullptr;
  g_object_get(element, "stats", &s, nullptr);
  guint64 n = 0;
  gst_structure_get_uint64(s, field, &n);
  gst_structure_free(s);
  return n;
}

// The bundle's 32-bit frame model id, read off a head's output caps.
inline std::uint32_t bundle_frame_model_id() {
  gchar *hdesc = g_strdup_printf("rtcoinfer-head model=%s", model_path().c_str());
  GstHarness *head = gst_harness_new_parse(hdesc);
  g_free(hdesc);
  gst_harness_set_src_caps_str(head, "video/x-raw,format=GRAY8,width=28,height=28,framerate=30/1");
  GstBuffer *img = gst_harness_create_buffer(head, 28 * 28);
  gst_buffer_memset(img, 0, 0, 28 * 28);
  gst_harness_push(head, img);
  gst_buffer_unref(gst_harness_pull(head));
  GstCaps *caps = gst_pad_get_current_caps(head->sinkpad);
  const std::uint32_t id = rtcoinfer::features_format_from_caps(caps)->model_id;
  gst_caps_unref(caps);
  gst_harness_teardown(head);
  return id;
}

// A whole feature frame of the model's partition shape (values 1.0) at setup c x 8.
inline GstBuffer *frame_buffer(std::uint32_t model_id, int c, int hgt, int w, std::uint16_t seq = 0) {
  std::vector<float> t(std::size_t(c) * hgt * w, 1.0f);
  rtcoinfer::FrameEncoder enc;
  rtcoinfer::EncodeParams p;
  p.setup = rtcoinfer::Setup{0, c, 8};
  p.model_id = model_id;
  p.seq = seq;
  p.capture_us = std::uint32_t(rtcoinfer::realtime_us());
  std::vector<std::uint8_t> bytes;
  fail_unless(enc.encode(t.data(), c, hgt, w, p, bytes).ok());
  return gst_buffer_new_memdup(bytes.data(), bytes.size());
}

// Takes `e` (a floating or owned reference) to `to`, which must fail, and returns the
// error it posted, message and debug text together; leaves it in NULL and unrefs it.
inline std::string start_error(GstElement *e, GstState to) {
  GstBus *bus = gst_bus_new();
  gst_element_set_bus(e, bus);
  fail_unless_equals_int(gst_element_set_state(e, to), GST_STATE_CHANGE_FAILURE);
  GstMessage *msg = gst_bus_pop_filtered(bus, GST_MESSAGE_ERROR);
  fail_unless(msg != nullptr, "no error message");
  GError *err = nullptr;
  gchar *dbg = nullptr;
  gst_message_parse_error(msg, &err, &dbg);
  const std::string text = std::string(err->message) + " " + (dbg ? dbg : "");
  g_error_free(err);
  g_free(dbg);
  gst_message_unref(msg);
  gst_element_set_state(e, GST_STATE_NULL);
  gst_object_unref(bus);
  gst_object_unref(e);
  return text;
}

// A free TCP port on loopback (bound and released).
inline int free_tcp_port() {
  GSocketListener *l = g_socket_listener_new();
  const guint16 port = g_socket_listener_add_any_inet_port(l, nullptr, nullptr);
  g_socket_listener_close(l);
  g_object_unref(l);
  return port;
}

inline std::string http_body(int port, const char *path) {
  GSocketClient *client = g_socket_client_new();
  GSocketConnection *conn = g_socket_client_connect_to_host(client, "127.0.0.1", guint16(port), nullptr, nullptr);
  fail_unless(conn != nullptr, "cannot connect to the results service");
  const std::string req = std::string("GET ") + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
  g_output_stream_write_all(g_io_stream_get_output_stream(G_IO_STREAM(conn)), req.data(), req.size(), nullptr, nullptr,
                            nullptr);
  std::string raw;
  char buf[8192];
  gssize n;
  while ((n = g_input_stream_read(g_io_stream_get_input_stream(G_IO_STREAM(conn)), buf, sizeof buf, nullptr, nullptr)) >
         0)
    raw.append(buf, std::size_t(n));
  g_object_unref(conn);
  g_object_unref(client);
  const std::size_t end = raw.find("\r\n\r\n");
  fail_unless(end != std::string::npos);
  std::string body = raw.substr(end + 4);
  if (raw.substr(0, end).find("chunked") != std::string::npos) {  // de-chunk
    std::string out;
    std::size_t at = 0;
    while (at < body.size()) {
      const std::size_t eol = body.find("\r\n", at);
      const std::size_t len = std::strtoul(body.c_str() + at, nullptr, 16);
      if (eol == std::string::npos || len == 0) break;
      out += body.substr(eol + 2, len);
      at = eol + 2 + len + 2;
    }
    body = out;
  }
  return body;
}

// The tail's stats property, /api/stats and /metrics read one ledger: the same drop
// reasons with the same counts, and the same results and missing frames.

}  // namespace fixtures
