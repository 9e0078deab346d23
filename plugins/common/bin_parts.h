// What the two bins (rtcoinfersink, rtcoinfersrc) build themselves from: children made
// by factory name, pads linked, the UDP socket they share between a udpsrc and the
// sinks that answer from it, the RTCP APP packets they add to their sessions' RTCP
// and read from the other side's, and the header of a feature frame passing a pad.
#pragma once

#include <gio/gio.h>
#include <gst/gst.h>
#include <gst/rtp/gstrtcpbuffer.h>

#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "wire/feature_frame.h"

namespace rtcoinfer {

// The RTP payload types of a device's stream: rtpgstpay's feature frames, and the ULPFEC
// packets (RFC 5109, rtpulpfecenc) that protect them on a lossy link, in the same SSRC and
// sequence-number space. The device bin sends both; the server bin accepts only these.
constexpr guint kFramePayloadType = 96;
constexpr guint kFecPayloadType = 122;

// The header of the feature frame in `buf` (a probe's buffer), or nullopt when it holds
// no valid frame.
inline std::optional<FrameHeader> frame_header_of(GstBuffer *buf) {
  GstMapInfo map;
  if (!gst_buffer_map(buf, &map, GST_MAP_READ)) return std::nullopt;
  FrameHeader hdr;
  const bool ok = FrameDecoder::parse_header(map.data, map.size, hdr).ok();
  gst_buffer_unmap(buf, &map);
  return ok ? std::optional<FrameHeader>(hdr) : std::nullopt;
}

// A child made from `factory` and added to `bin`, or null (logged) when the factory is
// not installed; the bin's change_state then refuses to start with the remedy.
inline GstElement *add_child(GstBin *bin, const char *factory, const char *name) {
  GstElement *e = gst_element_factory_make(factory, name);
  if (!e) {
    GST_ERROR_OBJECT(bin, "no %s element: is the plugin that has it installed?", factory);
    return nullptr;
  }
  gst_bin_add(bin, e);
  return e;
}

// Links two pads and drops both references (either may be null: then false).
inline bool link_pads(GstPad *src, GstPad *sink) {
  const bool ok = src && sink && gst_pad_link(src, sink) == GST_PAD_LINK_OK;
  if (src) gst_object_unref(src);
  if (sink) gst_object_unref(sink);
  return ok;
}

// A UDP socket bound to `address`:`port` (port 0: any free one), or null with `error` set.
// Bound without SO_REUSEADDR: a port another process holds is an error here, not two
// sockets splitting the datagrams (two devices on one RTCP port each lost the feedback
// the other got).
inline GSocket *bind_udp_socket(GInetAddress *address, int port, GError **error) {
  GSocket *socket =
      g_socket_new(g_inet_address_get_family(address), G_SOCKET_TYPE_DATAGRAM, G_SOCKET_PROTOCOL_UDP, error);
  if (!socket) return nullptr;
  GSocketAddress *local = g_inet_socket_address_new(address, guint16(port));
  const bool bound = g_socket_bind(socket, local, FALSE, error);
  g_object_unref(local);
  if (!bound) {
    g_object_unref(socket);
    return nullptr;
  }
  return socket;
}

// Closes and drops `socket` (null: nothing), once the caller has taken it out of its slot.
inline void close_socket(GSocket *socket) {
  if (!socket) return;
  g_socket_close(socket, nullptr);
  g_object_unref(socket);
}

// Appends an APP packet (`data`: whole 32-bit words) to the RTCP compound rtpsession
// is building (its on-sending-rtcp signal); false, and the compound as it was, when
// there is no room in it.
inline bool add_rtcp_app(GstBuffer *compound, guint8 subtype, guint32 ssrc, const char *name,
                         const std::vector<guint8> &data) {
  GstRTCPBuffer rtcp = GST_RTCP_BUFFER_INIT;
  if (!gst_rtcp_buffer_map(compound, GST_MAP_READWRITE, &rtcp)) return false;
  GstRTCPPacket packet;
  bool added = false;
  if (gst_rtcp_buffer_add_packet(&rtcp, GST_RTCP_TYPE_APP, &packet)) {
    gst_rtcp_packet_app_set_subtype(&packet, subtype);
    gst_rtcp_packet_app_set_ssrc(&packet, ssrc);
    gst_rtcp_packet_app_set_name(&packet, name);
    added = gst_rtcp_packet_app_set_data_length(&packet, guint16(data.size() / 4));
    if (added)
      memcpy(gst_rtcp_packet_app_get_data(&packet), data.data(), data.size());
    else
      gst_rtcp_packet_remove(&packet);
  }
  gst_rtcp_buffer_unmap(&rtcp);
  return added;
}

// Whether an RTCP compound holds a BYE.
inline bool rtcp_has_bye(GstBuffer *compound) {
  GstRTCPBuffer rtcp = GST_RTCP_BUFFER_INIT;
  if (!gst_rtcp_buffer_map(compound, GST_MAP_READ, &rtcp)) return false;
  GstRTCPPacket packet;
  bool bye = false;
  for (gboolean more = gst_rtcp_buffer_get_first_packet(&rtcp, &packet); more && !bye;
       more = gst_rtcp_packet_move_to_next(&packet))
    bye = gst_rtcp_packet_get_type(&packet) == GST_RTCP_TYPE_BYE;
  gst_rtcp_buffer_unmap(&rtcp);
  return bye;
}

// The data of an APP packet that rtpsession hands to its on-app-rtcp signal, when the
// packet is named `want`; nullopt for any other.
inline std::optional<std::vector<guint8>> rtcp_app_data(const gchar *name, const char *want, GstBuffer *data) {
  if (!name || std::strcmp(name, want) != 0 || !data) return std::nullopt;
  GstMapInfo map;
  if (!gst_buffer_map(data, &map, GST_MAP_READ)) return std::nullopt;
  std::vector<guint8> bytes(map.data, map.data + map.size);
  gst_buffer_unmap(data, &map);
  return bytes;
}

}  // namespace rtcoinfer
