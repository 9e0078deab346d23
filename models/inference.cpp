#include "inference.h"

#include <torch/torch.h>

#include <fstream>
#include <iterator>

#include "bundle.h"
#include "exit_net.h"

namespace rtcoinfer {

struct InferenceModel::Impl {
  std::shared_ptr<SwNet> net;
  BundleInfo info;
  std::string error;
  int full_setup = 0;
  ExitNet exit{nullptr};
  int exit_setup = 0;  // the head's setup the exit was trained on: all channels, 16 bits
};

InferenceModel::InferenceModel() : impl_(std::make_unique<Impl>()) {}
InferenceModel::~InferenceModel() = default;

std::uint32_t frame_model_id_from_hex(const std::string &hex) {
  auto nibble = [](char c) -> std::uint32_t {
    if (c >= '0' && c <= '9') return std::uint32_t(c - '0');
    if (c >= 'a' && c <= 'f') return std::uint32_t(c - 'a' + 10);
    if (c >= 'A' && c <= 'F') return std::uint32_t(c - 'A' + 10);
    return 0;
  };
  std::uint32_t v = 0;
  for (std::size_t i = 0; i < 4 && 2 * i + 1 < hex.size(); ++i)
    v |= ((nibble(hex[2 * i]) << 4) | nibble(hex[2 * i + 1])) << (8 * i);
  return v;
}

namespace {

BundleInfo make_info(const LoadedBundle &b) {
  BundleInfo info;
  const auto &m = b.metadata;
  info.arch = b.net->arch();
  info.model_id = b.model_id;
  info.frame_model_id = frame_model_id_from_hex(b.model_id);
  const auto &in = m.at("input");
  info.input.width = b.net->input_width();
  info.input.height = b.net->input_height();
  info.input.channels = b.net->input_channels();
  info.input.mean = in.at("mean").get<std::vector<float>>();
  info.input.std = in.at("std").get<std::vector<float>>();
  info.input.resize = in.value("resize", "stretch");
  info.labels = m.at("labels").get<std::vector<std::string>>();
  const PartitionShape ps = b.net->partition();
  info.partition_channels = ps.channels;
  info.partition_height = ps.height;
  info.partition_width = ps.width;
  info.setups = b.net->setups();
  const auto &list = m.at("setups");
  for (std::size_t i = 0; i < info.setups.size(); ++i) {
    SetupStats s;
    s.setup = info.setups.at(i);
    const auto &e = list.at(i);
    if (e.contains("top1") && e["top1"].is_number()) s.top1 = e["top1"].get<double>();
    if (e.contains("bytes") && e["bytes"].is_number()) s.bytes = e["bytes"].get<double>();
    info.stats.push_back(s);
  }
  info.metadata_json = m.dump();
  return info;
}

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
    model->impl_->info = make_info(b);
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
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    if (error) *error = path + ": cannot open model bundle";
    return nullptr;
  }
  std::vector<std::uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::string why;
  auto m = load_from_memory(bytes.data(), bytes.size(), &why);
  if (!m && error) *error = path + ": " + why;
  return m;
}

const BundleInfo &InferenceModel::info() const { return impl_->info; }
const std::string &InferenceModel::last_error() const { return impl_->error; }

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
    impl_->error = std::string(e.what()).substr(0, std::string(e.what()).find('\n'));
    return {};
  }
}

std::vector<float> InferenceModel::tail(const float *features, int batch, int k, int setup_index) {
  const auto &info = impl_->info;
  try {
    TORCH_CHECK(features && batch > 0, "tail: empty batch");
    TORCH_CHECK(k >= 1 && k <= info.partition_channels, "tail: ", k, " channels, the partition has ",
                info.partition_channels);
    TORCH_CHECK(setup_index >= 0 && std::size_t(setup_index) < info.setups.size(), "tail: setup index ",
                setup_index, " outside the bundle's ", info.setups.size(), " setups");
    torch::InferenceMode guard;
    auto f = torch::from_blob(const_cast<float *>(features),
                              {batch, k, info.partition_height, info.partition_width});
    return to_vector(impl_->net->tail(f, setup_index));
  } catch (const std::exception &e) {
    impl_->error = std::string(e.what()).substr(0, std::string(e.what()).find('\n'));
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
    impl_->error = std::string(e.what()).substr(0, std::string(e.what()).find('\n'));
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
    exit->load(archive);
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
    impl_->error = std::string(e.what()).substr(0, std::string(e.what()).find('\n'));
    return {};
  }
}

}  // namespace rtcoinfer
