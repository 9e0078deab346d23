// bench-training-step [ARCH [BATCH [INPUT [STEPS]]]]
//
// Times one SGD training step (forward, backward, update) of an SW-CNN on random data,
// with and without the codec-exact quantizer, and one inference forward. Numbers for
// docs/benchmarks.md; not a test.
#include <torch/torch.h>

#include <chrono>
#include <cstdio>
#include <string>

#include "sw_layers.h"
#include "sw_net.h"

using namespace rtcoinfer;

namespace {

template <typename F>
double seconds_per_call(F &&f, int steps) {
  f();  // warm-up
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < steps; ++i) f();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() / steps;
}

}  // namespace

int main(int argc, char **argv) {
  const std::string arch = argc > 1 ? argv[1] : "sw-compact";
  const int batch = argc > 2 ? std::stoi(argv[2]) : 128;
  const int input = argc > 3 ? std::stoi(argv[3]) : (arch == "sw-compact" ? 28 : 224);
  const int steps = argc > 4 ? std::stoi(argv[4]) : 5;
  auto net = make_sw_net(arch, {{"classes", 10}, {"input_size", input}});
  const int channels = net->input_channels();
  torch::optim::SGD opt(net->parameters(), torch::optim::SGDOptions(0.01).momentum(0.9));
  auto x = torch::randn({batch, channels, input, input});
  auto y = torch::randint(0, 10, {batch});
  const int full16 = net->setups().largest().index;
  const int s8 = net->setups().lookup("8x4")->index;
  net->train();
  auto step = [&](bool quantize, int setup) {
    opt.zero_grad();
    auto logits = quantize ? net->forward(x, setup) : net->forward_uncompressed(x, setup);
    torch::cross_entropy_loss(logits, y).backward();
    opt.step();
  };
  const double t_plain = seconds_per_call([&] { step(false, full16); }, steps);
  const double t_quant = seconds_per_call([&] { step(true, s8); }, steps);
  net->eval();
  double t_infer;
  {
    torch::InferenceMode guard;
    t_infer = seconds_per_call([&] { net->forward(x, s8); }, steps);
  }
  auto f = net->head(x, s8).narrow(1, 0, 8).contiguous();
  double t_quantizer;
  {
    torch::NoGradGuard ng;
    t_quantizer = seconds_per_call([&] { quantize_like_codec(f, 15); }, steps);
  }
  std::printf(
      "arch=%s input=%dx%d batch=%d threads=%d train_step_s=%.3f train_step_quantized_s=%.3f "
      "inference_batch_s=%.3f inference_images_per_s=%.1f quantizer_s=%.4f\n",
      arch.c_str(), input, input, batch, torch::get_num_threads(), t_plain, t_quant, t_infer, batch / t_infer,
      t_quantizer);
  return 0;
}
