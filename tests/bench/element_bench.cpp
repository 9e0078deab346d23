// Per-frame cost of the head and tail elements against plain LibTorch on the same
// model and inputs, measured in the same run (docs/benchmarks.md).
//
//   tail element / plain tail forward        (goal <= 1.10)
//   head element + compress / whole model    (why split at all)
//
// Usage: element-bench MODEL [FRAMES]
#include <gst/check/gstharness.h>
#include <gst/gst.h>
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "bundle.h"
#include "wire/feature_frame.h"
#include "bench_median.h"
#include "inference.h"
#include "data/labeled_images.h"
#include "contract/rtcoinfer_meta.h"

using namespace rtcoinfer;
using Clock = std::chrono::steady_clock;

int main(int argc, char **argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s MODEL [FRAMES]\n", argv[0]);
    return 2;
  }
  gst_init(&argc, &argv);
  const std::string model = argv[1];
  const int frames = argc > 2 ? std::atoi(argv[2]) : 500;
  torch::set_num_threads(1);
  LoadedBundle bundle = load_bundle_file(model);
  SwNet &net = *bundle.net;
  net.eval();
  torch::NoGradGuard no_grad;
  const PartitionShape ps = net.partition();
  const SetupTable &setups = net.setups();
  auto data = open_fashion_mnist(kFashionMnistRoot, "test");
  const float mean = 0.2860f, std_ = 0.3530f;  // only for the plain-LibTorch inputs
  std::printf("model %s (%s), partition %dx%dx%d, %d frames, 1 thread\n", model.c_str(), net.arch().c_str(),
              ps.channels, ps.height, ps.width, frames);

  // ---- tail: element vs plain forward, per setup
  for (const char *name : {"32x8", "1x1"}) {
    const Setup s = *setups.lookup(name);
    FrameEncoder enc;
    FrameDecoder dec;
    std::vector<GstBuffer *> coded;
    std::vector<torch::Tensor> dequantized;
    for (int i = 0; i < frames; ++i) {
      const Image img = data->image(i % data->size());
      torch::Tensor x = torch::from_blob(const_cast<uint8_t *>(img.pixels.data()), {1, 1, 28, 28}, torch::kUInt8)
                            .to(torch::kFloat32)
                            .div(255)
                            .sub(mean)
                            .div(std_);
      torch::Tensor f = net.head(x, s.index).contiguous();
      EncodeParams p;
      p.setup = s;
      p.model_id = 0;  // patched below to the bundle's id
      std::vector<uint8_t> bytes;
      enc.encode(f.data_ptr<float>(), ps.channels, ps.height, ps.width, p, bytes);
      FrameHeader h;
      std::vector<float> values;
      dec.decode(bytes.data(), bytes.size(), h, values);
      dequantized.push_back(torch::from_blob(values.data(), {1, s.channels, ps.height, ps.width}).clone());
      // re-encode with the right model id so the element accepts it
      p.model_id = frame_model_id_from_hex(bundle.model_id);
      enc.encode(f.data_ptr<float>(), ps.channels, ps.height, ps.width, p, bytes);
      coded.push_back(gst_buffer_new_memdup(bytes.data(), bytes.size()));
    }
    std::vector<double> plain, element;
    for (int i = 0; i < frames; ++i) {
      const auto t0 = Clock::now();
      torch::Tensor logits = net.tail(dequantized[i], s.index);
      (void)logits.argmax().item<int64_t>();
      plain.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
    }
    gchar *desc = g_strdup_printf("rtcoinfer-tail model=%s threads=1", model.c_str());
    GstHarness *h = gst_harness_new_parse(desc);
    g_free(desc);
    gst_harness_set_src_caps_str(h, RTCOINFER_FRAME_CAPS_NAME);
    for (int i = 0; i < frames; ++i) {
      const auto t0 = Clock::now();
      gst_harness_push(h, coded[i]);
      GstBuffer *out = gst_harness_pull(h);
      element.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
      gst_buffer_unref(out);
    }
    gst_harness_teardown(h);
    std::printf("tail %-5s plain LibTorch forward %.3f ms, rtcoinfer-tail element %.3f ms, ratio %.2f\n", name,
                median(plain), median(element), median(element) / median(plain));
  }

  // ---- head + compress vs the whole model on the device
  {
    const Setup s = *setups.lookup("32x8");
    std::vector<double> whole, split;
    for (int i = 0; i < frames; ++i) {
      const Image img = data->image(i % data->size());
      torch::Tensor x = torch::from_blob(const_cast<uint8_t *>(img.pixels.data()), {1, 1, 28, 28}, torch::kUInt8)
                            .to(torch::kFloat32)
                            .div(255)
                            .sub(mean)
                            .div(std_);
      const auto t0 = Clock::now();
      (void)net.forward_uncompressed(x, s.index).argmax().item<int64_t>();
      whole.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
    }
    gchar *desc = g_strdup_printf("rtcoinfer-head model=%s threads=1 setup=32x8 ! rtcoinfer-compress", model.c_str());
    GstHarness *h = gst_harness_new_parse(desc);
    g_free(desc);
    gst_harness_set_src_caps_str(h, "video/x-raw,format=GRAY8,width=28,height=28,framerate=30/1");
    for (int i = 0; i < frames; ++i) {
      const Image img = data->image(i % data->size());
      GstBuffer *in = gst_buffer_new_memdup(img.pixels.data(), img.pixels.size());
      const auto t0 = Clock::now();
      gst_harness_push(h, in);
      GstBuffer *out = gst_harness_pull(h);
      split.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
      gst_buffer_unref(out);
    }
    gst_harness_teardown(h);
    std::printf("device: whole model %.3f ms, head+compress elements %.3f ms, ratio %.2f\n", median(whole),
                median(split), median(split) / median(whole));
  }
  return 0;
}
