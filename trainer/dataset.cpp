#include "dataset.h"

#include <algorithm>
#include <stdexcept>

#include <opencv2/imgproc.hpp>

#include "data/labeled_images.h"
#include "data/model_input.h"
#include "data/preprocess.h"

namespace rtcoinfer::train {

namespace {

// Writes one augmented, normalized image (uint8 HWC source) into a CHW float destination.
void place_image(const std::uint8_t *src, int c, int h, int w, const Augment &aug, const Normalization &norm,
                 std::mt19937 &rng, float *dst) {
  int dy = 0, dx = 0;
  bool flip = false;
  if (aug.pad > 0) {
    std::uniform_int_distribution<int> off(-aug.pad, aug.pad);
    dy = off(rng);
    dx = off(rng);
  }
  if (aug.flip) flip = std::uniform_int_distribution<int>(0, 1)(rng) == 1;
  for (int ch = 0; ch < c; ++ch) {
    const ChannelNorm cn = channel_norm(norm.mean[ch], norm.std[ch]);
    const float zero = cn(0);
    float *plane = dst + std::size_t(ch) * h * w;
    for (int y = 0; y < h; ++y) {
      const int sy = y + dy;
      for (int x = 0; x < w; ++x) {
        int sx = x + dx;
        if (flip) sx = w - 1 - sx;
        float v = zero;
        if (sy >= 0 && sy < h && sx >= 0 && sx < w) v = cn(src[(std::size_t(sy) * w + sx) * c + ch]);
        plane[y * w + x] = v;
      }
    }
  }
}

void check_norm(const Normalization &norm, int c) {
  if (norm.mean.size() != std::size_t(c) || norm.std.size() != std::size_t(c))
    throw std::invalid_argument("normalization needs " + std::to_string(c) + " mean/std values");
}

// A torch-side view of a LabeledImages dataset (gst/labeled_images: the same reader
// rtcoinfer-datasetsrc uses), with a subset of indices, converted to c x h x w.
class LabeledDataset : public Dataset {
 public:
  LabeledDataset(std::unique_ptr<LabeledImages> data, std::vector<std::size_t> keep, int c, int h, int w)
      : data_(std::move(data)), keep_(std::move(keep)), c_(c), h_(h), w_(w) {}
  std::size_t size() const override { return keep_.size(); }
  const std::vector<std::string> &labels() const override { return data_->classes(); }
  int channels() const override { return c_; }
  int height() const override { return h_; }
  int width() const override { return w_; }
  std::int64_t label(std::size_t i) const override { return data_->label(keep_.at(i)); }
  Batch batch(const std::vector<std::int64_t> &idx, const Augment &aug, const Normalization &norm,
              std::mt19937 &rng) const override {
    check_norm(norm, c_);
    auto images = torch::empty({std::int64_t(idx.size()), c_, h_, w_});
    auto labels = torch::empty({std::int64_t(idx.size())}, torch::kInt64);
    float *dst = images.data_ptr<float>();
    const std::size_t plane = std::size_t(c_) * h_ * w_;
    for (std::size_t i = 0; i < idx.size(); ++i) {
      const std::size_t j = keep_.at(std::size_t(idx[i]));
      const Image img = data_->image(j);
      const cv::Mat m(img.height, img.width, img.channels == 1 ? CV_8UC1 : CV_8UC3,
                      const_cast<std::uint8_t *>(img.pixels.data()));
      // LabeledImages hands out gray or BGR; the one preprocessing path makes them the
      // model's channels and size, as the elements do
      cv::Mat scratch, sized;
      to_model_pixels(m, img.channels == 1 ? PixelOrder::Gray : PixelOrder::BGR, c_, w_, h_, scratch, sized);
      place_image(sized.data, c_, h_, w_, aug, norm, rng, dst + i * plane);
      labels.data_ptr<std::int64_t>()[i] = data_->label(j);
    }
    return {images, labels};
  }

 private:
  std::unique_ptr<LabeledImages> data_;
  std::vector<std::size_t> keep_;
  int c_, h_, w_;
};

// The first `limit` indices (all when 0), or for class folders a class-balanced subset:
// every (n/limit)-th of the class-sorted list.
std::vector<std::size_t> subset(std::size_t n, std::size_t limit, bool spread) {
  std::vector<std::size_t> keep;
  const std::size_t kept = limit > 0 ? std::min(limit, n) : n;
  const double stride = spread ? double(n) / double(kept) : 1.0;
  for (std::size_t i = 0; i < kept; ++i) keep.push_back(std::size_t(double(i) * stride));
  return keep;
}

}  // namespace

const std::vector<std::string> &fashion_mnist_labels() { return fashion_mnist_classes(); }

std::unique_ptr<Dataset> load_fashion_mnist(const std::string &root, const std::string &split, std::size_t limit) {
  auto data = open_fashion_mnist(root, split);
  auto keep = subset(data->size(), limit, false);
  return std::make_unique<LabeledDataset>(std::move(data), std::move(keep), 1, 28, 28);
}

std::unique_ptr<Dataset> load_image_folder(const std::string &root, const std::string &split, int channels, int height,
                                           int width, std::size_t limit) {
  if (channels != 1 && channels != 3) throw std::invalid_argument("image-folder: channels must be 1 or 3");
  auto data = open_image_folder(root, split);
  if (data->classes().size() < 2)
    throw std::runtime_error("image-folder: fewer than 2 classes in " + root + "/" + split);
  auto keep = subset(data->size(), limit, true);
  return std::make_unique<LabeledDataset>(std::move(data), std::move(keep), channels, height, width);
}

}  // namespace rtcoinfer::train
