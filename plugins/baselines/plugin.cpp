// The rtcoinferbaselines plugin: the evaluation's baselines as elements
// (docs/evaluation.md), kept apart from the production rtcoinfer plugin.
#include <gst/gst.h>

#include "gstrtcoinferimageenc.h"
#include "gstrtcoinferslicer.h"

static gboolean plugin_init(GstPlugin *plugin) {
  gboolean ok = FALSE;
  ok |= GST_ELEMENT_REGISTER(rtcoinfer_imageenc, plugin);
  ok |= GST_ELEMENT_REGISTER(rtcoinfer_slicer, plugin);
  return ok;
}

GST_PLUGIN_DEFINE(GST_VERSION_MAJOR, GST_VERSION_MINOR, rtcoinferbaselines,
                  "RTCoInfer baselines: image offload, CLIO-style slicing (for the evaluation)", plugin_init, VERSION,
                  "LGPL", PACKAGE, "https://github.com/gst-rtcoinfer/gst-rtcoinfer")
