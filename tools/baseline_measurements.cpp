#include "baseline_measurements.h"

#include <algorithm>
#include <chrono>
#include <stdexcept>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "wire/image_frame.h"
#include "data/model_input.h"
#include "wire/progressive_slices.h"
#include "progress.h"

namespace rtcoinfer::eval {

namespace {

cv::Mat to_mat(const Image &img) {
  return cv::Mat(img.height, img.width, img.channels == 1 ? CV_8UC1 : CV_8UC3,
                 const_cast<std::uint8_t *>(img.pixels.data()))
      .clone();
}

// A decoded image (gray, or BGR as OpenCV decodes it) -> the model's input in dst, by the
// one preprocessing path (data/model_input.h).
void to_input(const InputSpec &in, const cv::Mat &img, float *dst) {
  cv::Mat scratch;
  std::vector<float> out;
  fit_to_model(img, img.channels() == 1 ? PixelOrder::Gray : PixelOrder::BGR, in, scratch, out);
  std::copy(out.begin(), out.end(), dst);
}

int argmax(const float *v, std::size_t n) { return int(std::max_element(v, v + n) - v); }

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::nth_element(v.begin(), v.begin() + long(v.size() / 2), v.end());
  return v[v.size() / 2];
}

}  // namespace

Codec parse_codec(const std::string &text) {
  if (text == "png") return {"png", false, 0};
  if (text == "jpeg") return {"jpeg:85", true, 85};
  if (text.rfind("jpeg:", 0) == 0) {
    int q = 0;
    try {
      std::size_t used = 0;
      q = std::stoi(text.substr(5), &used);
      if (used != text.size() - 5) q = 0;
    } catch (const std::exception &) {
      q = 0;
    }
    if (q < 1 || q > 100) throw std::runtime_error("codec " + text + ": JPEG quality must be 1..100");
    return {text, true, q};
  }
  throw std::runtime_error("unknown image codec '" + text + "' (png, jpeg, jpeg:Q)");
}

Measurements measure(InferenceModel &model, const LabeledImages &test, const std::vector<Codec> &codecs, int limit) {
  const InputSpec &in = model.info().input;
  const std::size_t classes = model.info().labels.size();
  Measurements m;
  m.images = int(limit > 0 ? std::min<std::size_t>(std::size_t(limit), test.size()) : test.size());
  if (m.images == 0) throw std::runtime_error("no test images");
  const std::size_t plane = std::size_t(in.width) * in.height * in.channels;
  const int batch = 250;
  m.offload.resize(codecs.size());
  for (std::size_t c = 0; c < codecs.size(); ++c) m.offload[c].codec = codecs[c];
  std::vector<int> correct(codecs.size() + 1, 0);
  std::vector<double> bytes(codecs.size(), 0.0);

  // Variants per batch: the raw image (local-only), then each codec's decoded image.
  const long batches = (m.images + batch - 1) / batch;
  train::ProgressBar bar("baselines", batches, 0, "codecs", "whole-model top1");
  std::vector<float> input;
  for (long b = 0; b < batches; ++b) {
    const int first = int(b) * batch, n = std::min(batch, m.images - first);
    for (std::size_t v = 0; v <= codecs.size(); ++v) {
      input.assign(plane * std::size_t(n), 0.0f);
      for (int i = 0; i < n; ++i) {
        cv::Mat img = to_mat(test.image(std::size_t(first + i)));
        if (v > 0) {
          const Codec &codec = codecs[v - 1];
          std::vector<std::uint8_t> encoded;
          const std::vector<int> params = codec.jpeg ? std::vector<int>{cv::IMWRITE_JPEG_QUALITY, codec.quality}
                                                     : std::vector<int>{cv::IMWRITE_PNG_COMPRESSION, 6};
          if (!cv::imencode(codec.jpeg ? ".jpg" : ".png", img, encoded, params))
            throw std::runtime_error("cannot encode a test image as " + codec.name);
          // what rtcoinfer-imageenc sends: the image in an image frame, truth label included
          bytes[v - 1] += double(encoded.size() + ImageFrameLayout::kHeaderSize + ImageFrameLayout::kTruthBytes);
          img = cv::imdecode(encoded, cv::IMREAD_UNCHANGED);
          if (img.empty()) throw std::runtime_error("cannot decode a " + codec.name + " test image");
        }
        to_input(in, img, input.data() + plane * std::size_t(i));
      }
      const std::vector<float> logits = model.full(input.data(), n);
      if (logits.size() != classes * std::size_t(n)) throw std::runtime_error("whole model: " + model.last_error());
      for (int i = 0; i < n; ++i)
        correct[v] += argmax(logits.data() + classes * std::size_t(i), classes) == test.label(std::size_t(first + i));
    }
    bar.update(b + 1, double(codecs.size()), double(correct[0]) / double(first + n));
  }
  m.full_accuracy = 100.0 * correct[0] / m.images;
  for (std::size_t c = 0; c < codecs.size(); ++c) {
    m.offload[c].bytes = bytes[c] / m.images;
    m.offload[c].accuracy = 100.0 * correct[c + 1] / m.images;
  }

  // Per-frame times, batch 1 (what a device running one frame at a time pays).
  const int timed = std::min(m.images, 300);
  std::vector<double> head_t, full_t;
  input.assign(plane, 0.0f);
  for (int i = 0; i < timed; ++i) {
    to_input(in, to_mat(test.image(std::size_t(i))), input.data());
    auto t0 = std::chrono::steady_clock::now();
    if (model.head(input.data(), 1, 0).empty()) throw std::runtime_error("head: " + model.last_error());
    auto t1 = std::chrono::steady_clock::now();
    if (model.full(input.data(), 1).empty()) throw std::runtime_error("whole model: " + model.last_error());
    auto t2 = std::chrono::steady_clock::now();
    head_t.push_back(std::chrono::duration<double>(t1 - t0).count());
    full_t.push_back(std::chrono::duration<double>(t2 - t1).count());
  }
  m.head_s = median(head_t);
  m.full_s = median(full_t);
  return m;
}

std::vector<std::pair<Setup, double>> measure_sliced_bytes(InferenceModel &model, const LabeledImages &test, int bits,
                                                           int limit) {
  const BundleInfo &info = model.info();
  std::vector<Setup> setups, all = info.setups.all();
  std::vector<int> channels;
  for (const auto &s : all)
    if (s.bits == bits) setups.push_back(s), channels.push_back(s.channels);
  std::sort(setups.begin(), setups.end(), [](const Setup &a, const Setup &b) { return a.channels < b.channels; });
  const int n = int(limit > 0 ? std::min<std::size_t>(std::size_t(limit), test.size()) : test.size());
  std::vector<float> input(std::size_t(info.input.width) * info.input.height * info.input.channels);
  FrameEncoder encoder;
  EncodeParams params;
  params.entropy = Entropy::Auto;
  params.truth = 0;  // the datasets' frames carry their label, as in the bundle's eval table
  std::vector<std::vector<std::uint8_t>> slices;
  std::vector<std::pair<Setup, double>> out;
  for (const auto &setup : setups) {
    const auto ends = slice_ends(channels, setup.channels);
    double total = 0;
    for (int i = 0; i < n; ++i) {
      to_input(info.input, to_mat(test.image(std::size_t(i))), input.data());
      const std::vector<float> features = model.head(input.data(), 1, setup.index);
      if (features.empty()) throw std::runtime_error("head: " + model.last_error());
      const FrameStatus st = encode_slices(encoder, features.data(), info.partition_channels, info.partition_height,
                                           info.partition_width, bits, ends, params, slices);
      if (!st.ok()) throw std::runtime_error("slices of " + setup.name() + ": " + st.message);
      for (const auto &sl : slices) total += double(sl.size());
    }
    out.emplace_back(setup, total / n);
  }
  return out;
}

}  // namespace rtcoinfer::eval
