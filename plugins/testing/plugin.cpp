// The rtcoinfertest plugin: elements for tests and experiments, as gst-plugins-bad keeps
// debugutils apart: a labeled dataset source and an emulated bottleneck link.
#include <gst/gst.h>

#include "gstrtcoinferbottleneck.h"
#include "gstrtcoinferdatasetsrc.h"

static gboolean plugin_init(GstPlugin *plugin) {
  gboolean ok = FALSE;
  ok |= GST_ELEMENT_REGISTER(rtcoinfer_datasetsrc, plugin);
  ok |= GST_ELEMENT_REGISTER(rtcoinfer_bottleneck, plugin);
  return ok;
}

GST_PLUGIN_DEFINE(GST_VERSION_MAJOR, GST_VERSION_MINOR, rtcoinfertest,
                  "RTCoInfer test elements: labeled dataset source, emulated bottleneck", plugin_init, VERSION, "LGPL",
                  PACKAGE, "https://github.com/gst-rtcoinfer/gst-rtcoinfer")
