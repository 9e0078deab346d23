#pragma once

#include <gst/base/gstbasetransform.h>
#include <gst/gst.h>

G_BEGIN_DECLS

#define GST_TYPE_RTCOINFER_MPC_RATE (gst_rtcoinfer_mpc_rate_get_type())
G_DECLARE_FINAL_TYPE(GstRtcoinferMpcRate, gst_rtcoinfer_mpc_rate, GST, RTCOINFER_MPC_RATE, GstBaseTransform)

#define GST_TYPE_RTCOINFER_POLICY (gst_rtcoinfer_policy_get_type())
GType gst_rtcoinfer_policy_get_type(void);

GST_ELEMENT_REGISTER_DECLARE(rtcoinfer_mpcrate);

// The frames skipped so far (`stats` skips), without building the structure: the device
// bin reads it for every frame.
guint64 gst_rtcoinfer_mpc_rate_skips(GstRtcoinferMpcRate *self);

G_END_DECLS
