#pragma once

#include "common/gstrtcoinferinference.h"

G_BEGIN_DECLS

#define GST_TYPE_RTCOINFER_CLASSIFY (gst_rtcoinfer_classify_get_type())
G_DECLARE_FINAL_TYPE(GstRtcoinferClassify, gst_rtcoinfer_classify, GST, RTCOINFER_CLASSIFY, GstRtcoinferInference)

GST_ELEMENT_REGISTER_DECLARE(rtcoinfer_classify);

G_END_DECLS
