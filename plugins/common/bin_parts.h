// What the two bins (rtcoinfersink, rtcoinfersrc) build themselves from: children made
// by factory name, pads linked, and the UDP socket they share between a udpsrc and the
// sinks that answer from it.
#pragma once

#include <gio/gio.h>
#include <gst/gst.h>

namespace rtcoinfer {

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

}  // namespace rtcoinfer
