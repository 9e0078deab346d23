#include "config.h"

#include <fstream>
#include <sstream>
#include <stdexcept>

#include <yaml-cpp/yaml.h>

namespace rtcoinfer::train {

namespace {

nlohmann::json to_json(const YAML::Node &n) {
  if (n.IsMap()) {
    auto j = nlohmann::json::object();
    for (const auto &kv : n) j[kv.first.as<std::string>()] = to_json(kv.second);
    return j;
  }
  if (n.IsSequence()) {
    auto j = nlohmann::json::array();
    for (const auto &v : n) j.push_back(to_json(v));
    return j;
  }
  if (n.IsScalar()) {
    const std::string s = n.Scalar();
    if (s == "true") return true;
    if (s == "false") return false;
    try {
      std::size_t used = 0;
      long long i = std::stoll(s, &used);
      if (used == s.size()) return i;
      double d = std::stod(s, &used);
      if (used == s.size()) return d;
    } catch (const std::exception &) {
    }
    return s;
  }
  return nullptr;
}

template <typename T>
void get(const YAML::Node &n, const char *key, T &out) {
  if (n && n[key]) out = n[key].as<T>();
}

StageConfig stage(const YAML::Node &n, StageConfig d) {
  get(n, "epochs", d.epochs);
  get(n, "batch", d.batch);
  get(n, "lr", d.lr);
  get(n, "momentum", d.momentum);
  get(n, "nesterov", d.nesterov);
  get(n, "weight_decay", d.weight_decay);
  get(n, "checkpoint_every", d.checkpoint_every);
  if (d.epochs < 1 || d.batch < 1 || d.lr <= 0 || d.checkpoint_every < 1)
    throw std::runtime_error("epochs, batch, lr and checkpoint_every must be positive");
  return d;
}

}  // namespace

TrainConfig load_config(const std::string &path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot read config " + path);
  std::stringstream text;
  text << in.rdbuf();
  TrainConfig c;
  c.source_text = text.str();
  try {
    const YAML::Node root = YAML::Load(c.source_text);
    get(root, "name", c.name);
    const auto ds = root["dataset"];
    get(ds, "kind", c.dataset_kind);
    get(ds, "root", c.dataset_root);
    get(ds, "train_split", c.train_split);
    get(ds, "test_split", c.test_split);
    get(ds, "train_limit", c.train_limit);
    get(ds, "test_limit", c.test_limit);
    if (ds && ds["augment"]) {
      get(ds["augment"], "pad", c.augment.pad);
      get(ds["augment"], "flip", c.augment.flip);
    }
    const auto model = root["model"];
    get(model, "arch", c.arch);
    if (model && model["hyper_params"]) c.hyper_params = to_json(model["hyper_params"]);
    get(model, "mean", c.norm.mean);
    get(model, "std", c.norm.std);
    get(model, "resize", c.resize);
    c.init = stage(root["init"], c.init);
    StageConfig sw = c.init;
    sw.lr = 0.01;
    c.swcnn = stage(root["swcnn"], sw);
    c.individual = stage(root["individual"], c.swcnn);
    c.ablation = stage(root["ablation"], c.swcnn);
    const auto cl = root["cluster"];
    get(cl, "clusters", c.clusters);
    get(cl, "batches", c.cluster_batches);
    get(cl, "balanced", c.cluster_balanced);
    const auto swn = root["swcnn"];
    get(swn, "initialization", c.use_init);
    get(swn, "distillation", c.use_distill);
    get(swn, "clustering", c.use_cluster);
    get(swn, "calibrate_batches", c.calibrate_batches);
    get(swn, "label_weight", c.label_weight);
    get(root["eval"], "batch", c.eval_batch);
    get(root["individual"], "setups", c.individual_setups);
  } catch (const YAML::Exception &e) {
    throw std::runtime_error(path + ": " + e.what());
  } catch (const std::runtime_error &e) {
    throw std::runtime_error(path + ": " + e.what());
  }
  if (c.norm.mean.empty() || c.norm.mean.size() != c.norm.std.size())
    throw std::runtime_error(path + ": model.mean and model.std must list one value per channel");
  if (c.label_weight < 0 || c.label_weight > 1)
    throw std::runtime_error(path + ": swcnn.label_weight must be within 0..1");
  if (c.clusters < 1 || c.cluster_batches < 1 || c.calibrate_batches < 1 || c.eval_batch < 1)
    throw std::runtime_error(path + ": cluster/calibrate/eval counts must be positive");
  return c;
}

}  // namespace rtcoinfer::train
