// sw-compact: a small SW-CNN for 28x28 gray images (Fashion-MNIST) that trains in
// minutes per epoch on two CPU cores.
//
//   partition: conv 1->32 3x3 s2 (28x28 -> 14x14), BN, ReLU6        <- head ends here
//   receiving: conv k->32 3x3 over the k transmitted channels, BN, ReLU6
//   then conv 32->64, 64->64 s2 (7x7), 64->128, 128->128 (3x3, BN, ReLU6 each),
//   global average pool, dropout, linear -> classes.
#pragma once

#include "sw_layers.h"
#include "sw_net.h"

namespace rtcoinfer {

struct CompactConvSetting {
  int out_channels, stride;
};

struct ConvBnReluImpl : torch::nn::Module {
  ConvBnReluImpl(int in, int out, int stride, int setups);
  torch::Tensor forward(const torch::Tensor &x, int64_t setup);
  torch::Tensor forward_mixed(const torch::Tensor &x, const torch::Tensor &setup_of);
  torch::nn::Conv2d conv{nullptr};
  SwitchableBatchNorm2d bn{nullptr};
};
TORCH_MODULE(ConvBnRelu);

class CompactSwNet : public SwNet {
 public:
  // width scales every channel count (partition channels included); input is square.
  CompactSwNet(const SetupTable &setups, int classes, int input_size, int in_channels, double width, double dropout);

  static int partition_channels_for(double width);

  std::string arch() const override { return "sw-compact"; }
  nlohmann::json hyper_params() const override;
  PartitionShape partition() const override;
  int input_channels() const override { return in_channels_; }
  int input_height() const override { return input_size_; }
  int input_width() const override { return input_size_; }
  int classes() const override { return classes_; }

  torch::Tensor head(const torch::Tensor &x, int64_t setup) override;
  torch::Tensor tail(const torch::Tensor &features, int64_t setup) override;
  // The whole mixed batch at once: zero-padded channels, per-sample BatchNorm affine.
  torch::Tensor tail_mixed(const torch::Tensor &features, const torch::Tensor &setup_of) override;
  torch::Tensor receiving_weight() override { return receiving_->weight; }

 private:
  int classes_, input_size_, in_channels_, partition_channels_;
  double width_, dropout_;
  ConvBnRelu partition_{nullptr};
  ReceivingConv2d receiving_{nullptr};
  SwitchableBatchNorm2d receiving_bn_{nullptr};
  torch::nn::ModuleList body_;
  torch::nn::Dropout drop_{nullptr};
  torch::nn::Linear classifier_{nullptr};
};

}  // namespace rtcoinfer
