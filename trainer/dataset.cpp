#include "dataset.h"

#include <zlib.h>

#include <algorithm>
#include <filesystem>
#include <stdexcept>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

namespace rtcoinfer::train {

namespace {

std::vector<std::uint8_t> read_gzip(const std::string &path) {
  gzFile f = gzopen(path.c_str(), "rb");
  if (!f) throw std::runtime_error("cannot open " + path);
  std::vector<std::uint8_t> data;
  std::uint8_t chunk[1 << 16];
  int n;
  while ((n = gzread(f, chunk, sizeof chunk)) > 0) data.insert(data.end(), chunk, chunk + n);
  const bool failed = n < 0;
  gzclose(f);
  if (failed) throw std::runtime_error("corrupt gzip data in " + path);
  return data;
}

std::uint32_t be32(const std::vector<std::uint8_t> &d, std::size_t at) {
  return (std::uint32_t(d[at]) << 24) | (std::uint32_t(d[at + 1]) << 16) |
         (std::uint32_t(d[at + 2]) << 8) | d[at + 3];
}

// Writes one augmented, normalized image (uint8 HWC source) into a CHW float destination.
void place_image(const std::uint8_t *src, int c, int h, int w, const Augment &aug,
                 const Normalization &norm, std::mt19937 &rng, float *dst) {
  int dy = 0, dx = 0;
  bool flip = false;
  if (aug.pad > 0) {
    std::uniform_int_distribution<int> off(-aug.pad, aug.pad);
    dy = off(rng);
    dx = off(rng);
  }
  if (aug.flip) flip = std::uniform_int_distribution<int>(0, 1)(rng) == 1;
  for (int ch = 0; ch < c; ++ch) {
    const float mean = norm.mean[ch], inv_std = 1.0f / norm.std[ch];
    const float zero = (0.0f - mean) * inv_std;
    float *plane = dst + std::size_t(ch) * h * w;
    for (int y = 0; y < h; ++y) {
      const int sy = y + dy;
      for (int x = 0; x < w; ++x) {
        int sx = x + dx;
        if (flip) sx = w - 1 - sx;
        float v = zero;
        if (sy >= 0 && sy < h && sx >= 0 && sx < w)
          v = (src[(std::size_t(sy) * w + sx) * c + ch] / 255.0f - mean) * inv_std;
        plane[y * w + x] = v;
      }
    }
  }
}

void check_norm(const Normalization &norm, int c) {
  if (norm.mean.size() != std::size_t(c) || norm.std.size() != std::size_t(c))
    throw std::invalid_argument("normalization needs " + std::to_string(c) + " mean/std values");
}

class FashionMnist : public Dataset {
 public:
  FashionMnist(std::vector<std::uint8_t> images, std::vector<std::uint8_t> labels, std::size_t n)
      : images_(std::move(images)), labels_(std::move(labels)), n_(n) {}
  std::size_t size() const override { return n_; }
  const std::vector<std::string> &labels() const override { return fashion_mnist_labels(); }
  int channels() const override { return 1; }
  int height() const override { return 28; }
  int width() const override { return 28; }
  std::int64_t label(std::size_t i) const override { return labels_.at(8 + i); }
  Batch batch(const std::vector<std::int64_t> &idx, const Augment &aug, const Normalization &norm,
              std::mt19937 &rng) const override {
    check_norm(norm, 1);
    auto images = torch::empty({std::int64_t(idx.size()), 1, 28, 28});
    auto labels = torch::empty({std::int64_t(idx.size())}, torch::kInt64);
    float *dst = images.data_ptr<float>();
    auto *lab = labels.data_ptr<std::int64_t>();
    for (std::size_t i = 0; i < idx.size(); ++i) {
      const std::size_t j = std::size_t(idx[i]);
      if (j >= n_) throw std::out_of_range("image index out of range");
      place_image(images_.data() + 16 + j * 784, 1, 28, 28, aug, norm, rng, dst + i * 784);
      lab[i] = labels_[8 + j];
    }
    return {images, labels};
  }

 private:
  std::vector<std::uint8_t> images_, labels_;  // whole IDX files, headers included
  std::size_t n_;
};

class ImageFolder : public Dataset {
 public:
  ImageFolder(std::vector<std::string> files, std::vector<std::int64_t> targets,
              std::vector<std::string> classes, int c, int h, int w)
      : files_(std::move(files)), targets_(std::move(targets)), classes_(std::move(classes)),
        c_(c), h_(h), w_(w) {}
  std::size_t size() const override { return files_.size(); }
  const std::vector<std::string> &labels() const override { return classes_; }
  int channels() const override { return c_; }
  int height() const override { return h_; }
  int width() const override { return w_; }
  std::int64_t label(std::size_t i) const override { return targets_.at(i); }
  Batch batch(const std::vector<std::int64_t> &idx, const Augment &aug, const Normalization &norm,
              std::mt19937 &rng) const override {
    check_norm(norm, c_);
    auto images = torch::empty({std::int64_t(idx.size()), c_, h_, w_});
    auto labels = torch::empty({std::int64_t(idx.size())}, torch::kInt64);
    float *dst = images.data_ptr<float>();
    const std::size_t plane = std::size_t(c_) * h_ * w_;
    for (std::size_t i = 0; i < idx.size(); ++i) {
      const std::string &path = files_.at(std::size_t(idx[i]));
      cv::Mat img = cv::imread(path, c_ == 1 ? cv::IMREAD_GRAYSCALE : cv::IMREAD_COLOR);
      if (img.empty()) throw std::runtime_error("cannot decode image " + path);
      if (c_ == 3) cv::cvtColor(img, img, cv::COLOR_BGR2RGB);
      cv::resize(img, img, cv::Size(w_, h_), 0, 0, cv::INTER_AREA);
      if (!img.isContinuous()) img = img.clone();
      place_image(img.data, c_, h_, w_, aug, norm, rng, dst + i * plane);
      labels.data_ptr<std::int64_t>()[i] = targets_[std::size_t(idx[i])];
    }
    return {images, labels};
  }

 private:
  std::vector<std::string> files_;
  std::vector<std::int64_t> targets_;
  std::vector<std::string> classes_;
  int c_, h_, w_;
};

}  // namespace

const std::vector<std::string> &fashion_mnist_labels() {
  static const std::vector<std::string> names = {"T-shirt/top", "Trouser", "Pullover", "Dress",
                                                 "Coat",        "Sandal",  "Shirt",    "Sneaker",
                                                 "Bag",         "Ankle boot"};
  return names;
}

std::unique_ptr<Dataset> load_fashion_mnist(const std::string &root, const std::string &split,
                                            std::size_t limit) {
  if (split != "train" && split != "test")
    throw std::invalid_argument("fashion-mnist split must be train or test, not " + split);
  const std::string prefix = root + "/" + (split == "train" ? "train" : "t10k");
  const std::string image_path = prefix + "-images-idx3-ubyte.gz";
  const std::string label_path = prefix + "-labels-idx1-ubyte.gz";
  auto images = read_gzip(image_path);
  auto labels = read_gzip(label_path);
  if (images.size() < 16 || be32(images, 0) != 0x803 || be32(images, 8) != 28 ||
      be32(images, 12) != 28)
    throw std::runtime_error(image_path + ": not an IDX file of 28x28 images");
  if (labels.size() < 8 || be32(labels, 0) != 0x801)
    throw std::runtime_error(label_path + ": not an IDX label file");
  const std::size_t n = be32(images, 4);
  if (be32(labels, 4) != n || images.size() != 16 + n * 784 || labels.size() != 8 + n)
    throw std::runtime_error(prefix + ": image and label counts or sizes disagree");
  for (std::size_t i = 0; i < n; ++i)
    if (labels[8 + i] >= 10) throw std::runtime_error(label_path + ": label out of range");
  const std::size_t kept = limit > 0 ? std::min(limit, n) : n;
  return std::make_unique<FashionMnist>(std::move(images), std::move(labels), kept);
}

std::unique_ptr<Dataset> load_image_folder(const std::string &root, const std::string &split,
                                           int channels, int height, int width,
                                           std::size_t limit) {
  namespace fs = std::filesystem;
  if (channels != 1 && channels != 3)
    throw std::invalid_argument("image-folder: channels must be 1 or 3");
  const fs::path dir = fs::path(root) / split;
  if (!fs::is_directory(dir)) throw std::runtime_error("image-folder: no directory " + dir.string());
  std::vector<std::string> classes;
  for (const auto &e : fs::directory_iterator(dir))
    if (e.is_directory()) classes.push_back(e.path().filename().string());
  std::sort(classes.begin(), classes.end());
  if (classes.size() < 2) throw std::runtime_error("image-folder: fewer than 2 classes in " + dir.string());
  std::vector<std::string> files;
  std::vector<std::int64_t> targets;
  for (std::size_t c = 0; c < classes.size(); ++c) {
    std::vector<std::string> found;
    for (const auto &e : fs::directory_iterator(dir / classes[c])) {
      std::string ext = e.path().extension().string();
      std::transform(ext.begin(), ext.end(), ext.begin(), ::tolower);
      if (e.is_regular_file() && (ext == ".jpg" || ext == ".jpeg" || ext == ".png"))
        found.push_back(e.path().string());
    }
    std::sort(found.begin(), found.end());
    for (auto &f : found) {
      files.push_back(std::move(f));
      targets.push_back(std::int64_t(c));
    }
  }
  if (files.empty()) throw std::runtime_error("image-folder: no images under " + dir.string());
  if (limit > 0 && files.size() > limit) {
    // Keep a class-balanced prefix: interleave by stepping through the sorted list.
    std::vector<std::string> f2;
    std::vector<std::int64_t> t2;
    const double stride = double(files.size()) / double(limit);
    for (std::size_t i = 0; i < limit; ++i) {
      const std::size_t j = std::size_t(i * stride);
      f2.push_back(files[j]);
      t2.push_back(targets[j]);
    }
    files.swap(f2);
    targets.swap(t2);
  }
  return std::make_unique<ImageFolder>(std::move(files), std::move(targets), std::move(classes),
                                       channels, height, width);
}

}  // namespace rtcoinfer::train
