// LabeledImages: read-only access to a labeled image dataset, without LibTorch, for
// rtcoinfer-datasetsrc (and anything else that needs raw pixels plus ground truth).
//
// Fashion-MNIST: the IDX files (gzip) of the Debian package dataset-fashion-mnist.
// ImageFolder: <root>/<split>/<class>/*.{jpg,jpeg,png}, classes in sorted name order,
// decoded with OpenCV when an image is asked for.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace rtcoinfer {

struct Image {
  int width = 0, height = 0, channels = 0;  // channels: 1 (gray) or 3 (BGR)
  std::vector<std::uint8_t> pixels;         // row-major, interleaved, tightly packed
};

class LabeledImages {
 public:
  virtual ~LabeledImages() = default;
  virtual std::size_t size() const = 0;
  virtual const std::vector<std::string> &classes() const = 0;
  virtual int label(std::size_t index) const = 0;
  // Throws std::runtime_error naming the file when an image cannot be decoded.
  virtual Image image(std::size_t index) const = 0;
};

constexpr const char *kFashionMnistRoot = "/usr/share/datasets/fashion-mnist";

// split: "train" or "test". Throws std::runtime_error with an actionable message.
std::unique_ptr<LabeledImages> open_fashion_mnist(const std::string &root, const std::string &split);
// split: a folder under root, usually "train" or "val".
std::unique_ptr<LabeledImages> open_image_folder(const std::string &root, const std::string &split);

const std::vector<std::string> &fashion_mnist_classes();

}  // namespace rtcoinfer
