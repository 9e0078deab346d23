// Loading the model bundle named by an element's `model` property, the same way for
// rtcoinfer-head, rtcoinfer-tail and rtcoinfer-mpcrate: one place for the error a user
// sees when the bundle is missing, unreadable or corrupt.
#pragma once

#include <gst/gst.h>

#include <memory>
#include <string>

#include "inference.h"

namespace rtcoinfer {

// Returns the model, or posts a GST_ELEMENT_ERROR naming the file and the problem and
// returns null. threads > 0 sets LibTorch's intra-op threads.
std::unique_ptr<InferenceModel> load_model_for(GstElement *element, const std::string &path, int threads);

}  // namespace rtcoinfer
