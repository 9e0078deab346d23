// What the evaluation baselines cost, measured on the bundle and its test split:
//
// - image offload: each test image encoded with the codec the device would use
//   (OpenCV's libpng/libjpeg, as pngenc/jpegenc use), its mean size, and the whole
//   model's top-1 on the decoded images (what the server would compute);
// - local-only: the whole model's top-1 on the raw images and its time per frame
//   (batch 1, one thread), beside the head's time, on this machine.
#pragma once

#include <string>
#include <vector>

#include "inference.h"
#include "data/labeled_images.h"

namespace rtcoinfer::eval {

struct Codec {
  std::string name;  // "png" or "jpeg:Q"
  bool jpeg = false;
  int quality = 85;  // JPEG quality (jpegenc's default)
};

// "png", "jpeg" (quality 85) or "jpeg:Q" with Q in 1..100; throws std::runtime_error.
Codec parse_codec(const std::string &text);

struct OffloadProfile {
  Codec codec;
  double bytes = 0;     // mean encoded image bytes
  double accuracy = 0;  // whole model on the decoded images, percent
};

struct Measurements {
  int images = 0;
  double full_accuracy = 0;       // whole model on the raw images, percent
  double head_s = 0, full_s = 0;  // median per frame, batch 1, this machine
  std::vector<OffloadProfile> offload;
};

// `limit` > 0 uses the first `limit` test images. Shows a progress bar on stderr.
Measurements measure(InferenceModel &model, const LabeledImages &test, const std::vector<Codec> &codecs, int limit = 0);

// CLIO-style: for each of the bundle's `bits`-bit setups (ascending channels), the mean
// bytes of a frame at that setup as rtcoinfer-slicer sends it (progressive_slices.h:
// every slice with its own header, entropy coded on its own), over the first `limit`
// test images (0: all). The head runs at each setup's own statistics, as on the device.
std::vector<std::pair<Setup, double>> measure_sliced_bytes(InferenceModel &model, const LabeledImages &test, int bits,
                                                           int limit);

}  // namespace rtcoinfer::eval
