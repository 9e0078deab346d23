#include "sw_net.h"

#include <stdexcept>

#include "compact_net.h"
#include "sw_mobilenet_v2.h"

namespace rtcoinfer {

torch::Tensor SwNet::forward(const torch::Tensor &x, int64_t setup) {
  const Setup &s = setups_.at(static_cast<std::size_t>(setup));
  auto features = head(x, setup).narrow(1, 0, s.channels);
  return tail(quantize_like_codec(features, s.levels()), setup);
}

torch::Tensor SwNet::tail_mixed(const torch::Tensor &features, const torch::Tensor &setup_of) {
  TORCH_CHECK(setup_of.dim() == 1 && setup_of.size(0) == features.size(0), "tail_mixed: one setup per sample");
  torch::Tensor out;
  const auto setups = std::get<0>(torch::_unique(setup_of));
  for (int64_t i = 0; i < setups.size(0); ++i) {
    const int64_t setup = setups[i].item<int64_t>();
    const auto rows = torch::nonzero(setup_of == setup).flatten();
    const int64_t k = setups_.at(std::size_t(setup)).channels;
    const auto logits = tail(features.index_select(0, rows).narrow(1, 0, k), setup);
    if (!out.defined()) out = torch::empty({features.size(0), logits.size(1)}, logits.options());
    out.index_copy_(0, rows, logits);
  }
  return out;
}

torch::Tensor SwNet::forward_uncompressed(const torch::Tensor &x, int64_t setup) { return tail(head(x, setup), setup); }

namespace {

// Ranges keep a corrupt or hostile bundle from asking for absurd allocations.
template <typename T>
T param(const nlohmann::json &hp, const char *key, T fallback, double lo, double hi) {
  if (!hp.contains(key)) return fallback;
  const auto &v = hp.at(key);
  if (!v.is_number()) throw std::invalid_argument(std::string("hyper-parameter '") + key + "' is not a number");
  const double d = v.get<double>();
  if (!(d >= lo && d <= hi))
    throw std::invalid_argument(std::string("hyper-parameter '") + key + "' = " + v.dump() + " is outside " +
                                nlohmann::json(lo).dump() + ".." + nlohmann::json(hi).dump());
  return v.get<T>();
}

}  // namespace

std::vector<std::string> known_architectures() { return {"sw-compact", "sw-mobilenet-v2"}; }

std::shared_ptr<SwNet> make_sw_net(const std::string &arch, const nlohmann::json &hp,
                                   const std::optional<SetupTable> &table) {
  if (!hp.is_object()) throw std::invalid_argument("hyper-parameters must be a JSON object");
  const double width = param(hp, "width", 1.0, 0.05, 4.0);
  auto setups_for = [&](int channels) { return table ? *table : SetupTable::reference(channels); };
  if (arch == "sw-compact")
    return std::make_shared<CompactSwNet>(setups_for(CompactSwNet::partition_channels_for(width)),
                                          param(hp, "classes", 10, 2, 100000), param(hp, "input_size", 28, 8, 1024),
                                          param(hp, "in_channels", 1, 1, 4), width,
                                          param(hp, "dropout", 0.1, 0.0, 0.99));
  if (arch == "sw-mobilenet-v2")
    return std::make_shared<SwMobileNetV2>(setups_for(SwMobileNetV2::partition_channels_for(width)),
                                           param(hp, "classes", 196, 2, 100000), param(hp, "input_size", 224, 32, 1024),
                                           width, param(hp, "dropout", 0.2, 0.0, 0.99));
  throw std::invalid_argument("unknown architecture '" + arch + "' (known: sw-compact, sw-mobilenet-v2)");
}

}  // namespace rtcoinfer
