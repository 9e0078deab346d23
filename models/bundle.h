// Model bundle: one versioned file that carries an SW-CNN's architecture, weights,
// input spec, labels, partition layer, setup table with measured accuracy and bytes,
// training provenance, and a SHA-256 that is the model id. docs/bundle-format.md
// specifies the bytes.
//
// This header includes LibTorch; code that only runs a bundle (the GStreamer elements)
// uses inference.h instead.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "bundle/manifest.h"    // the container, the metadata schema, BundleLayout
#include "wire/content_hash.h"  // sha256_hex: the model id
#include "sw_net.h"

namespace rtcoinfer {

struct LoadedBundle {
  std::shared_ptr<SwNet> net;  // eval mode
  nlohmann::json metadata;
  std::string model_id;  // SHA-256 of the file before the hash, lowercase hex
  BundleInfo info;       // the torch-free manifest's view (gst/bundle/manifest.h)
};

// Serializes `net` (architecture, hyper-parameters and weights) plus `metadata` (input,
// labels, setup stats, training provenance; arch/partition/setups are filled in here).
std::vector<std::uint8_t> encode_bundle(SwNet &net, nlohmann::json metadata);
// Parses and validates every field; throws std::runtime_error with a one-line message.
LoadedBundle decode_bundle(const std::uint8_t *data, std::size_t size);

void write_bundle_file(const std::string &path, const std::vector<std::uint8_t> &bytes);
// Reads and decodes; errors name the file.
LoadedBundle load_bundle_file(const std::string &path);

}  // namespace rtcoinfer
