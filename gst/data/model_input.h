// The model's input from a picture, the same way wherever a frame enters the SW-CNN:
// rtcoinfer-head (a video frame) and rtcoinfer-tail (an offloaded PNG/JPEG image).
#pragma once

#include <opencv2/core.hpp>
#include <vector>

#include "bundle/manifest.h"

namespace rtcoinfer {

// `image` has the model's channel count (gray, or RGB for 3) at any size; it is resized
// to the model's (INTER_AREA when shrinking, bilinear when growing) and normalized into
// `out` (channels x height x width floats). `scratch` keeps the resize buffer between
// frames.
void fit_to_model(const cv::Mat &image, const InputSpec &in, cv::Mat &scratch, std::vector<float> &out);

}  // namespace rtcoinfer
