// The trainer's stages, as in the paper's reference training (docs/trainer.md):
// init (uncompressed network), cluster (DBSCAN over receiving-layer gradients),
// swcnn (I/D/C switchable), individual (one network per setup), plus BatchNorm
// calibration and quick top-1 measurement with the codec-exact quantizer.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "config.h"
#include "dataset.h"
#include "sw_net.h"

namespace rtcoinfer::train {

struct RunOptions {
  std::filesystem::path run_dir;
  bool resume = false;
  std::uint64_t seed = 1;
};

struct Datasets {
  std::unique_ptr<Dataset> train, test;
};
Datasets open_datasets(const TrainConfig &cfg, bool want_train, bool want_test);

// The configured architecture with the dataset's class count and input size.
std::shared_ptr<SwNet> build_net(const TrainConfig &cfg, const Dataset &data);
// Plain LibTorch archives for checkpoints inside a run directory (bundles are separate).
void save_net(SwNet &net, const std::filesystem::path &path);
void load_net(SwNet &net, const std::filesystem::path &path);

// Mean loss of the first and last few steps of a stage, and of each epoch.
struct StageReport {
  std::vector<double> epoch_loss;
  double first_loss = 0, last_loss = 0;
  double seconds_per_step = 0;
};

// Trains the uncompressed setup (all channels, 16 bits); writes <run>/init.pt.
StageReport train_init(const TrainConfig &cfg, const RunOptions &opt, const Datasets &data);

struct ClusterTable {
  std::string method = "dbscan";  // "dbscan" or "balanced"
  double eps = 0;
  std::string reference;                           // CxB of the reference gradient
  std::vector<std::vector<int>> clusters;          // setup indices, each sorted
  std::vector<std::pair<int, double>> similarity;  // setup index, summed cosine similarity
};
// DBSCAN (min_samples points within eps, Euclidean) on 1-D values; -1 marks noise.
std::vector<int> dbscan_1d(const std::vector<double> &values, double eps, int min_samples);
// Searches eps so DBSCAN(min_samples=1) yields `clusters` clusters (or the closest count).
ClusterTable cluster_by_similarity(const std::vector<std::pair<int, double>> &similarity, int clusters);
// Splits the setups, ordered by similarity, into `clusters` runs of equal size (sizes
// differ by at most one): each cluster is sampled once per step, so every setup trains
// equally often, while setups of like gradients still share a cluster.
ClusterTable balanced_by_similarity(const std::vector<std::pair<int, double>> &similarity, int clusters);
// Gradient clustering from <run>/init.pt; writes <run>/clusters.yml. `balanced`: the
// equal-size split above instead of DBSCAN.
ClusterTable run_clustering(const TrainConfig &cfg, const RunOptions &opt, const Datasets &data, int clusters,
                            int batches, bool balanced = false);
void save_clusters(const ClusterTable &t, const SetupTable &setups, const std::filesystem::path &path);
ClusterTable load_clusters(const SetupTable &setups, const std::filesystem::path &path);

struct SwcnnSwitches {
  bool initialization = true, distillation = true, clustering = true;
};
// Trains the SW-CNN into <out_dir>/swcnn.pt (checkpoints alongside) and calibrates BN.
StageReport train_swcnn(const TrainConfig &cfg, const StageConfig &stage, const RunOptions &opt, const Datasets &data,
                        const SwcnnSwitches &sw, const std::filesystem::path &clusters_file,
                        const std::filesystem::path &out_dir);

// Fine-tunes init.pt on one setup; writes <out_dir>/<CxB>.pt and returns its top-1.
double train_individual(const TrainConfig &cfg, const StageConfig &stage, const RunOptions &opt, const Datasets &data,
                        const Setup &setup, const std::filesystem::path &out_dir);

// Re-estimates every listed setup's BatchNorm statistics with a cumulative average over
// `batches` training batches (no augmentation, no gradients).
void calibrate_batchnorm(SwNet &net, const Dataset &data, const TrainConfig &cfg, const std::vector<int> &setups,
                         int batches, std::uint64_t seed);

// Top-1 (fraction) of `setup` on `data` with the training-time quantizer.
double top1(SwNet &net, const Dataset &data, const TrainConfig &cfg, int setup);

}  // namespace rtcoinfer::train
