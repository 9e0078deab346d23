// Feature-frame codec and setup table: round trips, bounds and hostile input.
#include <gst/check/gstcheck.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "wire/feature_frame.h"
#include "wire/half_float.h"
#include "wire/rtcp_app.h"
#include "wire/setup_table.h"

using namespace rtcoinfer;

namespace {

std::vector<float> random_tensor(int c, int h, int w, std::mt19937 &rng, bool relu6) {
  std::vector<float> t(std::size_t(c) * h * w);
  std::normal_distribution<float> normal(0.5f, 2.0f);
  std::uniform_real_distribution<float> uni(-3.0f, 3.0f);
  for (auto &v : t) {
    // ReLU6-shaped: many exact zeros, a pile at 6, the rest in between.
    v = relu6 ? std::min(6.0f, std::max(0.0f, normal(rng) * 2.0f)) : uni(rng);
  }
  return t;
}

std::vector<std::uint8_t> encode_ok(const std::vector<float> &t, int c, int h, int w, Setup s,
                                    Entropy e = Entropy::Auto, std::optional<std::uint16_t> truth = {}) {
  FrameEncoder enc;
  EncodeParams p;
  p.setup = s;
  p.entropy = e;
  p.model_id = 0xdeadbeef;
  p.seq = 4242;
  p.capture_us = 123456789u;
  p.truth = truth;
  std::vector<std::uint8_t> out;
  FrameStatus st = enc.encode(t.data(), c, h, w, p, out);
  fail_unless(st.ok(), "encode failed: %s", st.message.c_str());
  return out;
}

// Every value must lie within half a quantization step of its input. The step is the
// transmitted (binary16, outward-rounded) range over L, so the bound is
// (max - min)/(2L) plus the binary16 widening of the range over 2L plus float rounding.
void check_round_trip(const std::vector<float> &t, int c, int h, int w, const Setup &s) {
  for (Entropy e : {Entropy::None, Entropy::Zstd, Entropy::Auto}) {
    auto bytes = encode_ok(t, c, h, w, s, e);
    FrameDecoder dec;
    FrameHeader hdr;
    std::vector<float> out;
    FrameStatus st = dec.decode(bytes.data(), bytes.size(), hdr, out);
    fail_unless(st.ok(), "decode of %s failed: %s", s.name().c_str(), st.message.c_str());
    fail_unless_equals_int(hdr.channels, s.channels);
    fail_unless_equals_int(hdr.bits, s.bits);
    fail_unless_equals_int(out.size(), std::size_t(s.channels) * h * w);
    fail_unless_equals_int(hdr.model_id, 0xdeadbeef);
    fail_unless_equals_int(hdr.seq, 4242);
    const std::size_t plane = std::size_t(h) * w;
    const float L = float(s.levels());
    for (int ch = 0; ch < s.channels; ++ch) {
      const float *in = t.data() + ch * plane;
      float mn = in[0], mx = in[0];
      for (std::size_t i = 0; i < plane; ++i) mn = std::min(mn, in[i]), mx = std::max(mx, in[i]);
      const ChannelRange r = quantization_range(mn, mx);
      const float widen = (mn - r.lo) + (r.hi - mx);
      const float bound = (mx - mn) / (2 * L) + widen / (2 * L) +
                          4 * std::numeric_limits<float>::epsilon() * std::max(std::fabs(r.lo), std::fabs(r.hi));
      for (std::size_t i = 0; i < plane; ++i) {
        const float err = std::fabs(out[ch * plane + i] - in[i]);
        fail_unless(err <= bound, "setup %s ch %d: |%g - %g| = %g > %g", s.name().c_str(), ch, out[ch * plane + i],
                    in[i], err, bound);
      }
    }
  }
}

std::vector<std::uint8_t> sample_frame(Setup s = {0, 4, 4}, Entropy e = Entropy::None) {
  std::mt19937 rng(7);
  auto t = random_tensor(8, 6, 5, rng, true);
  return encode_ok(t, 8, 6, 5, s, e, std::uint16_t(3));
}

FrameError decode_error(const std::vector<std::uint8_t> &bytes) {
  FrameDecoder dec;
  FrameHeader h;
  std::vector<float> out;
  return dec.decode(bytes.data(), bytes.size(), h, out).error;
}

// Rewrites the checksum so a test reaches the check behind it.
void reseal(std::vector<std::uint8_t> &bytes) {
  const std::uint32_t c = frame_checksum(bytes.data(), bytes.size());
  for (int i = 0; i < 4; ++i) bytes[20 + i] = std::uint8_t(c >> (8 * i));
}

// (fail_unless_equals_string would keep a pointer into a destroyed temporary string)
void expect_name(const Setup &s, const char *want) {
  fail_unless(s.name() == want, "setup %s, expected %s", s.name().c_str(), want);
}

const Setup kSetups[] = {{0, 4, 4}, {0, 8, 1}, {0, 3, 2}, {0, 8, 8}, {0, 2, 16}, {0, 5, 3}};

}  // namespace

// The RCIF frame report: big-endian, 12 bytes, and nothing else decodes.
GST_START_TEST(test_frame_count_report_round_trip_and_refusals) {
  rtcoinfer::FrameCountReport r;
  r.first_seq = 0xfffe;
  r.numbered = 70000;
  r.skipped = 12;
  r.final = true;
  const std::vector<std::uint8_t> b = r.encode();
  const std::vector<std::uint8_t> want = {0xff, 0xfe, 0, 0, 0, 1, 0x11, 0x70, 0, 0, 0, 12};
  fail_unless(b == want);
  auto back = rtcoinfer::FrameCountReport::decode(r.subtype(), b.data(), b.size());
  fail_unless(back && back->first_seq == 0xfffe && back->numbered == 70000 && back->skipped == 12 && back->final);
  fail_unless(!rtcoinfer::FrameCountReport::decode(2, b.data(), b.size()));      // unknown subtype
  fail_unless(!rtcoinfer::FrameCountReport::decode(0, b.data(), b.size() - 4));  // short
  fail_unless(!rtcoinfer::FrameCountReport::decode(0, nullptr, 0));              // none
  std::vector<std::uint8_t> reserved = b;
  reserved[3] = 1;
  fail_unless(!rtcoinfer::FrameCountReport::decode(0, reserved.data(), reserved.size()));
  r.skipped = r.numbered + 1;  // more skipped than numbered
  const std::vector<std::uint8_t> bad = r.encode();
  fail_unless(!rtcoinfer::FrameCountReport::decode(0, bad.data(), bad.size()));
}
GST_END_TEST;

// The RCIA accounted report: 8 bytes, big-endian, nothing else decodes.
GST_START_TEST(test_accounted_report_round_trip_and_refusals) {
  rtcoinfer::AccountedReport r;
  r.horizon = 0x1234;
  r.accounted = 70000;
  r.server_time = rtcoinfer::AccountedReport::server_time_of(12.34);  // 124 steps of 100 µs
  r.final = true;
  const std::vector<std::uint8_t> b = r.encode();
  const std::vector<std::uint8_t> want = {0x12, 0x34, 0, 124, 0, 1, 0x11, 0x70};
  fail_unless(b == want);
  auto back = rtcoinfer::AccountedReport::decode(r.subtype(), b.data(), b.size());
  fail_unless(back && back->horizon == 0x1234 && back->accounted == 70000 && back->final);
  fail_unless(std::abs(back->server_time_ms() - 12.4) < 1e-9);
  fail_unless_equals_int(rtcoinfer::AccountedReport::server_time_of(1e9), 65535);  // saturates
  fail_unless_equals_int(rtcoinfer::AccountedReport::server_time_of(0.01), 1);     // measured: never 0
  fail_unless(!rtcoinfer::AccountedReport::decode(0, b.data(), b.size())->final);
  fail_unless(!rtcoinfer::AccountedReport::decode(2, b.data(), b.size()));      // unknown subtype
  fail_unless(!rtcoinfer::AccountedReport::decode(0, b.data(), b.size() - 1));  // short
  fail_unless(!rtcoinfer::AccountedReport::decode(0, nullptr, 0));              // none
}
GST_END_TEST;

// The RCIR result batch: 12 bytes per result, 1..64 of them, nothing else decodes.
GST_START_TEST(test_result_batch_round_trip_and_refusals) {
  std::vector<rtcoinfer::ReturnedResult> in(3);
  for (int i = 0; i < 3; ++i) in[i] = {std::uint16_t(65534 + i), std::uint16_t(i + 7), 0.25 * i, 0xfedcba98u + i};
  const std::vector<std::uint8_t> b = rtcoinfer::ResultBatch::encode(in);
  fail_unless_equals_int(b.size(), 36);
  const std::vector<std::uint8_t> first = {0xff, 0xfe, 0, 7, 0, 0, 0, 0, 0xfe, 0xdc, 0xba, 0x98};
  fail_unless(std::equal(first.begin(), first.end(), b.begin()));
  auto out = rtcoinfer::ResultBatch::decode(0, b.data(), b.size());
  fail_unless(out && out->size() == 3);
  fail_unless((*out)[1].seq == 65535 && (*out)[2].seq == 0 && (*out)[2].class_index == 9);
  fail_unless(std::abs((*out)[2].score - 0.5) < 1e-4 && (*out)[2].server_us == 0xfedcba9au);
  fail_unless(!rtcoinfer::ResultBatch::decode(1, b.data(), b.size()));      // subtype
  fail_unless(!rtcoinfer::ResultBatch::decode(0, b.data(), b.size() - 1));  // not whole entries
  fail_unless(!rtcoinfer::ResultBatch::decode(0, b.data(), 0));             // none
  std::vector<std::uint8_t> reserved = b;
  reserved[6] = 1;
  fail_unless(!rtcoinfer::ResultBatch::decode(0, reserved.data(), reserved.size()));
  std::vector<std::uint8_t> many(12 * 65, 0);  // more than a packet may carry
  fail_unless(!rtcoinfer::ResultBatch::decode(0, many.data(), many.size()));
}
GST_END_TEST;

GST_START_TEST(test_reference_table_has_50_setups_in_paper_order) {
  SetupTable t = SetupTable::reference(32);
  fail_unless_equals_int(t.size(), 50);
  const char *expect[] = {"1x16", "1x8", "1x4", "1x2", "1x1", "2x16"};
  for (int i = 0; i < 6; ++i) expect_name(t.at(i), expect[i]);
  expect_name(t.at(40), "16x16");
  expect_name(t.at(46), "32x8");
  expect_name(t.at(49), "32x1");
  for (std::size_t i = 0; i < t.size(); ++i) fail_unless_equals_int(t.at(i).index, i);
  expect_name(t.largest(), "32x16");
  expect_name(t.smallest(), "1x1");
  fail_unless_equals_int(t.at(1).levels(), 255);
  fail_unless_equals_int(t.at(0).levels(), 65535);
  fail_unless_equals_int(t.at(4).levels(), 1);
}
GST_END_TEST;

GST_START_TEST(test_reference_table_rounds_fractions_of_other_widths) {
  SetupTable t = SetupTable::reference(64);
  expect_name(t.at(0), "2x16");
  expect_name(t.at(45), "64x16");
  SetupTable small = SetupTable::reference(8);  // 8/32 = 0.25 -> rounds to at least 1 channel
  fail_unless_equals_int(small.at(0).channels, 1);
  fail_unless_equals_int(small.at(40).channels, 4);
  fail_unless(t.find(16, 8).has_value());
  fail_if(t.find(3, 8).has_value());
}
GST_END_TEST;

GST_START_TEST(test_setup_text_parses_and_rejects) {
  auto s = parse_setup("32x8");
  fail_unless(s && s->channels == 32 && s->bits == 8);
  fail_unless(parse_setup("1x1").has_value());
  for (const char *bad : {"", "32", "x8", "32x", "0x8", "32x0", "32x17", "257x8", "32x8x", "-1x8", "ax8", "32x 8"}) {
    std::string err;
    fail_if(parse_setup(bad, &err).has_value(), "accepted \"%s\"", bad);
    fail_if(err.empty());
  }
  std::string err;
  fail_if(SetupTable::reference(32).lookup("3x3", &err).has_value());
  fail_unless(err.find("not in this model") != std::string::npos, "%s", err.c_str());
}
GST_END_TEST;

GST_START_TEST(test_half_rounding_is_outward_and_tight) {
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> wide(-60000.f, 60000.f), narrow(-2.f, 2.f);
  for (int i = 0; i < 20000; ++i) {
    const float x = (i % 2) ? wide(rng) : narrow(rng);
    const float lo = half::to_float(half::round_down(x)), hi = half::to_float(half::round_up(x));
    fail_unless(lo <= x && x <= hi, "%g not in [%g, %g]", x, lo, hi);
    // tight: no binary16 strictly between lo and x, or x and hi
    fail_unless(hi - lo <= std::fabs(x) * (1.0f / 512) + 1e-7f, "%g: [%g, %g] too wide", x, lo, hi);
  }
  for (float exact : {0.0f, 1.0f, 6.0f, -0.5f, 65504.0f, -65504.0f}) {
    fail_unless_equals_float(half::to_float(half::round_down(exact)), exact);
    fail_unless_equals_float(half::to_float(half::round_up(exact)), exact);
  }
}
GST_END_TEST;

static void round_trip_all_setups(bool relu6) {
  std::mt19937 rng(relu6 ? 11 : 12);
  const int c = 32;
  const int shapes[][2] = {{14, 14}, {7, 5}};
  SetupTable table = SetupTable::reference(c);
  for (const auto &hw : shapes) {
    auto t = random_tensor(c, hw[0], hw[1], rng, relu6);
    for (const Setup &s : table.all()) check_round_trip(t, c, hw[0], hw[1], s);
  }
}

GST_START_TEST(test_round_trip_all_50_setups_random) { round_trip_all_setups(false); }
GST_END_TEST;

GST_START_TEST(test_round_trip_all_50_setups_relu6) { round_trip_all_setups(true); }
GST_END_TEST;

GST_START_TEST(test_zstd_stage_is_lossless) {
  std::mt19937 rng(3);
  auto t = random_tensor(32, 14, 14, rng, true);
  const SetupTable table = SetupTable::reference(32);
  for (const Setup &s : table.all()) {
    auto raw = encode_ok(t, 32, 14, 14, s, Entropy::None);
    auto z = encode_ok(t, 32, 14, 14, s, Entropy::Zstd);
    fail_unless(z[3] & 0x10, "zstd flag not set");
    FrameDecoder dec;
    FrameHeader h1, h2;
    std::vector<float> a, b;
    fail_unless(dec.decode(raw.data(), raw.size(), h1, a).ok());
    fail_unless(dec.decode(z.data(), z.size(), h2, b).ok());
    fail_unless(a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * 4) == 0, "zstd changed values at %s",
                s.name().c_str());
    auto best = encode_ok(t, 32, 14, 14, s, Entropy::Auto);
    fail_unless(best.size() == std::min(raw.size(), z.size()));
  }
}
GST_END_TEST;

GST_START_TEST(test_constant_channel_decodes_exactly) {
  std::vector<float> t(2 * 4 * 4, 0.0f);
  for (int i = 16; i < 32; ++i) t[i] = 6.0f;
  for (int bits : {1, 2, 8, 16}) {
    auto bytes = encode_ok(t, 2, 4, 4, Setup{0, 2, bits});
    FrameDecoder dec;
    FrameHeader h;
    std::vector<float> out;
    fail_unless(dec.decode(bytes.data(), bytes.size(), h, out).ok());
    for (int i = 0; i < 32; ++i) fail_unless_equals_float(out[i], t[i]);
  }
}
GST_END_TEST;

GST_START_TEST(test_header_overhead_is_24_plus_4_per_channel) {
  std::mt19937 rng(5);
  auto t = random_tensor(32, 14, 14, rng, false);
  const SetupTable table = SetupTable::reference(32);
  for (const Setup &s : table.all()) {
    auto bytes = encode_ok(t, 32, 14, 14, s, Entropy::None);
    fail_unless_equals_int(bytes.size(), 24 + 4 * s.channels + s.packed_bytes(14, 14));
  }
  auto with_truth = encode_ok(t, 32, 14, 14, Setup{0, 1, 1}, Entropy::None, std::uint16_t(9));
  fail_unless_equals_int(with_truth.size(), 24 + 4 + 2 + 25);
  FrameHeader h;
  fail_unless(FrameDecoder::parse_header(with_truth.data(), with_truth.size(), h).ok());
  fail_unless(h.truth && *h.truth == 9);
}
GST_END_TEST;

GST_START_TEST(test_encode_rejects_bad_input) {
  std::vector<float> t(4 * 3 * 3, 1.0f);
  FrameEncoder enc;
  std::vector<std::uint8_t> out;
  EncodeParams p;
  p.setup = Setup{0, 4, 8};
  t[5] = NAN;
  fail_unless(enc.encode(t.data(), 4, 3, 3, p, out).error == FrameError::NonFiniteInput);
  t[5] = INFINITY;
  fail_unless(enc.encode(t.data(), 4, 3, 3, p, out).error == FrameError::NonFiniteInput);
  t[5] = 1e6f;
  fail_unless(enc.encode(t.data(), 4, 3, 3, p, out).error == FrameError::InputOutOfRange);
  t[5] = 1.0f;
  p.setup = Setup{0, 5, 8};
  fail_unless(enc.encode(t.data(), 4, 3, 3, p, out).error == FrameError::BadSetup);
  p.setup = Setup{0, 4, 17};
  fail_unless(enc.encode(t.data(), 4, 3, 3, p, out).error == FrameError::BadSetup);
  p.setup = Setup{0, 4, 0};
  fail_unless(enc.encode(t.data(), 4, 3, 3, p, out).error == FrameError::BadSetup);
  p.setup = Setup{0, 1, 8};
  fail_unless(enc.encode(t.data(), 4, 0, 3, p, out).error == FrameError::BadShape);
  fail_unless(enc.encode(t.data(), 4, 3, 257, p, out).error == FrameError::BadShape);
  fail_unless(enc.encode(nullptr, 4, 3, 3, p, out).error == FrameError::BadShape);
}
GST_END_TEST;

GST_START_TEST(test_every_truncation_is_rejected) {
  for (const Setup &s : kSetups) {
    for (Entropy e : {Entropy::None, Entropy::Zstd}) {
      auto frame = sample_frame(s, e);
      for (std::size_t len = 0; len < frame.size(); ++len) {
        // a fresh allocation of exactly len bytes so ASan sees any over-read
        std::vector<std::uint8_t> cut(frame.begin(), frame.begin() + len);
        const FrameError err = decode_error(cut);
        fail_unless(err == FrameError::Truncated || err == FrameError::LengthMismatch, "length %zu of %zu: %s", len,
                    frame.size(), frame_error_name(err));
      }
      auto longer = frame;
      longer.push_back(0);
      fail_unless(decode_error(longer) == FrameError::LengthMismatch);
    }
  }
}
GST_END_TEST;

GST_START_TEST(test_random_bit_flips_are_rejected) {
  std::mt19937 rng(2026);
  int trials = 0;
  for (const Setup &s : kSetups) {
    for (Entropy e : {Entropy::None, Entropy::Zstd}) {
      const auto frame = sample_frame(s, e);
      std::uniform_int_distribution<std::size_t> pos(0, frame.size() * 8 - 1);
      std::uniform_int_distribution<int> nflips(1, 8);
      for (int i = 0; i < 9000; ++i, ++trials) {
        auto bad = frame;
        const int n = (i % 3 == 0) ? 1 : nflips(rng);
        for (int f = 0; f < n; ++f) {
          const std::size_t b = pos(rng);
          bad[b / 8] ^= std::uint8_t(1u << (b % 8));
        }
        if (bad == frame) continue;  // flips cancelled out
        const FrameError err = decode_error(bad);
        fail_if(err == FrameError::None, "flip set %d on %s went undetected", i, s.name().c_str());
      }
    }
  }
  fail_unless(trials >= 100000, "only %d trials", trials);
}
GST_END_TEST;

GST_START_TEST(test_wrong_magic_version_and_flags) {
  auto f = sample_frame();
  auto bad = f;
  bad[0] = 'X';
  fail_unless(decode_error(bad) == FrameError::BadMagic);
  bad = f;
  bad[2] = 2;
  fail_unless(decode_error(bad) == FrameError::UnsupportedVersion);
  bad[2] = 0;
  fail_unless(decode_error(bad) == FrameError::UnsupportedVersion);
  bad = f;
  bad[3] |= 0x80;
  reseal(bad);
  fail_unless(decode_error(bad) == FrameError::ReservedFlags);
  std::vector<std::uint8_t> garbage(100, 0xab);
  fail_unless(decode_error(garbage) == FrameError::BadMagic);
}
GST_END_TEST;

// CLIO-style slices: channels [first, first + k) of a frame, each slice its own frame.
static std::vector<std::uint8_t> encode_slice(const std::vector<float> &t, int c, int h, int w, Setup s, int first,
                                              bool last) {
  FrameEncoder enc;
  EncodeParams p;
  p.setup = s;
  p.seq = 77;
  p.truth = 3;
  p.slice = EncodeParams::Slice{first, last};
  std::vector<std::uint8_t> out;
  FrameStatus st = enc.encode(t.data(), c, h, w, p, out);
  fail_unless(st.ok(), "%s", st.message.c_str());
  return out;
}

GST_START_TEST(test_slices_decode_to_the_same_channels_as_a_whole_frame) {
  std::mt19937 rng(5);
  const auto t = random_tensor(32, 14, 14, rng, true);
  FrameDecoder dec;
  FrameHeader whole_hdr, hdr;
  std::vector<float> whole, part;
  const auto full = encode_ok(t, 32, 14, 14, Setup{0, 8, 4});
  fail_unless(dec.decode(full.data(), full.size(), whole_hdr, whole).ok());
  fail_unless(!whole_hdr.slice && whole_hdr.first_channel == 0);
  const auto slice = encode_slice(t, 32, 14, 14, Setup{0, 4, 4}, 4, true);
  FrameStatus st = dec.decode(slice.data(), slice.size(), hdr, part);
  fail_unless(st.ok(), "%s", st.message.c_str());
  fail_unless(hdr.slice && hdr.last_slice && hdr.first_channel == 4 && hdr.channels == 4 && hdr.bits == 4);
  fail_unless(hdr.truth && *hdr.truth == 3 && hdr.seq == 77);
  // per-channel quantization: the slice's channels are the whole frame's channels 4..7
  fail_unless(std::equal(part.begin(), part.end(), whole.begin() + 4 * 14 * 14));
  fail_unless_equals_int(slice.size(), hdr.total_size);
}
GST_END_TEST;

GST_START_TEST(test_slice_fields_are_checked) {
  std::mt19937 rng(6);
  const auto t = random_tensor(32, 14, 14, rng, true);
  // the encoder refuses a slice past the tensor's channels
  FrameEncoder enc;
  EncodeParams p;
  p.setup = Setup{0, 8, 4};
  p.slice = EncodeParams::Slice{28, false};
  std::vector<std::uint8_t> out;
  fail_unless(enc.encode(t.data(), 32, 14, 14, p, out).error == FrameError::BadSetup);
  // a slice that claims channels past 255
  auto bad = encode_slice(t, 32, 14, 14, Setup{0, 16, 4}, 16, false);
  FrameHeader hdr;
  fail_unless(FrameDecoder::parse_header(bad.data(), bad.size(), hdr).ok());
  bad[hdr.total_size - hdr.payload_length - 1] = 250;
  reseal(bad);
  fail_unless(decode_error(bad) == FrameError::BadChannelRange);
  // the last-slice flag without the slice flag
  auto plain = encode_ok(t, 32, 14, 14, Setup{0, 2, 4});
  plain[3] |= 0x80;
  reseal(plain);
  fail_unless(decode_error(plain) == FrameError::ReservedFlags);
  // a slice one byte short (its slice byte cut off) is refused
  auto cut = encode_slice(t, 32, 14, 14, Setup{0, 1, 4}, 0, false);
  cut.pop_back();
  fail_unless(decode_error(cut) != FrameError::None);
}
GST_END_TEST;

GST_START_TEST(test_payload_length_lies_are_rejected) {
  auto f = sample_frame();
  for (std::uint32_t delta : {1u, 2u, 1000u, 0xffffffu}) {
    for (int sign : {1, -1}) {
      auto bad = f;
      std::uint32_t len = bad[17] | (bad[18] << 8) | (bad[19] << 16);
      len = (len + sign * delta) & 0xffffff;
      bad[17] = std::uint8_t(len);
      bad[18] = std::uint8_t(len >> 8);
      bad[19] = std::uint8_t(len >> 16);
      reseal(bad);
      const FrameError err = decode_error(bad);
      fail_unless(err == FrameError::LengthMismatch || err == FrameError::Truncated, "%s", frame_error_name(err));
    }
  }
}
GST_END_TEST;

GST_START_TEST(test_shape_fields_at_their_maximum_are_bounded) {
  // 256 x 256 x 256 is the largest shape the u8 fields can name: 2^24 values, 32 MiB at 16
  // bits, so the product cannot overflow. A frame claiming it with a small payload is
  // refused before any allocation.
  std::vector<std::uint8_t> f(24 + 4 * 256 + 16, 0);
  f[0] = 'R';
  f[1] = 'C';
  f[2] = 1;
  f[3] = 15;  // 16 bits
  f[14] = f[15] = f[16] = 255;
  f[17] = 16;  // payload length
  reseal(f);
  fail_unless(decode_error(f) == FrameError::PayloadSizeMismatch);
  FrameDecoder limited(1 << 20);
  FrameHeader h;
  std::vector<float> out;
  fail_unless(limited.decode(f.data(), f.size(), h, out).error == FrameError::TooLarge);
  fail_unless(out.empty());
}
GST_END_TEST;

GST_START_TEST(test_forged_bodies_with_valid_checksums_are_rejected) {
  // bits field changed: raw payload no longer matches the shape
  auto f = sample_frame({0, 4, 4}, Entropy::None);
  auto bad = f;
  bad[3] = (bad[3] & 0xf0) | 7;  // 8 bits
  reseal(bad);
  fail_unless(decode_error(bad) == FrameError::PayloadSizeMismatch);
  // channel range with lo > hi, and a NaN bound
  bad = f;
  bad[24] = 0x00;
  bad[25] = 0x40;  // lo = 2.0
  bad[26] = 0x00;
  bad[27] = 0x3c;  // hi = 1.0
  reseal(bad);
  fail_unless(decode_error(bad) == FrameError::BadChannelRange);
  bad = f;
  bad[26] = 0x01;
  bad[27] = 0x7e;  // hi = NaN
  reseal(bad);
  fail_unless(decode_error(bad) == FrameError::BadChannelRange);
  // zstd body corrupted, then resealed
  auto z = sample_frame({0, 8, 8}, Entropy::Zstd);
  bad = z;
  for (std::size_t i = 24 + 32 + 2 + 4; i < bad.size(); ++i) bad[i] ^= 0x5a;
  reseal(bad);
  fail_unless(decode_error(bad) == FrameError::EntropyError);
  // zstd flag on a raw payload
  bad = f;
  bad[3] |= 0x10;
  reseal(bad);
  fail_unless(decode_error(bad) == FrameError::EntropyError);
}
GST_END_TEST;

GST_START_TEST(test_nonzero_padding_is_rejected) {
  std::vector<float> t = {0, 1, 0, 1, 0, 1, 0, 1, 0};  // 9 one-bit codes: 7 padding bits
  auto f = encode_ok(t, 1, 3, 3, Setup{0, 1, 1}, Entropy::None);
  fail_unless(decode_error(f) == FrameError::None);
  f.back() |= 0x80;
  reseal(f);
  fail_unless(decode_error(f) == FrameError::NonZeroPadding);
}
GST_END_TEST;

static Suite *codec_suite(void) {
  Suite *s = suite_create("codec");
  TCase *tc = tcase_create("general");
  tcase_set_timeout(tc, 300);
  suite_add_tcase(s, tc);
  tcase_add_test(tc, test_reference_table_has_50_setups_in_paper_order);
  tcase_add_test(tc, test_frame_count_report_round_trip_and_refusals);
  tcase_add_test(tc, test_accounted_report_round_trip_and_refusals);
  tcase_add_test(tc, test_result_batch_round_trip_and_refusals);
  tcase_add_test(tc, test_reference_table_rounds_fractions_of_other_widths);
  tcase_add_test(tc, test_setup_text_parses_and_rejects);
  tcase_add_test(tc, test_half_rounding_is_outward_and_tight);
  tcase_add_test(tc, test_round_trip_all_50_setups_random);
  tcase_add_test(tc, test_round_trip_all_50_setups_relu6);
  tcase_add_test(tc, test_zstd_stage_is_lossless);
  tcase_add_test(tc, test_constant_channel_decodes_exactly);
  tcase_add_test(tc, test_header_overhead_is_24_plus_4_per_channel);
  tcase_add_test(tc, test_encode_rejects_bad_input);
  tcase_add_test(tc, test_every_truncation_is_rejected);
  tcase_add_test(tc, test_random_bit_flips_are_rejected);
  tcase_add_test(tc, test_wrong_magic_version_and_flags);
  tcase_add_test(tc, test_payload_length_lies_are_rejected);
  tcase_add_test(tc, test_shape_fields_at_their_maximum_are_bounded);
  tcase_add_test(tc, test_forged_bodies_with_valid_checksums_are_rejected);
  tcase_add_test(tc, test_nonzero_padding_is_rejected);
  tcase_add_test(tc, test_slices_decode_to_the_same_channels_as_a_whole_frame);
  tcase_add_test(tc, test_slice_fields_are_checked);
  return s;
}

GST_CHECK_MAIN(codec);
