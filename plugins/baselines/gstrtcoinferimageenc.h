#pragma once

#include <gst/base/gstbasetransform.h>
#include <gst/gst.h>

G_BEGIN_DECLS

#define GST_TYPE_RTCOINFER_IMAGEENC (gst_rtcoinfer_imageenc_get_type())
G_DECLARE_FINAL_TYPE(GstRtcoinferImageenc, gst_rtcoinfer_imageenc, GST, RTCOINFER_IMAGEENC, GstBaseTransform)

#define GST_TYPE_RTCOINFER_IMAGE_CODEC (gst_rtcoinfer_image_codec_get_type())
GType gst_rtcoinfer_image_codec_get_type(void);

GST_ELEMENT_REGISTER_DECLARE(rtcoinfer_imageenc);

G_END_DECLS
