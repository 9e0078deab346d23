#include "bundle.h"

#include <glib.h>

#include <cstring>
#include <fstream>
#include <iterator>
#include <map>
#include <stdexcept>

namespace rtcoinfer {

namespace {

constexpr std::uint8_t kFloat32 = 1;
constexpr std::size_t kMaxNameLength = 256;
constexpr int kMaxRank = 8;

void put_u16(std::vector<std::uint8_t> &o, std::uint16_t v) {
  for (int i = 0; i < 2; ++i) o.push_back(std::uint8_t(v >> (8 * i)));
}
void put_u32(std::vector<std::uint8_t> &o, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) o.push_back(std::uint8_t(v >> (8 * i)));
}
void put_u64(std::vector<std::uint8_t> &o, std::uint64_t v) {
  for (int i = 0; i < 8; ++i) o.push_back(std::uint8_t(v >> (8 * i)));
}

// Bounds-checked little-endian reader; every read names what it was reading.
class Reader {
 public:
  Reader(const std::uint8_t *data, std::size_t size) : p_(data), n_(size) {}
  std::size_t left() const { return n_ - at_; }
  const std::uint8_t *take(std::size_t count, const char *what) {
    if (count > left()) throw std::runtime_error(std::string("truncated: ") + what);
    const std::uint8_t *r = p_ + at_;
    at_ += count;
    return r;
  }
  std::uint64_t uint(int bytes, const char *what) {
    const std::uint8_t *b = take(std::size_t(bytes), what);
    std::uint64_t v = 0;
    for (int i = 0; i < bytes; ++i) v |= std::uint64_t(b[i]) << (8 * i);
    return v;
  }

 private:
  const std::uint8_t *p_;
  std::size_t n_, at_ = 0;
};

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
  put_u32(o, std::uint32_t(tensors.size()));
  for (const auto &[name, t] : tensors) {
    put_u16(o, std::uint16_t(name.size()));
    o.insert(o.end(), name.begin(), name.end());
    o.push_back(kFloat32);
    o.push_back(std::uint8_t(t.dim()));
    for (int d = 0; d < t.dim(); ++d) put_u32(o, std::uint32_t(t.size(d)));
    const auto c = t.detach().to(torch::kFloat32).contiguous();
    const float *f = c.data_ptr<float>();
    for (std::int64_t i = 0; i < c.numel(); ++i) {
      std::uint32_t bits;
      std::memcpy(&bits, &f[i], 4);
      put_u32(o, bits);
    }
  }
  return o;
}

void decode_weights(SwNet &net, const std::uint8_t *data, std::size_t size) {
  Reader r(data, size);
  auto expected = state_tensors(net);
  std::map<std::string, torch::Tensor> by_name(expected.begin(), expected.end());
  const std::uint64_t count = r.uint(4, "tensor count");
  if (count != expected.size())
    throw std::runtime_error("weights hold " + std::to_string(count) + " tensors, " + net.arch() +
                             " has " + std::to_string(expected.size()));
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

SetupTable setups_from_metadata(const nlohmann::json &meta, int channels) {
  const auto &list = meta.at("setups");
  if (!list.is_array() || list.empty()) throw std::runtime_error("metadata 'setups' must be a non-empty array");
  std::vector<Setup> setups;
  for (const auto &s : list) {
    Setup x;
    x.channels = s.at("channels").get<int>();
    x.bits = s.at("bits").get<int>();
    if (x.channels < 1 || x.channels > channels || x.bits < 1 || x.bits > 16)
      throw std::runtime_error("metadata setup " + std::to_string(x.channels) + "x" + std::to_string(x.bits) +
                               " is outside 1.." + std::to_string(channels) + " channels, 1..16 bits");
    setups.push_back(x);
  }
  return SetupTable::from_list(channels, setups);
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
  put_u32(out, BundleLayout::kVersion);
  put_u64(out, json.size());
  out.insert(out.end(), json.begin(), json.end());
  put_u64(out, weights.size());
  out.insert(out.end(), weights.begin(), weights.end());
  const auto digest = sha256_digest(out.data(), out.size());
  out.insert(out.end(), digest.begin(), digest.end());
  return out;
}

LoadedBundle decode_bundle(const std::uint8_t *data, std::size_t size) {
  Reader r(data, size);
  if (size < 8 || std::memcmp(r.take(8, "magic"), BundleLayout::kMagic, 8) != 0)
    throw std::runtime_error("not a model bundle (bad magic)");
  const std::uint64_t version = r.uint(4, "format version");
  if (version != BundleLayout::kVersion)
    throw std::runtime_error("unsupported bundle format version " + std::to_string(version) + " (this build reads " +
                             std::to_string(BundleLayout::kVersion) + ")");
  const std::uint64_t json_len = r.uint(8, "metadata length");
  if (json_len > BundleLayout::kMaxMetadata || json_len > r.left())
    throw std::runtime_error("truncated or corrupt: metadata length " + std::to_string(json_len) +
                             " exceeds the file");
  const std::uint8_t *json = r.take(std::size_t(json_len), "metadata");
  const std::uint64_t weights_len = r.uint(8, "weights length");
  if (weights_len > BundleLayout::kMaxWeights || weights_len > r.left())
    throw std::runtime_error("truncated or corrupt: weights length " + std::to_string(weights_len) +
                             " exceeds the file");
  const std::uint8_t *weights = r.take(std::size_t(weights_len), "weights");
  const std::uint8_t *hash = r.take(BundleLayout::kHashSize, "SHA-256");
  if (r.left() != 0) throw std::runtime_error("trailing bytes after the SHA-256");

  LoadedBundle b;
  const std::size_t hashed = size - BundleLayout::kHashSize;
  b.model_id = sha256_hex(data, hashed);
  if (hex_string(hash, BundleLayout::kHashSize) != b.model_id) throw std::runtime_error("SHA-256 mismatch: the file is corrupt");

  try {
    b.metadata = nlohmann::json::parse(json, json + json_len);
  } catch (const nlohmann::json::exception &e) {
    throw std::runtime_error(std::string("metadata is not valid JSON: ") + e.what());
  }
  try {
    const auto &m = b.metadata;
    if (!m.is_object() || m.value("format", "") != "rtcoinfer-bundle")
      throw std::runtime_error("metadata 'format' is not rtcoinfer-bundle");
    const std::string arch = m.at("arch").get<std::string>();
    const auto known = known_architectures();
    if (std::find(known.begin(), known.end(), arch) == known.end())
      throw std::runtime_error("unknown architecture '" + arch + "'");
    const auto &part = m.at("partition");
    const int channels = part.at("channels").get<int>();
    const SetupTable table = setups_from_metadata(m, channels);
    b.net = make_sw_net(arch, m.at("hyper_params"), table);
    const PartitionShape ps = b.net->partition();
    if (ps.channels != channels || ps.height != part.at("height").get<int>() ||
        ps.width != part.at("width").get<int>())
      throw std::runtime_error("partition shape in metadata does not match " + arch);
    const auto &in = m.at("input");
    if (in.at("channels").get<int>() != b.net->input_channels() ||
        in.at("height").get<int>() != b.net->input_height() || in.at("width").get<int>() != b.net->input_width())
      throw std::runtime_error("input spec does not match " + arch);
    if (in.at("mean").size() != std::size_t(b.net->input_channels()) ||
        in.at("std").size() != std::size_t(b.net->input_channels()))
      throw std::runtime_error("input mean/std need one value per channel");
    for (const auto &s : in.at("std"))
      if (!(s.get<double>() > 0)) throw std::runtime_error("input std must be positive");
    if (m.at("labels").size() != std::size_t(b.net->classes()))
      throw std::runtime_error("labels list has " + std::to_string(m.at("labels").size()) + " entries, model has " +
                               std::to_string(b.net->classes()) + " classes");
  } catch (const nlohmann::json::exception &e) {
    throw std::runtime_error(std::string("metadata schema: ") + e.what());
  } catch (const std::invalid_argument &e) {
    throw std::runtime_error(e.what());
  }
  decode_weights(*b.net, weights, std::size_t(weights_len));
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
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error(path + ": cannot open");
  std::vector<std::uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  try {
    return decode_bundle(bytes.data(), bytes.size());
  } catch (const std::exception &e) {
    std::string msg = e.what();
    throw std::runtime_error(path + ": " + msg.substr(0, msg.find('\n')));
  }
}

}  // namespace rtcoinfer
