#include "model_input.h"

#include <opencv2/imgproc.hpp>

#include "data/preprocess.h"

namespace rtcoinfer {

void fit_to_model(const cv::Mat &image, const InputSpec &in, cv::Mat &scratch, std::vector<float> &out) {
  const cv::Mat *sized = &image;
  if (image.cols != in.width || image.rows != in.height) {
    const bool shrink = image.cols > in.width || image.rows > in.height;
    cv::resize(image, scratch, cv::Size(in.width, in.height), 0, 0, shrink ? cv::INTER_AREA : cv::INTER_LINEAR);
    sized = &scratch;
  }
  out.resize(std::size_t(in.width) * in.height * in.channels);
  normalize_input(in, [&](int y) { return sized->ptr<std::uint8_t>(y); }, out.data());
}

}  // namespace rtcoinfer
