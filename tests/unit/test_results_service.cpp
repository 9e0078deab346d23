// ResultsService (the tail's HTTP API) and the model-bundle fetcher, without a pipeline:
// a real server on loopback, spoken to over plain sockets so that each test controls
// the exact bytes of the request, including the hostile ones.
// nlohmann/json first: Check's `fail` macro would break it.
#include <nlohmann/json.hpp>

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <gst/check/gstcheck.h>

#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <functional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "wire/content_hash.h"
#include "bundle/model_fetch.h"
#include "service/results_service.h"

using namespace rtcoinfer;

namespace {

struct Reply {
  int status = 0;  // 0: the server closed the connection without an answer
  std::string head, body;
};

// The process's peak resident memory so far (each test runs in a process of its own).
long peak_rss_kb() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_maxrss;
}

// Decodes a chunked body; returns what could be decoded so far.
std::string dechunk(const std::string &raw) {
  std::string out;
  std::size_t pos = 0;
  while (true) {
    const std::size_t eol = raw.find("\r\n", pos);
    if (eol == std::string::npos) break;
    const std::size_t n = std::strtoul(raw.substr(pos, eol - pos).c_str(), nullptr, 16);
    if (n == 0 || eol + 2 + n > raw.size()) break;
    out += raw.substr(eol + 2, n);
    pos = eol + 2 + n + 2;
  }
  return out;
}

// from: the loopback address to connect from (127.0.0.1 unless given), so that a test
// can be several hosts
GSocketConnection *connect_to(int port, const char *from = nullptr) {
  GSocketClient *client = g_socket_client_new();
  g_socket_client_set_timeout(client, 10);
  if (from) {
    GSocketAddress *local = g_inet_socket_address_new_from_string(from, 0);
    g_socket_client_set_local_address(client, local);
    g_object_unref(local);
  }
  GSocketConnection *conn = g_socket_client_connect_to_host(client, "127.0.0.1", guint16(port), nullptr, nullptr);
  g_object_unref(client);
  fail_unless(conn != nullptr, "cannot connect to port %d", port);
  return conn;
}

void send_all(GSocketConnection *conn, const std::string &data) {
  GOutputStream *out = g_io_stream_get_output_stream(G_IO_STREAM(conn));
  g_output_stream_write_all(out, data.data(), data.size(), nullptr, nullptr, nullptr);  // the server may close early
}

// Sends raw bytes (a whole request) and reads the answer until the server closes.
Reply raw_request(int port, const std::string &request) {
  GSocketConnection *conn = connect_to(port);
  send_all(conn, request);
  std::string raw;
  char buf[16384];
  GInputStream *in = g_io_stream_get_input_stream(G_IO_STREAM(conn));
  gssize n;
  while ((n = g_input_stream_read(in, buf, sizeof buf, nullptr, nullptr)) > 0) raw.append(buf, std::size_t(n));
  g_object_unref(conn);
  Reply r;
  const std::size_t end = raw.find("\r\n\r\n");
  if (raw.compare(0, 9, "HTTP/1.1 ") != 0 || end == std::string::npos) return r;
  r.status = std::atoi(raw.c_str() + 9);
  r.head = raw.substr(0, end);
  r.body = raw.substr(end + 4);
  if (r.head.find("Transfer-Encoding: chunked") != std::string::npos) r.body = dechunk(r.body);
  return r;
}

Reply get(int port, const std::string &path, const std::string &extra_headers = "") {
  return raw_request(port,
                     "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n" + extra_headers + "\r\n");
}

nlohmann::json get_json(int port, const std::string &path) {
  Reply r = get(port, path);
  fail_unless_equals_int(r.status, 200);
  return nlohmann::json::parse(r.body);
}

// The service with the ledger an element would count in: publish_* count there first,
// as rtcoinfer-tail does, then hand the event to the service.
class TestService {
 public:
  explicit TestService(std::unique_ptr<ResultsService> svc, std::shared_ptr<ResultLedger> ledger)
      : svc_(std::move(svc)), ledger_(std::move(ledger)) {
    svc_->add_stream("cam", ledger_);
  }
  TestService *operator->() { return this; }
  ResultsService &operator*() { return *svc_; }
  void reset() { svc_.reset(); }
  int port() const { return svc_->port(); }
  void set_model(ServedModel m) { svc_->set_model(std::move(m)); }
  std::string stats_json() const { return svc_->stats_json(); }
  std::string metrics_text() const { return svc_->metrics_text(); }
  void publish_result(const ResultEvent &r) {
    ledger_->count_result(r.setup, r.bytes, r.latency_ms, r.truth >= 0 ? std::optional<int>(r.truth) : std::nullopt,
                          r.correct);
    svc_->publish_result("cam", r);
  }
  void publish_drop(const std::string &reason) {
    const std::uint64_t n = ledger_->count_drop(reason);
    svc_->publish_drop("cam", reason, n, ledger_->frames());
  }
  void set_stream_counters(std::uint64_t missing, std::uint64_t restarts) {
    ledger_->count_missing(missing);
    for (std::uint64_t i = 0; i < restarts; ++i) ledger_->count_restart();
  }

 private:
  std::unique_ptr<ResultsService> svc_;
  std::shared_ptr<ResultLedger> ledger_;
};

TestService start_service(ResultsService::Options opt = {}) {
  std::string error;
  auto ledger = std::make_shared<ResultLedger>();
  auto s = ResultsService::start(opt, &error);
  fail_unless(s != nullptr, "service did not start: %s", error.c_str());
  fail_unless(s->port() > 0);
  return TestService(std::move(s), ledger);
}

ResultEvent result(std::uint64_t seq, double latency_ms = 12.5, const std::string &setup = "32x16") {
  ResultEvent r;
  r.seq = seq;
  r.setup = setup;
  r.bytes = 1000 + seq;
  r.latency_ms = latency_ms;
  r.truth = int(seq % 10);
  r.correct = seq % 2 == 0;
  r.json = nlohmann::json{{"seq", seq}, {"setup", setup}, {"bytes", r.bytes}, {"latency_ms", latency_ms}}.dump();
  return r;
}

// A bundle-shaped byte string: random content followed by its SHA-256.
std::vector<std::uint8_t> fake_bundle(std::size_t n, unsigned seed, std::string *id) {
  std::mt19937 rng(seed);
  std::vector<std::uint8_t> b(n);
  for (auto &x : b) x = std::uint8_t(rng());
  const auto digest = sha256_digest(b.data(), b.size());
  *id = hex_string(digest.data(), digest.size());
  b.insert(b.end(), digest.begin(), digest.end());
  return b;
}

void wait_for_stat(ResultsService &s, const char *field, std::uint64_t value) {
  for (int i = 0; i < 1000; ++i) {
    if (nlohmann::json::parse(s.stats_json())["service"][field].get<std::uint64_t>() == value) return;
    g_usleep(10000);
  }
  fail("service stat %s never reached %" G_GUINT64_FORMAT ": %s", field, value, s.stats_json().c_str());
}

// A /api/events reader over a plain socket; parses incrementally, so that reading a
// long stream stays linear.
struct EventStream {
  GSocketConnection *conn;
  std::string raw, body;
  std::size_t raw_pos = 0, body_pos = 0;
  bool head_done = false;
  std::vector<std::pair<std::uint64_t, std::string>> events;  // (id, record)

  explicit EventStream(int port, int rcvbuf = 0, const std::string &path = "/api/events", const char *from = nullptr) {
    conn = connect_to(port, from);
    if (rcvbuf) g_socket_set_option(g_socket_connection_get_socket(conn), SOL_SOCKET, SO_RCVBUF, rcvbuf, nullptr);
    send_all(conn, "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
  }
  ~EventStream() { g_object_unref(conn); }

  void consume() {
    if (!head_done) {
      const std::size_t end = raw.find("\r\n\r\n");
      if (end == std::string::npos) return;
      raw_pos = end + 4;
      head_done = true;
    }
    std::size_t eol;
    while ((eol = raw.find("\r\n", raw_pos)) != std::string::npos) {  // whole chunks only
      const std::size_t n = std::strtoul(raw.c_str() + raw_pos, nullptr, 16);
      if (n == 0 || eol + 2 + n + 2 > raw.size()) break;
      body.append(raw, eol + 2, n);
      raw_pos = eol + 2 + n + 2;
    }
    std::size_t end;
    while ((end = body.find("\n\n", body_pos)) != std::string::npos) {
      const std::string record = body.substr(body_pos, end - body_pos);
      body_pos = end + 2;
      if (record.compare(0, 4, "id: ") == 0) events.emplace_back(std::stoull(record.substr(4)), record);
    }
  }

  // Reads until `n` events arrived in all (or 10 s pass without data); returns them all.
  // Reads the answer's head: true when the stream is open (200).
  bool opened() {
    GSocket *socket = g_socket_connection_get_socket(conn);
    g_socket_set_timeout(socket, 10);
    char buf[4096];
    while (!head_done) {
      const gssize got = g_socket_receive(socket, buf, sizeof buf, nullptr, nullptr);
      if (got <= 0) return false;
      raw.append(buf, std::size_t(got));
      consume();
    }
    return raw.compare(0, 12, "HTTP/1.1 200") == 0;
  }

  const std::vector<std::pair<std::uint64_t, std::string>> &read_events(std::size_t n) {
    GSocket *socket = g_socket_connection_get_socket(conn);
    g_socket_set_timeout(socket, 10);
    char buf[65536];
    while (events.size() < n) {
      const gssize got = g_socket_receive(socket, buf, sizeof buf, nullptr, nullptr);
      if (got <= 0) break;
      raw.append(buf, std::size_t(got));
      consume();
    }
    return events;
  }
};

}  // namespace

// The ledger's frame numbering: gaps count as missing; a frame counted missing that
// arrives late (a partial CLIO frame sent at its deadline, after the next one) is no
// longer missing and is no restart; a step back to a frame never missed is a restart;
// and 16-bit wrap is no restart.
GST_START_TEST(test_ledger_takes_late_frames_back_from_missing) {
  ResultLedger ledger;
  fail_unless_equals_int(ledger.sequence(0).seq, 0);
  auto step = ledger.sequence(3);
  fail_unless(step.missing == 2 && !step.restart && step.seq == 3);
  step = ledger.sequence(1);  // late: it was counted missing
  fail_unless(step.late && !step.restart && step.seq == 1, "seq %llu", (unsigned long long)step.seq);
  fail_unless_equals_int(ledger.snapshot().missing, 1);
  step = ledger.sequence(1);  // again: not missing any more, so the sender restarted
  fail_unless(step.restart && !step.late);
  fail_unless_equals_int(ledger.snapshot().restarts, 1);
  fail_unless_equals_int(ledger.snapshot().missing, 1);
  // wrap: 65535 -> 0 is the next frame
  ResultLedger wrap;
  wrap.sequence(65534);
  step = wrap.sequence(65535);
  fail_unless(step.missing == 0 && !step.restart);
  step = wrap.sequence(1);
  fail_unless(step.missing == 1 && !step.restart && step.seq == 65537);
  step = wrap.sequence(0);
  fail_unless(step.late && step.seq == 65536 && wrap.snapshot().missing == 0);
  // a drop reported for a frame: counted when it is new or was missing, not when answered
  ResultLedger drops;
  drops.sequence(0);
  drops.sequence(2);                  // 1 missing
  fail_unless(!drops.claim_drop(0));  // answered already
  fail_unless(drops.claim_drop(1));   // was missing: now a drop
  fail_unless(!drops.claim_drop(1));  // has its outcome now
  fail_unless(drops.claim_drop(3));   // new
  fail_unless_equals_int(drops.snapshot().missing, 0);
  fail_unless_equals_int(drops.snapshot().restarts, 0);
  // beyond the window a missed frame is not taken back
  ResultLedger far;
  far.sequence(0);
  far.sequence(5000);
  fail_unless(far.sequence(10).restart);
}
GST_END_TEST;

// The sender's frame count (rtcoinfersink's RCIF report) makes the ledger exact at both
// ends: frames before the first that arrived count as missing once the sender says where
// it began; frames after the newest once it has ended (a final report, or finish()
// when it went silent); skipped frames are told from lost ones. A stream that wraps its
// 16-bit numbering stays exact.
GST_START_TEST(test_ledger_counts_both_ends_from_the_senders_report) {
  auto result = [](ResultLedger &l, std::uint16_t seq) {
    l.sequence(seq);
    l.count_result("4x2", 100, 10, std::nullopt, false);
  };
  ResultLedger ledger;
  // the device numbers from 65530 (it wraps); 65530..65532 are lost before the first arrives
  for (std::uint16_t seq : {65533, 65534, 65535, 0, 2, 3}) result(ledger, seq);  // 1: skipped by its controller
  ledger.device_report({65530, 10, 1, false});                                   // 10 numbered so far: 65530..3
  auto c = ledger.snapshot();
  fail_unless_equals_int(c.missing, 4);  // 3 before the first, 1 in the gap
  fail_unless_equals_int(c.skipped, 1);
  fail_unless_equals_int(c.lost, 3);
  fail_unless_equals_int(c.device_frames, 10);
  // 4..7 arrive; the device numbers up to 11 (8 and 9 lost on the way, 10 and 11 skipped)
  for (std::uint16_t seq : {4, 5, 6, 7}) result(ledger, seq);
  ledger.device_report({65530, 14, 3, false});
  fail_unless_equals_int(ledger.snapshot().missing, 4);  // not ended: 8.. may still come
  ledger.device_report({65530, 18, 3, true});            // the report with its BYE
  c = ledger.snapshot();
  fail_unless_equals_int(c.results + c.dropped + c.missing, 18);
  fail_unless_equals_int(c.missing, 8);
  fail_unless_equals_int(c.lost, 5);
  fail_unless_equals_int(c.device_frames, 18);
  ledger.device_report({65530, 14, 3, false});  // a reordered older one changes nothing
  fail_unless_equals_int(ledger.snapshot().missing, 8);
  ledger.device_report({7, 100, 0, true});  // another numbering: not this stream's
  fail_unless_equals_int(ledger.snapshot().device_frames, 18);
  // a device that died: its last report becomes final when the stream ends
  ResultLedger died;
  for (std::uint16_t seq : {0, 1, 2}) result(died, seq);
  died.device_report({0, 5, 0, false});
  fail_unless_equals_int(died.snapshot().missing, 0);
  died.finish();
  fail_unless_equals_int(died.snapshot().missing, 2);
  // no report: as before, only the gaps
  ResultLedger plain;
  for (std::uint16_t seq : {3, 5}) result(plain, seq);
  plain.finish();
  fail_unless_equals_int(plain.snapshot().missing, 1);
  fail_unless_equals_int(plain.snapshot().lost, 1);
}
GST_END_TEST;

// A server restart: the old server hands the stream over at its newest frame (its
// trailing frames are not counted missing there, even once the stream ends), and the new
// one counts from that horizon, the base the device moved its report to. Together they
// count each of the device's frames once.
GST_START_TEST(test_ledger_hands_a_stream_over_to_the_next_server) {
  auto result = [](ResultLedger &l, std::uint16_t seq) {
    l.sequence(seq);
    l.count_result("4x2", 100, 10, std::nullopt, false);
  };
  // server A: the device numbers from 65534; 65534 lost, 65535..3 arrive but 1 (skipped)
  ResultLedger a;
  fail_unless(!a.coverage());
  for (std::uint16_t seq : {65535, 0, 2, 3}) result(a, seq);
  a.device_report({65534, 9, 2, false});  // 65534..6 numbered; 4..6 still on their way
  auto cov = a.coverage();
  fail_unless(cov && cov->horizon == 4 && cov->accounted == 6);
  cov = a.hand_over();
  fail_unless(cov && cov->horizon == 4 && cov->accounted == 6, "horizon %d, %d accounted", cov ? cov->horizon : -1,
              cov ? int(cov->accounted) : -1);
  a.finish();  // the tail's EOS after the handover counts nothing after the newest
  auto c = a.snapshot();
  fail_unless_equals_int(c.results + c.dropped + c.missing, 6);
  fail_unless_equals_int(c.device_frames, 6);
  fail_unless_equals_int(c.missing, 2);
  fail_unless_equals_int(c.skipped, 2);  // at most its missing: the report's skips may lie after the horizon
  // server B: the device reports from A's horizon (4); 4, 5 were lost in the restart
  ResultLedger b;
  for (std::uint16_t seq : {6, 7}) result(b, seq);
  b.device_report({4, 4, 0, true});
  c = b.snapshot();
  fail_unless_equals_int(c.missing, 2);
  fail_unless_equals_int(c.device_frames, 4);
  fail_unless_equals_int(a.snapshot().device_frames + c.device_frames, 10);  // 65534..7, each once
  fail_unless(!b.hand_over());  // the device ended itself: nothing to hand over
  // a server killed without handing over: the device moves the new server's base
  // forward once it sees the new server, to no later than the first frame that arrived
  ResultLedger late;
  result(late, 100);
  late.device_report({0, 101, 0, false});
  fail_unless_equals_int(late.snapshot().missing, 100);
  late.device_report({90, 11, 0, false});
  fail_unless_equals_int(late.snapshot().missing, 10);
  late.device_report({101, 0, 0, false});  // past its first frame: another numbering
  late.device_report({80, 21, 0, false});  // back: an older report
  fail_unless_equals_int(late.snapshot().missing, 10);
  fail_unless_equals_int(late.snapshot().device_frames, 11);
}
GST_END_TEST;

// QueueWatch: the frames that went into a leaky queue and never came out before a later
// one did, or before the end, were dropped by it.
GST_START_TEST(test_queue_watch_names_the_frames_a_queue_dropped) {
  rtcoinfer::QueueWatch w;
  for (std::uint16_t seq : {65534, 65535, 0, 1}) w.entered(seq);
  fail_unless(w.left(65534).empty());
  fail_unless(w.left(1) == (std::vector<std::uint16_t>{65535, 0}));  // dropped while 1 waited
  fail_unless(w.left(7).empty());                                    // never noted: nothing known
  w.entered(2);
  w.entered(3);
  fail_unless(w.ended() == (std::vector<std::uint16_t>{2, 3}));
  fail_unless(w.ended().empty());
  for (std::size_t i = 0; i < rtcoinfer::QueueWatch::kMaxNoted + 10; ++i) w.entered(std::uint16_t(i));
  fail_unless_equals_int(w.ended().size(), rtcoinfer::QueueWatch::kMaxNoted);  // bounded
}
GST_END_TEST;

GST_START_TEST(test_binds_loopback_by_default) {
  auto s = start_service();
  // /proc/net/tcp lists the listening socket: local address 127.0.0.1 (0100007F), state 0A.
  char port_hex[8];
  g_snprintf(port_hex, sizeof port_hex, "%04X", s->port());
  std::ifstream tcp("/proc/net/tcp");
  std::string line, listening;
  while (std::getline(tcp, line))
    if (line.find(std::string(":") + port_hex + " 00000000:0000 0A") != std::string::npos) listening = line;
  fail_unless(!listening.empty(), "port %d is not listening", s->port());
  fail_unless(listening.find("0100007F:" + std::string(port_hex)) != std::string::npos, "not loopback: %s",
              listening.c_str());
}
GST_END_TEST;

GST_START_TEST(test_bad_address_is_an_error) {
  ResultsService::Options opt;
  opt.address = "not-an-address";
  std::string error;
  fail_unless(ResultsService::start(opt, &error) == nullptr);
  fail_unless(error.find("not an IP address") != std::string::npos, "%s", error.c_str());
}
GST_END_TEST;

GST_START_TEST(test_results_endpoint_returns_the_latest_in_order) {
  auto s = start_service();
  for (int i = 0; i < 5; ++i) s->publish_result(result(i));
  nlohmann::json j = get_json(s->port(), "/api/results?limit=3");
  fail_unless_equals_int(j["total"].get<int>(), 5);
  fail_unless_equals_int(j["results"].size(), 3);
  for (int i = 0; i < 3; ++i) fail_unless_equals_int(j["results"][i]["seq"].get<int>(), 2 + i);
  fail_unless_equals_int(get_json(s->port(), "/api/results")["results"].size(), 5);
  fail_unless_equals_int(get(s->port(), "/api/results?limit=0").status, 400);
  fail_unless_equals_int(get(s->port(), "/api/results?limit=abc").status, 400);
}
GST_END_TEST;

GST_START_TEST(test_results_history_is_bounded) {
  ResultsService::Options opt;
  opt.history = 10;
  auto s = start_service(opt);
  for (int i = 0; i < 25; ++i) s->publish_result(result(i));
  nlohmann::json j = get_json(s->port(), "/api/results?limit=10");
  fail_unless_equals_int(j["results"].size(), 10);
  fail_unless_equals_int(j["results"][0]["seq"].get<int>(), 15);
  fail_unless_equals_int(get(s->port(), "/api/results?limit=11").status, 400);
}
GST_END_TEST;

GST_START_TEST(test_stats_count_results_drops_and_setups) {
  auto s = start_service();
  s->publish_result(result(0, 10, "32x16"));
  s->publish_result(result(1, 20, "4x2"));
  s->publish_result(result(2, 30, "4x2"));
  s->publish_drop("late");
  s->set_stream_counters(3, 1);
  nlohmann::json j = get_json(s->port(), "/api/stats");
  fail_unless_equals_int(j["frames"].get<int>(), 4);
  fail_unless_equals_int(j["results"].get<int>(), 3);
  fail_unless_equals_int(j["dropped"].get<int>(), 1);
  fail_unless_equals_int(j["drops"]["late"].get<int>(), 1);
  fail_unless_equals_int(j["drops"]["malformed"].get<int>(), 0);
  fail_unless_equals_int(j["missing"].get<int>(), 3);
  fail_unless_equals_int(j["restarts"].get<int>(), 1);
  fail_unless_equals_int(j["bytes"].get<int>(), 3003);
  fail_unless_equals_int(j["setups"]["4x2"].get<int>(), 2);
  fail_unless_equals_int(j["correct"].get<int>(), 2);  // seq 0 and 2
  fail_unless(std::abs(j["latency-p50-ms"].get<double>() - 20) < 1e-9);
}
GST_END_TEST;

GST_START_TEST(test_metrics_are_prometheus_text) {
  auto s = start_service();
  s->publish_result(result(0, 3));     // 0.003 s: every bucket
  s->publish_result(result(1, 40));    // 0.04 s: from le=0.05 on
  s->publish_result(result(2, 2000));  // only +Inf
  s->publish_drop("malformed");
  Reply r = get(s->port(), "/metrics");
  fail_unless_equals_int(r.status, 200);
  fail_unless(r.head.find("Content-Type: text/plain; version=0.0.4") != std::string::npos, "%s", r.head.c_str());
  for (const char *line :
       {"# TYPE rtcoinfer_frames_total counter\nrtcoinfer_frames_total{stream=\"cam\"} 4\n",
        "rtcoinfer_results_total{stream=\"cam\"} 3\n", "rtcoinfer_drops_total{stream=\"cam\",reason=\"malformed\"} 1\n",
        "rtcoinfer_drops_total{stream=\"cam\",reason=\"late\"} 0\n",
        "rtcoinfer_drops_total{stream=\"cam\",reason=\"incomplete\"} 0\n",
        "rtcoinfer_setup_results_total{stream=\"cam\",setup=\"32x16\"} 3\n",
        "rtcoinfer_latency_seconds_bucket{stream=\"cam\",le=\"0.005\"} 1\n",
        "rtcoinfer_latency_seconds_bucket{stream=\"cam\",le=\"0.035\"} 1\n",
        "rtcoinfer_latency_seconds_bucket{stream=\"cam\",le=\"0.05\"} 2\n",
        "rtcoinfer_latency_seconds_bucket{stream=\"cam\",le=\"1\"} 2\n",
        "rtcoinfer_latency_seconds_bucket{stream=\"cam\",le=\"+Inf\"} 3\n",
        "rtcoinfer_latency_seconds_count{stream=\"cam\"} 3\n", "rtcoinfer_feature_bytes_total{stream=\"cam\"} 3003\n",
        "rtcoinfer_streams{state=\"active\"} 1\n"})
    fail_unless(r.body.find(line) != std::string::npos, "missing \"%s\" in:\n%s", line, r.body.c_str());
}
GST_END_TEST;

GST_START_TEST(test_token_is_required_when_set) {
  ResultsService::Options opt;
  opt.token = "s3cret";
  auto s = start_service(opt);
  for (const char *path : {"/api/stats", "/", "/metrics", "/api/events", "/nonexistent"}) {
    Reply r = get(s->port(), path);
    fail_unless_equals_int(r.status, 401);
    fail_unless(r.head.find("WWW-Authenticate: Bearer") != std::string::npos);
  }
  fail_unless_equals_int(get(s->port(), "/api/stats", "Authorization: Bearer wrong\r\n").status, 401);
  fail_unless_equals_int(get(s->port(), "/api/stats", "Authorization: Bearer s3cre\r\n").status, 401);
  fail_unless_equals_int(get(s->port(), "/api/stats", "Authorization: Basic s3cret\r\n").status, 401);
  fail_unless_equals_int(get(s->port(), "/api/stats?token=s3cretX").status, 401);
  fail_unless_equals_int(get(s->port(), "/api/stats", "Authorization: Bearer s3cret\r\n").status, 200);
  fail_unless_equals_int(get(s->port(), "/api/stats?token=s3cret").status, 200);
  // the scheme is case-insensitive (RFC 7235), the spaces after it do not count
  fail_unless_equals_int(get(s->port(), "/api/stats", "Authorization: bearer s3cret\r\n").status, 200);
  fail_unless_equals_int(get(s->port(), "/api/stats", "Authorization: BEARER   s3cret\r\n").status, 200);
  fail_unless_equals_int(get(s->port(), "/api/stats", "authorization: Bearer s3cret\r\n").status, 200);
  // two Authorization headers: refused whatever their order, not answered by one of them
  for (const char *two : {"Authorization: Bearer s3cret\r\nAuthorization: Bearer wrong\r\n",
                          "Authorization: Bearer wrong\r\nAuthorization: Bearer s3cret\r\n",
                          "Authorization: Bearer s3cret\r\nAuthorization: Bearer s3cret\r\n"})
    fail_unless_equals_int(get(s->port(), "/api/stats", two).status, 400);
}
GST_END_TEST;

GST_START_TEST(test_unknown_paths_and_methods_are_refused) {
  auto s = start_service();
  for (const char *path : {"/nonexistent", "/api", "/api/results/1", "/metrics/x", "/index.html", "/models/"})
    fail_unless_equals_int(get(s->port(), path).status, 404);
  Reply r =
      raw_request(s->port(), "POST /api/stats HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
  fail_unless_equals_int(r.status, 405);
}
GST_END_TEST;

// Three 300 MB request bodies, with and without the token, and a chunked one: each is
// refused on its headers (413, or 405 for POST) and never read, so the service's memory
// stays where it was. The client writes its body while it waits for the answer.
GST_START_TEST(test_request_bodies_are_refused_unread) {
  ResultsService::Options opt;
  opt.token = "s3cret";
  auto s = start_service(opt);
  // one small refused body first: the one-time costs (a client thread, libsoup's paths;
  // about 15 MB under ASan) are not the bodies'
  {
    GSocketConnection *conn = connect_to(s->port());
    send_all(conn, "GET /api/stats HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello");
    std::thread([] {}).join();
    char buf[64];
    g_input_stream_read(g_io_stream_get_input_stream(G_IO_STREAM(conn)), buf, sizeof buf, nullptr, nullptr);
    g_object_unref(conn);
  }
  const long before = peak_rss_kb();
  const std::string body_of_300mb = "Content-Length: 314572800\r\n\r\n";
  const std::vector<std::pair<std::string, int>> requests = {
      {"GET /api/stats HTTP/1.1\r\nHost: x\r\n" + body_of_300mb, 413},
      {"POST /api/stats HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer s3cret\r\n" + body_of_300mb, 405},
      {"GET /api/stats HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer s3cret\r\n" + body_of_300mb, 413},
      {"GET /api/stats HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer s3cret\r\nTransfer-Encoding: chunked\r\n\r\n",
       413}};
  for (const auto &[head, status] : requests) {
    GSocketConnection *conn = connect_to(s->port());
    std::thread writer([conn, head = head] {
      send_all(conn, head);
      const std::string chunk = "100000\r\n" + std::string(1 << 20, 'x') + "\r\n";  // a chunk or plain bytes
      GOutputStream *out = g_io_stream_get_output_stream(G_IO_STREAM(conn));
      for (int i = 0; i < 300; ++i)
        if (!g_output_stream_write_all(out, chunk.data(), chunk.size(), nullptr, nullptr, nullptr)) break;
    });
    std::string raw;
    char buf[16384];
    gssize n;
    GInputStream *in = g_io_stream_get_input_stream(G_IO_STREAM(conn));
    while (raw.find("\r\n\r\n") == std::string::npos &&
           (n = g_input_stream_read(in, buf, sizeof buf, nullptr, nullptr)) > 0)
      raw.append(buf, std::size_t(n));
    fail_unless(raw.compare(0, 9, "HTTP/1.1 ") == 0, "no answer to %s", head.c_str());
    fail_unless_equals_int(std::atoi(raw.c_str() + 9), status);
    g_io_stream_close(G_IO_STREAM(conn), nullptr, nullptr);  // the writer fails and ends
    writer.join();
    g_object_unref(conn);
  }
  const long grown_kb = peak_rss_kb() - before;
  g_print("peak RSS grew by %ld kB\n", grown_kb);
  fail_unless(grown_kb < 20 * 1024, "the bodies grew the peak RSS by %ld kB", grown_kb);
  fail_unless(s->stats_json().find("\"bodies-refused\":5") != std::string::npos, "%s", s->stats_json().c_str());
  // the service still answers
  fail_unless_equals_int(get(s->port(), "/api/stats", "Authorization: Bearer s3cret\r\n").status, 200);
}
GST_END_TEST;

GST_START_TEST(test_dashboard_is_self_contained_html) {
  auto s = start_service();
  Reply r = get(s->port(), "/");
  fail_unless_equals_int(r.status, 200);
  fail_unless(r.head.find("Content-Type: text/html") != std::string::npos);
  fail_unless(r.head.find("Content-Security-Policy: default-src 'self'") != std::string::npos);
  fail_unless(r.head.find("X-Content-Type-Options: nosniff") != std::string::npos, "%s", r.head.c_str());
  for (const char *part : {"<canvas id=\"latency\"", "<canvas id=\"setup\"", "<canvas id=\"bytes\"",
                           "<canvas id=\"accuracy\"", "api/results?limit="})
    fail_unless(r.body.find(part) != std::string::npos, "no %s", part);
  fail_unless(r.body.find("http://") == std::string::npos && r.body.find("https://") == std::string::npos,
              "the page must not load anything from elsewhere");
}
GST_END_TEST;

GST_START_TEST(test_model_metadata_and_bundle_bytes) {
  auto s = start_service();
  fail_unless_equals_int(get(s->port(), "/api/model").status, 404);
  std::string id;
  ServedModel m;
  m.bundle = fake_bundle(5000, 1, &id);
  m.id = id;
  m.metadata_json = R"({"arch":"sw-compact","labels":["a","b"]})";
  const auto bytes = m.bundle;
  s->set_model(m);
  nlohmann::json j = get_json(s->port(), "/api/model");
  fail_unless(j["id"] == id);
  fail_unless_equals_int(j["bytes"].get<int>(), 5032);
  fail_unless(j["url"] == "/models/" + id);
  fail_unless(j["metadata"]["arch"] == "sw-compact");
  Reply r = get(s->port(), "/models/" + id);
  fail_unless_equals_int(r.status, 200);
  fail_unless(r.body == std::string(bytes.begin(), bytes.end()), "bundle bytes differ");
  std::string other = id;
  other[0] = other[0] == '0' ? '1' : '0';
  fail_unless_equals_int(get(s->port(), "/models/" + other).status, 404);
}
GST_END_TEST;

GST_START_TEST(test_path_traversal_is_rejected) {
  auto s = start_service();
  std::string id;
  ServedModel m;
  m.bundle = fake_bundle(100, 2, &id);
  m.id = id;
  s->set_model(m);
  for (const std::string &path : std::vector<std::string>{
           "/models/../../../../etc/passwd", "/models/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
           "/models/..%2f..%2f..%2fetc%2fpasswd", "/models/%2E%2E%2F%2E%2E%2Fetc%2Fpasswd", "/../../../etc/passwd",
           "/models/" + id + "/../../../etc/passwd", "/models/" + id + "%2f..%2f..%2fetc%2fpasswd",
           "/models/" + id + "/", "/models/..%5c..%5cetc%5cpasswd", "/models/%252e%252e/etc/passwd",
           "/models//etc/passwd"}) {
    Reply r = get(s->port(), path);
    fail_unless(r.status == 404 || r.status == 400, "%s answered %d", path.c_str(), r.status);
    fail_unless(r.body.find("root:") == std::string::npos, "%s leaked a file", path.c_str());
  }
}
GST_END_TEST;

GST_START_TEST(test_oversized_headers_are_refused_and_the_server_goes_on) {
  auto s = start_service();
  const std::string big(300 * 1024, 'a');
  Reply r = get(s->port(), "/api/stats", "X-Big: " + big + "\r\n");
  fail_unless(r.status == 0 || (r.status >= 400 && r.status < 500), "oversized header answered %d", r.status);
  Reply many = get(s->port(), "/api/stats", [] {
    std::string h;
    for (int i = 0; i < 20000; ++i) h += "X-H" + std::to_string(i) + ": v\r\n";
    return h;
  }());
  fail_unless(many.status == 0 || (many.status >= 400 && many.status < 500), "20000 headers answered %d", many.status);
  fail_unless_equals_int(get(s->port(), "/api/stats").status, 200);
}
GST_END_TEST;

// Two cameras on one service: every endpoint narrows to one with ?stream=, and the
// unfiltered ones count both.
GST_START_TEST(test_streams_are_listed_and_filtered) {
  auto s = start_service();  // stream "cam"
  auto other = std::make_shared<ResultLedger>();
  (*s).add_stream("door \"2\"", other);  // a name that needs escaping in JSON and in labels
  for (int i = 0; i < 4; ++i) s->publish_result(result(i, 10, "32x16"));
  for (int i = 0; i < 2; ++i) {
    ResultEvent r = result(100 + i, 30, "4x2");
    other->count_result(r.setup, r.bytes, r.latency_ms, r.truth, r.correct);
    (*s).publish_result("door \"2\"", r);
  }
  other->count_drop("late");
  nlohmann::json list = get_json(s->port(), "/api/streams")["streams"];
  fail_unless_equals_int(list.size(), 2);
  for (const auto &row : list) {
    const bool cam = row["stream"] == "cam";
    fail_unless(cam || row["stream"] == "door \"2\"", "%s", row.dump().c_str());
    fail_unless_equals_int(row["results"].get<int>(), cam ? 4 : 2);
    fail_unless_equals_int(row["dropped"].get<int>(), cam ? 0 : 1);
    fail_unless(row["active"].get<bool>());
    fail_unless(row["setup"] == (cam ? "32x16" : "4x2"));
  }
  nlohmann::json all = get_json(s->port(), "/api/stats");
  fail_unless_equals_int(all["results"].get<int>(), 6);
  fail_unless_equals_int(all["frames"].get<int>(), 7);
  fail_unless_equals_int(all["streams"].get<int>(), 2);
  nlohmann::json one = get_json(s->port(), "/api/stats?stream=door%20%222%22");
  fail_unless_equals_int(one["results"].get<int>(), 2);
  fail_unless(std::abs(one["latency-p50-ms"].get<double>() - 30) < 1e-9);
  nlohmann::json rs = get_json(s->port(), "/api/results?stream=cam&limit=10");
  fail_unless_equals_int(rs["total"].get<int>(), 4);
  fail_unless_equals_int(rs["results"].size(), 4);
  for (const auto &r : rs["results"]) fail_unless(r["seq"].get<int>() < 100);
  nlohmann::json mixed = get_json(s->port(), "/api/results?limit=3");  // the newest three, in arrival order
  fail_unless_equals_int(mixed["total"].get<int>(), 6);
  fail_unless_equals_int(mixed["results"][0]["seq"].get<int>(), 3);
  fail_unless_equals_int(mixed["results"][2]["seq"].get<int>(), 101);
  fail_unless_equals_int(get(s->port(), "/api/stats?stream=nobody").status, 404);
  fail_unless_equals_int(get(s->port(), "/api/results?stream=nobody").status, 404);
  const std::string metrics = s->metrics_text();
  for (const char *line :
       {"rtcoinfer_results_total{stream=\"cam\"} 4\n", "rtcoinfer_results_total{stream=\"door \\\"2\\\"\"} 2\n",
        "rtcoinfer_drops_total{stream=\"door \\\"2\\\"\",reason=\"late\"} 1\n"})
    fail_unless(metrics.find(line) != std::string::npos, "missing \"%s\" in:\n%s", line, metrics.c_str());
  // an ended stream stays listed with its counts, inactive
  (*s).end_stream("cam");
  list = get_json(s->port(), "/api/streams")["streams"];
  fail_unless_equals_int(list.size(), 2);
  for (const auto &row : list)
    if (row["stream"] == "cam") fail_unless(!row["active"].get<bool>() && row["results"] == 4);
  fail_unless(s->metrics_text().find("rtcoinfer_streams{state=\"ended\"} 1\n") != std::string::npos);
}
GST_END_TEST;

// Ended streams are forgotten oldest first beyond kEndedStreamsKept: a server that sees
// devices come and go for days keeps bounded memory.
GST_START_TEST(test_ended_streams_are_bounded) {
  auto s = start_service();
  const std::size_t n = ResultsService::kEndedStreamsKept + 10;
  for (std::size_t i = 0; i < n; ++i) {
    const std::string id = "dev" + std::to_string(i);
    (*s).add_stream(id, std::make_shared<ResultLedger>());
    (*s).publish_result(id, result(i));
    (*s).end_stream(id);
  }
  nlohmann::json list = get_json(s->port(), "/api/streams")["streams"];
  fail_unless_equals_int(list.size(), ResultsService::kEndedStreamsKept + 1);  // and "cam", active
  fail_unless_equals_int(get(s->port(), "/api/stats?stream=dev0").status, 404);
  fail_unless_equals_int(get(s->port(), "/api/stats?stream=dev" + std::to_string(n - 1)).status, 200);
}
GST_END_TEST;

// /api/events?stream= carries that stream's results and drops only.
GST_START_TEST(test_events_of_one_stream) {
  auto s = start_service();
  (*s).add_stream("b", std::make_shared<ResultLedger>());
  EventStream only_b(s->port(), 0, "/api/events?stream=b");
  EventStream every(s->port());
  wait_for_stat(*s, "event-clients", 2);
  for (int i = 0; i < 10; ++i) {
    s->publish_result(result(i));  // "cam"
    if (i % 2) (*s).publish_result("b", result(1000 + i));
  }
  (*s).publish_drop("b", "late", 1, 6);
  fail_unless_equals_int(every.read_events(16).size(), 16);
  const auto &events = only_b.read_events(6);
  fail_unless_equals_int(events.size(), 6);
  for (std::size_t i = 0; i + 1 < events.size(); ++i)
    fail_unless(events[i].second.find("\"seq\":100") != std::string::npos, "%s", events[i].second.c_str());
  fail_unless(events[5].second.find("\"stream\":\"b\"") != std::string::npos, "%s", events[5].second.c_str());
}
GST_END_TEST;

GST_START_TEST(test_events_arrive_in_order_without_gaps) {
  auto s = start_service();
  EventStream stream(s->port());
  wait_for_stat(*s, "event-clients", 1);
  const int n = 300;
  for (int i = 0; i < n; ++i) {
    s->publish_result(result(i));
    if (i == 100) s->publish_drop("late");
  }
  const auto &events = stream.read_events(n + 1);
  fail_unless_equals_int(events.size(), n + 1);
  int seq = 0;
  for (std::size_t i = 0; i < events.size(); ++i) {
    fail_unless_equals_int(events[i].first, events[0].first + i);  // ids: consecutive
    const std::string &rec = events[i].second;
    if (rec.find("event: drop\n") != std::string::npos) {
      fail_unless(rec.find("\"reason\":\"late\"") != std::string::npos);
      continue;
    }
    fail_unless(rec.find("event: result\n") != std::string::npos, "%s", rec.c_str());
    nlohmann::json j = nlohmann::json::parse(rec.substr(rec.find("data: ") + 6));
    fail_unless_equals_int(j["seq"].get<int>(), seq++);
  }
  fail_unless_equals_int(seq, n);
}
GST_END_TEST;

GST_START_TEST(test_stalled_event_client_is_dropped_without_blocking_the_publisher) {
  ResultsService::Options opt;
  opt.max_client_backlog = 64 * 1024;
  auto s = start_service(opt);
  EventStream stalled(s->port(), 4096);  // never read
  EventStream reader(s->port());
  wait_for_stat(*s, "event-clients", 2);
  ResultEvent big = result(0);
  big.json = nlohmann::json{{"seq", 0}, {"pad", std::string(1000, 'x')}}.dump();
  // Publish until the stalled client is gone: first the kernel's socket buffers fill
  // (a few MB on loopback), then the service's backlog; 12 MB is plenty.
  double worst_ms = 0;
  std::size_t published = 0;
  auto dropped = [&] { return nlohmann::json::parse(s->stats_json())["service"]["event-clients-dropped"] != 0; };
  while (published < 12000 && !dropped()) {
    for (int k = 0; k < 50; ++k, ++published) {
      const auto t0 = std::chrono::steady_clock::now();
      s->publish_result(big);
      worst_ms =
          std::max(worst_ms, std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    }
    reader.read_events(published);  // the healthy client keeps up
  }
  wait_for_stat(*s, "event-clients-dropped", 1);
  wait_for_stat(*s, "event-clients", 1);
  // publish_result only takes a mutex; a blocking write would take seconds here.
  fail_unless(worst_ms < 200, "a publish took %.1f ms", worst_ms);
  fail_unless_equals_int(reader.read_events(published).size(), published);
}
GST_END_TEST;

GST_START_TEST(test_event_clients_are_limited) {
  ResultsService::Options opt;
  opt.max_event_clients = 2;
  auto s = start_service(opt);
  EventStream a(s->port()), b(s->port());
  wait_for_stat(*s, "event-clients", 2);
  fail_unless_equals_int(get(s->port(), "/api/events").status, 503);
}
GST_END_TEST;

// The limit is shared between hosts: four streams of 127.0.0.2 that never read fill it,
// and a stream of 127.0.0.1 still gets in, in place of 127.0.0.2's oldest; a fifth of
// 127.0.0.2 does not (it holds its share), a stream of a third host does.
GST_START_TEST(test_event_client_limit_is_shared_between_hosts) {
  ResultsService::Options opt;
  opt.max_event_clients = 4;
  auto s = start_service(opt);
  std::vector<std::unique_ptr<EventStream>> idle;
  for (int i = 0; i < 4; ++i) idle.push_back(std::make_unique<EventStream>(s->port(), 0, "/api/events", "127.0.0.2"));
  wait_for_stat(*s, "event-clients", 4);
  EventStream mine(s->port());
  fail_unless(mine.opened(), "no stream for another host at the limit: %s", mine.raw.c_str());
  wait_for_stat(*s, "event-clients-dropped", 1);
  wait_for_stat(*s, "event-clients", 4);
  GSocketConnection *fifth = connect_to(s->port(), "127.0.0.2");
  send_all(fifth, "GET /api/events HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  char head[13] = {};
  g_input_stream_read_all(g_io_stream_get_input_stream(G_IO_STREAM(fifth)), head, sizeof head - 1, nullptr, nullptr,
                          nullptr);
  fail_unless(std::string(head) == "HTTP/1.1 503", "%s", head);
  g_object_unref(fifth);
  EventStream third_host(s->port(), 0, "/api/events", "127.0.0.3");
  fail_unless(third_host.opened(), "%s", third_host.raw.c_str());
  wait_for_stat(*s, "event-clients-dropped", 2);
  // the streams that stayed still get every event
  s->publish_result(result(1));
  fail_unless_equals_int(mine.read_events(1).size(), 1);
  fail_unless_equals_int(third_host.read_events(1).size(), 1);
}
GST_END_TEST;

GST_START_TEST(test_stopping_with_open_streams_is_clean) {
  auto s = start_service();
  EventStream a(s->port()), b(s->port());
  wait_for_stat(*s, "event-clients", 2);
  s->publish_result(result(1));
  s.reset();  // joins the server thread; the clients see the connection close
  fail_unless(a.read_events(100).size() <= 1);
}
GST_END_TEST;

// ---- model fetch

namespace {

std::string temp_dir() {
  gchar *d = g_dir_make_tmp("rtcoinfer-cache-XXXXXX", nullptr);
  std::string s = d;
  g_free(d);
  return s;
}

std::string read_file(const std::string &path) {
  std::ifstream f(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), {});
}

std::string model_url(int port, const std::string &id) {
  return "http://127.0.0.1:" + std::to_string(port) + "/models/" + id;
}

}  // namespace

GST_START_TEST(test_fetched_bundle_is_byte_identical_and_cached) {
  auto s = start_service();
  std::string id, error;
  ServedModel m;
  m.bundle = fake_bundle(200000, 3, &id);
  m.id = id;
  const auto bytes = m.bundle;
  s->set_model(m);
  const std::string cache = temp_dir();
  auto path = fetch_model_bundle(model_url(s->port(), id), cache, &error);
  fail_unless(path.has_value(), "%s", error.c_str());
  fail_unless(*path == cache + "/" + id + ".rcib");
  fail_unless(read_file(*path) == std::string(bytes.begin(), bytes.end()), "fetched bundle differs");
  const int port = s->port();
  s.reset();  // the server is gone: the cache answers
  auto again = fetch_model_bundle(model_url(port, id), cache, &error);
  fail_unless(again == path, "%s", error.c_str());
}
GST_END_TEST;

GST_START_TEST(test_fetch_rejects_a_hash_mismatch) {
  auto s = start_service();
  std::string id_a, id_b, error;
  ServedModel m;
  fake_bundle(1000, 4, &id_a);
  m.bundle = fake_bundle(1000, 5, &id_b);  // a valid bundle, but not the one the URL names
  m.id = id_a;
  s->set_model(m);
  const std::string cache = temp_dir();
  fail_if(fetch_model_bundle(model_url(s->port(), id_a), cache, &error).has_value());
  fail_unless(error.find("content hash mismatch") != std::string::npos, "%s", error.c_str());
  fail_unless(error.find(id_a) != std::string::npos && error.find(id_b) != std::string::npos, "%s", error.c_str());
  fail_unless(!g_file_test((cache + "/" + id_a + ".rcib").c_str(), G_FILE_TEST_EXISTS), "a bad download was cached");

  m.bundle = fake_bundle(1000, 4, &id_a);
  m.bundle[10] ^= 1;  // corrupted in transit: the content no longer matches its own hash
  s->set_model(m);
  fail_if(fetch_model_bundle(model_url(s->port(), id_a), cache, &error).has_value());
  fail_unless(error.find("corrupt bundle") != std::string::npos, "%s", error.c_str());
}
GST_END_TEST;

GST_START_TEST(test_fetch_reports_server_down_and_http_errors) {
  auto s = start_service();
  const int port = s->port();
  std::string id, error;
  fake_bundle(100, 6, &id);
  fail_if(fetch_model_bundle(model_url(port, id), temp_dir(), &error).has_value());
  fail_unless(error.find("HTTP 404") != std::string::npos, "%s", error.c_str());
  s.reset();
  fail_if(fetch_model_bundle(model_url(port, id), temp_dir(), &error).has_value());
  fail_unless(error.find("download failed") != std::string::npos && error.find(model_url(port, id)) == 0, "%s",
              error.c_str());
}
GST_END_TEST;

GST_START_TEST(test_fetch_needs_the_model_id_in_the_url) {
  std::string error;
  for (const char *url :
       {"http://127.0.0.1:1/models/latest", "http://127.0.0.1:1/models/ABCDEF", "http://127.0.0.1:1/", "http://"})
    fail_if(fetch_model_bundle(url, temp_dir(), &error).has_value(), "%s accepted", url);
  fail_unless(error.find("not a valid URL") != std::string::npos || error.find("model id") != std::string::npos, "%s",
              error.c_str());
  fail_unless(is_model_url("http://x/models/1") && is_model_url("https://x") && !is_model_url("models/zoo/a.rcib"));
}
GST_END_TEST;

namespace {

// A hostile model server on loopback: it reads one request and answers with `answer`,
// which writes to the socket until it is done or the client has gone (a write fails).
class HostileServer {
 public:
  explicit HostileServer(std::function<void(int fd)> answer) : answer_(std::move(answer)) {
    listener_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    fail_unless(bind(listener_, reinterpret_cast<sockaddr *>(&a), sizeof a) == 0 && listen(listener_, 4) == 0);
    socklen_t len = sizeof a;
    getsockname(listener_, reinterpret_cast<sockaddr *>(&a), &len);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] {
      const int fd = accept(listener_, nullptr, nullptr);
      if (fd < 0) return;
      std::string request;
      char buf[4096];
      ssize_t n;
      while (request.find("\r\n\r\n") == std::string::npos && (n = recv(fd, buf, sizeof buf, 0)) > 0)
        request.append(buf, std::size_t(n));
      answer_(fd);
      close(fd);
    });
  }
  ~HostileServer() {
    shutdown(listener_, SHUT_RDWR);
    thread_.join();
    close(listener_);
  }
  int port() const { return port_; }
  static bool send_text(int fd, const std::string &text) {
    return send(fd, text.data(), text.size(), MSG_NOSIGNAL) == ssize_t(text.size());
  }

 private:
  std::function<void(int fd)> answer_;
  int listener_ = -1, port_ = 0;
  std::thread thread_;
};

bool dir_is_empty(const std::string &dir) {
  GDir *d = g_dir_open(dir.c_str(), 0, nullptr);
  const bool empty = d && !g_dir_read_name(d);
  if (d) g_dir_close(d);
  return empty;
}

const std::string kSomeId(64, 'a');

}  // namespace

// A response that says it is 3 GiB is refused by its Content-Length, before a byte of it.
GST_START_TEST(test_fetch_refuses_a_response_larger_than_any_bundle) {
  HostileServer server([](int fd) {
    HostileServer::send_text(fd, "HTTP/1.1 200 OK\r\nContent-Length: 3221225472\r\n\r\n");
    const std::string chunk(65536, 'x');
    for (int i = 0; i < 16 && HostileServer::send_text(fd, chunk); ++i) {
    }
  });
  const std::string cache = temp_dir();
  std::string error;
  fail_if(fetch_model_bundle(model_url(server.port(), kSomeId), cache, &error).has_value());
  fail_unless(error.find("3221225472 bytes") != std::string::npos &&
                  error.find("larger than any model bundle") != std::string::npos,
              "%s", error.c_str());
  fail_unless(dir_is_empty(cache), "a refused download left a file in the cache");
}
GST_END_TEST;

// A response without a length that never ends is cut at the size limit, and the memory
// it took is one read buffer: the body goes to a temporary file, removed on failure.
GST_START_TEST(test_fetch_cuts_an_endless_response_with_bounded_memory) {
  HostileServer server([](int fd) {
    HostileServer::send_text(fd, "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n");
    const std::string chunk(1 << 20, 'x');
    for (int i = 0; i < 256 && HostileServer::send_text(fd, chunk); ++i) {
    }  // 256 MiB at most, or until the client has gone
  });
  const std::string cache = temp_dir();
  FetchLimits limits;
  limits.max_bytes = 64 << 20;
  // one fetch first that fails at once (nothing listens): the one-time costs (libsoup's
  // session, the watchdog thread; about 15 MB under ASan) are not the response's
  std::string ignored;
  fail_if(fetch_model_bundle(model_url(1, kSomeId), temp_dir(), &ignored).has_value());
  const long before = peak_rss_kb();
  std::string error;
  fail_if(fetch_model_bundle(model_url(server.port(), kSomeId), cache, &error, limits).has_value());
  fail_unless(error.find("larger than any model bundle (67108864 bytes)") != std::string::npos, "%s", error.c_str());
  const long grown_kb = peak_rss_kb() - before;
  g_print("peak RSS grew by %ld kB\n", grown_kb);
  fail_unless(grown_kb < 16 * 1024, "fetching grew the peak RSS by %ld kB", grown_kb);
  fail_unless(dir_is_empty(cache), "a refused download left a file in the cache");
}
GST_END_TEST;

// A server that never goes silent but drips a byte at a time is too slow, and is given
// up after the window; one that sends steadily but for too long, at the deadline.
GST_START_TEST(test_fetch_gives_up_on_a_drip_and_at_the_deadline) {
  const auto drip = [](int fd) {
    HostileServer::send_text(fd, "HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n");
    for (int i = 0; i < 600 && HostileServer::send_text(fd, "x"); ++i) g_usleep(100 * 1000);  // 60 s at most
  };
  const auto steady = [](int fd) {
    HostileServer::send_text(fd, "HTTP/1.1 200 OK\r\nContent-Length: 100000000\r\n\r\n");
    const std::string chunk(32768, 'x');
    for (int i = 0; i < 240 && HostileServer::send_text(fd, chunk); ++i) g_usleep(250 * 1000);  // 60 s at most
  };
  FetchLimits limits;
  limits.window_s = 2;
  limits.min_bytes_per_window = 1024;
  limits.deadline_s = 4;
  std::string error;
  {
    HostileServer server(drip);
    const gint64 t0 = g_get_monotonic_time();
    fail_if(fetch_model_bundle(model_url(server.port(), kSomeId), temp_dir(), &error, limits).has_value());
    fail_unless(error.find("too slow: the server sent fewer than 1024 bytes in 2 s") != std::string::npos, "%s",
                error.c_str());
    // the drip would last 60 s; the limits end it after about 2 (30 s of slack for a slow machine)
    fail_unless(g_get_monotonic_time() - t0 < 30 * G_USEC_PER_SEC);
  }
  {
    HostileServer server(steady);
    fail_if(fetch_model_bundle(model_url(server.port(), kSomeId), temp_dir(), &error, limits).has_value());
    fail_unless(error.find("did not finish within 4 s") != std::string::npos, "%s", error.c_str());
  }
}
GST_END_TEST;

static Suite *results_service_suite(void) {
  Suite *s = suite_create("results-service");
  TCase *tc = tcase_create("general");
  tcase_set_timeout(tc, 60);
  suite_add_tcase(s, tc);
  tcase_add_test(tc, test_ledger_takes_late_frames_back_from_missing);
  tcase_add_test(tc, test_ledger_counts_both_ends_from_the_senders_report);
  tcase_add_test(tc, test_ledger_hands_a_stream_over_to_the_next_server);
  tcase_add_test(tc, test_queue_watch_names_the_frames_a_queue_dropped);
  tcase_add_test(tc, test_binds_loopback_by_default);
  tcase_add_test(tc, test_bad_address_is_an_error);
  tcase_add_test(tc, test_results_endpoint_returns_the_latest_in_order);
  tcase_add_test(tc, test_results_history_is_bounded);
  tcase_add_test(tc, test_stats_count_results_drops_and_setups);
  tcase_add_test(tc, test_metrics_are_prometheus_text);
  tcase_add_test(tc, test_token_is_required_when_set);
  tcase_add_test(tc, test_unknown_paths_and_methods_are_refused);
  tcase_add_test(tc, test_dashboard_is_self_contained_html);
  tcase_add_test(tc, test_model_metadata_and_bundle_bytes);
  tcase_add_test(tc, test_path_traversal_is_rejected);
  tcase_add_test(tc, test_oversized_headers_are_refused_and_the_server_goes_on);
  tcase_add_test(tc, test_streams_are_listed_and_filtered);
  tcase_add_test(tc, test_ended_streams_are_bounded);
  tcase_add_test(tc, test_events_of_one_stream);
  tcase_add_test(tc, test_events_arrive_in_order_without_gaps);
  tcase_add_test(tc, test_stalled_event_client_is_dropped_without_blocking_the_publisher);
  tcase_add_test(tc, test_event_clients_are_limited);
  tcase_add_test(tc, test_event_client_limit_is_shared_between_hosts);
  tcase_add_test(tc, test_stopping_with_open_streams_is_clean);
  tcase_add_test(tc, test_fetched_bundle_is_byte_identical_and_cached);
  tcase_add_test(tc, test_fetch_rejects_a_hash_mismatch);
  tcase_add_test(tc, test_fetch_reports_server_down_and_http_errors);
  tcase_add_test(tc, test_fetch_needs_the_model_id_in_the_url);
  tcase_add_test(tc, test_request_bodies_are_refused_unread);
  tcase_add_test(tc, test_fetch_refuses_a_response_larger_than_any_bundle);
  tcase_add_test(tc, test_fetch_cuts_an_endless_response_with_bounded_memory);
  tcase_add_test(tc, test_fetch_gives_up_on_a_drip_and_at_the_deadline);
  return s;
}

GST_CHECK_MAIN(results_service);
