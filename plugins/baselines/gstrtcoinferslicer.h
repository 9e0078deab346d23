#pragma once

#include <gst/base/gstbasetransform.h>
#include <gst/gst.h>

G_BEGIN_DECLS

#define GST_TYPE_RTCOINFER_SLICER (gst_rtcoinfer_slicer_get_type())
G_DECLARE_FINAL_TYPE(GstRtcoinferSlicer, gst_rtcoinfer_slicer, GST, RTCOINFER_SLICER, GstBaseTransform)

GST_ELEMENT_REGISTER_DECLARE(rtcoinfer_slicer);

G_END_DECLS
