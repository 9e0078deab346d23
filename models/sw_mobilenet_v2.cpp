#include "sw_mobilenet_v2.h"

#include <algorithm>

namespace rtcoinfer {

namespace {

// Rounds channels to a multiple of 8 without dropping below 90%, as torchvision does.
int make_divisible(double value, int divisor = 8) {
  int v = std::max(divisor, static_cast<int>(value + divisor / 2.0) / divisor * divisor);
  if (v < 0.9 * value) v += divisor;
  return v;
}

constexpr int kFirstChannels = 32;
constexpr int kReceivingOut = 16;  // the paper's first block: t=1, c=16, n=1, s=1
constexpr int kLastChannels = 1280;

}  // namespace

int SwMobileNetV2::partition_channels_for(double width) { return make_divisible(kFirstChannels * width); }

const std::vector<InvertedResidualSetting> &SwMobileNetV2::settings() {
  // After the receiving block: the rest of MobileNetV2's table.
  static const std::vector<InvertedResidualSetting> table = {
      {6, 24, 2, 2}, {6, 32, 3, 2}, {6, 64, 4, 2}, {6, 96, 3, 1}, {6, 160, 3, 2}, {6, 320, 1, 1},
  };
  return table;
}

SwConvBnImpl::SwConvBnImpl(int in, int out, int kernel, int stride, int groups, bool relu6_, int setups)
    : relu6(relu6_) {
  conv = register_module(
      "conv",
      torch::nn::Conv2d(
          torch::nn::Conv2dOptions(in, out, kernel).stride(stride).padding(kernel / 2).groups(groups).bias(false)));
  init_conv_weight(conv->weight);
  bn = register_module("bn", SwitchableBatchNorm2d(out, setups));
}

torch::Tensor SwConvBnImpl::forward(const torch::Tensor &x, int64_t setup) {
  auto y = bn->forward(conv->forward(x), setup);
  return relu6 ? torch::relu6(y) : y;
}

SwInvertedResidualImpl::SwInvertedResidualImpl(int in, int out, int stride, int t, int setups)
    : use_residual(stride == 1 && in == out) {
  const int hidden = in * t;
  if (t != 1) layers->push_back(SwConvBn(in, hidden, 1, 1, 1, true, setups));
  layers->push_back(SwConvBn(hidden, hidden, 3, stride, hidden, true, setups));
  layers->push_back(SwConvBn(hidden, out, 1, 1, 1, false, setups));
  register_module("layers", layers);
}

torch::Tensor SwInvertedResidualImpl::forward(const torch::Tensor &x, int64_t setup) {
  auto y = x;
  for (auto &m : *layers) y = m->as<SwConvBn>()->forward(y, setup);
  return use_residual ? x + y : y;
}

SwReceivingBlockImpl::SwReceivingBlockImpl(int in, int out, int setups) {
  conv = register_module("conv", ReceivingConv2d(in, in, 3, 1));
  bn = register_module("bn", SwitchableBatchNorm2d(in, setups));
  project = register_module("project", SwConvBn(in, out, 1, 1, 1, false, setups));
}

torch::Tensor SwReceivingBlockImpl::forward(const torch::Tensor &x, int64_t setup) {
  return project->forward(torch::relu6(bn->forward(conv->forward(x), setup)), setup);
}

SwMobileNetV2::SwMobileNetV2(const SetupTable &setups, int classes, int input_size, double width, double dropout)
    : SwNet("SwMobileNetV2", setups),
      classes_(classes),
      input_size_(input_size),
      partition_channels_(make_divisible(kFirstChannels * width)),
      width_(width),
      dropout_(dropout) {
  if (classes < 2 || input_size < 32 || width <= 0 || dropout < 0 || dropout >= 1)
    throw std::invalid_argument("sw-mobilenet-v2: bad hyper-parameters");
  if (setups.total_channels() != partition_channels_)
    throw std::invalid_argument("sw-mobilenet-v2: setup table is for " + std::to_string(setups.total_channels()) +
                                " channels, partition has " + std::to_string(partition_channels_));
  const int s = static_cast<int>(setups.size());
  partition_ = register_module("partition", SwConvBn(3, partition_channels_, 3, 2, 1, true, s));
  int in = make_divisible(kReceivingOut * width);
  receiving_ = register_module("receiving", SwReceivingBlock(partition_channels_, in, s));
  for (const auto &row : settings()) {
    const int out = make_divisible(row.c * width);
    for (int i = 0; i < row.n; ++i) {
      features_->push_back(SwInvertedResidual(in, out, i == 0 ? row.s : 1, row.t, s));
      in = out;
    }
  }
  const int last = make_divisible(kLastChannels * std::max(1.0, width));
  features_->push_back(SwConvBn(in, last, 1, 1, 1, true, s));
  register_module("features", features_);
  drop_ = register_module("dropout", torch::nn::Dropout(dropout));
  classifier_ = register_module("classifier", torch::nn::Linear(last, classes));
}

nlohmann::json SwMobileNetV2::hyper_params() const {
  return {{"classes", classes_}, {"input_size", input_size_}, {"width", width_}, {"dropout", dropout_}};
}

PartitionShape SwMobileNetV2::partition() const {
  const int h = (input_size_ + 1) / 2;
  return {"partition", partition_channels_, h, h};
}

torch::Tensor SwMobileNetV2::head(const torch::Tensor &x, int64_t setup) { return partition_->forward(x, setup); }

torch::Tensor SwMobileNetV2::tail(const torch::Tensor &features, int64_t setup) {
  auto x = receiving_->forward(features, setup);
  for (auto &m : *features_) {
    if (auto *block = m->as<SwInvertedResidual>())
      x = block->forward(x, setup);
    else
      x = m->as<SwConvBn>()->forward(x, setup);
  }
  x = torch::adaptive_avg_pool2d(x, {1, 1}).flatten(1);
  return classifier_->forward(drop_->forward(x));
}

}  // namespace rtcoinfer
