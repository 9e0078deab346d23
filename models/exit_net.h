// The SPINN-style early exit: a small classifier on the SW-CNN's partition output (all
// channels, uncompressed). rtcoinfer-train exit trains it (trainer/trainer_commands.cpp)
// and InferenceModel::load_exit runs it in rtcoinfer-head; both use this one definition,
// so the weights in exit.pt always fit.
//
// 3x3 conv, stride 2, BN, ReLU, global average pool, linear: about 8 times the first
// layer's multiply-adds, 1/40 of the whole compact network's.
#pragma once

#include <torch/torch.h>

namespace rtcoinfer {

struct ExitNetImpl : torch::nn::Module {
  ExitNetImpl(int channels, int classes)
      : conv(register_module(
            "conv",
            torch::nn::Conv2d(torch::nn::Conv2dOptions(channels, channels, 3).stride(2).padding(1).bias(false)))),
        bn(register_module("bn", torch::nn::BatchNorm2d(channels))),
        fc(register_module("fc", torch::nn::Linear(channels, classes))) {}
  torch::Tensor forward(const torch::Tensor &features) {
    auto y = torch::relu(bn(conv(features)));
    return fc(torch::adaptive_avg_pool2d(y, {1, 1}).flatten(1));
  }
  torch::nn::Conv2d conv;
  torch::nn::BatchNorm2d bn;
  torch::nn::Linear fc;
};
TORCH_MODULE(ExitNet);

}  // namespace rtcoinfer
