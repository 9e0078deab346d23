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

#include "bundle/manifest.h"  // BundleInfo, InputSpec, SetupStats: the torch-free view

namespace rtcoinfer {

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
  // One frame of a batch that mixes setups: k x H x W dequantized features at setup_index.
  struct TailInput {
    const float *features = nullptr;
    int k = 0;
    int setup_index = 0;
  };
  // The tail of frames of any setups in one forward (untransmitted channels zero, each
  // frame's BatchNorm statistics as a per-sample affine): inputs.size() x classes
  // logits, row i equal to tail() of inputs[i] alone within float rounding.
  std::vector<float> tail_mixed(const std::vector<TailInput> &inputs);
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

  // The last run method's failure on the calling thread (instances are shared between
  // streaming threads; the run methods do not change the instance).
  const std::string &last_error() const;

 private:
  InferenceModel();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace rtcoinfer
