// MPC decision time per frame: 50 setups, horizon 5, against the greedy rate policy
// measured in the same run. Prints the median and p99 of single decisions.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <random>
#include <vector>

#include "control/mpc_controller.h"
#include "wire/setup_table.h"

using namespace rtcoinfer;

static std::vector<double> time_decisions(Policy policy, int n) {
  const SetupTable t = SetupTable::reference(32);
  std::vector<SetupProfile> profiles;
  for (const Setup &s : t.all()) {
    const double bytes = 24 + 4.0 * s.channels + s.packed_bytes(14, 14);
    profiles.push_back({s, 80.0 + 12.0 * (1.0 - std::exp(-bytes / 1500.0)), bytes});
  }
  MpcConfig cfg;
  cfg.policy = policy;
  cfg.horizon = 5;
  MpcController c(profiles, cfg);
  std::mt19937 rng(3);
  std::uniform_real_distribution<double> bw(0.05e6, 20e6), backlog(0, 20000);
  std::vector<double> us;
  us.reserve(n);
  for (int i = 0; i < n; ++i) {
    const double b = bw(rng), q = backlog(rng);
    const auto t0 = std::chrono::steady_clock::now();
    Decision d = c.decide(q, b, 0.01);
    const auto t1 = std::chrono::steady_clock::now();
    if (d.index < -1) std::puts("");  // keep the result alive
    us.push_back(std::chrono::duration<double, std::micro>(t1 - t0).count());
  }
  std::sort(us.begin(), us.end());
  return us;
}

int main(int argc, char **argv) {
  const int n = argc > 1 ? std::atoi(argv[1]) : 20000;
  const auto mpc = time_decisions(Policy::Mpc, n);
  const auto rate = time_decisions(Policy::Rate, n);
  auto pct = [](const std::vector<double> &v, double p) { return v[std::size_t(p * (v.size() - 1))]; };
  const SetupTable t = SetupTable::reference(32);
  std::printf("decisions=%d setups=%zu horizon=5\n", n, t.size());
  std::printf("%-6s %10s %10s\n", "policy", "median_us", "p99_us");
  std::printf("%-6s %10.2f %10.2f\n", "rate", pct(rate, 0.5), pct(rate, 0.99));
  std::printf("%-6s %10.2f %10.2f\n", "mpc", pct(mpc, 0.5), pct(mpc, 0.99));
  std::printf("mpc/rate median ratio: %.1f; mpc median / 33.3 ms frame interval: %.5f\n",
              pct(mpc, 0.5) / pct(rate, 0.5), pct(mpc, 0.5) / 33333.0);
  std::printf("mpc-bench: median_us=%.2f p99_us=%.2f\n", pct(mpc, 0.5), pct(mpc, 0.99));
  return 0;
}
