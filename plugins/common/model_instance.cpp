#include "model_instance.h"

#include <fstream>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>

#include "model_loading.h"

GST_DEBUG_CATEGORY_STATIC(rtcoinfer_model_instance_debug);
#define GST_CAT_DEFAULT rtcoinfer_model_instance_debug

namespace rtcoinfer {

static void init_model_debug() {
  static gsize once = 0;
  if (g_once_init_enter(&once)) {
    GST_DEBUG_CATEGORY_INIT(rtcoinfer_model_instance_debug, "rtcoinfer-model", 0, "RTCoInfer model bundles");
    g_once_init_leave(&once, 1);
  }
}

namespace {

// model id -> the loaded instance; weak, so the last element to let go frees it.
std::mutex instances_lock;
std::map<std::string, std::weak_ptr<InferenceModel>> instances;  // with instances_lock

std::shared_ptr<InferenceModel> load_file(GstElement *element, const std::string &path, int threads) {
  std::string error;
  std::shared_ptr<InferenceModel> model = InferenceModel::load(path, &error);
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

}  // namespace

std::shared_ptr<InferenceModel> acquire_model_for(GstElement *element, const std::string &location, int threads,
                                                  std::string *local_path) {
  init_model_debug();
  auto path = resolve_bundle_for(element, location);
  if (!path) return nullptr;
  if (local_path) *local_path = *path;
  std::string id;
  try {
    id = read_manifest_file(*path).info.model_id;
  } catch (const std::exception &e) {
    GST_ELEMENT_ERROR(element, RESOURCE, OPEN_READ, ("Cannot load model bundle %s: %s", path->c_str(), e.what()),
                      (nullptr));
    return nullptr;
  }
  std::lock_guard<std::mutex> guard(instances_lock);
  if (auto shared = instances[id].lock()) {
    GST_INFO_OBJECT(element, "sharing the loaded instance of model %.16s...", id.c_str());
    if (threads > 0) shared->set_threads(threads);
    return shared;
  }
  auto model = load_file(element, *path, threads);
  if (model) instances[id] = model;
  return model;
}

std::shared_ptr<InferenceModel> load_private_model_for(GstElement *element, const std::string &location, int threads,
                                                       std::string *local_path) {
  init_model_debug();
  auto path = resolve_bundle_for(element, location);
  if (!path) return nullptr;
  if (local_path) *local_path = *path;
  return load_file(element, *path, threads);
}

int shared_model_count() {
  std::lock_guard<std::mutex> guard(instances_lock);
  int n = 0;
  for (const auto &[id, weak] : instances) n += !weak.expired();
  return n;
}

bool load_exit_for(GstElement *element, InferenceModel &model, const std::string &dir) {
  const std::string json_path = dir + "/exit.json", pt_path = dir + "/exit.pt";
  std::string trained_for;
  try {
    std::ifstream in(json_path);
    if (!in) throw std::runtime_error("cannot open it");
    trained_for = nlohmann::json::parse(in).at("model_id").get<std::string>();
  } catch (const std::exception &e) {
    GST_ELEMENT_ERROR(element, RESOURCE, OPEN_READ,
                      ("Cannot read the early exit's %s: %s", json_path.c_str(), e.what()),
                      ("exit= names a folder written by rtcoinfer-train exit"));
    return false;
  }
  if (trained_for != model.info().model_id) {
    GST_ELEMENT_ERROR(element, LIBRARY, SETTINGS,
                      ("The early exit in %s was trained on model %.16s..., not on this bundle (%.16s...)", dir.c_str(),
                       trained_for.c_str(), model.info().model_id.c_str()),
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
