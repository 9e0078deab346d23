// TrainConfig: everything a training run needs, read from a YAML file under
// trainer/configs/ (see docs/trainer.md for every key and its default).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "dataset.h"

namespace rtcoinfer::train {

struct StageConfig {
  int epochs = 1;
  int batch = 128;
  double lr = 0.1;  // peak learning rate, decayed linearly per iteration to 0
  double momentum = 0.9;
  bool nesterov = true;
  double weight_decay = 5e-5;  // conv and linear weights only (not depthwise, not BN)
  int checkpoint_every = 100;  // steps between mid-epoch checkpoints
};

struct TrainConfig {
  std::string name;
  std::string source_text;  // the YAML as read, stored in bundles for provenance

  // dataset
  std::string dataset_kind = "fashion-mnist";  // or "image-folder"
  std::string dataset_root = "/usr/share/datasets/fashion-mnist";
  std::string train_split = "train", test_split = "test";
  std::size_t train_limit = 0, test_limit = 0;  // 0: all images
  Augment augment;
  Normalization norm;
  std::string resize = "stretch";  // how deployment maps frames to the input size

  // model
  std::string arch = "sw-compact";
  nlohmann::json hyper_params = nlohmann::json::object();

  StageConfig init, swcnn, individual;

  // cluster
  int clusters = 3;
  int cluster_batches = 20;
  bool cluster_balanced = false;  // equal-size clusters in similarity order instead of DBSCAN

  // swcnn: the paper's I, D and C switches
  bool use_init = true, use_distill = true, use_cluster = true;
  // With distillation: loss = (1 - w) * CE(teacher softmax) + w * CE(labels). The paper
  // uses w = 0 (soft targets only); w > 0 lets the student improve on its teacher.
  double label_weight = 0.0;
  int calibrate_batches = 20;  // BatchNorm re-estimation per setup after training

  int eval_batch = 250;
  std::vector<std::string> individual_setups;  // CxB names; empty: all
  StageConfig ablation;                        // budget for each I/D/C combination
};

// Throws std::runtime_error naming the file and the bad key.
TrainConfig load_config(const std::string &path);

}  // namespace rtcoinfer::train
