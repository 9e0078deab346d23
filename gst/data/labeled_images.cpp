#include "labeled_images.h"

#include <zlib.h>

#include <algorithm>
#include <filesystem>
#include <opencv2/imgcodecs.hpp>
#include <stdexcept>

namespace rtcoinfer {

namespace fs = std::filesystem;

const std::vector<std::string> &fashion_mnist_classes() {
  static const std::vector<std::string> names = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                                 "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};
  return names;
}

namespace {

std::vector<std::uint8_t> read_gzip(const std::string &path) {
  gzFile f = gzopen(path.c_str(), "rb");
  if (!f)
    throw std::runtime_error("cannot open " + path +
                             " (install the Debian package dataset-fashion-mnist, or set location)");
  std::vector<std::uint8_t> data;
  std::uint8_t chunk[1 << 16];
  int n;
  while ((n = gzread(f, chunk, sizeof chunk)) > 0) data.insert(data.end(), chunk, chunk + n);
  const bool failed = n < 0;
  gzclose(f);
  if (failed) throw std::runtime_error(path + ": corrupt gzip stream");
  return data;
}

std::uint32_t be32(const std::vector<std::uint8_t> &d, std::size_t off) {
  return (std::uint32_t(d[off]) << 24) | (std::uint32_t(d[off + 1]) << 16) | (std::uint32_t(d[off + 2]) << 8) |
         d[off + 3];
}

class FashionMnist : public LabeledImages {
 public:
  FashionMnist(const std::string &root, const std::string &split) {
    const std::string prefix = split == "train" ? "train" : split == "test" ? "t10k" : "";
    if (prefix.empty())
      throw std::runtime_error("Fashion-MNIST split must be \"train\" or \"test\", not \"" + split + "\"");
    const std::string ipath = root + "/" + prefix + "-images-idx3-ubyte.gz";
    const std::string lpath = root + "/" + prefix + "-labels-idx1-ubyte.gz";
    images_ = read_gzip(ipath);
    labels_ = read_gzip(lpath);
    if (images_.size() < 16 || be32(images_, 0) != 0x803) throw std::runtime_error(ipath + ": not an IDX3 image file");
    if (labels_.size() < 8 || be32(labels_, 0) != 0x801) throw std::runtime_error(lpath + ": not an IDX1 label file");
    count_ = be32(images_, 4);
    rows_ = int(be32(images_, 8));
    cols_ = int(be32(images_, 12));
    if (rows_ < 1 || cols_ < 1 || rows_ > 4096 || cols_ > 4096 ||
        images_.size() != 16 + std::size_t(count_) * rows_ * cols_)
      throw std::runtime_error(ipath + ": size does not match its IDX header");
    if (be32(labels_, 4) != count_ || labels_.size() != 8 + std::size_t(count_))
      throw std::runtime_error(lpath + ": label count does not match the images");
    for (std::size_t i = 0; i < count_; ++i)
      if (labels_[8 + i] >= fashion_mnist_classes().size())
        throw std::runtime_error(lpath + ": label out of range at index " + std::to_string(i));
  }
  std::size_t size() const override { return count_; }
  const std::vector<std::string> &classes() const override { return fashion_mnist_classes(); }
  int label(std::size_t i) const override { return labels_.at(8 + i); }
  Image image(std::size_t i) const override {
    if (i >= count_) throw std::out_of_range("image index out of range");
    Image img{cols_, rows_, 1, {}};
    const std::size_t n = std::size_t(rows_) * cols_;
    img.pixels.assign(images_.begin() + 16 + i * n, images_.begin() + 16 + (i + 1) * n);
    return img;
  }

 private:
  std::vector<std::uint8_t> images_, labels_;
  std::uint32_t count_ = 0;
  int rows_ = 0, cols_ = 0;
};

class ImageFolder : public LabeledImages {
 public:
  ImageFolder(const std::string &root, const std::string &split) {
    const fs::path dir = fs::path(root) / split;
    std::error_code ec;
    if (!fs::is_directory(dir, ec))
      throw std::runtime_error(dir.string() + " is not a directory (expected <root>/<split>/<class>/*.jpg|png)");
    for (const auto &e : fs::directory_iterator(dir))
      if (e.is_directory()) classes_.push_back(e.path().filename());
    std::sort(classes_.begin(), classes_.end());
    for (std::size_t c = 0; c < classes_.size(); ++c) {
      std::vector<std::string> files;
      for (const auto &e : fs::directory_iterator(dir / classes_[c])) {
        std::string ext = e.path().extension().string();
        std::transform(ext.begin(), ext.end(), ext.begin(), ::tolower);
        if (e.is_regular_file() && (ext == ".jpg" || ext == ".jpeg" || ext == ".png"))
          files.push_back(e.path().string());
      }
      std::sort(files.begin(), files.end());
      for (auto &f : files) items_.push_back({std::move(f), int(c)});
    }
    if (items_.empty()) throw std::runtime_error(dir.string() + " holds no .jpg/.jpeg/.png images in class folders");
  }
  std::size_t size() const override { return items_.size(); }
  const std::vector<std::string> &classes() const override { return classes_; }
  int label(std::size_t i) const override { return items_.at(i).label; }
  Image image(std::size_t i) const override {
    const std::string &path = items_.at(i).path;
    cv::Mat m = cv::imread(path, cv::IMREAD_COLOR);
    if (m.empty()) throw std::runtime_error("cannot decode image " + path);
    Image img{m.cols, m.rows, 3, {}};
    img.pixels.resize(std::size_t(m.cols) * m.rows * 3);
    for (int r = 0; r < m.rows; ++r)
      std::copy_n(m.ptr<std::uint8_t>(r), m.cols * 3, img.pixels.data() + std::size_t(r) * m.cols * 3);
    return img;
  }

 private:
  struct Item {
    std::string path;
    int label;
  };
  std::vector<std::string> classes_;
  std::vector<Item> items_;
};

}  // namespace

std::unique_ptr<LabeledImages> open_fashion_mnist(const std::string &root, const std::string &split) {
  return std::make_unique<FashionMnist>(root, split);
}

std::unique_ptr<LabeledImages> open_image_folder(const std::string &root, const std::string &split) {
  return std::make_unique<ImageFolder>(root, split);
}

}  // namespace rtcoinfer
