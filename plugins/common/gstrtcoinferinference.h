// GstRtcoinferInference: the base class of every element that runs a model bundle
// (rtcoinfer-head, rtcoinfer-tail, and the baselines' rtcoinfer-classify and
// rtcoinfer-earlyexit), as DL Streamer's GvaBaseInference is for its elements. It owns:
//  - the `model` and `threads` properties, and the model instance: loaded in start(),
//    shared with every other element of the process that names the same bundle
//    (model_instance.h), released in stop();
//  - the element's ResultLedger (gst/service/result_ledger.h): results, drops by reason
//    (with a warning on the first drop of each reason and then every 100th, so a broken
//    sender cannot flood the bus), missing frames; the `stats` property, /api/stats and
//    /metrics all read it;
//  - the way a video frame becomes the model's input (gst/data's one preprocessing path),
//    and the capture time of a frame from a live source.
//
// Locking: the properties, the drop counters and the model pointer are guarded by the
// object lock. Subclasses call the helpers below from their streaming thread, without
// holding the object lock.
#pragma once

#include <gst/base/gstbasetransform.h>
#include <gst/gst.h>
#include <gst/video/video.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "inference.h"
#include "service/result_ledger.h"

G_BEGIN_DECLS

#define GST_TYPE_RTCOINFER_INFERENCE (gst_rtcoinfer_inference_get_type())
G_DECLARE_DERIVABLE_TYPE(GstRtcoinferInference, gst_rtcoinfer_inference, GST, RTCOINFER_INFERENCE, GstBaseTransform)

struct _GstRtcoinferInferenceClass {
  GstBaseTransformClass parent_class;
  // FALSE for an element that changes its model (the SPINN-style exit attaches an exit):
  // it gets a private instance instead of the shared one. TRUE by default.
  gboolean shares_model;
  // Called at the end of start() with the loaded model; FALSE fails the start (the
  // subclass has posted the error). Optional.
  gboolean (*model_ready)(GstRtcoinferInference *self, rtcoinfer::InferenceModel &model);
};

G_END_DECLS

// Video formats every inference element takes: videoconvert supplies them from any other.
#define RTCOINFER_INFERENCE_VIDEO_FORMATS "{ GRAY8, RGB, BGR, RGBA, BGRA, RGBx, BGRx }"

// The model between start() and stop(), or null. A copy of the pointer: it stays valid
// for the caller even if the element stops meanwhile.
std::shared_ptr<rtcoinfer::InferenceModel> gst_rtcoinfer_inference_get_model(GstRtcoinferInference *self);

// The bundle file the model was loaded from (a fetched URL's cache file), for serving it.
std::string gst_rtcoinfer_inference_get_bundle_file(GstRtcoinferInference *self);
// The element's ledger; reset when the element starts.
std::shared_ptr<rtcoinfer::ResultLedger> gst_rtcoinfer_inference_get_ledger(GstRtcoinferInference *self);
// Counts a drop of `reason` in the ledger and warns (first, then every 100th); returns the count.
guint64 gst_rtcoinfer_inference_count_drop(GstRtcoinferInference *self, const char *reason, const std::string &detail);
// A "drops" structure: every reason the ledger knows, with its count.
GstStructure *gst_rtcoinfer_inference_drops_structure(const rtcoinfer::ResultLedger::Snapshot &snapshot);
// The ledger as the `stats` structure of an answering element, named `name`: frames,
// results, dropped, drops, missing, restarts, bytes, with-truth, correct, accuracy,
// latency-p50-ms, latency-p99-ms, and from the sender's report skipped, lost and
// device-frames (ResultLedger::Snapshot).
GstStructure *gst_rtcoinfer_inference_ledger_structure(GstRtcoinferInference *self, const char *name);
// The same structure from a snapshot (several streams' ledgers merged, for instance).
GstStructure *gst_rtcoinfer_snapshot_structure(const rtcoinfer::ResultLedger::Snapshot &snapshot, const char *name);

// The model's input from a mapped video frame of `info` (GRAY8 or packed RGB/BGR with or
// without alpha): converted to the model's channels, resized and normalized into `out`.
// FALSE (nothing written) when the buffer cannot be mapped.
bool gst_rtcoinfer_inference_video_input(GstRtcoinferInference *self, const GstVideoInfo *info, GstBuffer *buf,
                                         std::vector<float> &out);

// The wall-clock time (realtime_us) at which `buf` was captured: now, minus how long ago a
// live source captured it on the pipeline clock (time spent in queues is latency too).
std::uint64_t gst_rtcoinfer_inference_capture_us(GstRtcoinferInference *self, GstBuffer *buf);
// When a live source captured `buf`, on the pipeline clock; NONE for other sources.
GstClockTime gst_rtcoinfer_inference_capture_clock_time(GstRtcoinferInference *self, GstBuffer *buf);
