// The model bundle's manifest, read without LibTorch: the container (magic, version,
// section lengths, SHA-256) and the metadata that every element and tool needs to plan
// with a bundle: architecture name, input spec, labels, partition shape, the setup
// table with each setup's measured top-1 and mean coded bytes, and the model id.
//
// This library owns the bundle's container format (docs/bundle-format.md). It depends on
// gst/wire only. models/bundle.cpp reads the weights section it locates and checks the
// metadata against the architecture; everything here is checked from the bytes alone.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "wire/setup_table.h"

namespace rtcoinfer {

struct BundleLayout {
  static constexpr char kMagic[8] = {'R', 'C', 'I', 'B', 'N', 'D', 'L', '\0'};
  static constexpr std::uint32_t kVersion = 1;
  static constexpr std::uint64_t kMaxMetadata = 16u << 20;  // bytes
  static constexpr std::uint64_t kMaxWeights = 1u << 30;
  static constexpr std::size_t kHashSize = 32;
};

struct InputSpec {
  int width = 0, height = 0, channels = 0;
  std::vector<float> mean, std;  // per channel, applied to pixel values scaled to [0,1]
  std::string resize;            // "stretch": scale the frame to width x height
};

struct SetupStats {
  Setup setup;
  double top1 = -1;   // percent on the bundle's test split; -1 when not measured
  double bytes = -1;  // mean coded feature-frame bytes; -1 when not measured
};

struct BundleInfo {
  std::string arch;
  std::string model_id;              // SHA-256 of the bundle, lowercase hex
  std::uint32_t frame_model_id = 0;  // first 4 bytes of the SHA-256 as a little-endian u32
  InputSpec input;
  std::vector<std::string> labels;
  int partition_channels = 0, partition_height = 0, partition_width = 0;
  SetupTable setups;
  std::vector<SetupStats> stats;  // one per setup, same order
  std::string metadata_json;
};

// A parsed bundle without its network: the info, the raw metadata, and where the
// weights section lies in the bytes it was parsed from.
struct BundleManifest {
  BundleInfo info;
  nlohmann::json metadata;
  std::size_t weights_offset = 0, weights_size = 0;
};

// Parses the container and the metadata schema; throws std::runtime_error with a
// one-line message. The architecture's own checks (shapes, weights) are models/'s.
BundleManifest read_manifest(const std::uint8_t *data, std::size_t size);
// Reads and parses a bundle file; errors name the file. A directory, a device or a file
// larger than the format allows is refused before reading it.
BundleManifest read_manifest_file(const std::string &path);
// The whole file, with the same refusals; for callers that go on to decode weights.
std::vector<std::uint8_t> read_bundle_bytes(const std::string &path);

// First 4 bytes of a hex SHA-256 as a little-endian u32 (the feature frame's model id).
std::uint32_t frame_model_id_from_hex(const std::string &sha256_hex);

}  // namespace rtcoinfer
