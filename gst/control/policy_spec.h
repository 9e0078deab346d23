// The one policy grammar: how every tool names a way of choosing each frame's setup.
// rtcoinfer-tracesim (the trace study), tools/rtcoinfer-evaluate and pipelines/ (through
// the rtcoinfer-policy tool, which prints a parsed policy as JSON) all read it here.
//
//   none                 no controller: the head's setup stays (pipelines only)
//   mpc | rate           rtcoinfer-mpcrate's policies
//   fixed[:CxB|:all]     one setup (fixed:all: every setup, one run each, in the study)
//   oracle               the offline plan that knows the trace
//   local                the whole model on the device, nothing sent
//   offload:png | offload:jpeg[:Q]   the image, whole model on the server (Q 1..100, 85)
//   clio:B               CLIO-style B-bit progressive channel slices (B 1..16)
//   spinn:T[:CxB]        SPINN-style early exit at confidence T (0..1); the rest at CxB
#pragma once

#include <string>
#include <vector>

namespace rtcoinfer {

struct PolicySpec {
  enum class Kind { None, Mpc, Rate, Fixed, Oracle, Local, Offload, Clio, Spinn };
  Kind kind = Kind::None;
  std::string text;       // as written
  std::string setup;      // Fixed, Spinn: "CxB", "all" (Fixed only), or empty when not given
  std::string codec;      // Offload: "png" or "jpeg"
  int quality = 0;        // Offload jpeg: 1..100
  int bits = 0;           // Clio: 1..16
  double threshold = -1;  // Spinn: 0..1

  // "png", or "jpeg:Q" with the quality spelled out (the study's label of the codec)
  std::string codec_name() const;
};

// Throws std::invalid_argument with one line naming the policy and the grammar.
PolicySpec parse_policy(const std::string &text);
// A comma-separated list; empty items are skipped. Throws as parse_policy does.
std::vector<PolicySpec> parse_policy_list(const std::string &text);
// The grammar in one line, for error messages and --help.
const char *policy_grammar();
const char *policy_kind_name(PolicySpec::Kind kind);

}  // namespace rtcoinfer
