#pragma once

#include "common/gstrtcoinferinference.h"

G_BEGIN_DECLS

#define GST_TYPE_RTCOINFER_HEAD (gst_rtcoinfer_head_get_type())
G_DECLARE_FINAL_TYPE(GstRtcoinferHead, gst_rtcoinfer_head, GST, RTCOINFER_HEAD, GstRtcoinferInference)

GST_ELEMENT_REGISTER_DECLARE(rtcoinfer_head);

G_END_DECLS
