#pragma once

#include "common/gstrtcoinferinference.h"

G_BEGIN_DECLS

#define GST_TYPE_RTCOINFER_TAIL (gst_rtcoinfer_tail_get_type())
G_DECLARE_FINAL_TYPE(GstRtcoinferTail, gst_rtcoinfer_tail, GST, RTCOINFER_TAIL, GstRtcoinferInference)

GST_ELEMENT_REGISTER_DECLARE(rtcoinfer_tail);

G_END_DECLS

namespace rtcoinfer {
class ResultsService;
class TailBatcher;
}  // namespace rtcoinfer

// Before the tail starts: it publishes its results into `service`, shared with the other
// streams of a server bin, under its stream-id, instead of starting a service of its own
// (http-port is then not used). Null takes that back.
void gst_rtcoinfer_tail_share_service(GstRtcoinferTail *tail, std::shared_ptr<rtcoinfer::ResultsService> service);

// Before the tail starts: its frames go to `batcher` (a server bin's, shared by all its
// streams and running the same bundle), batched with the other streams' frames, instead
// of one forward each. Null takes that back.
void gst_rtcoinfer_tail_share_batcher(GstRtcoinferTail *tail, std::shared_ptr<rtcoinfer::TailBatcher> batcher);
