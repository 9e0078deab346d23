// The rtcoinfer plugin: registers every RTCoInfer element.
#include <gst/gst.h>

#include "gstrtcoinferbottleneck.h"
#include "gstrtcoinfercompress.h"
#include "gstrtcoinferdatasetsrc.h"
#include "gstrtcoinferimageenc.h"
#ifdef RTCOINFER_HAVE_TORCH
#include "gstrtcoinferhead.h"
#include "gstrtcoinfermpcrate.h"
#include "gstrtcoinferslicer.h"
#include "gstrtcoinfertail.h"
#endif

#ifndef PACKAGE
#define PACKAGE "gst-rtcoinfer"
#endif

static gboolean plugin_init(GstPlugin *plugin) {
  gboolean ok = FALSE;
  ok |= GST_ELEMENT_REGISTER(rtcoinfer_compress, plugin);
  ok |= GST_ELEMENT_REGISTER(rtcoinfer_bottleneck, plugin);
  ok |= GST_ELEMENT_REGISTER(rtcoinfer_datasetsrc, plugin);
  ok |= GST_ELEMENT_REGISTER(rtcoinfer_imageenc, plugin);
#ifdef RTCOINFER_HAVE_TORCH
  ok |= GST_ELEMENT_REGISTER(rtcoinfer_head, plugin);
  ok |= GST_ELEMENT_REGISTER(rtcoinfer_mpcrate, plugin);
  ok |= GST_ELEMENT_REGISTER(rtcoinfer_slicer, plugin);
  ok |= GST_ELEMENT_REGISTER(rtcoinfer_tail, plugin);
#endif
  return ok;
}

GST_PLUGIN_DEFINE(GST_VERSION_MAJOR, GST_VERSION_MINOR, rtcoinfer,
                  "Real-time edge-cloud collaborative CNN inference (RTCoInfer)", plugin_init,
                  "0.1.0", "LGPL", "gst-rtcoinfer", "https://github.com/gst-rtcoinfer/gst-rtcoinfer")
