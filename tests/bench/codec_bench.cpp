// Codec throughput per setup, with and without zstd, against memcpy of the same tensor
// measured in the same run. Throughput counts float32 input bytes of the channels coded
// (encode) or produced (decode). Usage: codec-bench [--quick]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "wire/feature_frame.h"
#include "wire/setup_table.h"

using namespace rtcoinfer;
using Clock = std::chrono::steady_clock;

namespace {

double min_seconds = 0.05;

// Median over 3 rounds of the per-call time, each round repeating fn for min_seconds.
template <typename F>
double seconds_per_call(F &&fn) {
  std::vector<double> rounds;
  for (int r = 0; r < 3; ++r) {
    int calls = 0;
    const auto start = Clock::now();
    double elapsed = 0;
    do {
      fn();
      ++calls;
      elapsed = std::chrono::duration<double>(Clock::now() - start).count();
    } while (elapsed < min_seconds);
    rounds.push_back(elapsed / calls);
  }
  std::sort(rounds.begin(), rounds.end());
  return rounds[1];
}

std::vector<float> relu6_tensor(int c, int h, int w) {
  std::mt19937 rng(42);
  std::normal_distribution<float> d(1.0f, 2.0f);
  std::vector<float> t(std::size_t(c) * h * w);
  for (auto &v : t) v = std::min(6.0f, std::max(0.0f, d(rng)));
  return t;
}

}  // namespace

int main(int argc, char **argv) {
  bool quick = argc > 1 && std::string(argv[1]) == "--quick";
  if (quick) min_seconds = 0.005;
  const int C = 32;
  const int shapes[][2] = {{28, 28}, {112, 112}};
  const SetupTable table = SetupTable::reference(C);
  double enc8 = 0, dec8 = 0, memcpy_gbps = 0;

  std::printf("%-10s %-6s %-5s %10s %10s %10s %10s %8s\n", "tensor", "setup", "zstd", "bytes", "enc_GBps", "dec_GBps",
              "enc/memcpy", "dec/memcpy");
  for (const auto &hw : shapes) {
    const int H = hw[0], W = hw[1];
    const auto t = relu6_tensor(C, H, W);
    std::vector<float> copy(t.size());
    const double total_bytes = double(t.size()) * 4;
    const double mc = total_bytes / seconds_per_call([&] {
                        std::memcpy(copy.data(), t.data(), t.size() * 4);
                        asm volatile("" : : "r"(copy.data()) : "memory");
                      }) /
                      1e9;
    const std::string tensor = "32x" + std::to_string(H) + "x" + std::to_string(W);
    std::printf("%-10s %-6s %-5s %10.0f %10.2f %10.2f %10s %8s\n", tensor.c_str(), "memcpy", "-", total_bytes, mc, mc,
                "1.00", "1.00");
    if (H == 112) memcpy_gbps = mc;

    FrameEncoder enc;
    FrameDecoder dec;
    std::vector<std::uint8_t> frame;
    std::vector<float> values;
    FrameHeader hdr;
    for (const Setup &s : table.all()) {
      for (Entropy e : {Entropy::None, Entropy::Zstd}) {
        EncodeParams p;
        p.setup = s;
        p.entropy = e;
        const double in_bytes = double(s.channels) * H * W * 4;
        const double te = seconds_per_call([&] { enc.encode(t.data(), C, H, W, p, frame); });
        if (!enc.encode(t.data(), C, H, W, p, frame).ok()) return 1;
        const double td = seconds_per_call([&] { dec.decode(frame.data(), frame.size(), hdr, values); });
        if (!dec.decode(frame.data(), frame.size(), hdr, values).ok()) return 1;
        const double eg = in_bytes / te / 1e9, dg = in_bytes / td / 1e9;
        std::printf("%-10s %-6s %-5s %10zu %10.2f %10.2f %10.2f %8.2f\n", tensor.c_str(), s.name().c_str(),
                    e == Entropy::Zstd ? "yes" : "no", frame.size(), eg, dg, eg / mc, dg / mc);
        if (H == 112 && s.channels == 32 && s.bits == 8 && e == Entropy::None) enc8 = eg, dec8 = dg;
      }
    }
  }
  std::printf("codec-bench: encode_8bit_GBps=%.2f decode_8bit_GBps=%.2f memcpy_GBps=%.2f\n", enc8, dec8, memcpy_gbps);
  return 0;
}
