#pragma once

#include "common/gstrtcoinferinference.h"

G_BEGIN_DECLS

#define GST_TYPE_RTCOINFER_TAIL (gst_rtcoinfer_tail_get_type())
G_DECLARE_FINAL_TYPE(GstRtcoinferTail, gst_rtcoinfer_tail, GST, RTCOINFER_TAIL, GstRtcoinferInference)

GST_ELEMENT_REGISTER_DECLARE(rtcoinfer_tail);

G_END_DECLS
