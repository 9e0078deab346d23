#pragma once

#include <gst/gst.h>

G_BEGIN_DECLS

#define GST_TYPE_RTCOINFER_SRC (gst_rtcoinfer_src_get_type())
G_DECLARE_FINAL_TYPE(GstRtcoinferSrc, gst_rtcoinfer_src, GST, RTCOINFER_SRC, GstBin)

GST_ELEMENT_REGISTER_DECLARE(rtcoinfersrc);

G_END_DECLS
