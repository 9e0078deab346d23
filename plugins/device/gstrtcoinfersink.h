#pragma once

#include <gst/gst.h>

G_BEGIN_DECLS

#define GST_TYPE_RTCOINFER_SINK (gst_rtcoinfer_sink_get_type())
G_DECLARE_FINAL_TYPE(GstRtcoinferSink, gst_rtcoinfer_sink, GST, RTCOINFER_SINK, GstBin)

GST_ELEMENT_REGISTER_DECLARE(rtcoinfersink);

G_END_DECLS
