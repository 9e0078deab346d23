// The one way a picture becomes a model's input, for every place a frame enters an
// SW-CNN: the elements (a video frame, an offloaded image), the trainer (a dataset image)
// and the evaluation tools. Steps: convert to the model's channels (gray, or RGB for
// three), resize to its size (INTER_AREA when shrinking, bilinear when growing), then
// normalize per channel (preprocess.h) into CHW floats.
#pragma once

#include <opencv2/core.hpp>
#include <vector>

#include "bundle/manifest.h"

namespace rtcoinfer {

// The channel order of the 8-bit image handed in.
enum class PixelOrder { Gray, RGB, BGR, RGBA, BGRA };

// `image` in `order` at any size -> `sized`: `channels` (1: gray, 3: RGB) 8-bit channels,
// width x height, continuous. `scratch` keeps a buffer between calls.
void to_model_pixels(const cv::Mat &image, PixelOrder order, int channels, int width, int height, cv::Mat &scratch,
                     cv::Mat &sized);

// to_model_pixels at `in`'s size and channels, then normalized into `out`
// (in.channels x in.height x in.width floats).
void fit_to_model(const cv::Mat &image, PixelOrder order, const InputSpec &in, cv::Mat &scratch,
                  std::vector<float> &out);

}  // namespace rtcoinfer
