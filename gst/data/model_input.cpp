#include "model_input.h"

#include <opencv2/imgproc.hpp>

#include "data/preprocess.h"

namespace rtcoinfer {

namespace {

// The cvtColor code from `order` to the model's channels; -1 when none is needed.
int conversion(PixelOrder order, int channels) {
  switch (order) {
    case PixelOrder::Gray: return channels == 1 ? -1 : cv::COLOR_GRAY2RGB;
    case PixelOrder::RGB: return channels == 1 ? cv::COLOR_RGB2GRAY : -1;
    case PixelOrder::BGR: return channels == 1 ? cv::COLOR_BGR2GRAY : cv::COLOR_BGR2RGB;
    case PixelOrder::RGBA: return channels == 1 ? cv::COLOR_RGBA2GRAY : cv::COLOR_RGBA2RGB;
    case PixelOrder::BGRA: return channels == 1 ? cv::COLOR_BGRA2GRAY : cv::COLOR_BGRA2RGB;
  }
  return -1;
}

}  // namespace

void to_model_pixels(const cv::Mat &image, PixelOrder order, int channels, int width, int height, cv::Mat &scratch,
                     cv::Mat &sized) {
  const int code = conversion(order, channels);
  const cv::Mat *colored = &image;
  if (code >= 0) {
    cv::cvtColor(image, scratch, code);
    colored = &scratch;
  }
  if (colored->cols != width || colored->rows != height) {
    const bool shrink = colored->cols > width || colored->rows > height;
    cv::resize(*colored, sized, cv::Size(width, height), 0, 0, shrink ? cv::INTER_AREA : cv::INTER_LINEAR);
  } else {
    colored->copyTo(sized);
  }
  if (!sized.isContinuous()) sized = sized.clone();
}

void fit_to_model(const cv::Mat &image, PixelOrder order, const InputSpec &in, cv::Mat &scratch,
                  std::vector<float> &out) {
  cv::Mat sized;
  to_model_pixels(image, order, in.channels, in.width, in.height, scratch, sized);
  out.resize(std::size_t(in.width) * in.height * in.channels);
  normalize_input(
      in, [&](int y) { return sized.ptr<std::uint8_t>(y); }, out.data());
}

}  // namespace rtcoinfer
