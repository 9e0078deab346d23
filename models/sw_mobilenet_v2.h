// sw-mobilenet-v2: MobileNetV2 as an SW-CNN, as in the RTCoInfer paper.
//
// The partition is after features[0] (3x3 stride-2 conv 3->32, BN, ReLU6): 32x112x112
// for 224x224 input. The first inverted-residual block (t=1, c=16) receives the k
// transmitted channels; its depthwise 3x3 becomes a full 3x3 conv over them. Every
// BatchNorm from the partition on keeps per-setup running statistics.
#pragma once

#include "sw_layers.h"
#include "sw_net.h"

namespace rtcoinfer {

// One row of the paper's architecture table: expansion t, output channels c, repeats n,
// first stride s.
struct InvertedResidualSetting {
  int t, c, n, s;
};

struct SwConvBnImpl : torch::nn::Module {
  SwConvBnImpl(int in, int out, int kernel, int stride, int groups, bool relu6, int setups);
  torch::Tensor forward(const torch::Tensor &x, int64_t setup);
  torch::nn::Conv2d conv{nullptr};
  SwitchableBatchNorm2d bn{nullptr};
  bool relu6;
};
TORCH_MODULE(SwConvBn);

struct SwInvertedResidualImpl : torch::nn::Module {
  SwInvertedResidualImpl(int in, int out, int stride, int expand_ratio, int setups);
  torch::Tensor forward(const torch::Tensor &x, int64_t setup);
  torch::nn::ModuleList layers;
  bool use_residual;
};
TORCH_MODULE(SwInvertedResidual);

// The block right after the partition: full 3x3 conv over k channels, BN, ReLU6, then the
// 1x1 projection to `out` channels, BN (no residual: k varies).
struct SwReceivingBlockImpl : torch::nn::Module {
  SwReceivingBlockImpl(int in, int out, int setups);
  torch::Tensor forward(const torch::Tensor &x, int64_t setup);
  ReceivingConv2d conv{nullptr};
  SwitchableBatchNorm2d bn{nullptr};
  SwConvBn project{nullptr};
};
TORCH_MODULE(SwReceivingBlock);

class SwMobileNetV2 : public SwNet {
 public:
  SwMobileNetV2(const SetupTable &setups, int classes, int input_size, double width, double dropout);

  static int partition_channels_for(double width);

  std::string arch() const override { return "sw-mobilenet-v2"; }
  nlohmann::json hyper_params() const override;
  PartitionShape partition() const override;
  int input_channels() const override { return 3; }
  int input_height() const override { return input_size_; }
  int input_width() const override { return input_size_; }
  int classes() const override { return classes_; }

  torch::Tensor head(const torch::Tensor &x, int64_t setup) override;
  torch::Tensor tail(const torch::Tensor &features, int64_t setup) override;
  torch::Tensor receiving_weight() override { return receiving_->conv->weight; }

  static const std::vector<InvertedResidualSetting> &settings();

 private:
  int classes_, input_size_, partition_channels_;
  double width_, dropout_;
  SwConvBn partition_{nullptr};
  SwReceivingBlock receiving_{nullptr};
  torch::nn::ModuleList features_;
  torch::nn::Dropout drop_{nullptr};
  torch::nn::Linear classifier_{nullptr};
};

}  // namespace rtcoinfer
