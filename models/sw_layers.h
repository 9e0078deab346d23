// Building blocks of a Switchable CNN (SW-CNN): one set of weights serves every
// compression setup of a SetupTable.
//
// - SwitchableBatchNorm2d keeps one running-statistics set per setup (indexed like the
//   setup table) with one shared affine weight/bias, sliced when fewer channels arrive.
// - ReceivingConv2d is the first layer after the partition: a full conv whose input
//   channels are sliced to the k channels that were transmitted.
// - quantize_like_codec() quantizes per sample and channel exactly as the feature-frame
//   codec does, with a straight-through gradient, so training sees what deployment sees.
#pragma once

#include <cstdint>

#include <torch/torch.h>

namespace rtcoinfer {

struct SwitchableBatchNorm2dImpl : torch::nn::Module {
  SwitchableBatchNorm2dImpl(int64_t channels, int64_t setups, double momentum = 0.1, double eps = 1e-5);
  // x: N x c x H x W with c <= channels; uses the first c affine entries and the
  // running statistics of `setup`.
  torch::Tensor forward(const torch::Tensor &x, int64_t setup);
  // Inference on a batch whose samples have different setups: x is N x channels x H x W,
  // setup_of [N] (int64) each sample's setup. Each sample gets its setup's statistics
  // as the per-channel affine that eval-mode batch_norm applies (w / sqrt(var + eps),
  // b - mean * that), so a sample's output is its single-setup forward's.
  torch::Tensor forward_mixed(const torch::Tensor &x, const torch::Tensor &setup_of);

  int64_t channels, setups;
  double momentum, eps;
  torch::Tensor weight, bias;               // [channels], shared by all setups
  torch::Tensor running_mean, running_var;  // [setups, channels]
};
TORCH_MODULE(SwitchableBatchNorm2d);

struct ReceivingConv2dImpl : torch::nn::Module {
  ReceivingConv2dImpl(int64_t in_channels, int64_t out_channels, int64_t kernel, int64_t stride);
  // x: N x k x H x W with 1 <= k <= in_channels.
  torch::Tensor forward(const torch::Tensor &x);

  int64_t in_channels, out_channels, kernel, stride;
  torch::Tensor weight;  // [out, in, kernel, kernel]
};
TORCH_MODULE(ReceivingConv2d);

// Per-sample, per-channel min-max quantization to `levels` levels, identical to the
// codec: range rounded outward to binary16, code = min(L, floor((x-lo)*(L/(hi-lo)) + .5)),
// x^ = lo + code*((hi-lo)/L), code 0 when hi == lo. Gradient passes straight through.
// x: float32 N x k x H x W, finite, |x| <= 65504.
torch::Tensor quantize_like_codec(const torch::Tensor &x, std::uint32_t levels);

// Conv weights get He (fan-out) initialization, as torchvision does for MobileNetV2.
void init_conv_weight(torch::Tensor &w);

}  // namespace rtcoinfer
