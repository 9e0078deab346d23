// Model-side behaviour: the training quantizer equals the codec, switchable BatchNorm
// and receiving conv semantics, and the head/tail shapes of both architectures.
#include <torch/torch.h>

#include <cstring>
#include <vector>

#include "compact_net.h"
#include "wire/feature_frame.h"
#include "sw_layers.h"
#include "sw_mobilenet_v2.h"
#include "check_main.h"

using namespace rtcoinfer;

namespace {

// Partition-like features: per-sample, per-channel scales, some constant channels,
// negative values and a ReLU6-clipped range, so every quantizer branch runs.
torch::Tensor sample_features(int n, int c, int h, int w, int seed) {
  torch::manual_seed(seed);
  auto x = torch::randn({n, c, h, w}) * torch::rand({n, c, 1, 1}) * 4 + torch::randn({n, c, 1, 1});
  x.index_put_({0, 0}, 1.25f);          // constant channel: hi == lo
  x.index_put_({n - 1, c - 1}, 0.0f);   // all-zero channel
  x.select(0, n / 2).clamp_(0.0, 6.0);  // ReLU6 output
  return x;
}

}  // namespace

GST_START_TEST(test_quantizer_matches_codec_decode) {
  const int n = 4, c = 32, h = 14, w = 14;
  const auto x = sample_features(n, c, h, w, 7).contiguous();
  FrameEncoder enc;
  FrameDecoder dec;
  std::vector<std::uint8_t> frame;
  std::vector<float> decoded;
  long compared = 0;
  for (int bits : {16, 8, 4, 2, 1}) {
    for (int k : {1, 3, 8, 16, 32}) {
      Setup s;
      s.channels = k;
      s.bits = bits;
      const auto q = quantize_like_codec(x.narrow(1, 0, k).contiguous(), s.levels()).contiguous();
      for (int i = 0; i < n; ++i) {
        EncodeParams p;
        p.setup = s;
        p.entropy = Entropy::Auto;
        const auto st = enc.encode(x.data_ptr<float>() + std::size_t(i) * c * h * w, c, h, w, p, frame);
        fail_unless(st.ok());
        FrameHeader hdr;
        fail_unless(dec.decode(frame.data(), frame.size(), hdr, decoded).ok());
        fail_unless_equals_uint64(decoded.size(), std::size_t(k) * h * w);
        const float *qp = q.data_ptr<float>() + std::size_t(i) * k * h * w;
        // Bit-exact: training sees exactly what the tail receives.
        for (std::size_t j = 0; j < decoded.size(); ++j)
          if (std::memcmp(&qp[j], &decoded[j], sizeof(float)) != 0) {
            std::ostringstream os;
            os.precision(9);
            os << "setup " << s.name() << " sample " << i << " value " << j << ": torch " << qp[j] << " codec "
               << decoded[j] << " input " << x[i][int(j / (h * w))].flatten()[int(j % (h * w))].item<float>();
            fail("%s", os.str().c_str());
          }
        compared += long(decoded.size());
      }
    }
  }
  fail_unless(compared > 0);
}
GST_END_TEST;

GST_START_TEST(test_quantizer_changes_values_at_low_bits) {
  const auto x = sample_features(2, 8, 6, 6, 3);
  const auto q1 = quantize_like_codec(x, 1);
  // One level: at most two distinct values per channel.
  for (int c = 1; c < 8; ++c) fail_unless(std::get<0>(at::_unique(q1[1][c])).numel() <= 2);
  fail_unless(!torch::equal(q1, x));
}
GST_END_TEST;

GST_START_TEST(test_quantizer_gradient_is_straight_through) {
  auto x = sample_features(2, 4, 5, 5, 11).requires_grad_(true);
  auto w = torch::randn({2, 4, 5, 5});
  (quantize_like_codec(x, 3) * w).sum().backward();
  fail_unless(torch::equal(x.grad(), w));
}
GST_END_TEST;

GST_START_TEST(test_switchable_batchnorm_updates_only_its_setup) {
  SwitchableBatchNorm2d bn(8, 5);
  bn->train();
  auto x = torch::randn({16, 8, 4, 4}) * 3 + 2;
  const auto before = bn->running_mean.clone();
  bn->forward(x, 2);
  fail_unless(!torch::equal(bn->running_mean[2], before[2]));
  for (int s : {0, 1, 3, 4}) fail_unless(torch::equal(bn->running_mean[s], before[s]));
  // Fewer channels: only the first k entries of the setup's statistics move.
  const auto mid = bn->running_mean.clone();
  bn->forward(x.narrow(1, 0, 3), 4);
  fail_unless(!torch::equal(bn->running_mean[4].narrow(0, 0, 3), mid[4].narrow(0, 0, 3)));
  fail_unless(torch::equal(bn->running_mean[4].narrow(0, 3, 5), mid[4].narrow(0, 3, 5)));
}
GST_END_TEST;

GST_START_TEST(test_switchable_batchnorm_shares_affine_weights) {
  SwitchableBatchNorm2d bn(4, 3);
  bn->eval();
  {
    torch::NoGradGuard ng;
    bn->weight.fill_(2);
    bn->bias.fill_(1);
  }
  auto x = torch::zeros({1, 4, 2, 2});
  for (int s = 0; s < 3; ++s) fail_unless((torch::allclose(bn->forward(x, s), torch::ones({1, 4, 2, 2}))));
}
GST_END_TEST;

GST_START_TEST(test_switchable_batchnorm_rejects_bad_setup) {
  SwitchableBatchNorm2d bn(4, 3);
  bool threw = false;
  try {
    bn->forward(torch::zeros({1, 4, 2, 2}), 3);
  } catch (const c10::Error &) {
    threw = true;
  }
  fail_unless(threw);
}
GST_END_TEST;

GST_START_TEST(test_receiving_conv_uses_first_k_input_filters) {
  ReceivingConv2d conv(8, 4, 3, 1);
  auto x = torch::randn({2, 8, 6, 6});
  for (int k : {1, 5, 8}) {
    auto y = conv->forward(x.narrow(1, 0, k));
    auto ref = torch::conv2d(x.narrow(1, 0, k), conv->weight.narrow(1, 0, k), {}, 1, 1);
    fail_unless(torch::equal(y, ref));
    fail_unless((y.sizes().vec() == std::vector<int64_t>{2, 4, 6, 6}));
  }
}
GST_END_TEST;

GST_START_TEST(test_compact_net_head_and_tail_shapes) {
  auto net = make_sw_net("sw-compact", {{"classes", 10}});
  net->eval();
  torch::NoGradGuard ng;
  auto x = torch::randn({3, 1, 28, 28});
  const auto &setups = net->setups();
  fail_unless_equals_uint64(setups.size(), 50);
  for (const auto &s : setups.all()) {
    auto f = net->head(x, s.index);
    fail_unless((f.sizes().vec() == std::vector<int64_t>{3, 32, 14, 14}));
    auto y = net->tail(f.narrow(1, 0, s.channels), s.index);
    fail_unless((y.sizes().vec() == std::vector<int64_t>{3, 10}));
    fail_unless((net->forward(x, s.index).sizes().vec() == std::vector<int64_t>{3, 10}));
  }
  const auto p = net->partition();
  fail_unless_equals_int(p.channels, 32);
  fail_unless_equals_int(p.height, 14);
}
GST_END_TEST;

GST_START_TEST(test_mobilenet_v2_head_and_tail_shapes) {
  auto net = make_sw_net("sw-mobilenet-v2", {{"classes", 196}});
  net->eval();
  torch::NoGradGuard ng;
  auto x = torch::randn({1, 3, 224, 224});
  const auto &setups = net->setups();
  fail_unless_equals_uint64(setups.size(), 50);
  const auto f = net->head(x, 0);
  fail_unless((f.sizes().vec() == std::vector<int64_t>{1, 32, 112, 112}));
  for (const char *name : {"32x16", "16x8", "1x1"}) {
    const auto s = *setups.lookup(name);
    auto y = net->tail(net->head(x, s.index).narrow(1, 0, s.channels), s.index);
    fail_unless((y.sizes().vec() == std::vector<int64_t>{1, 196}));
  }
  // The receiving block's full conv accepts all 32 channels (groups = 1).
  fail_unless((net->receiving_weight().sizes().vec() == std::vector<int64_t>{32, 32, 3, 3}));
  const auto p = net->partition();
  fail_unless_equals_int(p.channels, 32);
  fail_unless_equals_int(p.height, 112);
  fail_unless_equals_int(p.width, 112);
}
GST_END_TEST;

GST_START_TEST(test_mobilenet_v2_trains_one_step) {
  auto net = make_sw_net("sw-mobilenet-v2", {{"classes", 5}, {"input_size", 64}});
  net->train();
  torch::optim::SGD opt(net->parameters(), 0.01);
  auto x = torch::randn({4, 3, 64, 64});
  auto loss =
      torch::cross_entropy_loss(net->forward(x, net->setups().lookup("4x2")->index), torch::tensor({0, 1, 2, 3}));
  loss.backward();
  fail_unless(net->receiving_weight().grad().defined());
  fail_unless(net->receiving_weight().grad().abs().sum().item<double>() > 0);
  opt.step();
}
GST_END_TEST;

GST_START_TEST(test_unknown_architecture_is_rejected) {
  bool threw = false;
  try {
    make_sw_net("resnet-50", nlohmann::json::object());
  } catch (const std::invalid_argument &e) {
    threw = std::string(e.what()).find("resnet-50") != std::string::npos;
  }
  fail_unless(threw);
}
GST_END_TEST;

static Suite *models_suite(void) {
  Suite *s = suite_create("models");
  TCase *tc = tcase_create("general");
  tcase_set_timeout(tc, 300);
  suite_add_tcase(s, tc);
  tcase_add_test(tc, test_quantizer_matches_codec_decode);
  tcase_add_test(tc, test_quantizer_changes_values_at_low_bits);
  tcase_add_test(tc, test_quantizer_gradient_is_straight_through);
  tcase_add_test(tc, test_switchable_batchnorm_updates_only_its_setup);
  tcase_add_test(tc, test_switchable_batchnorm_shares_affine_weights);
  tcase_add_test(tc, test_switchable_batchnorm_rejects_bad_setup);
  tcase_add_test(tc, test_receiving_conv_uses_first_k_input_filters);
  tcase_add_test(tc, test_compact_net_head_and_tail_shapes);
  tcase_add_test(tc, test_mobilenet_v2_head_and_tail_shapes);
  tcase_add_test(tc, test_mobilenet_v2_trains_one_step);
  tcase_add_test(tc, test_unknown_architecture_is_rejected);
  return s;
}

RTCOINFER_CHECK_MAIN(models)
