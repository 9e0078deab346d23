#pragma once

#include <gst/gst.h>

G_BEGIN_DECLS

#define GST_TYPE_RTCOINFER_BOTTLENECK (gst_rtcoinfer_bottleneck_get_type())
G_DECLARE_FINAL_TYPE(GstRtcoinferBottleneck, gst_rtcoinfer_bottleneck, GST, RTCOINFER_BOTTLENECK, GstElement)

GST_ELEMENT_REGISTER_DECLARE(rtcoinfer_bottleneck);

G_END_DECLS
