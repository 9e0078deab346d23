// Model bundle: round trip through the file format and InferenceModel, and one-line
// errors (never a crash) for truncated, bit-flipped, wrong-architecture and
// wrong-shape files.
#include <torch/torch.h>

#include <cstring>
#include <vector>

#include "bundle.h"
#include "inference.h"
#include "check_main.h"

using namespace rtcoinfer;

namespace {

nlohmann::json compact_metadata() {
  return {
      {"input",
       {{"width", 28}, {"height", 28}, {"channels", 1}, {"mean", {0.286}}, {"std", {0.353}}, {"resize", "stretch"}}},
      {"labels", {"a", "b", "c", "d", "e", "f", "g", "h", "i", "j"}}};
}

std::vector<std::uint8_t> compact_bundle(double width = 1.0) {
  torch::manual_seed(3);
  auto net = make_sw_net("sw-compact", {{"classes", 10}, {"width", width}});
  return encode_bundle(*net, compact_metadata());
}

// Recomputes the trailing SHA-256 so a test can reach the checks behind it.
void rehash(std::vector<std::uint8_t> &b) {
  b.resize(b.size() - 32);
  const std::string hex = sha256_hex(b.data(), b.size());
  for (std::size_t i = 0; i < 32; ++i) b.push_back(std::uint8_t(std::stoi(hex.substr(2 * i, 2), nullptr, 16)));
}

// Replaces the JSON metadata, keeping the weights, and rehashes.
std::vector<std::uint8_t> with_metadata(const std::vector<std::uint8_t> &b, const nlohmann::json &meta) {
  auto u64 = [&](std::size_t at) {
    std::uint64_t v = 0;
    for (int i = 0; i < 8; ++i) v |= std::uint64_t(b[at + i]) << (8 * i);
    return v;
  };
  const std::size_t json_len = std::size_t(u64(12));
  const std::size_t weights_at = 20 + json_len;
  const std::size_t weights_len = std::size_t(u64(weights_at));
  const std::string json = meta.dump();
  std::vector<std::uint8_t> out(b.begin(), b.begin() + 12);
  for (int i = 0; i < 8; ++i) out.push_back(std::uint8_t(std::uint64_t(json.size()) >> (8 * i)));
  out.insert(out.end(), json.begin(), json.end());
  out.insert(out.end(), b.begin() + long(weights_at), b.begin() + long(weights_at + 8 + weights_len));
  out.resize(out.size() + 32);
  rehash(out);
  return out;
}

nlohmann::json metadata_of(const std::vector<std::uint8_t> &b) { return decode_bundle(b.data(), b.size()).metadata; }

std::string load_error(const std::vector<std::uint8_t> &b) {
  std::string err;
  auto m = InferenceModel::load_from_memory(b.data(), b.size(), &err);
  fail_unless(m == nullptr);
  fail_unless(!err.empty());
  fail_unless(err.find('\n') == std::string::npos, "not one line: %s", err.c_str());
  return err;
}

bool contains(const std::string &s, const char *what) { return s.find(what) != std::string::npos; }

}  // namespace

GST_START_TEST(test_bundle_round_trip_keeps_outputs_and_id) {
  torch::manual_seed(5);
  auto net = make_sw_net("sw-compact", {{"classes", 10}});
  net->eval();
  const auto bytes = encode_bundle(*net, compact_metadata());
  const LoadedBundle b = decode_bundle(bytes.data(), bytes.size());
  const std::string hash = sha256_hex(bytes.data(), bytes.size() - 32);
  fail_unless_equals_string(b.model_id.c_str(), hash.c_str());
  fail_unless_equals_uint64(b.model_id.size(), 64);
  torch::NoGradGuard ng;
  auto x = torch::randn({2, 1, 28, 28});
  fail_unless(torch::equal(net->forward(x, 7), b.net->forward(x, 7)));
  // Deterministic bytes: the same network encodes to the same file.
  fail_unless(encode_bundle(*net, compact_metadata()) == bytes);
}
GST_END_TEST;

GST_START_TEST(test_inference_model_matches_network) {
  torch::manual_seed(5);
  auto net = make_sw_net("sw-compact", {{"classes", 10}});
  net->eval();
  const auto bytes = encode_bundle(*net, compact_metadata());
  std::string err;
  auto model = InferenceModel::load_from_memory(bytes.data(), bytes.size(), &err);
  fail_unless(model != nullptr);
  const BundleInfo &info = model->info();
  fail_unless_equals_string(info.arch.c_str(), "sw-compact");
  fail_unless_equals_int(info.partition_channels, 32);
  fail_unless_equals_int(info.partition_height, 14);
  fail_unless_equals_uint64(info.setups.size(), 50);
  fail_unless_equals_uint64(info.labels.size(), 10);
  fail_unless_equals_int(info.input.width, 28);
  fail_unless_equals_uint64(info.frame_model_id, frame_model_id_from_hex(info.model_id));
  fail_unless(info.stats[0].top1 < 0);  // not measured yet

  torch::NoGradGuard ng;
  auto x = torch::randn({2, 1, 28, 28});
  const Setup s = *info.setups.lookup("8x4");
  const auto head = model->head(x.data_ptr<float>(), 2, s.index);
  fail_unless(
      (torch::equal(torch::from_blob(const_cast<float *>(head.data()), {2, 32, 14, 14}), net->head(x, s.index))));
  auto feats = net->head(x, s.index).narrow(1, 0, s.channels).contiguous();
  const auto logits = model->tail(feats.data_ptr<float>(), 2, s.channels, s.index);
  fail_unless((torch::equal(torch::from_blob(const_cast<float *>(logits.data()), {2, 10}), net->tail(feats, s.index))));
  const auto full = model->full(x.data_ptr<float>(), 2);
  fail_unless_equals_uint64(full.size(), 20);
  // Bad arguments are errors, not exceptions.
  fail_unless(model->head(x.data_ptr<float>(), 2, 50).empty());
  fail_unless(contains(model->last_error(), "setup index"));
  fail_unless(model->tail(feats.data_ptr<float>(), 2, 33, 0).empty());
}
GST_END_TEST;

GST_START_TEST(test_truncated_bundle_is_one_line_error) {
  const auto bytes = compact_bundle();
  for (std::size_t len : {std::size_t(0), std::size_t(5), std::size_t(8), std::size_t(13), std::size_t(25),
                          bytes.size() / 3, bytes.size() / 2, bytes.size() - 33, bytes.size() - 1}) {
    std::vector<std::uint8_t> t(bytes.begin(), bytes.begin() + long(len));
    const std::string err = load_error(t);
    fail_unless(contains(err, "truncated") || contains(err, "magic") || contains(err, "exceeds"));
  }
}
GST_END_TEST;

GST_START_TEST(test_bit_flipped_bundle_is_one_line_error) {
  const auto bytes = compact_bundle();
  for (std::size_t at :
       {std::size_t(2), std::size_t(9), std::size_t(100), bytes.size() / 2, bytes.size() - 40, bytes.size() - 1}) {
    auto f = bytes;
    f[at] ^= 0x10;
    const std::string err = load_error(f);
    fail_unless(contains(err, "SHA-256") || contains(err, "magic") || contains(err, "version") ||
                contains(err, "exceeds"));
  }
}
GST_END_TEST;

GST_START_TEST(test_wrong_architecture_bundle_is_one_line_error) {
  const auto bytes = compact_bundle();
  auto meta = metadata_of(bytes);
  meta["arch"] = "sw-mobilenet-v2";
  meta["hyper_params"] = {{"classes", 10}, {"input_size", 28 * 8}};
  std::string err = load_error(with_metadata(bytes, meta));
  fail_unless(contains(err, "tensor") || contains(err, "input spec") || contains(err, "partition"));
  meta["arch"] = "resnet-50";
  err = load_error(with_metadata(bytes, meta));
  fail_unless(contains(err, "unknown architecture"));
}
GST_END_TEST;

GST_START_TEST(test_wrong_shape_weights_are_one_line_error) {
  // Weights of a half-width network under metadata that claims full width.
  const auto half = compact_bundle(0.5);
  auto meta = metadata_of(compact_bundle(1.0));
  const std::string err = load_error(with_metadata(half, meta));
  fail_unless(contains(err, "tensor") || contains(err, "dimension"));
}
GST_END_TEST;

GST_START_TEST(test_bad_metadata_is_one_line_error) {
  const auto bytes = compact_bundle();
  auto meta = metadata_of(bytes);
  meta.erase("labels");
  fail_unless(contains(load_error(with_metadata(bytes, meta)), "labels"));
  meta = metadata_of(bytes);
  meta["labels"] = {"only", "three", "labels"};
  fail_unless(contains(load_error(with_metadata(bytes, meta)), "labels"));
  meta = metadata_of(bytes);
  meta["setups"][3]["channels"] = 99;
  fail_unless(contains(load_error(with_metadata(bytes, meta)), "outside"));
  meta = metadata_of(bytes);
  meta["hyper_params"]["width"] = 1e9;
  load_error(with_metadata(bytes, meta));
}
GST_END_TEST;

GST_START_TEST(test_missing_file_is_one_line_error) {
  std::string err;
  fail_unless(InferenceModel::load("/nonexistent/model.rcib", &err) == nullptr);
  fail_unless(contains(err, "/nonexistent/model.rcib"));
}
GST_END_TEST;

static Suite *bundle_suite(void) {
  Suite *s = suite_create("bundle");
  TCase *tc = tcase_create("general");
  tcase_set_timeout(tc, 300);
  suite_add_tcase(s, tc);
  tcase_add_test(tc, test_bundle_round_trip_keeps_outputs_and_id);
  tcase_add_test(tc, test_inference_model_matches_network);
  tcase_add_test(tc, test_truncated_bundle_is_one_line_error);
  tcase_add_test(tc, test_bit_flipped_bundle_is_one_line_error);
  tcase_add_test(tc, test_wrong_architecture_bundle_is_one_line_error);
  tcase_add_test(tc, test_wrong_shape_weights_are_one_line_error);
  tcase_add_test(tc, test_bad_metadata_is_one_line_error);
  tcase_add_test(tc, test_missing_file_is_one_line_error);
  return s;
}

RTCOINFER_CHECK_MAIN(bundle)
