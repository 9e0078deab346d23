// check-mixed-batches BUNDLE TEST_LIMIT
//
// The server's batched tail (InferenceModel::tail_mixed, rtcoinfersrc max-batch) against
// one tail() per frame on the same features: Fashion-MNIST test images through the head,
// the real codec (FrameEncoder -> FrameDecoder) at a setup that changes every frame
// (every setup of the bundle in turn), then batches of 16 consecutive frames, so every
// batch mixes setups. Each logit must be within 1e-4 of the single-frame one and every
// frame's top-1 the same. Prints one line: mixed-batches: frames=N setups=S
// max_abs_diff=D top1_equal=E/N.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <random>
#include <string>

#include "dataset.h"
#include "inference.h"
#include "wire/feature_frame.h"

using namespace rtcoinfer;

static int top1(const float *row, int classes) { return int(std::max_element(row, row + classes) - row); }

int main(int argc, char **argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s BUNDLE TEST_LIMIT\n", argv[0]);
    return 2;
  }
  std::string err;
  auto model = InferenceModel::load(argv[1], &err);
  if (!model) {
    std::fprintf(stderr, "load failed: %s\n", err.c_str());
    return 1;
  }
  model->set_threads(1);
  const BundleInfo &info = model->info();
  auto test = train::load_fashion_mnist("/usr/share/datasets/fashion-mnist", "test", std::stoul(argv[2]));
  train::Normalization norm{info.input.mean, info.input.std};
  std::mt19937 rng(0);
  FrameEncoder enc;
  FrameDecoder dec;
  const int C = info.partition_channels, H = info.partition_height, W = info.partition_width;
  const int classes = int(info.labels.size());
  const std::size_t setups = info.setups.size(), kBatch = 16;
  double max_diff = 0;
  std::size_t equal = 0, frames = 0;
  for (std::size_t at = 0; at < test->size(); at += kBatch) {
    std::vector<std::vector<float>> features;
    std::vector<InferenceModel::TailInput> inputs;
    std::vector<float> single;
    for (std::size_t i = at; i < std::min(test->size(), at + kBatch); ++i) {
      const Setup &s = info.setups.at(i % setups);
      auto b = test->batch({std::int64_t(i)}, train::Augment{}, norm, rng);
      const auto head = model->head(b.images.data_ptr<float>(), 1, s.index);
      EncodeParams p;
      p.setup = s;
      p.entropy = Entropy::Auto;
      p.model_id = info.frame_model_id;
      std::vector<std::uint8_t> frame;
      FrameHeader hdr;
      std::vector<float> values;
      if (head.empty() || !enc.encode(head.data(), C, H, W, p, frame).ok() ||
          !dec.decode(frame.data(), frame.size(), hdr, values).ok()) {
        std::fprintf(stderr, "frame %zu: head or codec failed\n", i);
        return 1;
      }
      features.push_back(std::move(values));
      const auto logits = model->tail(features.back().data(), 1, s.channels, s.index);
      if (logits.size() != std::size_t(classes)) {
        std::fprintf(stderr, "frame %zu: tail failed: %s\n", i, model->last_error().c_str());
        return 1;
      }
      single.insert(single.end(), logits.begin(), logits.end());
    }
    for (std::size_t j = 0; j < features.size(); ++j) {
      const Setup &s = info.setups.at((at + j) % setups);
      inputs.push_back({features[j].data(), s.channels, s.index});
    }
    const auto mixed = model->tail_mixed(inputs);
    if (mixed.size() != single.size()) {
      std::fprintf(stderr, "batch at %zu: tail_mixed failed: %s\n", at, model->last_error().c_str());
      return 1;
    }
    for (std::size_t j = 0; j < inputs.size(); ++j) {
      const float *a = single.data() + j * classes, *b = mixed.data() + j * classes;
      for (int c = 0; c < classes; ++c) max_diff = std::max(max_diff, double(std::fabs(a[c] - b[c])));
      equal += top1(a, classes) == top1(b, classes);
      ++frames;
    }
  }
  std::printf("mixed-batches: frames=%zu setups=%zu max_abs_diff=%.3g top1_equal=%zu/%zu\n", frames, setups, max_diff,
              equal, frames);
  return max_diff <= 1e-4 && equal == frames ? 0 : 1;
}
