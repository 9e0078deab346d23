#include "model_loading.h"

#include <fstream>
#include <nlohmann/json.hpp>

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

bool load_exit_for(GstElement *element, InferenceModel &model, const std::string &dir) {
  const std::string json_path = dir + "/exit.json", pt_path = dir + "/exit.pt";
  std::string trained_for;
  try {
    std::ifstream in(json_path);
    if (!in) throw std::runtime_error("cannot open it");
    trained_for = nlohmann::json::parse(in).at("model_id").get<std::string>();
  } catch (const std::exception &e) {
    GST_ELEMENT_ERROR(element, RESOURCE, OPEN_READ, ("Cannot read the early exit's %s: %s", json_path.c_str(), e.what()),
                      ("exit= names a folder written by rtcoinfer-train exit"));
    return false;
  }
  if (trained_for != model.info().model_id) {
    GST_ELEMENT_ERROR(element, LIBRARY, SETTINGS,
                      ("The early exit in %s was trained on model %.16s..., not on this bundle (%.16s...)",
                       dir.c_str(), trained_for.c_str(), model.info().model_id.c_str()),
                      ("train an exit for this bundle: rtcoinfer-train exit --model <bundle> --out <folder>"));
    return false;
  }
  std::string error;
  if (!model.load_exit(pt_path, &error)) {
    GST_ELEMENT_ERROR(element, RESOURCE, OPEN_READ, ("Cannot load the early exit: %s", error.c_str()), (nullptr));
    return false;
  }
  GST_INFO_OBJECT(element, "early exit from %s", dir.c_str());
  return true;
}

}  // namespace rtcoinfer
