#include "evaluation.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <random>
#include <stdexcept>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "wire/feature_frame.h"
#include "inference.h"
#include "progress.h"

namespace rtcoinfer::train {

EvalReport evaluate_bundle(LoadedBundle &bundle, const Dataset &test, const Normalization &norm,
                           const std::vector<Setup> &setups, int batch) {
  SwNet &net = *bundle.net;
  net.eval();
  const PartitionShape ps = net.partition();
  const std::uint32_t model_id = frame_model_id_from_hex(bundle.model_id);
  FrameEncoder encoder;
  FrameDecoder decoder;
  std::vector<long> correct(setups.size(), 0);
  std::vector<double> bytes(setups.size(), 0.0);
  std::vector<std::uint8_t> frame;
  std::vector<float> values;
  const std::size_t plane = std::size_t(ps.height) * ps.width;
  const Augment none;
  std::mt19937 rng(0);
  const auto start = std::chrono::steady_clock::now();
  const long total = long((test.size() + std::size_t(batch) - 1) / std::size_t(batch));
  ProgressBar bar("eval", total, 0, "setups", "top1-first-setup");
  torch::InferenceMode guard;
  long done = 0;
  std::uint16_t seq = 0;
  for (std::size_t at = 0; at < test.size(); at += std::size_t(batch)) {
    std::vector<std::int64_t> idx;
    for (std::size_t i = at; i < std::min(test.size(), at + std::size_t(batch)); ++i) idx.push_back(std::int64_t(i));
    const Batch b = test.batch(idx, none, norm, rng);
    const long n = long(idx.size());
    const auto *labels = b.labels.data_ptr<std::int64_t>();
    for (std::size_t si = 0; si < setups.size(); ++si) {
      const Setup &s = setups[si];
      const auto head = net.head(b.images, s.index).contiguous();
      const float *hp = head.data_ptr<float>();
      auto features = torch::empty({n, s.channels, ps.height, ps.width});
      float *fp = features.data_ptr<float>();
      for (long i = 0; i < n; ++i) {
        EncodeParams params;
        params.setup = s;
        params.entropy = Entropy::Auto;
        params.model_id = model_id;
        params.seq = seq++;
        params.truth = std::uint16_t(labels[i]);
        const FrameStatus es =
            encoder.encode(hp + std::size_t(i) * ps.channels * plane, ps.channels, ps.height, ps.width, params, frame);
        if (!es.ok()) throw std::runtime_error("encode " + s.name() + ": " + es.message);
        bytes[si] += double(frame.size());
        FrameHeader header;
        const FrameStatus ds = decoder.decode(frame.data(), frame.size(), header, values);
        if (!ds.ok()) throw std::runtime_error("decode " + s.name() + ": " + ds.message);
        if (values.size() != std::size_t(s.channels) * plane)
          throw std::runtime_error("decoded frame has the wrong size");
        std::memcpy(fp + std::size_t(i) * s.channels * plane, values.data(), values.size() * sizeof(float));
      }
      const auto pred = net.tail(features, s.index).argmax(1);
      correct[si] += pred.eq(b.labels).sum().item<long>();
    }
    bar.update(++done, double(setups.size()), setups.empty() ? 0.0 : double(correct[0]) / double(at + idx.size()));
  }
  EvalReport r;
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  r.images_per_second = double(test.size()) * double(setups.size()) / std::max(1e-9, r.seconds);
  for (std::size_t si = 0; si < setups.size(); ++si)
    r.rows.push_back({setups[si], 100.0 * double(correct[si]) / double(test.size()), bytes[si] / double(test.size()),
                      long(test.size())});
  return r;
}

void plot_accuracy_vs_bytes(const std::vector<EvalRow> &rows, const std::string &title, const std::string &path) {
  if (rows.empty()) return;
  const int W = 900, H = 560, left = 80, right = 170, top = 50, bottom = 70;
  cv::Mat img(H, W, CV_8UC3, cv::Scalar(255, 255, 255));
  double bmin = 1e300, bmax = 0, amin = 100, amax = 0;
  for (const auto &r : rows) {
    bmin = std::min(bmin, r.bytes);
    bmax = std::max(bmax, r.bytes);
    amin = std::min(amin, r.top1);
    amax = std::max(amax, r.top1);
  }
  const double lx0 = std::floor(std::log10(std::max(1.0, bmin))), lx1 = std::ceil(std::log10(std::max(10.0, bmax)));
  const double y0 = std::floor(amin / 5) * 5, y1 = std::min(100.0, std::ceil(amax / 5) * 5 + (amax >= 100 ? 0 : 0));
  const double yr = std::max(1.0, y1 - y0);
  auto X = [&](double b) {
    return left + int((std::log10(std::max(1.0, b)) - lx0) / (lx1 - lx0) * (W - left - right));
  };
  auto Y = [&](double a) { return H - bottom - int((a - y0) / yr * (H - top - bottom)); };
  const cv::Scalar black(0, 0, 0), grid(220, 220, 220);
  for (double e = lx0; e <= lx1; e += 1) {
    const int x = X(std::pow(10, e));
    cv::line(img, {x, top}, {x, H - bottom}, grid);
    cv::putText(img, cv::format("%g", std::pow(10, e)), {x - 15, H - bottom + 20}, cv::FONT_HERSHEY_SIMPLEX, 0.45,
                black);
  }
  for (double a = y0; a <= y1 + 1e-9; a += (yr > 20 ? 5 : 1)) {
    const int y = Y(a);
    cv::line(img, {left, y}, {W - right, y}, grid);
    cv::putText(img, cv::format("%.0f", a), {left - 35, y + 5}, cv::FONT_HERSHEY_SIMPLEX, 0.45, black);
  }
  cv::rectangle(img, {left, top}, {W - right, H - bottom}, black);
  cv::putText(img, title, {left, top - 18}, cv::FONT_HERSHEY_SIMPLEX, 0.6, black, 1, cv::LINE_AA);
  cv::putText(img, "mean coded bytes per frame (log)", {left + 200, H - 25}, cv::FONT_HERSHEY_SIMPLEX, 0.5, black);
  cv::putText(img, "top-1 %", {left - 60, H - bottom + 45}, cv::FONT_HERSHEY_SIMPLEX, 0.45, black);
  const int bits[] = {16, 8, 4, 2, 1};
  const cv::Scalar colours[] = {{180, 119, 31}, {14, 127, 255}, {44, 160, 44}, {40, 39, 214}, {189, 103, 148}};
  for (int bi = 0; bi < 5; ++bi) {
    std::vector<cv::Point> pts;
    for (const auto &r : rows)
      if (r.setup.bits == bits[bi]) pts.push_back({X(r.bytes), Y(r.top1)});
    std::sort(pts.begin(), pts.end(), [](const cv::Point &a, const cv::Point &b) { return a.x < b.x; });
    for (std::size_t i = 1; i < pts.size(); ++i) cv::line(img, pts[i - 1], pts[i], colours[bi], 1, cv::LINE_AA);
    for (const auto &p : pts) cv::circle(img, p, 4, colours[bi], cv::FILLED, cv::LINE_AA);
    const int ly = top + 20 + 22 * bi;
    cv::circle(img, {W - right + 20, ly - 4}, 5, colours[bi], cv::FILLED, cv::LINE_AA);
    cv::putText(img, cv::format("%d bit", bits[bi]), {W - right + 32, ly}, cv::FONT_HERSHEY_SIMPLEX, 0.5, black);
  }
  for (const auto &r : rows)
    if (r.setup.bits == 1 || r.setup.bits == 16)
      cv::putText(img, std::to_string(r.setup.channels) + "ch",
                  {X(r.bytes) + 5, Y(r.top1) + (r.setup.bits == 1 ? 14 : -6)}, cv::FONT_HERSHEY_SIMPLEX, 0.35,
                  cv::Scalar(90, 90, 90));
  if (!cv::imwrite(path, img)) throw std::runtime_error("cannot write plot " + path);
}

}  // namespace rtcoinfer::train
