#include "compact_net.h"

#include <cmath>

namespace rtcoinfer {

namespace {

// Layers after the receiving conv, as (out channels, stride) at width 1.0.
const CompactConvSetting kBody[] = {{64, 1}, {64, 2}, {128, 1}, {128, 1}};
constexpr int kPartitionChannels = 32;
constexpr int kReceivingChannels = 32;

int scaled(int channels, double width) { return std::max(1, static_cast<int>(std::lround(channels * width))); }

}  // namespace

int CompactSwNet::partition_channels_for(double width) { return scaled(kPartitionChannels, width); }

ConvBnReluImpl::ConvBnReluImpl(int in, int out, int stride, int setups) {
  conv = register_module("conv",
                         torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, 3).stride(stride).padding(1).bias(false)));
  init_conv_weight(conv->weight);
  bn = register_module("bn", SwitchableBatchNorm2d(out, setups));
}

torch::Tensor ConvBnReluImpl::forward(const torch::Tensor &x, int64_t setup) {
  return torch::relu6(bn->forward(conv->forward(x), setup));
}

torch::Tensor ConvBnReluImpl::forward_mixed(const torch::Tensor &x, const torch::Tensor &setup_of) {
  return bn->forward_mixed(conv->forward(x), setup_of).clamp_(0, 6);  // relu6, in place on a temporary
}

CompactSwNet::CompactSwNet(const SetupTable &setups, int classes, int input_size, int in_channels, double width,
                           double dropout)
    : SwNet("CompactSwNet", setups),
      classes_(classes),
      input_size_(input_size),
      in_channels_(in_channels),
      partition_channels_(scaled(kPartitionChannels, width)),
      width_(width),
      dropout_(dropout) {
  if (classes < 2 || input_size < 8 || in_channels < 1 || width <= 0 || dropout < 0 || dropout >= 1)
    throw std::invalid_argument("sw-compact: bad hyper-parameters");
  if (setups.total_channels() != partition_channels_)
    throw std::invalid_argument("sw-compact: setup table is for " + std::to_string(setups.total_channels()) +
                                " channels, partition has " + std::to_string(partition_channels_));
  const int s = static_cast<int>(setups.size());
  partition_ = register_module("partition", ConvBnRelu(in_channels, partition_channels_, 2, s));
  const int recv = scaled(kReceivingChannels, width);
  receiving_ = register_module("receiving", ReceivingConv2d(partition_channels_, recv, 3, 1));
  receiving_bn_ = register_module("receiving_bn", SwitchableBatchNorm2d(recv, s));
  int in = recv;
  for (const auto &setting : kBody) {
    const int out = scaled(setting.out_channels, width);
    body_->push_back(ConvBnRelu(in, out, setting.stride, s));
    in = out;
  }
  register_module("body", body_);
  drop_ = register_module("dropout", torch::nn::Dropout(dropout));
  classifier_ = register_module("classifier", torch::nn::Linear(in, classes));
}

nlohmann::json CompactSwNet::hyper_params() const {
  return {{"classes", classes_},
          {"input_size", input_size_},
          {"in_channels", in_channels_},
          {"width", width_},
          {"dropout", dropout_}};
}

PartitionShape CompactSwNet::partition() const {
  const int h = (input_size_ + 1) / 2;
  return {"partition", partition_channels_, h, h};
}

torch::Tensor CompactSwNet::head(const torch::Tensor &x, int64_t setup) { return partition_->forward(x, setup); }

torch::Tensor CompactSwNet::tail(const torch::Tensor &features, int64_t setup) {
  auto x = torch::relu6(receiving_bn_->forward(receiving_->forward(features), setup));
  for (auto &m : *body_) x = m->as<ConvBnRelu>()->forward(x, setup);
  x = torch::adaptive_avg_pool2d(x, {1, 1}).flatten(1);
  return classifier_->forward(drop_->forward(x));
}

torch::Tensor CompactSwNet::tail_mixed(const torch::Tensor &features, const torch::Tensor &setup_of) {
  TORCH_CHECK(features.size(1) == partition_channels_, "tail_mixed: ", features.size(1),
              " channels, the partition has ", partition_channels_);
  auto x = receiving_bn_->forward_mixed(receiving_->forward(features), setup_of).clamp_(0, 6);
  for (auto &m : *body_) x = m->as<ConvBnRelu>()->forward_mixed(x, setup_of);
  x = torch::adaptive_avg_pool2d(x, {1, 1}).flatten(1);
  return classifier_->forward(drop_->forward(x));
}

}  // namespace rtcoinfer
