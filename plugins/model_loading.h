// Loading the model bundle named by an element's `model` property, the same way for
// rtcoinfer-head, rtcoinfer-tail and rtcoinfer-mpcrate: one place for the error a user
// sees when the bundle is missing, unreadable or corrupt.
#pragma once

#include <gst/gst.h>

#include <memory>
#include <string>

#include "inference.h"

namespace rtcoinfer {

// `location` is a file path or an http(s)://host:port/models/<id> URL; a URL is fetched
// into the cache ($XDG_CACHE_HOME/rtcoinfer) and verified against <id> first
// (gst/model_fetch.h). Returns the model, or posts a GST_ELEMENT_ERROR naming the file or
// URL and the problem and returns null. threads > 0 sets LibTorch's intra-op threads.
// *local_path, when given, receives the bundle file that was loaded.
std::unique_ptr<InferenceModel> load_model_for(GstElement *element, const std::string &location, int threads,
                                               std::string *local_path = nullptr);

// Loads the SPINN-style early exit in `dir` (rtcoinfer-train exit's output folder:
// exit.json, exit.pt) into `model`, after checking that exit.json names this bundle.
// Posts a GST_ELEMENT_ERROR with the reason and returns false otherwise.
bool load_exit_for(GstElement *element, InferenceModel &model, const std::string &dir);

}  // namespace rtcoinfer
