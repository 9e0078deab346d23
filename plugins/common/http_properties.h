// The results service's three properties, the same on rtcoinfer-tail and rtcoinfersrc
// (docs/results-service.md), read when the element starts:
// - http-port: TCP port of the results service (JSON API, event stream, Prometheus
//   metrics, model download, dashboard at /), 1..65535; 0 serves nothing;
// - http-address: the local IP address it binds: loopback by default; 0.0.0.0 or :: for
//   every interface;
// - http-token: when set, every HTTP request must carry `Authorization: Bearer <token>`
//   (or `?token=<token>`, for the dashboard); others get 401. Plain HTTP: put a TLS proxy
//   in front off the host.
#pragma once

#include <glib-object.h>

#define RTCOINFER_DEFAULT_HTTP_PORT 0
#define RTCOINFER_DEFAULT_HTTP_ADDRESS "127.0.0.1"

namespace rtcoinfer {

inline void install_http_properties(GObjectClass *klass, guint port_id, guint address_id, guint token_id) {
  const auto rw = GParamFlags(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS);
  g_object_class_install_property(
      klass, port_id,
      g_param_spec_int("http-port", "HTTP port", "Results service port, 1..65535; 0 = no HTTP service", 0, 65535,
                       RTCOINFER_DEFAULT_HTTP_PORT, rw));
  g_object_class_install_property(
      klass, address_id,
      g_param_spec_string("http-address", "HTTP address", "Local IP address the results service binds",
                          RTCOINFER_DEFAULT_HTTP_ADDRESS, rw));
  g_object_class_install_property(
      klass, token_id,
      g_param_spec_string("http-token", "HTTP bearer token", "Bearer token every HTTP request must carry; unset = none",
                          nullptr, rw));
}

}  // namespace rtcoinfer
