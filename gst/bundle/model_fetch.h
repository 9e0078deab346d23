// Fetching a model bundle over HTTP for rtcoinfer-head/-tail/-mpcrate (libsoup 3, no
// LibTorch).
//
// A bundle's id is the SHA-256 it ends with (docs/bundle-format.md), so a URL of the
// form http://host:port/models/<id> names the exact bytes wanted. The download is
// accepted only when the bundle's own trailing hash matches its content and equals the
// <id> in the URL; it is then cached as <cache_dir>/<id>.rcib, and a later fetch of the
// same id uses the cached copy (verified again) without touching the network.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace rtcoinfer {

// The format's limits: 16 MiB of metadata and 1 GiB of weights, with headers.
constexpr std::uint64_t kMaxBundleBytes = std::uint64_t(1100) << 20;

// True for http:// and https:// locations (anything else is a file path).
bool is_model_url(const std::string &location);

// $XDG_CACHE_HOME/rtcoinfer (GLib's user cache directory).
std::string default_model_cache_dir();

// Checks that data ends in the SHA-256 of everything before it and that this hash is
// expected_id (64 hex digits). On failure returns false with *error set to one line.
bool verify_bundle_bytes(const std::uint8_t *data, std::size_t size, const std::string &expected_id,
                         std::string *error);

// How long and how large a download may be. Memory stays one read buffer whatever the
// server sends: the body goes to a temporary file in the cache directory as it comes,
// hashed on the way, and is renamed into place once verified.
struct FetchLimits {
  unsigned idle_timeout_s = 30;                // the server is silent this long: it failed
  unsigned deadline_s = 600;                   // the whole download, at most
  std::uint64_t max_bytes = kMaxBundleBytes;   // larger than any bundle: refused, by its
                                               // Content-Length or as soon as it is passed
  std::uint64_t min_bytes_per_window = 16384;  // fewer bytes than this in any
  unsigned window_s = 10;                      // window_s seconds: too slow, it failed
};

// Downloads (or finds in the cache) the bundle at url and returns the local path of a
// verified copy; nullopt with *error (one line: the URL and what went wrong) otherwise.
std::optional<std::string> fetch_model_bundle(const std::string &url, const std::string &cache_dir, std::string *error,
                                              const FetchLimits &limits = {});

}  // namespace rtcoinfer
