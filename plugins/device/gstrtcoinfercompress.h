#pragma once

#include <gst/base/gstbasetransform.h>
#include <gst/gst.h>

G_BEGIN_DECLS

#define GST_TYPE_RTCOINFER_COMPRESS (gst_rtcoinfer_compress_get_type())
G_DECLARE_FINAL_TYPE(GstRtcoinferCompress, gst_rtcoinfer_compress, GST, RTCOINFER_COMPRESS, GstBaseTransform)

#define GST_TYPE_RTCOINFER_ENTROPY (gst_rtcoinfer_entropy_get_type())
GType gst_rtcoinfer_entropy_get_type(void);

GST_ELEMENT_REGISTER_DECLARE(rtcoinfer_compress);

G_END_DECLS
