// InferenceModel: runs a model bundle's head and tail without exposing LibTorch.
//
// This is the header the GStreamer elements include; LibTorch stays inside
// inference.cpp. All methods are exception-free at the boundary: load() reports
// problems as one line of text, and the run methods return an empty vector (with
// last_error() set) when given a bad setup, batch or shape.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "setup_table.h"

namespace rtcoinfer {

struct InputSpec {
  int width = 0, height = 0, channels = 0;
  std::vector<float> mean, std;  // per channel, applied to pixel values scaled to [0,1]
  std::string resize;            // "stretch": scale the frame to width x height
};

struct SetupStats {
  Setup setup;
  double top1 = -1;   // percent on the bundle's test split; -1 when not measured
  double bytes = -1;  // mean coded feature-frame bytes; -1 when not measured
};

struct BundleInfo {
  std::string arch;
  std::string model_id;              // SHA-256 of the bundle, lowercase hex
  std::uint32_t frame_model_id = 0;  // first 4 bytes of the SHA-256 as a little-endian u32
  InputSpec input;
  std::vector<std::string> labels;
  int partition_channels = 0, partition_height = 0, partition_width = 0;
  SetupTable setups;
  std::vector<SetupStats> stats;  // one per setup, same order
  std::string metadata_json;
};

class InferenceModel {
 public:
  ~InferenceModel();
  InferenceModel(const InferenceModel &) = delete;
  InferenceModel &operator=(const InferenceModel &) = delete;

  // Never throws; on failure returns null and sets *error to one line naming the problem.
  static std::unique_ptr<InferenceModel> load(const std::string &path, std::string *error);
  static std::unique_ptr<InferenceModel> load_from_memory(const std::uint8_t *data, std::size_t size,
                                                          std::string *error);

  const BundleInfo &info() const;
  // Intra-op threads for this process (LibTorch's setting is process-wide).
  void set_threads(int n);

  // nchw: batch x C x H x W normalized input. Returns batch x C x H x W partition
  // features: all channels, with `setup_index`'s BatchNorm statistics.
  std::vector<float> head(const float *nchw, int batch, int setup_index);
  // features: batch x k x H x W dequantized features (k = channels of the frame, which
  // may differ from the setup's when a caller experiments). Returns batch x classes logits.
  std::vector<float> tail(const float *features, int batch, int k, int setup_index);
  // The whole network without compression (largest setup's statistics): batch x classes.
  std::vector<float> full(const float *nchw, int batch);

  // SPINN-style early exit: loads `exit_pt` (rtcoinfer-train exit's exit.pt for this
  // bundle). Never throws; false with *error set when the file is missing or its weights
  // do not fit this bundle's partition and classes.
  bool load_exit(const std::string &exit_pt, std::string *error);
  bool has_exit() const;
  // nchw: batch x C x H x W normalized input. The head at the uncompressed setup (as the
  // exit was trained), then the exit: batch x classes logits.
  std::vector<float> exit_logits(const float *nchw, int batch);

  const std::string &last_error() const;

 private:
  InferenceModel();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// First 4 bytes of a hex SHA-256 as a little-endian u32 (the feature frame's model id).
std::uint32_t frame_model_id_from_hex(const std::string &sha256_hex);

}  // namespace rtcoinfer
