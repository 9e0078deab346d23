#include "inference.h"

#include <torch/torch.h>

#include <map>

#include "bundle.h"
#include "exit_net.h"

namespace rtcoinfer {

struct InferenceModel::Impl {
  std::shared_ptr<SwNet> net;
  BundleInfo info;
  int full_setup = 0;
  ExitNet exit{nullptr};
  int exit_setup = 0;  // the head's setup the exit was trained on: all channels, 16 bits
};

InferenceModel::InferenceModel() : impl_(std::make_unique<Impl>()) {}
InferenceModel::~InferenceModel() = default;

namespace {

// Per thread: a shared instance runs on many streaming threads at once.
thread_local std::string last_error_text;

std::vector<float> to_vector(const torch::Tensor &t) {
  const auto c = t.contiguous();
  return std::vector<float>(c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
}

}  // namespace

std::unique_ptr<InferenceModel> InferenceModel::load_from_memory(const std::uint8_t *data, std::size_t size,
                                                                 std::string *error) {
  try {
    LoadedBundle b = decode_bundle(data, size);
    std::unique_ptr<InferenceModel> model(new InferenceModel());
    model->impl_->info = b.info;
    model->impl_->net = b.net;
    model->impl_->full_setup = model->impl_->info.setups.largest().index;
    return model;
  } catch (const std::exception &e) {
    if (error) {
      std::string msg = e.what();
      *error = msg.substr(0, msg.find('\n'));
    }
    return nullptr;
  }
}

std::unique_ptr<InferenceModel> InferenceModel::load(const std::string &path, std::string *error) {
  std::vector<std::uint8_t> bytes;
  try {
    bytes = read_bundle_bytes(path);
  } catch (const std::exception &e) {
    if (error) *error = e.what();
    return nullptr;
  }
  std::string why;
  auto m = load_from_memory(bytes.data(), bytes.size(), &why);
  if (!m && error) *error = path + ": " + why;
  return m;
}

const BundleInfo &InferenceModel::info() const { return impl_->info; }
const std::string &InferenceModel::last_error() const { return last_error_text; }

void InferenceModel::set_threads(int n) {
  if (n > 0) torch::set_num_threads(n);
}

std::vector<float> InferenceModel::head(const float *nchw, int batch, int setup_index) {
  const auto &in = impl_->info.input;
  try {
    TORCH_CHECK(nchw && batch > 0, "head: empty batch");
    TORCH_CHECK(setup_index >= 0 && std::size_t(setup_index) < impl_->info.setups.size(), "head: setup index ",
                setup_index, " outside the bundle's ", impl_->info.setups.size(), " setups");
    torch::InferenceMode guard;
    auto x = torch::from_blob(const_cast<float *>(nchw), {batch, in.channels, in.height, in.width});
    return to_vector(impl_->net->head(x, setup_index));
  } catch (const std::exception &e) {
    last_error_text = std::string(e.what()).substr(0, std::string(e.what()).find('\n'));
    return {};
  }
}

// One frame runs as a batch of two (the frame twice, the second result dropped): LibTorch
// 1.13 convolves a single small input (this tail's 1 x C x 14 x 14) with its native
// kernel, 8x slower on this machine than the oneDNN kernel it takes from a batch of two
// (tests/bench/batch-bench: 8.2 ms for one frame alone, 1.1 ms for two).
static torch::Tensor pair_if_single(const torch::Tensor &x) { return x.size(0) == 1 ? torch::cat({x, x}) : x; }
static torch::Tensor first_rows(const torch::Tensor &out, int64_t n) { return n == 1 ? out.narrow(0, 0, 1) : out; }

std::vector<float> InferenceModel::tail(const float *features, int batch, int k, int setup_index) {
  const auto &info = impl_->info;
  try {
    TORCH_CHECK(features && batch > 0, "tail: empty batch");
    TORCH_CHECK(k >= 1 && k <= info.partition_channels, "tail: ", k, " channels, the partition has ",
                info.partition_channels);
    TORCH_CHECK(setup_index >= 0 && std::size_t(setup_index) < info.setups.size(), "tail: setup index ", setup_index,
                " outside the bundle's ", info.setups.size(), " setups");
    torch::InferenceMode guard;
    auto f = torch::from_blob(const_cast<float *>(features), {batch, k, info.partition_height, info.partition_width});
    return to_vector(first_rows(impl_->net->tail(pair_if_single(f), setup_index), batch));
  } catch (const std::exception &e) {
    last_error_text = std::string(e.what()).substr(0, std::string(e.what()).find('\n'));
    return {};
  }
}

std::vector<float> InferenceModel::tail_mixed(const std::vector<TailInput> &inputs) {
  const auto &info = impl_->info;
  try {
    TORCH_CHECK(!inputs.empty(), "tail_mixed: empty batch");
    const int64_t n = int64_t(inputs.size()), c = info.partition_channels,
                  plane = info.partition_height * int64_t(info.partition_width);
    torch::InferenceMode guard;
    auto f = torch::zeros({n, c, info.partition_height, info.partition_width});
    auto setup_of = torch::empty({n}, torch::kInt64);
    float *dst = f.data_ptr<float>();
    int64_t *setups = setup_of.data_ptr<int64_t>();
    for (int64_t i = 0; i < n; ++i) {
      const TailInput &in = inputs[std::size_t(i)];
      TORCH_CHECK(in.features, "tail_mixed: frame ", i, " has no features");
      TORCH_CHECK(in.setup_index >= 0 && std::size_t(in.setup_index) < info.setups.size(), "tail_mixed: setup index ",
                  in.setup_index, " outside the bundle's ", info.setups.size(), " setups");
      TORCH_CHECK(in.k == info.setups.at(std::size_t(in.setup_index)).channels, "tail_mixed: frame ", i, " has ", in.k,
                  " channels, its setup ", info.setups.at(std::size_t(in.setup_index)).channels);
      std::copy(in.features, in.features + in.k * plane, dst + i * c * plane);
      setups[i] = in.setup_index;
    }
    return to_vector(first_rows(impl_->net->tail_mixed(pair_if_single(f), pair_if_single(setup_of)), n));
  } catch (const std::exception &e) {
    last_error_text = std::string(e.what()).substr(0, std::string(e.what()).find('\n'));
    return {};
  }
}

std::vector<float> InferenceModel::full(const float *nchw, int batch) {
  const auto &in = impl_->info.input;
  try {
    TORCH_CHECK(nchw && batch > 0, "full: empty batch");
    torch::InferenceMode guard;
    auto x = torch::from_blob(const_cast<float *>(nchw), {batch, in.channels, in.height, in.width});
    return to_vector(impl_->net->forward_uncompressed(x, impl_->full_setup));
  } catch (const std::exception &e) {
    last_error_text = std::string(e.what()).substr(0, std::string(e.what()).find('\n'));
    return {};
  }
}

bool InferenceModel::load_exit(const std::string &exit_pt, std::string *error) {
  const auto &info = impl_->info;
  try {
    const auto setup = info.setups.find(info.partition_channels, 16);
    TORCH_CHECK(setup.has_value(), "the bundle has no uncompressed setup (", info.partition_channels,
                "x16) for the exit");
    ExitNet exit(info.partition_channels, int(info.labels.size()));
    torch::serialize::InputArchive archive;
    archive.load_from(exit_pt);
    // InputArchive replaces each tensor with the file's, whatever its shape: compare
    // against the shapes this bundle's exit must have before accepting it.
    std::map<std::string, std::vector<std::int64_t>> expected;
    for (const auto &p : exit->named_parameters()) expected[p.key()] = p.value().sizes().vec();
    for (const auto &b : exit->named_buffers()) expected[b.key()] = b.value().sizes().vec();
    exit->load(archive);
    for (const auto &p : exit->named_parameters())
      TORCH_CHECK(p.value().sizes().vec() == expected.at(p.key()), "exit weight ", p.key(), " has shape ",
                  p.value().sizes(), ", this bundle's exit needs ", c10::IntArrayRef(expected.at(p.key())),
                  " (trained for another partition or class count?)");
    for (const auto &b : exit->named_buffers())
      TORCH_CHECK(b.value().sizes().vec() == expected.at(b.key()), "exit buffer ", b.key(), " has shape ",
                  b.value().sizes(), ", this bundle's exit needs ", c10::IntArrayRef(expected.at(b.key())));
    exit->eval();
    impl_->exit = exit;
    impl_->exit_setup = setup->index;
    return true;
  } catch (const std::exception &e) {
    if (error) *error = exit_pt + ": " + std::string(e.what()).substr(0, std::string(e.what()).find('\n'));
    return false;
  }
}

bool InferenceModel::has_exit() const { return !impl_->exit.is_empty(); }

std::vector<float> InferenceModel::exit_logits(const float *nchw, int batch) {
  const auto &in = impl_->info.input;
  try {
    TORCH_CHECK(has_exit(), "exit_logits: no exit loaded");
    TORCH_CHECK(nchw && batch > 0, "exit_logits: empty batch");
    torch::InferenceMode guard;
    auto x = torch::from_blob(const_cast<float *>(nchw), {batch, in.channels, in.height, in.width});
    return to_vector(impl_->exit->forward(impl_->net->head(x, impl_->exit_setup)));
  } catch (const std::exception &e) {
    last_error_text = std::string(e.what()).substr(0, std::string(e.what()).find('\n'));
    return {};
  }
}

}  // namespace rtcoinfer
