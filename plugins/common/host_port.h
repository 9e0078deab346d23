// "host:port" as the bins' `server` and `address` properties take it: a name or an IPv4
// address, or an IPv6 address in brackets ("[::1]:5000").
#pragma once

#include <optional>
#include <string>

namespace rtcoinfer {

struct HostPort {
  std::string host;
  int port = 0;
};

// nullopt unless `text` is host:port with a port of 1..65535 (and `max_port` at most,
// for a bin that needs port + 1 as well).
inline std::optional<HostPort> parse_host_port(const std::string &text, int max_port = 65535) {
  std::string host, port;
  if (!text.empty() && text[0] == '[') {
    const auto close = text.find(']');
    if (close == std::string::npos || close + 1 >= text.size() || text[close + 1] != ':') return std::nullopt;
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    const auto colon = text.rfind(':');
    if (colon == std::string::npos || text.find(':') != colon) return std::nullopt;
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
  }
  if (host.empty() || port.empty() || port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos)
    return std::nullopt;
  const int p = std::stoi(port);
  if (p < 1 || p > max_port) return std::nullopt;
  return HostPort{host, p};
}

}  // namespace rtcoinfer
