#pragma once

#include <gst/gst.h>

G_BEGIN_DECLS

#define GST_TYPE_RTCOINFER_SLICE_ASSEMBLER (gst_rtcoinfer_slice_assembler_get_type())
G_DECLARE_FINAL_TYPE(GstRtcoinferSliceAssembler, gst_rtcoinfer_slice_assembler, GST, RTCOINFER_SLICE_ASSEMBLER,
                     GstElement)

GST_ELEMENT_REGISTER_DECLARE(rtcoinfer_sliceassembler);

G_END_DECLS
