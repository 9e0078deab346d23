// Bundle evaluation through the deployment path: head -> FrameEncoder (Entropy::Auto)
// -> FrameDecoder -> tail, per setup, on a labeled test split. Also draws the
// accuracy-vs-bytes plot.
#pragma once

#include <string>
#include <vector>

#include "bundle.h"
#include "dataset.h"

namespace rtcoinfer::train {

struct EvalRow {
  Setup setup;
  double top1 = 0;   // percent
  double bytes = 0;  // mean coded frame bytes
  long images = 0;
};

struct EvalReport {
  std::vector<EvalRow> rows;
  double seconds = 0;
  double images_per_second = 0;  // test images x setups per second, end to end
};

EvalReport evaluate_bundle(LoadedBundle &bundle, const Dataset &test, const Normalization &norm,
                           const std::vector<Setup> &setups, int batch);

// Accuracy (y) vs mean bytes (x, log scale) per setup, coloured by bit depth.
void plot_accuracy_vs_bytes(const std::vector<EvalRow> &rows, const std::string &title, const std::string &png_path);

}  // namespace rtcoinfer::train
