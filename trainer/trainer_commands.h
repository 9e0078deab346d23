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
  int epochs = 0;  // 0: as configured
  std::size_t train_limit = 0, test_limit = 0;  // 0: as configured
  int calibrate_batches = 0;                    // 0: as configured
};

struct EvalOptions {
  std::string model, setups = "all", plot, dataset_root;
  bool write_metadata = true;
};

struct ExportOptions {
  std::string output, weights;
};

// The config with the command line's overrides applied (--epochs applies to every stage).
TrainConfig load_effective_config(const CommonOptions &common);

int run_eval(const CommonOptions &common, const EvalOptions &opts);
int run_export(const TrainConfig &cfg, const CommonOptions &common, const ExportOptions &opts);
int run_individual(const TrainConfig &cfg, const RunOptions &opt, const std::string &setups);
// `methods`: comma-separated combination names (e.g. "I-D-C,noI-noD-noC"); empty: all 8.
int run_ablation(const TrainConfig &cfg, const RunOptions &opt, const std::string &setups,
                 const std::string &methods);

}  // namespace rtcoinfer::train
