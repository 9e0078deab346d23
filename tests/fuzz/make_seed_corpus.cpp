// Writes valid feature frames (several setups, raw and zstd, with and without a truth
// label) into a directory, as the fuzzer's seed corpus. Odd first byte = "reseal" mode.
#include <cstdio>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "wire/feature_frame.h"

int main(int argc, char **argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s OUTPUT_DIR\n", argv[0]);
    return 2;
  }
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> d(0.0f, 6.0f);
  const int c = 8, h = 7, w = 5;
  std::vector<float> t(c * h * w);
  for (auto &v : t) v = d(rng);
  rtcoinfer::FrameEncoder enc;
  int n = 0;
  for (int bits : {1, 2, 3, 4, 8, 16})
    for (int k : {1, 3, 8})
      for (auto e : {rtcoinfer::Entropy::None, rtcoinfer::Entropy::Zstd}) {
        rtcoinfer::EncodeParams p;
        p.setup = {0, k, bits};
        p.entropy = e;
        p.seq = std::uint16_t(n);
        if (n % 2) p.truth = 3;
        std::vector<std::uint8_t> out;
        if (!enc.encode(t.data(), c, h, w, p, out).ok()) return 1;
        for (int mode = 0; mode < 2; ++mode) {
          std::ofstream f(std::string(argv[1]) + "/seed-" + std::to_string(n) + "-" + std::to_string(mode),
                          std::ios::binary);
          if (mode == 1) f.put(1);  // reseal mode; the frame follows
          f.write(reinterpret_cast<const char *>(out.data()), std::streamsize(out.size()));
        }
        ++n;
      }
  std::printf("wrote %d seed frames\n", 2 * n);
  return 0;
}
