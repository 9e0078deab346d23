#pragma once

#include <gst/base/gstbasetransform.h>
#include <gst/gst.h>

G_BEGIN_DECLS

#define GST_TYPE_RTCOINFER_SCHEDULE (gst_rtcoinfer_schedule_get_type())
G_DECLARE_FINAL_TYPE(GstRtcoinferSchedule, gst_rtcoinfer_schedule, GST, RTCOINFER_SCHEDULE, GstBaseTransform)

GST_ELEMENT_REGISTER_DECLARE(rtcoinfer_schedule);

G_END_DECLS
