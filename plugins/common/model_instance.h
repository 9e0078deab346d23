// Shared model instances: every element in a process that runs the same bundle (by model
// id, the SHA-256 of the file) gets the same loaded InferenceModel, as DL Streamer's
// model-instance-id shares one network between streams. The instance lives while any
// element holds it. LibTorch stays behind models/inference.h.
#pragma once

#include <gst/gst.h>

#include <memory>
#include <string>

#include "inference.h"

namespace rtcoinfer {

// Resolves `location` (model_loading.h), then returns the process's instance of that
// bundle, loading it on first use. Posts a GST_ELEMENT_ERROR and returns null when the
// bundle cannot be loaded. threads > 0 sets LibTorch's intra-op threads (process-wide).
// *local_path, when given, receives the bundle file that was loaded.
std::shared_ptr<InferenceModel> acquire_model_for(GstElement *element, const std::string &location, int threads,
                                                  std::string *local_path = nullptr);

// A private instance that no other element sees: for the SPINN-style baseline, which
// attaches an early exit to its model.
std::shared_ptr<InferenceModel> load_private_model_for(GstElement *element, const std::string &location, int threads,
                                                       std::string *local_path = nullptr);

// How many distinct bundles are loaded in this process now (for tests).
int shared_model_count();

// Loads the SPINN-style early exit in `dir` (rtcoinfer-train exit's output folder:
// exit.json, exit.pt) into `model`, after checking that exit.json names this bundle.
// Posts a GST_ELEMENT_ERROR with the reason and returns false otherwise.
bool load_exit_for(GstElement *element, InferenceModel &model, const std::string &dir);

}  // namespace rtcoinfer
