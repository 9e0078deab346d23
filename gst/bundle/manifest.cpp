#include "manifest.h"

#include <cstring>
#include <filesystem>
#include <fstream>
#include <stdexcept>

#include "wire/content_hash.h"
#include "wire/le_bytes.h"

namespace rtcoinfer {

namespace {

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

BundleInfo info_from_metadata(const nlohmann::json &m, const std::string &model_id) {
  BundleInfo info;
  if (!m.is_object() || m.value("format", "") != "rtcoinfer-bundle")
    throw std::runtime_error("metadata 'format' is not rtcoinfer-bundle");
  info.arch = m.at("arch").get<std::string>();
  info.model_id = model_id;
  info.frame_model_id = frame_model_id_from_hex(model_id);
  const auto &part = m.at("partition");
  info.partition_channels = part.at("channels").get<int>();
  info.partition_height = part.at("height").get<int>();
  info.partition_width = part.at("width").get<int>();
  if (info.partition_channels < 1 || info.partition_height < 1 || info.partition_width < 1)
    throw std::runtime_error("partition shape must be positive");
  const auto &in = m.at("input");
  info.input.width = in.at("width").get<int>();
  info.input.height = in.at("height").get<int>();
  info.input.channels = in.at("channels").get<int>();
  if (info.input.width < 1 || info.input.height < 1 || info.input.channels < 1)
    throw std::runtime_error("input spec must have a positive size and channel count");
  info.input.mean = in.at("mean").get<std::vector<float>>();
  info.input.std = in.at("std").get<std::vector<float>>();
  if (info.input.mean.size() != std::size_t(info.input.channels) ||
      info.input.std.size() != std::size_t(info.input.channels))
    throw std::runtime_error("input mean/std need one value per channel");
  for (float s : info.input.std)
    if (!(s > 0)) throw std::runtime_error("input std must be positive");
  info.input.resize = in.value("resize", "stretch");
  info.labels = m.at("labels").get<std::vector<std::string>>();
  info.setups = setups_from_metadata(m, info.partition_channels);
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

}  // namespace

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

BundleManifest read_manifest(const std::uint8_t *data, std::size_t size) {
  le::Reader r(data, size);
  if (size < 8 || std::memcmp(r.take(8, "magic"), BundleLayout::kMagic, 8) != 0)
    throw std::runtime_error("not a model bundle (bad magic)");
  const std::uint64_t version = r.uint(4, "format version");
  if (version != BundleLayout::kVersion)
    throw std::runtime_error("unsupported bundle format version " + std::to_string(version) + " (this build reads " +
                             std::to_string(BundleLayout::kVersion) + ")");
  const std::uint64_t json_len = r.uint(8, "metadata length");
  if (json_len > BundleLayout::kMaxMetadata || json_len > r.left())
    throw std::runtime_error("truncated or corrupt: metadata length " + std::to_string(json_len) + " exceeds the file");
  const std::uint8_t *json = r.take(std::size_t(json_len), "metadata");
  const std::uint64_t weights_len = r.uint(8, "weights length");
  if (weights_len > BundleLayout::kMaxWeights || weights_len > r.left())
    throw std::runtime_error("truncated or corrupt: weights length " + std::to_string(weights_len) +
                             " exceeds the file");
  BundleManifest b;
  b.weights_offset = r.offset();
  b.weights_size = std::size_t(weights_len);
  r.take(std::size_t(weights_len), "weights");
  const std::uint8_t *hash = r.take(BundleLayout::kHashSize, "SHA-256");
  if (r.left() != 0) throw std::runtime_error("trailing bytes after the SHA-256");

  const std::string model_id = sha256_hex(data, size - BundleLayout::kHashSize);
  if (hex_string(hash, BundleLayout::kHashSize) != model_id)
    throw std::runtime_error("SHA-256 mismatch: the file is corrupt");
  try {
    b.metadata = nlohmann::json::parse(json, json + json_len);
  } catch (const nlohmann::json::exception &e) {
    throw std::runtime_error(std::string("metadata is not valid JSON: ") + e.what());
  }
  try {
    b.info = info_from_metadata(b.metadata, model_id);
  } catch (const nlohmann::json::exception &e) {
    throw std::runtime_error(std::string("metadata schema: ") + e.what());
  } catch (const std::invalid_argument &e) {
    throw std::runtime_error(e.what());
  }
  return b;
}

std::vector<std::uint8_t> read_bundle_bytes(const std::string &path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const auto status = fs::status(path, ec);
  if (ec || !fs::exists(status)) throw std::runtime_error(path + ": cannot open model bundle (no such file)");
  if (!fs::is_regular_file(status))
    throw std::runtime_error(path + ": not a model bundle file (a directory or a device)");
  const std::uintmax_t size = fs::file_size(path, ec);
  constexpr std::uintmax_t kMaxFile =
      28 + BundleLayout::kMaxMetadata + BundleLayout::kMaxWeights + BundleLayout::kHashSize;
  if (ec || size > kMaxFile)
    throw std::runtime_error(path + ": " + std::to_string(size) + " bytes is larger than any model bundle (at most " +
                             std::to_string(kMaxFile) + ")");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error(path + ": cannot open model bundle");
  std::vector<std::uint8_t> bytes(static_cast<std::size_t>(size));
  in.read(reinterpret_cast<char *>(bytes.data()), std::streamsize(size));
  if (in.gcount() != std::streamsize(size)) throw std::runtime_error(path + ": read failed");
  return bytes;
}

BundleManifest read_manifest_file(const std::string &path) {
  const auto bytes = read_bundle_bytes(path);
  try {
    return read_manifest(bytes.data(), bytes.size());
  } catch (const std::exception &e) {
    std::string msg = e.what();
    throw std::runtime_error(path + ": " + msg.substr(0, msg.find('\n')));
  }
}

}  // namespace rtcoinfer
