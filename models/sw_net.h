// SwNet: the interface every SW-CNN architecture implements.
//
// A network is split at its partition layer. head(x, setup) runs the layers before the
// cut and returns all C partition channels with that setup's BatchNorm statistics;
// tail(features_k, setup) takes the first k channels (as the receiver reconstructs them)
// and returns logits. forward() chains head, slice, codec-exact quantization and tail,
// which is what training optimizes.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "wire/setup_table.h"

namespace rtcoinfer {

struct PartitionShape {
  std::string layer;  // name of the partition layer's module, e.g. "features.0"
  int channels = 0, height = 0, width = 0;
};

class SwNet : public torch::nn::Module {
 public:
  SwNet(const std::string &name, SetupTable setups) : torch::nn::Module(name), setups_(std::move(setups)) {}

  virtual std::string arch() const = 0;
  // Hyper-parameters that, with arch(), rebuild this network (stored in the bundle).
  virtual nlohmann::json hyper_params() const = 0;
  virtual PartitionShape partition() const = 0;
  virtual int input_channels() const = 0;
  virtual int input_height() const = 0;
  virtual int input_width() const = 0;
  virtual int classes() const = 0;

  virtual torch::Tensor head(const torch::Tensor &x, int64_t setup) = 0;
  virtual torch::Tensor tail(const torch::Tensor &features, int64_t setup) = 0;
  // Inference on frames of different setups in one batch: features N x C x H x W with
  // every partition channel (a sample's untransmitted channels zero: the receiving conv
  // then gives what its sliced filters give), setup_of [N] int64. Returns N x classes,
  // each row its sample's tail(). This default runs one tail() per setup in the batch;
  // an architecture may run the whole batch at once.
  virtual torch::Tensor tail_mixed(const torch::Tensor &features, const torch::Tensor &setup_of);

  // head -> first k channels -> quantize to L levels -> tail.
  torch::Tensor forward(const torch::Tensor &x, int64_t setup);
  // The network without any compression (all channels, no quantization), BN of `setup`.
  torch::Tensor forward_uncompressed(const torch::Tensor &x, int64_t setup);

  const SetupTable &setups() const { return setups_; }
  // The receiving layer's weight; its gradient drives clustering.
  virtual torch::Tensor receiving_weight() = 0;

 private:
  SetupTable setups_;
};

// Builds a network by architecture name; throws std::invalid_argument on an unknown
// arch or bad hyper-parameters. `setups` (one BN statistics set each) defaults to the
// paper's 50 reference setups for the architecture's partition channels.
std::shared_ptr<SwNet> make_sw_net(const std::string &arch, const nlohmann::json &hyper_params,
                                   const std::optional<SetupTable> &setups = std::nullopt);
// Architectures make_sw_net knows.
std::vector<std::string> known_architectures();

}  // namespace rtcoinfer
