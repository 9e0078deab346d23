#include "bundle.h"

#include "wire/le_bytes.h"

#include <glib.h>

#include <cstring>
#include <fstream>
#include <algorithm>
#include <map>
#include <stdexcept>

namespace rtcoinfer {

namespace {

constexpr std::uint8_t kFloat32 = 1;
constexpr std::size_t kMaxNameLength = 256;
constexpr int kMaxRank = 8;

// Parameters and buffers in registration order, with their full dotted names.
std::vector<std::pair<std::string, torch::Tensor>> state_tensors(SwNet &net) {
  std::vector<std::pair<std::string, torch::Tensor>> out;
  for (const auto &p : net.named_parameters()) out.emplace_back(p.key(), p.value());
  for (const auto &b : net.named_buffers()) out.emplace_back(b.key(), b.value());
  return out;
}

std::vector<std::uint8_t> encode_weights(SwNet &net) {
  std::vector<std::uint8_t> o;
  const auto tensors = state_tensors(net);
  le::append(o, tensors.size(), 4);
  for (const auto &[name, t] : tensors) {
    le::append(o, name.size(), 2);
    o.insert(o.end(), name.begin(), name.end());
    o.push_back(kFloat32);
    o.push_back(std::uint8_t(t.dim()));
    for (int d = 0; d < t.dim(); ++d) le::append(o, std::uint64_t(t.size(d)), 4);
    const auto c = t.detach().to(torch::kFloat32).contiguous();
    const float *f = c.data_ptr<float>();
    for (std::int64_t i = 0; i < c.numel(); ++i) {
      std::uint32_t bits;
      std::memcpy(&bits, &f[i], 4);
      le::append(o, bits, 4);
    }
  }
  return o;
}

void decode_weights(SwNet &net, const std::uint8_t *data, std::size_t size) {
  le::Reader r(data, size);
  auto expected = state_tensors(net);
  std::map<std::string, torch::Tensor> by_name(expected.begin(), expected.end());
  const std::uint64_t count = r.uint(4, "tensor count");
  if (count != expected.size())
    throw std::runtime_error("weights hold " + std::to_string(count) + " tensors, " + net.arch() + " has " +
                             std::to_string(expected.size()));
  torch::NoGradGuard ng;
  for (std::uint64_t i = 0; i < count; ++i) {
    const std::size_t len = std::size_t(r.uint(2, "tensor name length"));
    if (len == 0 || len > kMaxNameLength) throw std::runtime_error("bad tensor name length");
    const std::uint8_t *np = r.take(len, "tensor name");
    const std::string name(reinterpret_cast<const char *>(np), len);
    auto it = by_name.find(name);
    if (it == by_name.end()) throw std::runtime_error("tensor '" + name + "' is not part of " + net.arch());
    if (r.uint(1, "tensor dtype") != kFloat32) throw std::runtime_error("tensor '" + name + "' is not float32");
    const int rank = int(r.uint(1, "tensor rank"));
    torch::Tensor &dst = it->second;
    if (rank > kMaxRank || rank != dst.dim())
      throw std::runtime_error("tensor '" + name + "' has rank " + std::to_string(rank) + ", expected " +
                               std::to_string(dst.dim()));
    for (int d = 0; d < rank; ++d) {
      const std::uint64_t extent = r.uint(4, "tensor shape");
      if (std::int64_t(extent) != dst.size(d))
        throw std::runtime_error("tensor '" + name + "' dimension " + std::to_string(d) + " is " +
                                 std::to_string(extent) + ", expected " + std::to_string(dst.size(d)));
    }
    const std::size_t bytes = std::size_t(dst.numel()) * 4;
    const std::uint8_t *src = r.take(bytes, "tensor data");
    auto host = torch::empty(dst.sizes(), torch::kFloat32);
    float *f = host.data_ptr<float>();
    for (std::int64_t k = 0; k < dst.numel(); ++k) {
      const std::uint32_t bits = std::uint32_t(src[4 * k]) | (std::uint32_t(src[4 * k + 1]) << 8) |
                                 (std::uint32_t(src[4 * k + 2]) << 16) | (std::uint32_t(src[4 * k + 3]) << 24);
      std::memcpy(&f[k], &bits, 4);
    }
    if (!torch::isfinite(host).all().item<bool>())
      throw std::runtime_error("tensor '" + name + "' holds non-finite values");
    dst.copy_(host);
    by_name.erase(it);
  }
  if (r.left() != 0) throw std::runtime_error("weights section has trailing bytes");
}

}  // namespace

std::vector<std::uint8_t> encode_bundle(SwNet &net, nlohmann::json meta) {
  meta["format"] = "rtcoinfer-bundle";
  meta["arch"] = net.arch();
  meta["hyper_params"] = net.hyper_params();
  const PartitionShape ps = net.partition();
  meta["partition"] = {{"layer", ps.layer}, {"channels", ps.channels}, {"height", ps.height}, {"width", ps.width}};
  auto setups = nlohmann::json::array();
  const auto old = meta.contains("setups") ? meta["setups"] : nlohmann::json::array();
  for (const auto &s : net.setups().all()) {
    nlohmann::json e = {{"index", s.index}, {"channels", s.channels}, {"bits", s.bits}, {"name", s.name()}};
    for (const auto &o : old)
      if (o.value("channels", -1) == s.channels && o.value("bits", -1) == s.bits) {
        if (o.contains("top1")) e["top1"] = o["top1"];
        if (o.contains("bytes")) e["bytes"] = o["bytes"];
      }
    setups.push_back(e);
  }
  meta["setups"] = setups;
  const std::string json = meta.dump(1);
  const auto weights = encode_weights(net);
  std::vector<std::uint8_t> out(BundleLayout::kMagic, BundleLayout::kMagic + 8);
  le::append(out, BundleLayout::kVersion, 4);
  le::append(out, json.size(), 8);
  out.insert(out.end(), json.begin(), json.end());
  le::append(out, weights.size(), 8);
  out.insert(out.end(), weights.begin(), weights.end());
  const auto digest = sha256_digest(out.data(), out.size());
  out.insert(out.end(), digest.begin(), digest.end());
  return out;
}

LoadedBundle decode_bundle(const std::uint8_t *data, std::size_t size) {
  BundleManifest manifest = read_manifest(data, size);  // container, hash and schema
  LoadedBundle b;
  b.model_id = manifest.info.model_id;
  b.metadata = std::move(manifest.metadata);
  b.info = std::move(manifest.info);
  const BundleInfo &info = b.info;
  try {
    const auto &m = b.metadata;
    const auto known = known_architectures();
    if (std::find(known.begin(), known.end(), info.arch) == known.end())
      throw std::runtime_error("unknown architecture '" + info.arch + "'");
    b.net = make_sw_net(info.arch, m.at("hyper_params"), info.setups);
    const PartitionShape ps = b.net->partition();
    if (ps.channels != info.partition_channels || ps.height != info.partition_height ||
        ps.width != info.partition_width)
      throw std::runtime_error("partition shape in metadata does not match " + info.arch);
    if (info.input.channels != b.net->input_channels() || info.input.height != b.net->input_height() ||
        info.input.width != b.net->input_width())
      throw std::runtime_error("input spec does not match " + info.arch);
    if (info.labels.size() != std::size_t(b.net->classes()))
      throw std::runtime_error("labels list has " + std::to_string(info.labels.size()) + " entries, model has " +
                               std::to_string(b.net->classes()) + " classes");
  } catch (const nlohmann::json::exception &e) {
    throw std::runtime_error(std::string("metadata schema: ") + e.what());
  } catch (const std::invalid_argument &e) {
    throw std::runtime_error(e.what());
  }
  decode_weights(*b.net, data + manifest.weights_offset, manifest.weights_size);
  b.net->eval();
  return b;
}

void write_bundle_file(const std::string &path, const std::vector<std::uint8_t> &bytes) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary);
    out.write(reinterpret_cast<const char *>(bytes.data()), std::streamsize(bytes.size()));
    if (!out) throw std::runtime_error("cannot write " + tmp);
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) throw std::runtime_error("cannot rename " + tmp + " to " + path);
}

LoadedBundle load_bundle_file(const std::string &path) {
  const std::vector<std::uint8_t> bytes = read_bundle_bytes(path);
  try {
    return decode_bundle(bytes.data(), bytes.size());
  } catch (const std::exception &e) {
    std::string msg = e.what();
    throw std::runtime_error(path + ": " + msg.substr(0, msg.find('\n')));
  }
}

}  // namespace rtcoinfer
