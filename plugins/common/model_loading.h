// Loading the model bundle named by an element's `model` property, the same way for every
// element: one place for the error a user sees when the bundle is missing, unreadable or
// corrupt. Torch-free: elements that only plan with a bundle (rtcoinfer-mpcrate, the
// CLIO slicer) read its manifest here; elements that run it use model_instance.h.
#pragma once

#include <gst/gst.h>

#include <optional>
#include <string>

#include "bundle/manifest.h"

namespace rtcoinfer {

// `location` is a file path or an http(s)://host:port/models/<id> URL; a URL is fetched
// into the cache ($XDG_CACHE_HOME/rtcoinfer) and verified against <id> first
// (gst/bundle/model_fetch.h). Returns the local file, or posts a GST_ELEMENT_ERROR naming
// the location and the problem and returns nullopt.
std::optional<std::string> resolve_bundle_for(GstElement *element, const std::string &location);

// The bundle's manifest (setup table, input spec, model id) without its network; posts
// a GST_ELEMENT_ERROR and returns nullopt when it cannot be read.
std::optional<BundleManifest> load_manifest_for(GstElement *element, const std::string &location);

}  // namespace rtcoinfer
