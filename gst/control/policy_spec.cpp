#include "policy_spec.h"

#include <cstdlib>
#include <stdexcept>

namespace rtcoinfer {

namespace {

[[noreturn]] void bad(const std::string &text, const std::string &why) {
  throw std::invalid_argument("policy '" + text + "': " + why + " (" + policy_grammar() + ")");
}

// The whole of `s` as an integer in [lo, hi], or bad().
int whole_int(const std::string &text, const std::string &s, int lo, int hi, const char *what) {
  char *end = nullptr;
  const long v = s.empty() ? 0 : std::strtol(s.c_str(), &end, 10);
  if (s.empty() || *end != '\0' || v < lo || v > hi)
    bad(text, std::string(what) + " must be an integer " + std::to_string(lo) + ".." + std::to_string(hi));
  return int(v);
}

bool is_setup_name(const std::string &s) {
  const std::size_t x = s.find('x');
  if (x == 0 || x == std::string::npos || x + 1 == s.size()) return false;
  for (std::size_t i = 0; i < s.size(); ++i)
    if (i != x && (s[i] < '0' || s[i] > '9')) return false;
  return true;
}

}  // namespace

const char *policy_grammar() {
  return "none, mpc, rate, fixed[:CxB|:all], oracle, local, offload:png, offload:jpeg[:Q], clio:B, spinn:T[:CxB]";
}

const char *policy_kind_name(PolicySpec::Kind kind) {
  switch (kind) {
    case PolicySpec::Kind::None: return "none";
    case PolicySpec::Kind::Mpc: return "mpc";
    case PolicySpec::Kind::Rate: return "rate";
    case PolicySpec::Kind::Fixed: return "fixed";
    case PolicySpec::Kind::Oracle: return "oracle";
    case PolicySpec::Kind::Local: return "local";
    case PolicySpec::Kind::Offload: return "offload";
    case PolicySpec::Kind::Clio: return "clio";
    case PolicySpec::Kind::Spinn: return "spinn";
  }
  return "?";
}

std::string PolicySpec::codec_name() const { return codec == "jpeg" ? "jpeg:" + std::to_string(quality) : codec; }

PolicySpec parse_policy(const std::string &text) {
  PolicySpec p;
  p.text = text;
  const std::size_t colon = text.find(':');
  const std::string kind = text.substr(0, colon);
  const std::string rest = colon == std::string::npos ? "" : text.substr(colon + 1);
  const bool has_rest = colon != std::string::npos;
  using K = PolicySpec::Kind;
  auto bare = [&](K k) {
    if (has_rest) bad(text, kind + " takes no parameter");
    p.kind = k;
  };
  if (kind == "none") {
    bare(K::None);
  } else if (kind == "mpc") {
    bare(K::Mpc);
  } else if (kind == "rate") {
    bare(K::Rate);
  } else if (kind == "oracle") {
    bare(K::Oracle);
  } else if (kind == "local") {
    bare(K::Local);
  } else if (kind == "fixed") {
    p.kind = K::Fixed;
    if (has_rest && rest != "all" && !is_setup_name(rest)) bad(text, "the setup must be CxB or all");
    p.setup = rest;
  } else if (kind == "offload") {
    p.kind = K::Offload;
    const std::size_t q = rest.find(':');
    p.codec = rest.substr(0, q);
    if (p.codec == "png") {
      if (q != std::string::npos) bad(text, "png takes no quality");
    } else if (p.codec == "jpeg") {
      p.quality = q == std::string::npos ? 85 : whole_int(text, rest.substr(q + 1), 1, 100, "the JPEG quality");
    } else {
      bad(text, "the image codec must be png or jpeg");
    }
  } else if (kind == "clio") {
    p.kind = K::Clio;
    p.bits = whole_int(text, rest, 1, 16, "the bit depth");
  } else if (kind == "spinn") {
    p.kind = K::Spinn;
    const std::size_t s = rest.find(':');
    const std::string t = rest.substr(0, s);
    char *end = nullptr;
    p.threshold = t.empty() ? -1 : std::strtod(t.c_str(), &end);
    if (t.empty() || *end != '\0' || !(p.threshold >= 0 && p.threshold <= 1))
      bad(text, "the exit threshold must be a number 0..1");
    if (s != std::string::npos) {
      p.setup = rest.substr(s + 1);
      if (!is_setup_name(p.setup)) bad(text, "the setup must be CxB");
    }
  } else {
    bad(text, "unknown policy");
  }
  return p;
}

std::vector<PolicySpec> parse_policy_list(const std::string &text) {
  std::vector<PolicySpec> out;
  std::size_t pos = 0;
  while (pos <= text.size()) {
    const std::size_t end = std::min(text.find(',', pos), text.size());
    if (end > pos) out.push_back(parse_policy(text.substr(pos, end - pos)));
    pos = end + 1;
  }
  return out;
}

}  // namespace rtcoinfer
