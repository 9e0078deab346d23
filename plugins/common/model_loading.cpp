#include "model_loading.h"

#include "bundle/model_fetch.h"

// Static: this library is linked into each plugin, and a global would be defined in
// every one of them (an ODR violation AddressSanitizer reports).
GST_DEBUG_CATEGORY_STATIC(rtcoinfer_model_debug);
#define GST_CAT_DEFAULT rtcoinfer_model_debug

namespace rtcoinfer {

static void init_model_debug() {
  static gsize once = 0;
  if (g_once_init_enter(&once)) {
    GST_DEBUG_CATEGORY_INIT(rtcoinfer_model_debug, "rtcoinfer-model", 0, "RTCoInfer model bundles");
    g_once_init_leave(&once, 1);
  }
}

std::optional<std::string> resolve_bundle_for(GstElement *element, const std::string &location) {
  init_model_debug();
  if (location.empty()) {
    GST_ELEMENT_ERROR(element, RESOURCE, NOT_FOUND, ("No model bundle given"),
                      ("set model=<bundle file>, e.g. models/zoo/fashion-mnist-swcnn.rcib"));
    return std::nullopt;
  }
  if (!is_model_url(location)) return location;
  std::string error;
  auto fetched = fetch_model_bundle(location, default_model_cache_dir(), &error);
  if (!fetched) {
    GST_ELEMENT_ERROR(element, RESOURCE, READ, ("Cannot fetch model bundle %s", error.c_str()),
                      ("the URL must name the bundle by its id, as the tail serves it at /models/<id>"));
    return std::nullopt;
  }
  GST_INFO_OBJECT(element, "model %s is %s", location.c_str(), fetched->c_str());
  return fetched;
}

std::optional<BundleManifest> load_manifest_for(GstElement *element, const std::string &location) {
  auto path = resolve_bundle_for(element, location);
  if (!path) return std::nullopt;
  try {
    BundleManifest m = read_manifest_file(*path);
    GST_INFO_OBJECT(element, "model %s (%s), frame model id %08x", path->c_str(), m.info.arch.c_str(),
                    m.info.frame_model_id);
    return m;
  } catch (const std::exception &e) {
    GST_ELEMENT_ERROR(element, RESOURCE, OPEN_READ, ("Cannot load model bundle %s: %s", path->c_str(), e.what()),
                      (nullptr));
    return std::nullopt;
  }
}

}  // namespace rtcoinfer
