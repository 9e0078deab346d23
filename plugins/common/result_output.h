// One classification result, emitted the same way by every element that answers a frame
// (rtcoinfer-tail for feature and image frames, rtcoinfer-head in local mode): one JSON
// object per line on the src pad, a GstRtcoinferResultMeta on that buffer, and an
// element message `rtcoinfer-result` on the bus.
#pragma once

#include <gst/gst.h>

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "inference.h"
#include "service/results_service.h"

namespace rtcoinfer {

struct FrameFacts {
  guint64 seq = 0;
  std::string setup;           // "CxB", or how the frame was answered ("png", "jpeg", "local")
  int channels = 0, bits = 0;  // 0 when no features were sent
  guint64 bytes = 0;           // bytes received for the frame (0 when nothing was sent)
  std::optional<int> truth;
  double latency_ms = 0;  // capture to result
};

struct Result {
  int best = 0;
  double score = 0;
  nlohmann::json json;  // the line written downstream, without its newline
};

// Softmax over `logits`, the `top_k` best classes with the bundle's labels, and the facts.
Result classify(const std::vector<float> &logits, const BundleInfo &info, int top_k, const FrameFacts &facts,
                GstClockTime pts);

// Posts the rtcoinfer-result element message from `element`.
void post_result(GstElement *element, const Result &result, const FrameFacts &facts);
// post_result, and returns the result line as a buffer (timestamps and flags copied from
// `inbuf`, when given) with its meta.
// The results service's view of a result (its event stream and /api/results).
ResultEvent result_event(const Result &result, const FrameFacts &facts);

GstBuffer *emit_result(GstElement *element, const Result &result, const FrameFacts &facts, GstBuffer *inbuf);

}  // namespace rtcoinfer
