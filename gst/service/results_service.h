// ResultsService: the HTTP side of rtcoinfer-tail and rtcoinfersrc (libsoup 3, no
// LibTorch), for any number of streams: every stream is one answering element's ledger
// under a stream id, and every endpoint can be narrowed to one stream (?stream=).
//
// The server runs on its own thread and GMainContext. The streaming thread only calls
// publish_*(), which append to bounded in-memory queues under a mutex and wake the
// server thread; nothing on the streaming thread waits for a socket. A Server-Sent
// Events client with more than `max_client_backlog` unsent bytes whose socket takes
// nothing for a second, or with four times that in any case, is disconnected and
// counted: a slow or stalled client costs bounded memory and nothing else. Endpoints, JSON shapes and security notes: docs/results-service.md.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "service/result_ledger.h"

namespace rtcoinfer {

// A stream name a sender may choose: 1 to 64 printable ASCII characters.
bool valid_stream_name(const std::string &name);

// One tail result, as the service needs it. `json` is the result object exactly as the
// tail writes it on its src pad (one line, no newline).
struct ResultEvent {
  std::uint64_t seq = 0;
  std::string setup;
  std::uint64_t bytes = 0;
  double latency_ms = 0;
  int truth = -1;  // -1: unknown
  bool correct = false;
  std::string json;
};

// The bundle the service offers at /api/model and /models/<id>.
struct ServedModel {
  std::string id;             // SHA-256 of the bundle, 64 lowercase hex digits
  std::string metadata_json;  // the bundle's metadata object
  std::vector<std::uint8_t> bundle;
};

class ResultsService {
 public:
  struct Options {
    std::string address = "127.0.0.1";            // an IP address to bind; loopback unless asked otherwise
    int port = 0;                                 // 0: any free port (port() says which)
    std::string token;                            // non-empty: requests need "Authorization: Bearer <token>" or ?token=
    std::size_t history = 1000;                   // results kept for /api/results
    std::size_t max_client_backlog = 256 * 1024;  // unsent SSE bytes of a stalled client before it is dropped
    std::size_t max_event_clients = 64;           // concurrent /api/events streams; more get 503
    std::shared_ptr<const ServedModel> model;     // offered from the first request on; or set_model() later
  };

  // Most ended streams kept listed (with their final counts); older ones are forgotten.
  static constexpr std::size_t kEndedStreamsKept = 256;

  // Binds, starts the server thread and returns; null with *error (one line) on failure.
  static std::unique_ptr<ResultsService> start(const Options &options, std::string *error);
  // Closes every connection and joins the server thread.
  ~ResultsService();
  ResultsService(const ResultsService &) = delete;
  ResultsService &operator=(const ResultsService &) = delete;

  int port() const;
  void set_model(ServedModel model);
  // True once set_model() was called.
  bool has_model() const;

  // A stream joins: /api/stats, /api/streams and /metrics serve `ledger`'s counts under
  // `id` (the element counts there, the service only reads). The same id again replaces
  // the ledger (a restarted element).
  void add_stream(const std::string &id, std::shared_ptr<const ResultLedger> ledger);
  // The stream ended: it stays listed with its final counts (active false), up to
  // kEndedStreamsKept ended streams; its history stays until it is forgotten.
  void end_stream(const std::string &id);
  // The stream `id` is renamed `name` (its sender named it); when an active stream has
  // that name already, `name-id` instead. Returns the name it has now.
  std::string rename_stream(const std::string &id, const std::string &name);

  // Streaming-thread side: constant time, no I/O. These feed /api/results and the event
  // stream; the counts are the ledger's.
  void publish_result(const std::string &stream, const ResultEvent &result);
  // `count`: the ledger's count of this reason so far, `frame`: its frames so far.
  void publish_drop(const std::string &stream, const std::string &reason, std::uint64_t count, std::uint64_t frame);

  // What /api/stats (every stream together, or one: "" for all), /api/streams and
  // /metrics serve (callable from any thread). stats_json of an unknown stream is "".
  std::string stats_json(const std::string &stream = "") const;
  std::string streams_json() const;
  std::string metrics_text() const;

  struct Impl;

 private:
  ResultsService();
  std::unique_ptr<Impl> impl_;
};

}  // namespace rtcoinfer
