#include "model_fetch.h"

#include <glib/gstdio.h>
#include <libsoup/soup.h>

#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "wire/content_hash.h"

namespace rtcoinfer {

namespace {

constexpr std::size_t kHashBytes = 32;
constexpr std::size_t kReadBytes = 64 * 1024;

bool is_model_id(const std::string &s) {
  if (s.size() != 2 * kHashBytes) return false;
  for (char c : s)
    if (!g_ascii_isdigit(c) && !(c >= 'a' && c <= 'f')) return false;
  return true;
}

struct GFreeDeleter {
  void operator()(gpointer p) const { g_free(p); }
};
struct GObjectDeleter {
  void operator()(gpointer p) const {
    if (p) g_object_unref(p);
  }
};

// A bundle of `size` bytes whose first size-32 bytes hash to `content` and whose last 32
// are `stored`, checked against the id the URL asks for.
bool verify_hashes(std::uint64_t size, const std::string &content, const std::string &stored,
                   const std::string &expected_id, std::string *error) {
  if (size < kHashBytes + 28) {
    *error = "not a model bundle: " + std::to_string(size) + " bytes";
    return false;
  }
  if (content != stored) {
    *error = "corrupt bundle: its content hashes to " + content + " but it ends in " + stored;
    return false;
  }
  if (content != expected_id) {
    *error = "content hash mismatch: the bundle is " + content + ", the URL asks for " + expected_id;
    return false;
  }
  return true;
}

// Cancels a download that passes its deadline or goes slower than the limits allow,
// from a thread of its own (GCancellable is thread-safe): a server that drips a byte a
// second never goes silent, so the session's idle timeout alone would wait for ever.
class Watchdog {
 public:
  Watchdog(const FetchLimits &limits, GCancellable *cancel) : limits_(limits), cancel_(cancel) {
    thread_ = std::thread([this] { watch(); });
  }
  ~Watchdog() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      finished_ = true;
    }
    wake_.notify_all();
    thread_.join();
  }
  void received(std::size_t n) { bytes_ += n; }
  // why it cancelled; empty when it did not
  std::string reason() {
    std::lock_guard<std::mutex> lock(mu_);
    return reason_;
  }

 private:
  void watch() {
    std::deque<std::uint64_t> marks{0};  // bytes received by each whole second: the last window_s + 1
    std::unique_lock<std::mutex> lock(mu_);
    for (unsigned s = 1;; ++s) {
      if (wake_.wait_for(lock, std::chrono::seconds(1), [&] { return finished_; })) return;
      const std::uint64_t now = bytes_;
      marks.push_back(now);
      if (marks.size() > limits_.window_s + 1) marks.pop_front();
      if (s >= limits_.deadline_s)
        reason_ = "the download did not finish within " + std::to_string(limits_.deadline_s) + " s";
      else if (limits_.window_s > 0 && marks.size() == limits_.window_s + 1 &&
               now - marks.front() < limits_.min_bytes_per_window)
        reason_ = "too slow: the server sent fewer than " + std::to_string(limits_.min_bytes_per_window) +
                  " bytes in " + std::to_string(limits_.window_s) + " s";
      if (!reason_.empty()) {
        g_cancellable_cancel(cancel_);
        return;
      }
    }
  }

  const FetchLimits limits_;
  GCancellable *cancel_;
  std::atomic<std::uint64_t> bytes_{0};
  std::mutex mu_;
  std::condition_variable wake_;
  bool finished_ = false;
  std::string reason_;
  std::thread thread_;
};

struct Downloaded {
  std::uint64_t bytes = 0;
  std::string content_hash, stored_hash;  // of all but the last 32 bytes; the last 32
};

// One GET into `out`, with a session of its own on a private main context. libsoup
// attaches its sources to the thread-default context, and an element must leave none on
// the application's. With the session on the default context, a device pipeline that had
// fetched its model stalled mid-stream in about half of the test runs (its live source
// waiting on the clock; the exact path was not traced). With a private context, none did.
// The body is hashed as it comes and never held whole.
bool download(const std::string &url, const FetchLimits &limits, FILE *out, Downloaded *got, std::string *why) {
  GMainContext *context = g_main_context_new();
  g_main_context_push_thread_default(context);
  bool ok = false;
  {
    std::unique_ptr<SoupSession, GObjectDeleter> session(
        soup_session_new_with_options("timeout", limits.idle_timeout_s, "user-agent", "rtcoinfer ", nullptr));
    std::unique_ptr<SoupMessage, GObjectDeleter> msg(soup_message_new("GET", url.c_str()));
    std::unique_ptr<GCancellable, GObjectDeleter> cancel(g_cancellable_new());
    GError *err = nullptr;
    auto failed = [&](const std::string &prefix) {
      *why = prefix + (err ? err->message : "");
      g_clear_error(&err);
      return false;
    };
    if (!msg) {
      *why = "not a valid URL";
    } else {
      Watchdog watchdog(limits, cancel.get());
      ok = [&] {
        std::unique_ptr<GInputStream, GObjectDeleter> in(
            soup_session_send(session.get(), msg.get(), cancel.get(), &err));
        if (!in) return failed("download failed: ");
        const guint status = soup_message_get_status(msg.get());
        if (status != SOUP_STATUS_OK) {
          const char *reason = soup_message_get_reason_phrase(msg.get());
          *why = "the server answered HTTP " + std::to_string(status) + " " + (reason ? reason : "");
          return false;
        }
        SoupMessageHeaders *headers = soup_message_get_response_headers(msg.get());
        if (soup_message_headers_get_encoding(headers) == SOUP_ENCODING_CONTENT_LENGTH &&
            std::uint64_t(soup_message_headers_get_content_length(headers)) > limits.max_bytes) {
          *why = "the response (" + std::to_string(soup_message_headers_get_content_length(headers)) +
                 " bytes) is larger than any model bundle (" + std::to_string(limits.max_bytes) + ")";
          return false;
        }
        std::unique_ptr<GChecksum, decltype(&g_checksum_free)> sum(g_checksum_new(G_CHECKSUM_SHA256), g_checksum_free);
        std::vector<std::uint8_t> buf(kHashBytes + kReadBytes);
        std::size_t held = 0;  // the last bytes read, not hashed yet: they may be the trailing hash
        for (;;) {
          const gssize n = g_input_stream_read(in.get(), buf.data() + held, kReadBytes, cancel.get(), &err);
          if (n < 0) return failed("download failed: ");
          if (n == 0) break;
          watchdog.received(std::size_t(n));
          got->bytes += std::uint64_t(n);
          if (got->bytes > limits.max_bytes) {
            *why = "the response is larger than any model bundle (" + std::to_string(limits.max_bytes) + " bytes)";
            return false;
          }
          if (std::fwrite(buf.data() + held, 1, std::size_t(n), out) != std::size_t(n)) {
            *why = std::string("cannot write the cache: ") + g_strerror(errno);
            return false;
          }
          held += std::size_t(n);
          if (held > kHashBytes) {
            g_checksum_update(sum.get(), buf.data(), gssize(held - kHashBytes));
            std::memmove(buf.data(), buf.data() + held - kHashBytes, kHashBytes);
            held = kHashBytes;
          }
        }
        std::array<std::uint8_t, kHashBytes> digest{};
        gsize len = digest.size();
        g_checksum_get_digest(sum.get(), digest.data(), &len);
        got->content_hash = hex_string(digest.data(), digest.size());
        got->stored_hash = hex_string(buf.data(), held);
        return true;
      }();
      if (!ok && !watchdog.reason().empty()) *why = watchdog.reason();
    }
  }
  while (g_main_context_iteration(context, FALSE)) {
  }  // the session's clean-up, here rather than on someone else's loop
  g_main_context_pop_thread_default(context);
  g_main_context_unref(context);
  return ok;
}

}  // namespace

bool is_model_url(const std::string &location) {
  return g_str_has_prefix(location.c_str(), "http://") || g_str_has_prefix(location.c_str(), "https://");
}

std::string default_model_cache_dir() {
  std::unique_ptr<char, GFreeDeleter> dir(g_build_filename(g_get_user_cache_dir(), "rtcoinfer", nullptr));
  return dir.get();
}

bool verify_bundle_bytes(const std::uint8_t *data, std::size_t size, const std::string &expected_id,
                         std::string *error) {
  if (size < kHashBytes) return verify_hashes(size, "", "", expected_id, error);
  return verify_hashes(size, sha256_hex(data, size - kHashBytes), hex_string(data + size - kHashBytes, kHashBytes),
                       expected_id, error);
}

std::optional<std::string> fetch_model_bundle(const std::string &url, const std::string &cache_dir, std::string *error,
                                              const FetchLimits &limits) {
  auto fail = [&](const std::string &why) -> std::optional<std::string> {
    *error = url + ": " + why;
    return std::nullopt;
  };
  GUri *uri = g_uri_parse(url.c_str(), GUriFlags(SOUP_HTTP_URI_FLAGS), nullptr);
  if (!uri) return fail("not a valid URL");
  const std::string path = g_uri_get_path(uri);
  g_uri_unref(uri);
  const std::string id = path.substr(path.rfind('/') + 1);
  if (!is_model_id(id))
    return fail(
        "the URL must end in /models/<model id> (64 lowercase hex digits) so that the download can be "
        "verified");

  std::unique_ptr<char, GFreeDeleter> cached(g_build_filename(cache_dir.c_str(), (id + ".rcib").c_str(), nullptr));
  {
    gchar *data = nullptr;
    gsize size = 0;
    std::string ignored;
    if (g_file_get_contents(cached.get(), &data, &size, nullptr)) {
      const bool ok = verify_bundle_bytes(reinterpret_cast<const std::uint8_t *>(data), size, id, &ignored);
      g_free(data);
      if (ok) return std::string(cached.get());
    }
  }

  if (g_mkdir_with_parents(cache_dir.c_str(), 0700) != 0)
    return fail("cannot create the cache directory " + cache_dir + ": " + g_strerror(errno));
  // into a temporary file next to the cache entry, renamed once verified: readers never
  // see half a bundle, and a failed download leaves nothing
  std::string part = std::string(cached.get()) + ".part-XXXXXX";
  const int fd = g_mkstemp(part.data());
  if (fd < 0) return fail("cannot write the cache: " + std::string(g_strerror(errno)));
  FILE *out = fdopen(fd, "wb");
  Downloaded got;
  std::string why;
  bool ok = out && download(url, limits, out, &got, &why) &&
            verify_hashes(got.bytes, got.content_hash, got.stored_hash, id, &why);
  if (out && std::fclose(out) != 0 && ok) {
    why = std::string("cannot write the cache: ") + g_strerror(errno);
    ok = false;
  }
  if (!out) {
    close(fd);
    why = std::string("cannot write the cache: ") + g_strerror(errno);
  }
  if (ok && g_rename(part.c_str(), cached.get()) != 0) {
    why = std::string("cannot write the cache: ") + g_strerror(errno);
    ok = false;
  }
  if (!ok) {
    g_unlink(part.c_str());
    return fail(why);
  }
  return std::string(cached.get());
}

}  // namespace rtcoinfer
