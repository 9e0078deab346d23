#pragma once

#include <gst/base/gstbasetransform.h>
#include <gst/gst.h>

G_BEGIN_DECLS

#define GST_TYPE_RTCOINFER_HEAD (gst_rtcoinfer_head_get_type())
G_DECLARE_FINAL_TYPE(GstRtcoinferHead, gst_rtcoinfer_head, GST, RTCOINFER_HEAD, GstBaseTransform)

#define GST_TYPE_RTCOINFER_HEAD_MODE (gst_rtcoinfer_head_mode_get_type())
GType gst_rtcoinfer_head_mode_get_type(void);

GST_ELEMENT_REGISTER_DECLARE(rtcoinfer_head);

G_END_DECLS
