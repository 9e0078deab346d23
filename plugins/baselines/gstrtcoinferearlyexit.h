#pragma once

#include "common/gstrtcoinferinference.h"

G_BEGIN_DECLS

#define GST_TYPE_RTCOINFER_EARLY_EXIT (gst_rtcoinfer_early_exit_get_type())
G_DECLARE_FINAL_TYPE(GstRtcoinferEarlyExit, gst_rtcoinfer_early_exit, GST, RTCOINFER_EARLY_EXIT, GstRtcoinferInference)

GST_ELEMENT_REGISTER_DECLARE(rtcoinfer_earlyexit);

G_END_DECLS
