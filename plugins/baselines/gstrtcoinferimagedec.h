#pragma once

#include <gst/base/gstbasetransform.h>
#include <gst/gst.h>

G_BEGIN_DECLS

#define GST_TYPE_RTCOINFER_IMAGEDEC (gst_rtcoinfer_imagedec_get_type())
G_DECLARE_FINAL_TYPE(GstRtcoinferImagedec, gst_rtcoinfer_imagedec, GST, RTCOINFER_IMAGEDEC, GstBaseTransform)

GST_ELEMENT_REGISTER_DECLARE(rtcoinfer_imagedec);

G_END_DECLS
