// One preprocessing path: the trainer's batches and the elements' input (what
// rtcoinfer-head and rtcoinfer-classify compute from a video frame, through
// gst/data/model_input.h's fit_to_model) are bit-identical for the same picture, gray
// and RGB, including a resize.
// LibTorch (dataset.h) before gst-check: Check's `fail` macro breaks LibTorch's headers.
#include "dataset.h"

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <random>

#include "data/labeled_images.h"
#include "data/model_input.h"

#include <gst/check/gstcheck.h>

#include "check_main.h"

using namespace rtcoinfer;

static bool bit_identical(const torch::Tensor &t, const std::vector<float> &v) {
  return std::size_t(t.numel()) == v.size() && std::memcmp(t.data_ptr<float>(), v.data(), v.size() * 4) == 0;
}

GST_START_TEST(test_gray_image_gives_the_same_tensor) {
  const train::Normalization norm{{0.286f}, {0.353f}};
  auto dataset = train::load_fashion_mnist(kFashionMnistRoot, "test", 3);
  std::mt19937 rng(1);
  const auto batch = dataset->batch({2}, train::Augment{}, norm, rng);
  const Image img = open_fashion_mnist(kFashionMnistRoot, "test")->image(2);
  const cv::Mat frame(img.height, img.width, CV_8UC1, const_cast<std::uint8_t *>(img.pixels.data()));
  InputSpec in{28, 28, 1, norm.mean, norm.std, "stretch"};
  cv::Mat scratch;
  std::vector<float> head;
  fit_to_model(frame, PixelOrder::Gray, in, scratch, head);
  fail_unless(bit_identical(batch.images, head), "trainer and head tensors differ for a gray image");
}
GST_END_TEST;

GST_START_TEST(test_rgb_image_gives_the_same_tensor) {
  // an ImageFolder with one 40x30 color picture; the model takes 24x24 RGB
  const std::string root = std::string(g_get_tmp_dir()) + "/rtcoinfer-prep-" + std::to_string(getpid());
  std::filesystem::create_directories(root + "/test/cat");
  std::filesystem::create_directories(root + "/test/dog");  // ImageFolder wants two classes
  cv::Mat bgr(30, 40, CV_8UC3), other(30, 40, CV_8UC3);
  cv::randu(bgr, 0, 256);
  cv::randu(other, 0, 256);
  fail_unless(cv::imwrite(root + "/test/cat/a.png", bgr));
  fail_unless(cv::imwrite(root + "/test/dog/b.png", other));
  const train::Normalization norm{{0.5f, 0.4f, 0.3f}, {0.25f, 0.2f, 0.3f}};
  auto dataset = train::load_image_folder(root, "test", 3, 24, 24);
  std::mt19937 rng(1);
  const auto batch = dataset->batch({0}, train::Augment{}, norm, rng);
  InputSpec in{24, 24, 3, norm.mean, norm.std, "stretch"};
  cv::Mat rgb, scratch;
  cv::cvtColor(cv::imread(root + "/test/cat/a.png", cv::IMREAD_COLOR), rgb, cv::COLOR_BGR2RGB);
  std::vector<float> head;  // what the head gets from videoconvert: packed RGB
  fit_to_model(rgb, PixelOrder::RGB, in, scratch, head);
  fail_unless(bit_identical(batch.images, head), "trainer and head tensors differ for an RGB image");
  std::vector<float> tools;  // the evaluation tools decode BGR with OpenCV
  fit_to_model(bgr, PixelOrder::BGR, in, scratch, tools);
  fail_unless(tools == head, "the tools' tensor differs from the head's");
  std::filesystem::remove_all(root);
}
GST_END_TEST;

static Suite *preprocessing_suite(void) {
  Suite *s = suite_create("preprocessing");
  TCase *tc = tcase_create("general");
  suite_add_tcase(s, tc);
  tcase_add_test(tc, test_gray_image_gives_the_same_tensor);
  tcase_add_test(tc, test_rgb_image_gives_the_same_tensor);
  return s;
}

RTCOINFER_CHECK_MAIN(preprocessing);
