// rtcoinfer-tracesim: the trace study. Runs rate policies (mpc, rate, every fixed setup)
// over a folder of bandwidth traces with the controller code of rtcoinfer-mpcrate and a
// simulated bottleneck (gst/sim/trace_simulation.h), and writes per-trace and summary tables.
// The baselines of docs/evaluation.md run beside them: image offload (PNG, JPEG),
// local-only and the offline oracle (gst/sim/baselines.h), with their bytes, accuracy and
// compute measured on the bundle and its test split (baseline_measurements.h).
//
//   rtcoinfer-tracesim --traces ../shared/traces --scale 0.1 --out results/
//
// Any folder of "time_s throughput_Mbit/s" files (searched recursively) works unchanged.
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "baseline_measurements.h"
#include "sim/baselines.h"
#include "inference.h"
#include "data/labeled_images.h"
#include "progress.h"
#include "control/policy_spec.h"
#include "sim/trace_simulation.h"

namespace fs = std::filesystem;
using namespace rtcoinfer;

namespace {

std::vector<fs::path> find_traces(const std::vector<std::string> &inputs) {
  std::vector<fs::path> out;
  for (const auto &in : inputs) {
    if (fs::is_directory(in)) {
      for (const auto &e : fs::recursive_directory_iterator(in))
        if (e.is_regular_file() && e.path().extension() == ".txt" && e.path().filename() != "README.txt")
          out.push_back(e.path());
    } else if (fs::is_regular_file(in)) {
      out.push_back(in);
    } else {
      throw std::runtime_error("no such trace file or folder: " + in);
    }
  }
  std::sort(out.begin(), out.end());
  if (out.empty()) throw std::runtime_error("no *.txt traces found");
  return out;
}

// One policy of the study: a controller policy over the bundle's setups, or a baseline
// with profiles of its own (labels name each profile in frames CSVs).
struct PolicyRun {
  enum Kind { Controller, Offload, Local, Oracle, Spinn } kind = Controller;
  double threshold = 0;                  // Spinn: exit confidence threshold
  double mean_bytes = 0, mean_top1 = 0;  // Spinn: per captured frame, exits included
  SimPolicy sim;
  std::vector<SetupProfile> profiles;
  std::vector<std::string> labels;
  LocalOnlyConfig local;
};

std::vector<std::string> split_commas(const std::string &text) {
  std::vector<std::string> out;
  std::size_t pos = 0;
  while (pos <= text.size()) {
    const std::size_t end = std::min(text.find(',', pos), text.size());
    if (end > pos) out.push_back(text.substr(pos, end - pos));
    pos = end + 1;
  }
  return out;
}

std::vector<std::string> setup_labels(const std::vector<SetupProfile> &profiles) {
  std::vector<std::string> out;
  for (const auto &p : profiles) out.push_back(p.setup.name());
  return out;
}

// Baseline profiles are filled in later (measure_baselines) for offload and local.
// The names are the one policy grammar's (gst/control/policy_spec.h).
std::vector<PolicyRun> parse_policies(const std::string &text, const std::vector<SetupProfile> &profiles) {
  std::vector<PolicyRun> out;
  for (const PolicySpec &spec : parse_policy_list(text)) {
    const std::string &p = spec.text;
    PolicyRun run;
    run.profiles = profiles;
    run.labels = setup_labels(profiles);
    auto index_of = [&](const std::string &name) {
      for (std::size_t i = 0; i < profiles.size(); ++i)
        if (profiles[i].setup.name() == name) return int(i);
      throw std::runtime_error("policy " + p + ": the bundle has no setup " + name);
    };
    switch (spec.kind) {
      case PolicySpec::Kind::Mpc: run.sim = {Policy::Mpc, -1, "mpc"}; break;
      case PolicySpec::Kind::Rate: run.sim = {Policy::Rate, -1, "rate"}; break;
      case PolicySpec::Kind::Oracle:
        run.kind = PolicyRun::Oracle;
        run.sim = {Policy::Fixed, -1, "oracle"};
        break;
      case PolicySpec::Kind::Local:
        run.kind = PolicyRun::Local;
        run.sim = {Policy::Fixed, 0, "local"};
        break;
      case PolicySpec::Kind::Offload: {
        run.kind = PolicyRun::Offload;
        const eval::Codec codec = eval::parse_codec(spec.codec_name());
        run.sim = {Policy::Fixed, 0, "offload:" + codec.name};
        run.labels = {codec.name};
        break;
      }
      case PolicySpec::Kind::Clio:
        // CLIO-style: the partition output of B bits in progressive channel slices (1, 2, ...
        // 8, 16, 32 channels: the SW-CNN's setups), each a feature frame of its own; the
        // `rate` policy picks how many slices to send. The bytes start as the table's plus
        // a 24-byte header per slice and are then measured (measure_sliced_bytes).
        run.profiles.clear();
        for (const auto &q : profiles)
          if (q.setup.bits == spec.bits) run.profiles.push_back(q);
        if (run.profiles.empty())
          throw std::runtime_error("policy " + p + ": the bundle has no " + std::to_string(spec.bits) + "-bit setups");
        std::sort(run.profiles.begin(), run.profiles.end(),
                  [](const SetupProfile &a, const SetupProfile &b) { return a.setup.channels < b.setup.channels; });
        for (std::size_t i = 0; i < run.profiles.size(); ++i) run.profiles[i].bytes += 24.0 * double(i);
        run.labels = setup_labels(run.profiles);
        run.sim = {Policy::Rate, -1, p};
        run.sim.progressive = true;
        break;
      case PolicySpec::Kind::Spinn:
        // SPINN-style: frames whose early exit is at least THRESHOLD confident are answered
        // on the device, the rest are sent at CxB (--exit gives the exit).
        if (spec.setup.empty()) throw std::runtime_error("policy " + p + ": the study needs spinn:THRESHOLD:CxB");
        run.kind = PolicyRun::Spinn;
        run.threshold = spec.threshold;
        run.sim = {Policy::Fixed, index_of(spec.setup), p};
        break;
      case PolicySpec::Kind::Fixed:
        if (spec.setup.empty()) throw std::runtime_error("policy " + p + ": the study needs fixed:CxB or fixed:all");
        for (std::size_t i = 0; i < profiles.size(); ++i)
          if (spec.setup == "all" || profiles[i].setup.name() == spec.setup) {
            PolicyRun f = run;
            f.sim = {Policy::Fixed, int(i), "fixed:" + profiles[i].setup.name()};
            out.push_back(f);
          }
        if (spec.setup != "all") index_of(spec.setup);  // names the missing setup
        continue;
      case PolicySpec::Kind::None: throw std::runtime_error("policy none: the study simulates a controller");
    }
    out.push_back(run);
  }
  if (out.empty()) throw std::runtime_error("no policies given");
  return out;
}

// rtcoinfer-train exit's output: per test image (in split order) the exit's confidence
// and whether it is right, and whether the SW-CNN is right at each recorded setup.
struct ExitTable {
  std::vector<double> confidence;
  std::vector<std::uint8_t> exit_right;
  std::map<std::string, std::vector<std::uint8_t>> right;  // setup -> per image
  double head_ms = 0, exit_ms = 0;
};

ExitTable load_exit(const fs::path &dir, const std::string &model_id) {
  ExitTable t;
  const fs::path json = dir / "exit.json", csv = dir / "exit-test.csv";
  std::ifstream ji(json);
  if (!ji) throw std::runtime_error("--exit " + dir.string() + ": no exit.json (run rtcoinfer-train exit)");
  nlohmann::json info;
  try {
    info = nlohmann::json::parse(ji);
    if (info.at("model_id").get<std::string>() != model_id)
      throw std::runtime_error("the exit was trained on another model (" + info.at("model_id").get<std::string>() +
                               ")");
    t.head_ms = info.at("head_ms").get<double>();
    t.exit_ms = info.at("exit_ms").get<double>();
  } catch (const nlohmann::json::exception &e) {
    throw std::runtime_error(json.string() + ": " + e.what());
  } catch (const std::runtime_error &e) {
    throw std::runtime_error(json.string() + ": " + e.what());
  }
  std::ifstream ci(csv);
  std::string line;
  if (!ci || !std::getline(ci, line)) throw std::runtime_error(csv.string() + ": missing or empty");
  std::vector<std::string> header = split_commas(line);
  if (header.size() < 4 || header[3] != "exit_confidence") throw std::runtime_error(csv.string() + ": bad header");
  for (std::size_t line_no = 2; std::getline(ci, line); ++line_no) {
    const auto cells = split_commas(line);
    if (cells.size() != header.size())
      throw std::runtime_error(csv.string() + ":" + std::to_string(line_no) + ": expected " +
                               std::to_string(header.size()) + " fields");
    t.confidence.push_back(std::stod(cells[3]));
    t.exit_right.push_back(cells[1] == cells[2]);
    for (std::size_t c = 4; c < cells.size(); ++c) t.right[header[c].substr(8)].push_back(cells[c] == "1");
  }
  if (t.confidence.empty()) throw std::runtime_error(csv.string() + ": no images");
  return t;
}

// A spinn policy's exits and accuracies: the exit's on the images it answers, the
// setup's on the rest (harder images than average, so not the bundle's mean).
void prepare_spinn(PolicyRun &run, const ExitTable &t, const SimConfig &sim) {
  const std::string setup = run.labels[std::size_t(run.sim.fixed_index)];
  auto it = t.right.find(setup);
  if (it == t.right.end())
    throw std::runtime_error("policy " + run.sim.name + ": exit-test.csv has no correct_" + setup +
                             " column (rtcoinfer-train exit --setups)");
  double exit_right = 0, exits = 0, sent_right = 0, sent = 0;
  run.sim.local_answer.resize(t.confidence.size());
  for (std::size_t i = 0; i < t.confidence.size(); ++i) {
    const bool out = t.confidence[i] >= run.threshold;
    run.sim.local_answer[i] = out;
    if (out)
      exits++, exit_right += t.exit_right[i];
    else
      sent++, sent_right += it->second[i];
  }
  run.sim.local_accuracy = exits ? 100.0 * exit_right / exits : 0.0;
  const double n = double(t.confidence.size());
  run.mean_bytes = sent / n * run.profiles[std::size_t(run.sim.fixed_index)].bytes;
  run.mean_top1 = 100.0 * (exit_right + sent_right) / n;
  run.sim.local_latency_s = sim.head_s * (1.0 + t.exit_ms / std::max(1e-9, t.head_ms));
  run.profiles[std::size_t(run.sim.fixed_index)].accuracy = sent ? 100.0 * sent_right / sent : 0.0;
  std::printf("baseline=%s exits=%.2f%% exit_top1=%.2f sent_top1=%.2f answer_ms=%.2f\n", run.sim.name.c_str(),
              100.0 * exits / double(t.confidence.size()), run.sim.local_accuracy,
              run.profiles[std::size_t(run.sim.fixed_index)].accuracy, 1e3 * run.sim.local_latency_s);
}

SimSummary run_policy(const PolicyRun &run, const BandwidthTrace &trace, const MpcConfig &base, const SimConfig &sim,
                      std::vector<SimFrame> *frames = nullptr) {
  switch (run.kind) {
    case PolicyRun::Oracle: return simulate_oracle(trace, run.profiles, base, sim, frames);
    case PolicyRun::Local: return simulate_local_only(trace.duration(), run.local, base, sim, frames);
    default: return simulate_trace(trace, run.profiles, run.sim, base, sim, frames);
  }
}

void write_frames_csv(const fs::path &path, const std::string &policy, const std::vector<SimFrame> &frames,
                      const std::vector<std::string> &labels, bool header) {
  std::ofstream o(path, header ? std::ios::trunc : std::ios::app);
  if (header) o << "policy,capture_s,setup,bytes,latency_ms,on_time,lost,accuracy,planned_bps,link_bps\n";
  for (const auto &f : frames) {
    o << policy << ',' << f.capture_s << ','
      << (f.early_exit   ? "exit"
          : f.setup >= 0 ? labels[std::size_t(f.setup)]
                         : "skip")
      << ',' << f.bytes << ',' << (std::isinf(f.latency_s) ? -1.0 : f.latency_s * 1000) << ',' << int(f.on_time) << ','
      << int(f.lost) << ',' << f.accuracy << ',' << f.planned_bps << ',' << f.link_bps << '\n';
  }
}

}  // namespace

int main(int argc, char **argv) {
  CLI::App app{
      "rtcoinfer-tracesim: rate policies over bandwidth traces, with rtcoinfer-mpcrate's controller "
      "and a simulated bottleneck link"};
  std::vector<std::string> traces;
  std::string model = RTCOINFER_DEFAULT_MODEL, policies = "mpc,rate,fixed:all", out_dir, frames_trace;
  double scale = 1.0, deadline_ms = 150;
  int horizon = 5, jobs = int(std::max(1u, std::thread::hardware_concurrency()));
  double switch_penalty = 2.0, margin_ms = 30;
  SimConfig sim;
  MpcConfig base;
  app.add_option("-t,--traces", traces, "trace files or folders (searched recursively for *.txt)")->required();
  app.add_option("-s,--scale", scale, "multiply every trace's throughput by this (state it with results)")
      ->required()
      ->check(CLI::PositiveNumber);
  app.add_option("-m,--model", model, "model bundle: its eval table gives each setup's top-1 and bytes")
      ->capture_default_str();
  app.add_option(
         "-p,--policies", policies,
         "comma list of mpc, rate, fixed:CxB, fixed:all, oracle, local, offload:png, offload:jpeg[:Q], clio:BITS, "
         "spinn:THRESHOLD:CxB")
      ->capture_default_str();
  app.add_option("-o,--out", out_dir, "write summary.csv, per-trace.csv and summary.md here");
  app.add_option("--frames", frames_trace,
                 "also write frames-<trace>.csv (every policy, every frame) for the "
                 "trace with this file name (without .txt)");
  app.add_option("--deadline", deadline_ms, "frame deadline, ms")->capture_default_str()->check(CLI::PositiveNumber);
  app.add_option("--horizon", horizon, "MPC horizon, frames")->capture_default_str()->check(CLI::Range(1, 50));
  app.add_option("--switch-penalty", switch_penalty, "MPC switch penalty, accuracy points")->capture_default_str();
  app.add_option("--miss-penalty", base.miss_penalty, "MPC penalty per predicted miss, accuracy points")
      ->capture_default_str();
  app.add_option("--plan-safety", base.plan_safety, "MPC plans with this fraction of the forecast")
      ->capture_default_str();
  app.add_option("--margin", margin_ms, "MPC plans aim this far below the deadline, ms")->capture_default_str();
  app.add_option("--fps", sim.fps, "frame rate")->capture_default_str()->check(CLI::PositiveNumber);
  app.add_option("--delay", sim.delay_s, "one-way propagation delay, s")->capture_default_str();
  app.add_option("--server", sim.server_s, "server time (arrival -> result), s")->capture_default_str();
  std::string server_profile, server_latency = "auto";
  app.add_option("--server-profile", server_profile,
                 "a server time that changes: T:MS,T:MS,... (from T seconds on, MS ms; before the first, --server)");
  app.add_option("--server-latency", server_latency,
                 "what the controller plans the server time to be: auto (the server's report, as "
                 "rtcoinfer-mpcrate server-latency=auto) or ms")
      ->capture_default_str();
  app.add_option("--head", sim.head_s, "device latency (head + compress), s")->capture_default_str();
  app.add_option("--queue", sim.queue_bytes, "bottleneck queue, bytes")->capture_default_str();
  app.add_option("--queue-latency", sim.queue_latency_s,
                 "bottleneck queue as time at the current rate, s (like tc tbf's "
                 "latency; overrides --queue)")
      ->capture_default_str();
  app.add_option("--burst", sim.burst_bytes, "token-bucket burst, bytes (like tc tbf's burst; 0: none)")
      ->capture_default_str();
  app.add_option("--probe", sim.probe.stale_s, "probe after this many seconds without a rate sample (0: never)")
      ->capture_default_str();
  app.add_option("-j,--jobs", jobs, "parallel traces")->capture_default_str()->check(CLI::Range(1, 256));
  std::string dataset = kFashionMnistRoot, exit_dir;
  app.add_option("--exit", exit_dir, "rtcoinfer-train exit's output folder, for spinn policies");
  double slowdown = 0, local_ms = 0;
  int test_limit = 0;
  app.add_option("--dataset", dataset,
                 "Fashion-MNIST folder whose test split measures the offload and local "
                 "baselines")
      ->capture_default_str();
  app.add_option("--test-limit", test_limit, "measure the baselines on the first N test images (0: all)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  app.add_option("--device-slowdown", slowdown,
                 "local: the device is this many times slower than this machine "
                 "(default: so that the head takes --head)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--local-compute", local_ms,
                 "local: the whole model's time per frame on the device, ms "
                 "(overrides --device-slowdown)")
      ->check(CLI::NonNegativeNumber);
  CLI11_PARSE(app, argc, argv);
  if (!server_profile.empty()) {
    std::string err;
    auto profile = parse_server_profile(server_profile, &err);
    if (!profile) {
      std::fprintf(stderr, "tracesim: %s\n", err.c_str());
      return 2;
    }
    sim.server_profile = *profile;
  }
  if (server_latency != "auto") {
    char *end = nullptr;
    const double ms = std::strtod(server_latency.c_str(), &end);
    if (server_latency.empty() || *end || !std::isfinite(ms) || ms < 0) {
      std::fprintf(stderr, "tracesim: --server-latency wants auto or milliseconds, not \"%s\"\n",
                   server_latency.c_str());
      return 2;
    }
    sim.planned_server_s = ms / 1000.0;
  }

  try {
    std::string err;
    auto bundle = InferenceModel::load(model, &err);
    if (!bundle) throw std::runtime_error(err);
    std::vector<SetupProfile> profiles;
    for (const auto &s : bundle->info().stats) {
      if (s.top1 < 0 || s.bytes <= 0)
        throw std::runtime_error(model + " has no measured top-1/bytes for " + s.setup.name() +
                                 " (run rtcoinfer-train eval on it)");
      profiles.push_back({s.setup, s.top1, s.bytes});
    }
    const auto files = find_traces(traces);
    auto pols = parse_policies(policies, profiles);
    const bool needs_measuring = std::any_of(pols.begin(), pols.end(), [](const PolicyRun &r) {
      return r.kind == PolicyRun::Offload || r.kind == PolicyRun::Local;
    });
    char measured[512] = "";
    if (needs_measuring) {
      std::vector<eval::Codec> codecs;
      for (const auto &r : pols)
        if (r.kind == PolicyRun::Offload) codecs.push_back(eval::parse_codec(r.sim.name.substr(8)));
      bundle->set_threads(1);
      const auto test = open_fashion_mnist(dataset, "test");
      const eval::Measurements m = eval::measure(*bundle, *test, codecs, test_limit);
      if (slowdown <= 0) slowdown = m.head_s > 0 ? sim.head_s / m.head_s : 1.0;
      const double local_s = local_ms > 0 ? local_ms / 1000.0 : slowdown * m.full_s;
      std::snprintf(measured, sizeof measured,
                    "baselines images=%d whole_model_top1=%.2f head_ms=%.3f whole_model_ms=%.3f device_slowdown=%.2f "
                    "local_compute_ms=%.2f",
                    m.images, m.full_accuracy, 1e3 * m.head_s, 1e3 * m.full_s, slowdown, 1e3 * local_s);
      std::printf("%s\n", measured);
      std::size_t next_codec = 0;
      for (auto &r : pols) {
        if (r.kind == PolicyRun::Offload) {
          const eval::OffloadProfile &o = m.offload[next_codec++];
          r.profiles = {{Setup{}, o.accuracy, o.bytes}};
          std::printf("baseline=offload:%s bytes=%.1f top1=%.2f\n", o.codec.name.c_str(), o.bytes, o.accuracy);
        } else if (r.kind == PolicyRun::Local) {
          r.local = {local_s, m.full_accuracy};
          r.labels = {"whole-model"};
        }
      }
    }
    // CLIO-style: what rtcoinfer-slicer really sends per frame (each slice its own frame,
    // entropy coded on its own), measured on test images; the bundle's table does not know.
    std::unique_ptr<LabeledImages> clio_test;  // opened once, for the first CLIO policy
    for (auto &r : pols) {
      if (!r.sim.progressive) continue;
      if (!clio_test) {
        bundle->set_threads(1);
        clio_test = open_fashion_mnist(dataset, "test");
      }
      const auto &test = clio_test;
      const int bits = std::stoi(r.sim.name.substr(5));
      const auto sliced = eval::measure_sliced_bytes(*bundle, *test, bits, test_limit > 0 ? test_limit : 2000);
      for (std::size_t i = 0; i < r.profiles.size(); ++i) {
        for (const auto &[setup, bytes] : sliced)
          if (setup == r.profiles[i].setup) r.profiles[i].bytes = bytes;
        // each prefix's slices cost something (the simulation sends the differences)
        if (i) r.profiles[i].bytes = std::max(r.profiles[i].bytes, r.profiles[i - 1].bytes + 1.0);
      }
      std::printf("baseline=%s sliced_bytes=", r.sim.name.c_str());
      for (std::size_t i = 0; i < r.profiles.size(); ++i)
        std::printf("%s%s:%.1f", i ? "," : "", r.profiles[i].setup.name().c_str(), r.profiles[i].bytes);
      std::printf("\n");
    }
    if (std::any_of(pols.begin(), pols.end(), [](const PolicyRun &r) { return r.kind == PolicyRun::Spinn; })) {
      if (exit_dir.empty()) throw std::runtime_error("spinn policies need --exit DIR (from rtcoinfer-train exit)");
      const ExitTable table = load_exit(exit_dir, bundle->info().model_id);
      for (auto &r : pols)
        if (r.kind == PolicyRun::Spinn) prepare_spinn(r, table, sim);
    }
    const InputSpec input = bundle->info().input;
    bundle.reset();
    base.margin_s = margin_ms / 1000.0;
    base.deadline_s = deadline_ms / 1000.0;
    base.horizon = horizon;
    base.switch_penalty = switch_penalty;

    std::vector<BandwidthTrace> loaded;
    for (const auto &f : files) loaded.push_back(BandwidthTrace::load(f.string(), scale));

    // results[trace][policy]
    std::vector<std::vector<SimSummary>> results(files.size(), std::vector<SimSummary>(pols.size()));
    std::atomic<std::size_t> next{0}, done{0};
    std::mutex progress_mutex;
    // shows the first policy's running means (mpc in the default list)
    train::ProgressBar bar("tracesim", long(files.size()), 0, pols[0].sim.name + " on-time",
                           pols[0].sim.name + " eff.acc");
    double acc_sum = 0, hit_sum = 0;
    // Latency of every delivered frame over all traces, per policy: 1 ms bins up to 1 s,
    // then one bin for the rest (latency.csv, the harness's CDF plot).
    constexpr std::size_t kLatencyBins = 1001;
    std::vector<std::vector<std::uint64_t>> latency(pols.size(), std::vector<std::uint64_t>(kLatencyBins, 0));
    auto worker = [&] {
      std::vector<SimFrame> frames;
      std::vector<std::vector<std::uint64_t>> mine(pols.size(), std::vector<std::uint64_t>(kLatencyBins, 0));
      for (std::size_t t; (t = next++) < files.size();) {
        for (std::size_t p = 0; p < pols.size(); ++p) {
          frames.clear();
          results[t][p] = run_policy(pols[p], loaded[t], base, sim, &frames);
          for (const auto &f : frames)
            if (std::isfinite(f.latency_s))
              mine[p][std::min(kLatencyBins - 1, std::size_t(std::max(0.0, f.latency_s) * 1000.0))]++;
        }
        std::lock_guard<std::mutex> lock(progress_mutex);
        acc_sum += results[t][0].effective_accuracy;
        hit_sum += results[t][0].hit_rate;
        const std::size_t d = ++done;
        bar.update(long(d), hit_sum / double(d) / 100.0, acc_sum / double(d) / 100.0);
      }
      std::lock_guard<std::mutex> lock(progress_mutex);
      for (std::size_t p = 0; p < pols.size(); ++p)
        for (std::size_t b = 0; b < kLatencyBins; ++b) latency[p][b] += mine[p][b];
    };
    std::vector<std::thread> pool;
    for (int j = 0; j < std::min<int>(jobs, int(files.size())); ++j) pool.emplace_back(worker);
    for (auto &th : pool) th.join();

    // Per policy: means over traces (each trace weighs the same).
    struct Row {
      std::string name;
      double eff = 0, hit = 0, bytes = 0, switches_per_min = 0, skipped = 0, lost = 0, latency_ms = 0;
    };
    std::vector<Row> rows;
    for (std::size_t p = 0; p < pols.size(); ++p) {
      Row r{pols[p].sim.name};
      for (std::size_t t = 0; t < files.size(); ++t) {
        const SimSummary &s = results[t][p];
        r.eff += s.effective_accuracy;
        r.hit += s.hit_rate;
        r.bytes += s.bytes_per_frame;
        r.switches_per_min += s.duration_s > 0 ? 60.0 * double(s.switches) / s.duration_s : 0.0;
        r.skipped += s.frames ? 100.0 * double(s.skipped) / double(s.frames) : 0.0;
        r.lost += s.frames ? 100.0 * double(s.lost) / double(s.frames) : 0.0;
        r.latency_ms += 1000.0 * s.mean_latency_s;
      }
      const double n = double(files.size());
      r.eff /= n, r.hit /= n, r.bytes /= n, r.switches_per_min /= n, r.skipped /= n, r.lost /= n, r.latency_ms /= n;
      rows.push_back(r);
    }
    std::vector<std::size_t> order(rows.size());
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::stable_sort(order.begin(), order.end(), [&](auto a, auto b) { return rows[a].eff > rows[b].eff; });

    char line[512];
    std::string md =
        "| policy | effective accuracy % | on time % | bytes/frame | switches/min | skipped % | lost % | "
        "mean latency ms |\n|---|---|---|---|---|---|---|---|\n";
    for (auto i : order) {
      const Row &r = rows[i];
      std::snprintf(line, sizeof line, "| %s | %.2f | %.2f | %.0f | %.1f | %.2f | %.2f | %.1f |\n", r.name.c_str(),
                    r.eff, r.hit, r.bytes, r.switches_per_min, r.skipped, r.lost, r.latency_ms);
      md += line;
    }
    std::printf("tracesim traces=%zu scale=%g deadline_ms=%g fps=%g policies=%zu\n%s", files.size(), scale, deadline_ms,
                sim.fps, pols.size(), md.c_str());
    for (auto i : order)
      std::printf("policy=%s effective_accuracy=%.3f hit_rate=%.3f bytes_per_frame=%.1f switches_per_min=%.2f\n",
                  rows[i].name.c_str(), rows[i].eff, rows[i].hit, rows[i].bytes, rows[i].switches_per_min);

    if (!out_dir.empty()) {
      fs::create_directories(out_dir);
      std::ofstream s(fs::path(out_dir) / "summary.csv");
      s << "policy,effective_accuracy,hit_rate,bytes_per_frame,switches_per_min,skipped_pct,lost_pct,mean_latency_ms\n";
      for (auto i : order) {
        const Row &r = rows[i];
        s << r.name << ',' << r.eff << ',' << r.hit << ',' << r.bytes << ',' << r.switches_per_min << ',' << r.skipped
          << ',' << r.lost << ',' << r.latency_ms << '\n';
      }
      std::ofstream(fs::path(out_dir) / "summary.md") << md;
      // What each policy can send: bytes and top-1 per profile (the residual-rate figure),
      // and the baselines' measurements.
      std::ofstream prof(fs::path(out_dir) / "profiles.csv");
      prof << "policy,label,bytes,top1,raw_image_bytes\n";
      const int raw = input.width * input.height * input.channels;
      for (const auto &r : pols) {
        if (r.kind == PolicyRun::Local)
          prof << r.sim.name << ",whole-model,0," << r.local.accuracy << ',' << raw << '\n';
        else if (r.kind == PolicyRun::Spinn)
          prof << r.sim.name << ',' << r.sim.name.substr(6) << ',' << r.mean_bytes << ',' << r.mean_top1 << ',' << raw
               << '\n';
        else if (r.sim.policy != Policy::Fixed || r.kind == PolicyRun::Offload)
          for (std::size_t i = 0; i < r.profiles.size(); ++i)
            prof << r.sim.name << ',' << r.labels[i] << ',' << r.profiles[i].bytes << ',' << r.profiles[i].accuracy
                 << ',' << raw << '\n';
      }
      if (measured[0]) std::ofstream(fs::path(out_dir) / "baselines.txt") << measured << '\n';
      std::ofstream lat(fs::path(out_dir) / "latency.csv");
      lat << "policy,latency_ms,frames\n";  // latency_ms 1000 holds every frame at 1 s or more
      for (std::size_t p = 0; p < pols.size(); ++p)
        for (std::size_t b = 0; b < kLatencyBins; ++b)
          if (latency[p][b]) lat << pols[p].sim.name << ',' << b << ',' << latency[p][b] << '\n';
      std::ofstream pt(fs::path(out_dir) / "per-trace.csv");
      pt << "trace,policy,frames,effective_accuracy,hit_rate,bytes_per_frame,switches,skipped,lost,probes,"
            "mean_latency_ms,mean_link_bps\n";
      for (std::size_t t = 0; t < files.size(); ++t) {
        double mean_bps = 0;
        const auto &pts = loaded[t].points;
        for (std::size_t k = 0; k + 1 < pts.size(); ++k) mean_bps += pts[k].second * (pts[k + 1].first - pts[k].first);
        mean_bps /= std::max(1e-9, pts.back().first);
        for (std::size_t p = 0; p < pols.size(); ++p) {
          const SimSummary &r = results[t][p];
          pt << fs::relative(files[t], fs::path(files[t]).parent_path().parent_path()).string() << ','
             << pols[p].sim.name << ',' << r.frames << ',' << r.effective_accuracy << ',' << r.hit_rate << ','
             << r.bytes_per_frame << ',' << r.switches << ',' << r.skipped << ',' << r.lost << ',' << r.probes << ','
             << r.mean_latency_s * 1000 << ',' << mean_bps << '\n';
        }
      }
      if (!frames_trace.empty()) {
        bool found = false;
        for (std::size_t t = 0; t < files.size(); ++t) {
          if (files[t].stem() != frames_trace) continue;
          found = true;
          const fs::path path = fs::path(out_dir) / ("frames-" + frames_trace + ".csv");
          for (std::size_t p = 0; p < pols.size(); ++p) {
            std::vector<SimFrame> frames;
            run_policy(pols[p], loaded[t], base, sim, &frames);
            write_frames_csv(path, pols[p].sim.name, frames, pols[p].labels, p == 0);
          }
        }
        if (!found) throw std::runtime_error("--frames " + frames_trace + ": no such trace among the inputs");
      }
    }
  } catch (const std::exception &e) {
    std::fprintf(stderr, "rtcoinfer-tracesim: %s\n", e.what());
    return 1;
  }
  return 0;
}
