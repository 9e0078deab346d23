#pragma once

#include <gst/base/gstpushsrc.h>
#include <gst/gst.h>

G_BEGIN_DECLS

#define GST_TYPE_RTCOINFER_DATASET_SRC (gst_rtcoinfer_dataset_src_get_type())
G_DECLARE_FINAL_TYPE(GstRtcoinferDatasetSrc, gst_rtcoinfer_dataset_src, GST, RTCOINFER_DATASET_SRC, GstPushSrc)

#define GST_TYPE_RTCOINFER_DATASET_KIND (gst_rtcoinfer_dataset_kind_get_type())
GType gst_rtcoinfer_dataset_kind_get_type(void);

GST_ELEMENT_REGISTER_DECLARE(rtcoinfer_datasetsrc);

G_END_DECLS
