#include "model_loading.h"

#include "model_fetch.h"

GST_DEBUG_CATEGORY_STATIC(rtcoinfer_model_debug);
#define GST_CAT_DEFAULT rtcoinfer_model_debug

namespace rtcoinfer {

std::unique_ptr<InferenceModel> load_model_for(GstElement *element, const std::string &location, int threads,
                                               std::string *local_path) {
  static gsize once = 0;
  if (g_once_init_enter(&once)) {
    GST_DEBUG_CATEGORY_INIT(rtcoinfer_model_debug, "rtcoinfer-model", 0, "RTCoInfer model bundles");
    g_once_init_leave(&once, 1);
  }
  if (location.empty()) {
    GST_ELEMENT_ERROR(element, RESOURCE, NOT_FOUND, ("No model bundle given"),
                      ("set model=<bundle file>, e.g. models/zoo/fashion-mnist-swcnn.rcib"));
    return nullptr;
  }
  std::string error, path = location;
  if (is_model_url(location)) {
    auto fetched = fetch_model_bundle(location, default_model_cache_dir(), &error);
    if (!fetched) {
      GST_ELEMENT_ERROR(element, RESOURCE, READ, ("Cannot fetch model bundle %s", error.c_str()),
                        ("the URL must name the bundle by its id, as the tail serves it at /models/<id>"));
      return nullptr;
    }
    GST_INFO_OBJECT(element, "model %s is %s", location.c_str(), fetched->c_str());
    path = *fetched;
  }
  if (local_path) *local_path = path;
  auto model = InferenceModel::load(path, &error);
  if (!model) {
    GST_ELEMENT_ERROR(element, RESOURCE, OPEN_READ, ("Cannot load model bundle %s: %s", path.c_str(), error.c_str()),
                      (nullptr));
    return nullptr;
  }
  if (threads > 0) model->set_threads(threads);
  GST_INFO_OBJECT(element, "model %s (%s), frame model id %08x", path.c_str(), model->info().arch.c_str(),
                  model->info().frame_model_id);
  return model;
}

}  // namespace rtcoinfer
