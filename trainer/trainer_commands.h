// The subcommands of rtcoinfer-train that sit on top of the training stages: eval,
// export, individual and ablation, plus the options all subcommands share.
#pragma once

#include <cstdint>
#include <string>

#include "config.h"
#include "training.h"

namespace rtcoinfer::train {

struct CommonOptions {
  std::string config;
  std::string run_dir = "run";
  bool resume = false;
  std::uint64_t seed = 1;
  int threads = 0;
  int epochs = 0;                               // 0: as configured
  std::size_t train_limit = 0, test_limit = 0;  // 0: as configured
  int calibrate_batches = 0;                    // 0: as configured
};

struct EvalOptions {
  std::string model, setups = "all", plot, dataset_root;
  bool write_metadata = true;
};

struct ExitOptions {
  std::string model, out_dir = "exit", dataset_root;
  std::string setups = "1x1,1x2,2x4,4x4,8x4,16x4,32x8";  // per-image correctness written for these
  double lr = 1e-3;
};

struct ExportOptions {
  std::string output, weights;
};

// The config with the command line's overrides applied (--epochs applies to every stage).
TrainConfig load_effective_config(const CommonOptions &common);

int run_eval(const CommonOptions &common, const EvalOptions &opts);
// SPINN-style early exit: trains a small classifier on the bundle's partition output
// (all channels, uncompressed; the bundle's weights frozen) and writes <out>/exit.pt,
// exit.json and exit-test.csv (per test image: the exit's class and confidence, and
// whether the SW-CNN is right at each of opts.setups).
int run_exit(const CommonOptions &common, const ExitOptions &opts);
int run_export(const TrainConfig &cfg, const CommonOptions &common, const ExportOptions &opts);
int run_individual(const TrainConfig &cfg, const RunOptions &opt, const std::string &setups);
// `methods`: comma-separated combination names (e.g. "I-D-C,noI-noD-noC"); empty: all 8.
int run_ablation(const TrainConfig &cfg, const RunOptions &opt, const std::string &setups, const std::string &methods);

}  // namespace rtcoinfer::train
