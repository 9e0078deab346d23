// rtcoinfer-policy: parses policies with the one grammar (gst/control/policy_spec.h) and
// prints each as a JSON line, so scripts (pipelines/, tools/rtcoinfer-evaluate) read
// policies exactly as rtcoinfer-tracesim does. A bad policy: exit 2, one line on stderr.
//
//   rtcoinfer-policy spinn:0.9:2x4 offload:jpeg:50
//   {"kind":"spinn","text":"spinn:0.9:2x4","threshold":0.9,"setup":"2x4"}
#include <nlohmann/json.hpp>

#include <cstdio>
#include <stdexcept>

#include "control/policy_spec.h"

int main(int argc, char **argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: rtcoinfer-policy POLICY...\npolicies: %s\n", rtcoinfer::policy_grammar());
    return 2;
  }
  for (int i = 1; i < argc; ++i) {
    try {
      for (const auto &p : rtcoinfer::parse_policy_list(argv[i])) {
        nlohmann::json j = {{"kind", rtcoinfer::policy_kind_name(p.kind)}, {"text", p.text}};
        if (!p.setup.empty()) j["setup"] = p.setup;
        if (!p.codec.empty()) j["codec"] = p.codec;
        if (p.quality) j["quality"] = p.quality;
        if (p.bits) j["bits"] = p.bits;
        if (p.threshold >= 0) j["threshold"] = p.threshold;
        std::printf("%s\n", j.dump().c_str());
      }
    } catch (const std::exception &e) {
      std::fprintf(stderr, "rtcoinfer-policy: %s\n", e.what());
      return 2;
    }
  }
  return 0;
}
