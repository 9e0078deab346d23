// Labeled image datasets for the trainer: Fashion-MNIST IDX files (gzip) and
// ImageFolder trees (<root>/<split>/<class>/*.jpg|png, decoded with OpenCV).
//
// A dataset hands out normalized float batches (N x C x H x W) for a list of indices,
// optionally augmented with a random crop from a zero-padded image and a horizontal flip.
#pragma once

#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include <torch/torch.h>

namespace rtcoinfer::train {

struct Augment {
  int pad = 0;        // random crop of the input size from the image padded by this much
  bool flip = false;  // random horizontal flip
};

struct Normalization {
  std::vector<float> mean, std;  // per input channel, applied to [0,1] pixel values
};

struct Batch {
  torch::Tensor images;  // N x C x H x W float32, normalized
  torch::Tensor labels;  // N int64
};

class Dataset {
 public:
  virtual ~Dataset() = default;
  virtual std::size_t size() const = 0;
  virtual const std::vector<std::string> &labels() const = 0;
  virtual int channels() const = 0;
  virtual int height() const = 0;
  virtual int width() const = 0;
  virtual std::int64_t label(std::size_t index) const = 0;
  // Builds a batch; `rng` drives augmentation.
  virtual Batch batch(const std::vector<std::int64_t> &indices, const Augment &augment, const Normalization &norm,
                      std::mt19937 &rng) const = 0;
};

// Loads <root>/{train,t10k}-{images-idx3,labels-idx1}-ubyte.gz; split is "train" or "test".
// `limit` > 0 keeps the first `limit` images. Throws std::runtime_error naming the file.
std::unique_ptr<Dataset> load_fashion_mnist(const std::string &root, const std::string &split, std::size_t limit = 0);

// Scans <root>/<split>/<class>/ for .jpg/.jpeg/.png; images are resized to
// height x width (channels 1 or 3) when a batch is built. Class order: sorted names.
std::unique_ptr<Dataset> load_image_folder(const std::string &root, const std::string &split, int channels, int height,
                                           int width, std::size_t limit = 0);

// Fashion-MNIST's class names, in label order.
const std::vector<std::string> &fashion_mnist_labels();

}  // namespace rtcoinfer::train
