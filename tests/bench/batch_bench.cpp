// batch-bench [MODEL] [ROUNDS]: the server tail's forward per frame at batch 1 (one
// tail() per frame, what rtcoinfersrc max-batch=1 runs) against mixed-setup batches of
// 2, 4, 16 and 32 (InferenceModel::tail_mixed, what the batcher runs), in one run, on
// one LibTorch thread (the server's default). Beside them, the plain LibTorch forward of
// one frame alone (SwNet::tail at batch 1), which InferenceModel runs as a batch of two
// because LibTorch takes a slower convolution for a single small input. Frames cycle through every setup of the bundle,
// so every batch mixes setups; the features are real: Fashion-MNIST test images through
// the head at each frame's setup. Times are medians over ROUNDS rounds (default 30).
// Last line: batch-bench: per_frame_ms_b1=… per_frame_ms_b16=… speedup_16=…
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include <opencv2/core.hpp>

#include <torch/torch.h>

#include "bundle.h"
#include "data/labeled_images.h"
#include "data/model_input.h"
#include "bench_median.h"
#include "inference.h"

using namespace rtcoinfer;
using Clock = std::chrono::steady_clock;

int main(int argc, char **argv) {
  const std::string path = argc > 1 ? argv[1] : RTCOINFER_SHIPPED_MODEL;
  const int rounds = argc > 2 ? std::max(3, std::atoi(argv[2])) : 30;
  std::string err;
  auto model = InferenceModel::load(path, &err);
  if (!model) {
    std::fprintf(stderr, "batch-bench: %s\n", err.c_str());
    return 1;
  }
  model->set_threads(1);
  const BundleInfo &info = model->info();
  const int C = info.partition_channels, H = info.partition_height, W = info.partition_width;
  const std::size_t plane = std::size_t(C) * H * W, kFrames = 32;
  auto images = open_fashion_mnist(kFashionMnistRoot, "test");
  std::vector<std::vector<float>> features(kFrames);
  std::vector<InferenceModel::TailInput> frames;
  cv::Mat scratch, sized;
  for (std::size_t i = 0; i < kFrames; ++i) {
    const Image img = images->image(i);
    cv::Mat mat(img.height, img.width, img.channels == 1 ? CV_8UC1 : CV_8UC3,
                const_cast<std::uint8_t *>(img.pixels.data()));
    std::vector<float> x;
    fit_to_model(mat, img.channels == 1 ? PixelOrder::Gray : PixelOrder::BGR, info.input, scratch, x);
    const Setup &s = info.setups.at(i % info.setups.size());
    features[i] = model->head(x.data(), 1, s.index);
    if (features[i].size() != plane) {
      std::fprintf(stderr, "batch-bench: head failed: %s\n", model->last_error().c_str());
      return 1;
    }
    frames.push_back({features[i].data(), s.channels, s.index});  // the first k channels, as a frame carries
  }
  std::printf("model %s, %zu setups, partition %dx%dx%d, 1 thread, %d rounds\n", path.c_str(), info.setups.size(), C, H,
              W, rounds);
  // the plain forward of one frame alone, as the server ran it before
  const LoadedBundle plain = load_bundle_file(path);
  std::vector<double> alone;
  {
    torch::InferenceMode guard;
    for (int r = 0; r < rounds; ++r) {
      const auto t0 = Clock::now();
      for (const auto &f : frames)
        plain.net->tail(torch::from_blob(const_cast<float *>(f.features), {1, f.k, H, W}), f.setup_index);
      alone.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count() / double(kFrames));
    }
  }
  const double per_alone = median(alone);
  std::printf("one frame alone, plain SwNet::tail: %.3f ms/frame\n", per_alone);
  // batch 1: one tail() per frame
  std::vector<double> b1;
  for (int r = 0; r < rounds; ++r) {
    const auto t0 = Clock::now();
    for (const auto &f : frames)
      if (model->tail(f.features, 1, f.k, f.setup_index).empty()) return 1;
    b1.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count() / double(kFrames));
  }
  const double per_b1 = median(b1);
  std::printf("batch  1, tail(): %.3f ms/frame (x%.2f against one frame alone)\n", per_b1, per_alone / per_b1);
  double per_b16 = 0;
  for (std::size_t batch : {2, 4, 16, 32}) {
    std::vector<double> t;
    for (int r = 0; r < rounds; ++r) {
      const auto t0 = Clock::now();
      for (std::size_t at = 0; at < kFrames; at += batch) {
        std::vector<InferenceModel::TailInput> b(frames.begin() + std::ptrdiff_t(at),
                                                 frames.begin() + std::ptrdiff_t(std::min(kFrames, at + batch)));
        if (model->tail_mixed(b).empty()) {
          std::fprintf(stderr, "batch-bench: tail_mixed failed: %s\n", model->last_error().c_str());
          return 1;
        }
      }
      t.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count() / double(kFrames));
    }
    const double per = median(t);
    if (batch == 16) per_b16 = per;
    std::printf("batch %2zu: %.3f ms/frame (x%.2f against batch 1)\n", batch, per, per_b1 / per);
  }
  std::printf("batch-bench: per_frame_ms_b1=%.3f per_frame_ms_b16=%.3f speedup_16=%.2f\n", per_b1, per_b16,
              per_b1 / per_b16);
  return 0;
}
