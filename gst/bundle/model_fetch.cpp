#include "model_fetch.h"

#include <glib/gstdio.h>
#include <libsoup/soup.h>

#include <cerrno>
#include <memory>

#include "wire/content_hash.h"

namespace rtcoinfer {

namespace {

constexpr std::size_t kHashBytes = 32;
constexpr std::size_t kMaxBundleBytes = std::size_t(1100) << 20;  // format limits: 16 MiB metadata + 1 GiB weights

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

// One GET with a session of its own on a private main context. libsoup attaches its
// sources to the thread-default context, and an element must leave none on the
// application's. With the session on the default context, a device pipeline that had
// fetched its model stalled mid-stream in about half of the test runs (its live source
// waiting on the clock; the exact path was not traced). With a private context, none
// did.
GBytes *download(const std::string &url, unsigned timeout_s, guint *status, std::string *reason, GError **err) {
  GMainContext *context = g_main_context_new();
  g_main_context_push_thread_default(context);
  GBytes *body = nullptr;
  {
    std::unique_ptr<SoupSession, GObjectDeleter> session(
        soup_session_new_with_options("timeout", timeout_s, "user-agent", "rtcoinfer ", nullptr));
    std::unique_ptr<SoupMessage, GObjectDeleter> msg(soup_message_new("GET", url.c_str()));
    if (!msg) {
      g_set_error_literal(err, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "not a valid URL");
    } else {
      body = soup_session_send_and_read(session.get(), msg.get(), nullptr, err);
      *status = soup_message_get_status(msg.get());
      *reason = soup_message_get_reason_phrase(msg.get()) ? soup_message_get_reason_phrase(msg.get()) : "";
    }
  }
  while (g_main_context_iteration(context, FALSE)) {
  }  // the session's clean-up, here rather than on someone else's loop
  g_main_context_pop_thread_default(context);
  g_main_context_unref(context);
  return body;
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
  if (size < kHashBytes + 28) {
    *error = "not a model bundle: " + std::to_string(size) + " bytes";
    return false;
  }
  const std::string content = sha256_hex(data, size - kHashBytes);
  const std::string stored = hex_string(data + size - kHashBytes, kHashBytes);
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

std::optional<std::string> fetch_model_bundle(const std::string &url, const std::string &cache_dir, std::string *error,
                                              unsigned timeout_s) {
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

  GError *err = nullptr;
  guint status = 0;
  std::string reason;
  GBytes *body = download(url, timeout_s, &status, &reason, &err);
  if (!body) {
    const std::string why = std::string("download failed: ") + err->message;
    g_error_free(err);
    return fail(why);
  }
  std::unique_ptr<GBytes, decltype(&g_bytes_unref)> bytes(body, g_bytes_unref);
  if (status != SOUP_STATUS_OK) return fail("the server answered HTTP " + std::to_string(status) + " " + reason);
  gsize size = 0;
  const auto *data = static_cast<const std::uint8_t *>(g_bytes_get_data(body, &size));
  if (size > kMaxBundleBytes) return fail("the response is larger than any model bundle");
  std::string why;
  if (!verify_bundle_bytes(data, size, id, &why)) return fail(why);

  if (g_mkdir_with_parents(cache_dir.c_str(), 0700) != 0)
    return fail("cannot create the cache directory " + cache_dir + ": " + g_strerror(errno));
  // g_file_set_contents writes a temporary file and renames it: readers never see half a bundle.
  if (!g_file_set_contents(cached.get(), reinterpret_cast<const gchar *>(data), gssize(size), &err)) {
    why = std::string("cannot write the cache: ") + err->message;
    g_error_free(err);
    return fail(why);
  }
  return std::string(cached.get());
}

}  // namespace rtcoinfer
