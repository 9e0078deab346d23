// Image frames (the image-offload baseline's wire format): round trips and hostile input.
// OpenCV first: Check's `fail` macro would break its headers.
#include <opencv2/imgcodecs.hpp>

#include <gst/check/gstcheck.h>

#include <tuple>
#include <vector>

#include "wire/image_frame.h"

using namespace rtcoinfer;

namespace {

std::vector<std::uint8_t> encoded_image(ImageCodec codec, int w, int h, int channels) {
  cv::Mat img(h, w, channels == 1 ? CV_8UC1 : CV_8UC3);
  cv::randu(img, 0, 255);
  std::vector<std::uint8_t> out;
  fail_unless(cv::imencode(codec == ImageCodec::Png ? ".png" : ".jpg", img, out));
  return out;
}

std::vector<std::uint8_t> frame_of(ImageCodec codec, const std::vector<std::uint8_t> &image, int w, int h, int channels,
                                   std::optional<std::uint16_t> truth = 7) {
  ImageFrameParams p;
  p.codec = codec;
  p.seq = 65535;
  p.capture_us = 0xfedcba98u;
  p.truth = truth;
  p.width = w;
  p.height = h;
  p.channels = channels;
  std::vector<std::uint8_t> out;
  FrameStatus st = encode_image_frame(p, image.data(), image.size(), out);
  fail_unless(st.ok(), "%s", st.message.c_str());
  return out;
}

FrameError parse_error(const std::vector<std::uint8_t> &frame, std::size_t max_pixels = 4096 * 4096) {
  ImageFrameHeader h;
  return parse_image_frame(frame.data(), frame.size(), h, max_pixels).error;
}

// A PNG that is only a signature and an IHDR declaring w x h gray: what a decompression
// bomb looks like before its (tiny, highly compressible) data.
std::vector<std::uint8_t> png_header_only(std::uint32_t w, std::uint32_t h) {
  std::vector<std::uint8_t> b = {0x89, 'P', 'N', 'G', 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 'I', 'H', 'D', 'R'};
  for (std::uint32_t v : {w, h})
    for (int s = 24; s >= 0; s -= 8) b.push_back(std::uint8_t(v >> s));
  for (std::uint8_t v : {8, 0, 0, 0, 0, 0, 0, 0, 0}) b.push_back(v);  // depth, gray, methods, CRC
  return b;
}

}  // namespace

GST_START_TEST(test_png_frame_round_trips) {
  const auto png = encoded_image(ImageCodec::Png, 28, 28, 1);
  const auto frame = frame_of(ImageCodec::Png, png, 28, 28, 1);
  fail_unless_equals_int(frame.size(), ImageFrameLayout::kHeaderSize + 2 + png.size());
  ImageFrameHeader h;
  FrameStatus st = parse_image_frame(frame.data(), frame.size(), h);
  fail_unless(st.ok(), "%s", st.message.c_str());
  fail_unless(h.codec == ImageCodec::Png && h.seq == 65535 && h.capture_us == 0xfedcba98u);
  fail_unless(h.truth && *h.truth == 7);
  fail_unless(h.width == 28 && h.height == 28 && h.channels == 1);
  fail_unless(std::equal(png.begin(), png.end(), frame.begin() + long(h.payload_offset)));
}
GST_END_TEST;

GST_START_TEST(test_jpeg_color_frame_without_truth_round_trips) {
  const auto jpg = encoded_image(ImageCodec::Jpeg, 640, 480, 3);
  const auto frame = frame_of(ImageCodec::Jpeg, jpg, 640, 480, 3, std::nullopt);
  ImageFrameHeader h;
  FrameStatus st = parse_image_frame(frame.data(), frame.size(), h);
  fail_unless(st.ok(), "%s", st.message.c_str());
  fail_unless(h.codec == ImageCodec::Jpeg && !h.truth && h.width == 640 && h.height == 480 && h.channels == 3);
  fail_unless_equals_int(h.payload_offset, ImageFrameLayout::kHeaderSize);
}
GST_END_TEST;

GST_START_TEST(test_truncated_and_padded_frames_are_refused) {
  const auto frame = frame_of(ImageCodec::Png, encoded_image(ImageCodec::Png, 28, 28, 1), 28, 28, 1);
  for (std::size_t n : {std::size_t(0), std::size_t(5), ImageFrameLayout::kHeaderSize - 1}) {
    std::vector<std::uint8_t> cut(frame.begin(), frame.begin() + long(n));
    fail_unless(parse_error(cut) == FrameError::Truncated, "%zu bytes", n);
  }
  std::vector<std::uint8_t> cut(frame.begin(), frame.end() - 1), longer = frame;
  longer.push_back(0);
  fail_unless(parse_error(cut) == FrameError::LengthMismatch);
  fail_unless(parse_error(longer) == FrameError::LengthMismatch);
}
GST_END_TEST;

GST_START_TEST(test_every_flipped_byte_is_caught) {
  const auto frame = frame_of(ImageCodec::Png, encoded_image(ImageCodec::Png, 28, 28, 1), 28, 28, 1);
  for (std::size_t i = 0; i < frame.size(); ++i) {
    auto bad = frame;
    bad[i] ^= 0x40;
    const FrameError e = parse_error(bad);
    fail_unless(e != FrameError::None, "flipping byte %zu went unnoticed", i);
  }
}
GST_END_TEST;

GST_START_TEST(test_wrong_magic_version_and_flags_are_refused) {
  const auto frame = frame_of(ImageCodec::Png, encoded_image(ImageCodec::Png, 8, 8, 1), 8, 8, 1);
  auto bad = frame;
  bad[1] = 'C';  // a feature frame's magic
  fail_unless(parse_error(bad) == FrameError::BadMagic);
  bad = frame;
  bad[2] = 2;
  fail_unless(parse_error(bad) == FrameError::UnsupportedVersion);
  for (std::uint8_t flags : {0x02, 0x03, 0x04, 0x40, 0x80}) {
    bad = frame;
    bad[3] = std::uint8_t(bad[3] | flags);
    fail_unless(parse_error(bad) == FrameError::ReservedFlags, "flags %02x", flags);
  }
}
GST_END_TEST;

GST_START_TEST(test_header_disagreeing_with_the_image_is_refused) {
  // the frame says 28x28, the PNG inside says 4000x4000: refused before any decoding
  const auto frame = frame_of(ImageCodec::Png, png_header_only(4000, 4000), 28, 28, 1);
  fail_unless(parse_error(frame) == FrameError::BadShape);
  // gray declared, color image inside
  fail_unless(parse_error(frame_of(ImageCodec::Png, encoded_image(ImageCodec::Png, 8, 8, 3), 8, 8, 1)) ==
              FrameError::BadShape);
  // JPEG bytes labeled PNG
  fail_unless(parse_error(frame_of(ImageCodec::Png, encoded_image(ImageCodec::Jpeg, 8, 8, 1), 8, 8, 1)) ==
              FrameError::BadShape);
  // not an image at all
  fail_unless(parse_error(frame_of(ImageCodec::Jpeg, std::vector<std::uint8_t>(100, 0xff), 8, 8, 1)) ==
              FrameError::BadShape);
}
GST_END_TEST;

GST_START_TEST(test_oversized_images_are_refused_before_decoding) {
  const auto frame = frame_of(ImageCodec::Png, png_header_only(10000, 10000), 10000, 10000, 1);
  fail_unless(parse_error(frame) == FrameError::TooLarge);
  fail_unless(parse_error(frame, std::size_t(10000) * 10000) == FrameError::None);
}
GST_END_TEST;

GST_START_TEST(test_encoder_refuses_impossible_shapes) {
  std::vector<std::uint8_t> out;
  const std::vector<std::uint8_t> img(10, 0);
  for (auto [w, h, c] :
       {std::tuple{0, 8, 1}, std::tuple{8, 0, 1}, std::tuple{20000, 8, 1}, std::tuple{8, 8, 2}, std::tuple{8, 8, 4}}) {
    ImageFrameParams p;
    p.width = w;
    p.height = h;
    p.channels = c;
    fail_unless(encode_image_frame(p, img.data(), img.size(), out).error == FrameError::BadShape, "%dx%dx%d", w, h, c);
  }
}
GST_END_TEST;

GST_START_TEST(test_jpeg_sniffer_needs_a_frame_header_before_the_scan) {
  const auto jpg = encoded_image(ImageCodec::Jpeg, 33, 17, 1);
  auto size = sniff_image_size(ImageCodec::Jpeg, jpg.data(), jpg.size());
  fail_unless(size && size->width == 33 && size->height == 17 && size->channels == 1);
  // SOI then straight to SOS: no frame header
  const std::vector<std::uint8_t> sos = {0xff, 0xd8, 0xff, 0xda, 0x00, 0x08, 1, 1, 0, 0, 63, 0};
  fail_unless(!sniff_image_size(ImageCodec::Jpeg, sos.data(), sos.size()));
  // a segment whose length runs past the end
  const std::vector<std::uint8_t> runaway = {0xff, 0xd8, 0xff, 0xe0, 0x7f, 0xff, 0, 0};
  fail_unless(!sniff_image_size(ImageCodec::Jpeg, runaway.data(), runaway.size()));
  // every prefix of a real JPEG either sniffs right or not at all
  for (std::size_t n = 0; n < 200 && n < jpg.size(); ++n) {
    auto s = sniff_image_size(ImageCodec::Jpeg, jpg.data(), n);
    fail_unless(!s || (s->width == 33 && s->height == 17), "prefix %zu", n);
  }
}
GST_END_TEST;

static Suite *image_frame_suite(void) {
  Suite *s = suite_create("image-frame");
  TCase *tc = tcase_create("general");
  suite_add_tcase(s, tc);
  tcase_add_test(tc, test_png_frame_round_trips);
  tcase_add_test(tc, test_jpeg_color_frame_without_truth_round_trips);
  tcase_add_test(tc, test_truncated_and_padded_frames_are_refused);
  tcase_add_test(tc, test_every_flipped_byte_is_caught);
  tcase_add_test(tc, test_wrong_magic_version_and_flags_are_refused);
  tcase_add_test(tc, test_header_disagreeing_with_the_image_is_refused);
  tcase_add_test(tc, test_oversized_images_are_refused_before_decoding);
  tcase_add_test(tc, test_encoder_refuses_impossible_shapes);
  tcase_add_test(tc, test_jpeg_sniffer_needs_a_frame_header_before_the_scan);
  return s;
}

GST_CHECK_MAIN(image_frame);
