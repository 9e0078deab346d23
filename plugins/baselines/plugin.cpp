// The rtcoinferbaselines plugin: the evaluation's baselines as elements
// (docs/evaluation.md), kept apart from the production rtcoinfer plugin.
#include <gst/gst.h>

#include "gstrtcoinferimagedec.h"
#include "gstrtcoinferimageenc.h"
#include "gstrtcoinferschedule.h"
#include "gstrtcoinfersliceassembler.h"
#include "gstrtcoinferslicer.h"
#ifdef RTCOINFER_HAVE_TORCH
#include "gstrtcoinferclassify.h"
#include "gstrtcoinferearlyexit.h"
#endif

static gboolean plugin_init(GstPlugin *plugin) {
  gboolean ok = FALSE;
  ok |= GST_ELEMENT_REGISTER(rtcoinfer_imageenc, plugin);
  ok |= GST_ELEMENT_REGISTER(rtcoinfer_imagedec, plugin);
  ok |= GST_ELEMENT_REGISTER(rtcoinfer_schedule, plugin);
  ok |= GST_ELEMENT_REGISTER(rtcoinfer_slicer, plugin);
  ok |= GST_ELEMENT_REGISTER(rtcoinfer_sliceassembler, plugin);
#ifdef RTCOINFER_HAVE_TORCH
  ok |= GST_ELEMENT_REGISTER(rtcoinfer_classify, plugin);
  ok |= GST_ELEMENT_REGISTER(rtcoinfer_earlyexit, plugin);
#endif
  return ok;
}

GST_PLUGIN_DEFINE(GST_VERSION_MAJOR, GST_VERSION_MINOR, rtcoinferbaselines,
                  "RTCoInfer baselines for the evaluation: whole-model classification, image offload, SPINN-style "
                  "exit, CLIO-style slices",
                  plugin_init, VERSION, "LGPL", PACKAGE, "https://github.com/gst-rtcoinfer/gst-rtcoinfer")
