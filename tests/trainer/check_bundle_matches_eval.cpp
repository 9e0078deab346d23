// check-bundle-matches-eval BUNDLE EVAL_OUTPUT TEST_LIMIT
//
// Used by the trainer smoke test: the exported bundle must load through the torch-free
// InferenceModel, carry exactly the table `rtcoinfer-train eval` printed, and reproduce
// the stored top-1 of the largest-8-bit and smallest setups when run independently
// (head -> FrameEncoder -> FrameDecoder -> tail) on the same test images.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <random>
#include <sstream>
#include <string>

#include "dataset.h"
#include "wire/feature_frame.h"
#include "inference.h"

using namespace rtcoinfer;

int main(int argc, char **argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: %s BUNDLE EVAL_OUTPUT TEST_LIMIT\n", argv[0]);
    return 2;
  }
  std::string err;
  auto model = InferenceModel::load(argv[1], &err);
  if (!model) {
    std::fprintf(stderr, "load failed: %s\n", err.c_str());
    return 1;
  }
  const BundleInfo &info = model->info();
  std::map<std::string, std::pair<double, double>> printed;
  std::ifstream in(argv[2]);
  std::string line;
  while (std::getline(in, line)) {
    char name[32];
    double top1, bytes;
    if (std::sscanf(line.c_str(), "setup=%31s top1=%lf bytes=%lf", name, &top1, &bytes) == 3)
      printed[name] = {top1, bytes};
  }
  if (printed.empty()) {
    std::fprintf(stderr, "no setup= lines in %s\n", argv[2]);
    return 1;
  }
  int failures = 0;
  for (const auto &st : info.stats) {
    auto it = printed.find(st.setup.name());
    if (it == printed.end()) continue;
    // eval prints 2 and 1 decimals: a value on the rounding tie (330.75 -> "330.8") is half a
    // printed digit off, which is still a match
    if (std::fabs(st.top1 - it->second.first) > 0.005 + 1e-6 || std::fabs(st.bytes - it->second.second) > 0.05 + 1e-6) {
      std::fprintf(stderr, "%s: bundle says top1=%.4f bytes=%.2f, eval printed %.2f %.1f\n", st.setup.name().c_str(),
                   st.top1, st.bytes, it->second.first, it->second.second);
      ++failures;
    }
    printed.erase(it);
  }
  if (!printed.empty()) {
    std::fprintf(stderr, "eval printed setups the bundle lacks (e.g. %s)\n", printed.begin()->first.c_str());
    return 1;
  }

  // Independent re-run of two setups through the public API and the real codec.
  auto test = train::load_fashion_mnist("/usr/share/datasets/fashion-mnist", "test", std::stoul(argv[3]));
  train::Normalization norm{info.input.mean, info.input.std};
  std::mt19937 rng(0);
  FrameEncoder enc;
  FrameDecoder dec;
  const int C = info.partition_channels, H = info.partition_height, W = info.partition_width;
  for (const Setup &s : {*info.setups.find(C, 8), info.setups.smallest()}) {
    long correct = 0;
    double bytes = 0;
    const std::size_t kBatch = 250;  // eval's batch: same arithmetic, same results
    for (std::size_t at = 0; at < test->size(); at += kBatch) {
      std::vector<std::int64_t> idx;
      for (std::size_t i = at; i < std::min(test->size(), at + kBatch); ++i) idx.push_back(std::int64_t(i));
      auto b = test->batch(idx, train::Augment{}, norm, rng);
      const int n = int(idx.size());
      const auto head = model->head(b.images.data_ptr<float>(), n, s.index);
      std::vector<float> features;
      for (int i = 0; i < n; ++i) {
        EncodeParams p;
        p.setup = s;
        p.entropy = Entropy::Auto;
        p.model_id = info.frame_model_id;
        p.truth = std::uint16_t(test->label(std::size_t(idx[std::size_t(i)])));  // as eval sends it
        std::vector<std::uint8_t> frame;
        if (!enc.encode(head.data() + std::size_t(i) * C * H * W, C, H, W, p, frame).ok()) return 1;
        bytes += double(frame.size());
        FrameHeader hdr;
        std::vector<float> values;
        if (!dec.decode(frame.data(), frame.size(), hdr, values).ok()) return 1;
        if (hdr.model_id != info.frame_model_id) return 1;
        features.insert(features.end(), values.begin(), values.end());
      }
      const auto logits = model->tail(features.data(), n, s.channels, s.index);
      const int classes = int(info.labels.size());
      for (int i = 0; i < n; ++i) {
        const float *row = logits.data() + std::size_t(i) * classes;
        int best = 0;
        for (int c = 1; c < classes; ++c)
          if (row[c] > row[best]) best = c;
        correct += best == test->label(std::size_t(idx[std::size_t(i)]));
      }
    }
    const double top1 = 100.0 * double(correct) / double(test->size());
    const SetupStats &st = info.stats.at(std::size_t(s.index));
    std::printf("recheck setup=%s top1=%.2f (bundle %.2f) bytes=%.1f (bundle %.1f)\n", s.name().c_str(), top1, st.top1,
                bytes / double(test->size()), st.bytes);
    // Bytes are exact; accuracy may differ by one image at most (LibTorch kernels may pick
    // a different reduction order between processes).
    if (std::fabs(top1 - st.top1) > 100.0 / double(test->size()) + 1e-9 ||
        std::fabs(bytes / double(test->size()) - st.bytes) > 1e-6)
      ++failures;
  }
  return failures == 0 ? 0 : 1;
}
