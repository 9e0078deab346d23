#include "sw_layers.h"

#include <cmath>

#include "wire/feature_frame.h"

namespace rtcoinfer {

SwitchableBatchNorm2dImpl::SwitchableBatchNorm2dImpl(int64_t channels_, int64_t setups_, double momentum_, double eps_)
    : channels(channels_), setups(setups_), momentum(momentum_), eps(eps_) {
  weight = register_parameter("weight", torch::ones({channels}));
  bias = register_parameter("bias", torch::zeros({channels}));
  running_mean = register_buffer("running_mean", torch::zeros({setups, channels}));
  running_var = register_buffer("running_var", torch::ones({setups, channels}));
}

torch::Tensor SwitchableBatchNorm2dImpl::forward(const torch::Tensor &x, int64_t setup) {
  const int64_t c = x.size(1);
  TORCH_CHECK(c >= 1 && c <= channels, "SwitchableBatchNorm2d: ", c, " channels, at most ", channels);
  TORCH_CHECK(setup >= 0 && setup < setups, "SwitchableBatchNorm2d: setup ", setup, " outside 0..", setups - 1);
  // Row views of the [setups, channels] buffers: batch_norm updates them in place.
  auto mean = running_mean.select(0, setup).narrow(0, 0, c);
  auto var = running_var.select(0, setup).narrow(0, 0, c);
  return torch::batch_norm(x, weight.narrow(0, 0, c), bias.narrow(0, 0, c), mean, var, is_training(), momentum, eps,
                           /*cudnn_enabled=*/false);
}

torch::Tensor SwitchableBatchNorm2dImpl::forward_mixed(const torch::Tensor &x, const torch::Tensor &setup_of) {
  TORCH_CHECK(!is_training(), "SwitchableBatchNorm2d: mixed setups are for inference");
  TORCH_CHECK(x.dim() == 4 && x.size(1) == channels, "SwitchableBatchNorm2d: mixed setups need all ", channels,
              " channels");
  TORCH_CHECK(setup_of.dim() == 1 && setup_of.size(0) == x.size(0), "SwitchableBatchNorm2d: one setup per sample");
  TORCH_CHECK(setup_of.min().item<int64_t>() >= 0 && setup_of.max().item<int64_t>() < setups,
              "SwitchableBatchNorm2d: a setup outside 0..", setups - 1);
  const auto mean = running_mean.index_select(0, setup_of), var = running_var.index_select(0, setup_of);
  const auto alpha = weight.unsqueeze(0) / torch::sqrt(var + eps);  // N x channels
  const auto beta = bias.unsqueeze(0) - mean * alpha;
  // one pass over x: beta + x * alpha
  return torch::addcmul(beta.unsqueeze(2).unsqueeze(3), x, alpha.unsqueeze(2).unsqueeze(3));
}

ReceivingConv2dImpl::ReceivingConv2dImpl(int64_t in, int64_t out, int64_t k, int64_t s)
    : in_channels(in), out_channels(out), kernel(k), stride(s) {
  weight = register_parameter("weight", torch::empty({out, in, k, k}));
  init_conv_weight(weight);
}

torch::Tensor ReceivingConv2dImpl::forward(const torch::Tensor &x) {
  const int64_t k = x.size(1);
  TORCH_CHECK(k >= 1 && k <= in_channels, "ReceivingConv2d: ", k, " input channels, at most ", in_channels);
  return torch::conv2d(x, weight.narrow(1, 0, k), {}, stride, kernel / 2);
}

void init_conv_weight(torch::Tensor &w) {
  torch::NoGradGuard guard;
  torch::nn::init::kaiming_normal_(w, 0.0, torch::kFanOut, torch::kReLU);
}

torch::Tensor quantize_like_codec(const torch::Tensor &x, std::uint32_t levels) {
  TORCH_CHECK(x.dim() == 4 && x.scalar_type() == torch::kFloat32, "quantize_like_codec: expects float32 N x C x H x W");
  TORCH_CHECK(levels >= 1, "quantize_like_codec: levels must be >= 1");
  torch::Tensor q;
  {
    torch::NoGradGuard guard;
    auto xd = x.detach().contiguous();
    const int64_t n = xd.size(0), c = xd.size(1);
    auto flat = xd.reshape({n, c, -1});
    auto mins = std::get<0>(flat.min(2)).contiguous();
    auto maxs = std::get<0>(flat.max(2)).contiguous();
    // Range, scale and step per (sample, channel) in scalar float32, written as the codec
    // writes them: ATen may turn a division by a scalar into a multiplication by its
    // reciprocal, which is not bit-identical.
    auto lo = torch::empty({n, c, 1}), scale = torch::empty({n, c, 1}), step = torch::empty({n, c, 1});
    const float *pmin = mins.data_ptr<float>(), *pmax = maxs.data_ptr<float>();
    float *plo = lo.data_ptr<float>(), *pscale = scale.data_ptr<float>(), *pstep = step.data_ptr<float>();
    const float L = static_cast<float>(levels);
    for (int64_t i = 0; i < n * c; ++i) {
      const ChannelRange r = quantization_range(pmin[i], pmax[i]);
      plo[i] = r.lo;
      pscale[i] = r.hi > r.lo ? L / (r.hi - r.lo) : 0.0f;
      pstep[i] = (r.hi - r.lo) / L;
    }
    // Element-wise tensor-tensor operations are single IEEE float32 operations each.
    auto codes = torch::floor((flat - lo) * scale + 0.5f).clamp_max(L);
    q = (lo + codes * step).view_as(xd);
  }
  // Straight-through estimator: gradient of identity. Written as q + (x - x) so the forward
  // value is q exactly; x + (q - x) would round twice and can miss q by an ulp.
  return q + (x - x.detach());
}

}  // namespace rtcoinfer
