// The rtcoinfer plugin: the production elements of the device and the server.
// Baselines are in rtcoinferbaselines (baselines/), test elements in rtcoinfertest
// (testing/).
#include <gst/gst.h>

#include "device/gstrtcoinfercompress.h"
#include "device/gstrtcoinfermpcrate.h"
#ifdef RTCOINFER_HAVE_TORCH
#include "device/gstrtcoinferhead.h"
#include "device/gstrtcoinfersink.h"
#include "server/gstrtcoinfersrc.h"
#include "server/gstrtcoinfertail.h"
#endif

static gboolean plugin_init(GstPlugin *plugin) {
  gboolean ok = FALSE;
  ok |= GST_ELEMENT_REGISTER(rtcoinfer_compress, plugin);
  ok |= GST_ELEMENT_REGISTER(rtcoinfer_mpcrate, plugin);
#ifdef RTCOINFER_HAVE_TORCH
  ok |= GST_ELEMENT_REGISTER(rtcoinfer_head, plugin);
  ok |= GST_ELEMENT_REGISTER(rtcoinfer_tail, plugin);
  ok |= GST_ELEMENT_REGISTER(rtcoinfersink, plugin);
  ok |= GST_ELEMENT_REGISTER(rtcoinfersrc, plugin);
#endif
  return ok;
}

GST_PLUGIN_DEFINE(GST_VERSION_MAJOR, GST_VERSION_MINOR, rtcoinfer,
                  "Real-time edge-cloud collaborative CNN inference (RTCoInfer)", plugin_init, VERSION, "LGPL", PACKAGE,
                  "https://github.com/gst-rtcoinfer/gst-rtcoinfer")
