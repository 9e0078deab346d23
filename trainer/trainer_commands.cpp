#include "trainer_commands.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <random>
#include <sstream>

#include "bundle.h"
#include "evaluation.h"
#include "exit_net.h"
#include "progress.h"

namespace rtcoinfer::train {

namespace fs = std::filesystem;

namespace {

std::vector<std::string> split_list(const std::string &text) {
  std::vector<std::string> out;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ','))
    if (!item.empty()) out.push_back(item);
  return out;
}

std::vector<Setup> parse_setups(const SetupTable &table, const std::string &text) {
  if (text.empty() || text == "all") return table.all();
  std::vector<Setup> out;
  for (const auto &name : split_list(text)) {
    std::string err;
    auto s = table.lookup(name, &err);
    if (!s) throw std::runtime_error(err);
    out.push_back(*s);
  }
  return out;
}

std::string utc_now() {
  const std::time_t t = std::time(nullptr);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
  return buf;
}

nlohmann::json read_json(const fs::path &p) {
  std::ifstream in(p);
  return nlohmann::json::parse(in);
}

void write_json(const fs::path &p, const nlohmann::json &j) {
  std::ofstream(p.string() + ".tmp") << j.dump(1) << "\n";
  fs::rename(p.string() + ".tmp", p);
}

}  // namespace

TrainConfig load_effective_config(const CommonOptions &common) {
  TrainConfig cfg = load_config(common.config);
  if (common.epochs > 0)
    cfg.init.epochs = cfg.swcnn.epochs = cfg.individual.epochs = cfg.ablation.epochs = common.epochs;
  if (common.train_limit > 0) cfg.train_limit = common.train_limit;
  if (common.test_limit > 0) cfg.test_limit = common.test_limit;
  if (common.calibrate_batches > 0) cfg.calibrate_batches = common.calibrate_batches;
  return cfg;
}

int run_export(const TrainConfig &cfg, const CommonOptions &common, const ExportOptions &opts) {
  const Datasets data = open_datasets(cfg, false, true);
  auto net = build_net(cfg, *data.test);
  const fs::path weights = opts.weights.empty() ? fs::path(common.run_dir) / "swcnn.pt" : fs::path(opts.weights);
  load_net(*net, weights);
  net->eval();
  nlohmann::json meta;
  meta["input"] = {{"width", net->input_width()}, {"height", net->input_height()}, {"channels", net->input_channels()},
                   {"mean", cfg.norm.mean},       {"std", cfg.norm.std},           {"resize", cfg.resize}};
  meta["labels"] = data.test->labels();
  meta["dataset"] = {{"kind", cfg.dataset_kind},     {"root", cfg.dataset_root},       {"train_split", cfg.train_split},
                     {"test_split", cfg.test_split}, {"train_limit", cfg.train_limit}, {"test_limit", cfg.test_limit}};
  nlohmann::json training = {{"config_name", cfg.name},
                             {"config_yaml", cfg.source_text},
                             {"weights", weights.filename().string()},
                             {"seed", common.seed}};
  const fs::path run(common.run_dir);
  if (fs::exists(run / "clusters.yml")) {
    std::ifstream in(run / "clusters.yml");
    training["clusters_yaml"] = std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  if (fs::exists(run / "history.json")) training["history"] = read_json(run / "history.json");
  meta["training"] = training;
  meta["provenance"] = {{"trainer", "rtcoinfer-train 0.1.0"}, {"created", utc_now()}};
  const auto bytes = encode_bundle(*net, meta);
  write_bundle_file(opts.output, bytes);
  const LoadedBundle check = load_bundle_file(opts.output);
  std::printf("exported=%s bytes=%zu model_id=%s\n", opts.output.c_str(), bytes.size(), check.model_id.c_str());
  return 0;
}

namespace {

// The dataset and input transform a bundle was trained with (its metadata), with the
// command line's overrides.
TrainConfig config_from_bundle(const CommonOptions &common, const nlohmann::json &m, const std::string &root) {
  TrainConfig cfg;
  if (!common.config.empty()) cfg = load_effective_config(common);
  const auto ds = m.value("dataset", nlohmann::json::object());
  cfg.dataset_kind = ds.value("kind", cfg.dataset_kind);
  cfg.dataset_root = root.empty() ? ds.value("root", cfg.dataset_root) : root;
  cfg.test_split = ds.value("test_split", cfg.test_split);
  cfg.test_limit = common.test_limit;  // the whole split unless asked
  if (common.train_limit) cfg.train_limit = common.train_limit;
  cfg.norm.mean = m.at("input").at("mean").get<std::vector<float>>();
  cfg.norm.std = m.at("input").at("std").get<std::vector<float>>();
  cfg.hyper_params = m.at("hyper_params");
  return cfg;
}

}  // namespace

int run_exit(const CommonOptions &common, const ExitOptions &opts) {
  LoadedBundle bundle = load_bundle_file(opts.model);
  const TrainConfig cfg = config_from_bundle(common, bundle.metadata, opts.dataset_root);
  const Datasets data = open_datasets(cfg, true, true);
  SwNet &net = *bundle.net;
  net.eval();
  const SetupTable &table = net.setups();
  const auto full = table.find(table.total_channels(), 16);
  if (!full) throw std::runtime_error(opts.model + ": no uncompressed setup");
  const auto setups = parse_setups(table, opts.setups);
  const int classes = net.classes();
  ExitNet exit_net(table.total_channels(), classes);
  torch::manual_seed(common.seed);
  torch::optim::Adam optimizer(exit_net->parameters(), torch::optim::AdamOptions(opts.lr));
  const int epochs = common.epochs > 0 ? common.epochs : 2;
  const int batch = 128;
  const long steps_per_epoch = long((data.train->size() + batch - 1) / batch);
  ProgressBar bar("exit", steps_per_epoch * epochs);
  std::mt19937 rng(std::uint32_t(common.seed));
  const Augment augment{2, true};
  double first_loss = -1, loss_sum = 0;
  long step = 0;
  const auto t0 = std::chrono::steady_clock::now();
  for (int e = 0; e < epochs; ++e) {
    std::vector<std::int64_t> order(data.train->size());
    std::iota(order.begin(), order.end(), 0);
    std::shuffle(order.begin(), order.end(), rng);
    double epoch_loss = 0, correct = 0, seen = 0;
    for (std::size_t at = 0; at < order.size(); at += batch) {
      const std::vector<std::int64_t> idx(order.begin() + long(at),
                                          order.begin() + long(std::min(order.size(), at + batch)));
      const Batch b = data.train->batch(idx, augment, cfg.norm, rng);
      torch::Tensor features;
      {
        torch::NoGradGuard ng;
        features = net.head(b.images, full->index);
      }
      exit_net->train();
      const auto logits = exit_net->forward(features);
      const auto loss = torch::cross_entropy_loss(logits, b.labels);
      optimizer.zero_grad();
      loss.backward();
      optimizer.step();
      const double l = loss.item<double>();
      if (first_loss < 0) first_loss = l;
      epoch_loss += l;
      correct += logits.argmax(1).eq(b.labels).sum().item<double>();
      seen += double(idx.size());
      bar.update(++step, epoch_loss / double(at / batch + 1), correct / seen);
    }
    loss_sum = epoch_loss / double(steps_per_epoch);
    std::fprintf(stderr, "exit: epoch %d/%d mean loss %.4f\n", e + 1, epochs, loss_sum);
  }
  const double train_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

  // The test split: the exit's answer and confidence, and the SW-CNN's correctness per setup.
  fs::create_directories(opts.out_dir);
  std::ofstream csv(fs::path(opts.out_dir) / "exit-test.csv");
  csv << "index,label,exit_class,exit_confidence";
  for (const auto &s : setups) csv << ",correct_" << s.name();
  csv << "\n";
  torch::NoGradGuard ng;
  exit_net->eval();
  long exit_correct = 0;
  const Augment none;
  for (std::size_t at = 0; at < data.test->size(); at += std::size_t(cfg.eval_batch)) {
    std::vector<std::int64_t> idx;
    for (std::size_t i = at; i < std::min(data.test->size(), at + std::size_t(cfg.eval_batch)); ++i)
      idx.push_back(std::int64_t(i));
    const Batch b = data.test->batch(idx, none, cfg.norm, rng);
    const auto probs = torch::softmax(exit_net->forward(net.head(b.images, full->index)), 1);
    const auto [conf, cls] = probs.max(1);
    std::vector<torch::Tensor> right;
    for (const auto &s : setups) right.push_back(net.forward(b.images, s.index).argmax(1).eq(b.labels));
    for (std::size_t i = 0; i < idx.size(); ++i) {
      const long c = cls[long(i)].item<long>(), label = b.labels[long(i)].item<long>();
      exit_correct += c == label;
      csv << idx[i] << ',' << label << ',' << c << ',' << conf[long(i)].item<float>();
      for (const auto &r : right) csv << ',' << int(r[long(i)].item<bool>());
      csv << '\n';
    }
  }
  // Per-frame cost on this machine, batch 1: the head, and the exit after it.
  const Batch one = data.test->batch({0}, none, cfg.norm, rng);
  std::vector<double> head_t, exit_t;
  for (int i = 0; i < 200; ++i) {
    const auto a = std::chrono::steady_clock::now();
    const auto f = net.head(one.images, full->index);
    const auto b = std::chrono::steady_clock::now();
    exit_net->forward(f);
    const auto c = std::chrono::steady_clock::now();
    head_t.push_back(std::chrono::duration<double>(b - a).count());
    exit_t.push_back(std::chrono::duration<double>(c - b).count());
  }
  std::nth_element(head_t.begin(), head_t.begin() + 100, head_t.end());
  std::nth_element(exit_t.begin(), exit_t.begin() + 100, exit_t.end());
  const double top1 = 100.0 * double(exit_correct) / double(data.test->size());
  torch::serialize::OutputArchive archive;
  exit_net->save(archive);
  archive.save_to((fs::path(opts.out_dir) / "exit.pt").string());
  nlohmann::json info = {{"model_id", bundle.model_id},
                         {"arch", "conv3x3s2-bn-relu-avgpool-linear"},
                         {"epochs", epochs},
                         {"train_images", data.train->size()},
                         {"test_images", data.test->size()},
                         {"test_top1", top1},
                         {"loss_first", first_loss},
                         {"loss_last_epoch", loss_sum},
                         {"train_seconds", train_s},
                         {"head_ms", 1e3 * head_t[100]},
                         {"exit_ms", 1e3 * exit_t[100]},
                         {"date", utc_now()}};
  write_json(fs::path(opts.out_dir) / "exit.json", info);
  std::printf("exit top1=%.2f head_ms=%.3f exit_ms=%.3f out=%s\n", top1, 1e3 * head_t[100], 1e3 * exit_t[100],
              opts.out_dir.c_str());
  std::fflush(stdout);
  return 0;
}

int run_eval(const CommonOptions &common, const EvalOptions &opts) {
  LoadedBundle bundle = load_bundle_file(opts.model);
  const auto &m = bundle.metadata;
  const TrainConfig cfg = config_from_bundle(common, m, opts.dataset_root);
  const Datasets data = open_datasets(cfg, false, true);
  if (data.test->labels().size() != std::size_t(bundle.net->classes()))
    throw std::runtime_error("test split has " + std::to_string(data.test->labels().size()) + " classes, the model " +
                             std::to_string(bundle.net->classes()));
  const auto setups = parse_setups(bundle.net->setups(), opts.setups);
  const EvalReport r = evaluate_bundle(bundle, *data.test, cfg.norm, setups, cfg.eval_batch);
  for (const auto &row : r.rows)
    std::printf("setup=%s top1=%.2f bytes=%.1f\n", row.setup.name().c_str(), row.top1, row.bytes);
  std::printf("eval images=%zu setups=%zu seconds=%.1f images_per_second=%.1f\n", data.test->size(), setups.size(),
              r.seconds, r.images_per_second);
  const std::string plot = opts.plot.empty() ? opts.model + ".png" : opts.plot;
  plot_accuracy_vs_bytes(r.rows,
                         m.value("arch", std::string()) + " on " + cfg.dataset_kind + " (" +
                             std::to_string(data.test->size()) + " test images)",
                         plot);
  std::printf("plot=%s\n", plot.c_str());
  if (opts.write_metadata) {
    nlohmann::json meta = m;
    for (auto &e : meta["setups"])
      for (const auto &row : r.rows)
        if (e.value("channels", -1) == row.setup.channels && e.value("bits", -1) == row.setup.bits) {
          e["top1"] = row.top1;
          e["bytes"] = row.bytes;
        }
    meta["eval"] = {{"images", data.test->size()},
                    {"split", cfg.test_split},
                    {"entropy", "auto"},
                    {"date", utc_now()},
                    {"seconds", r.seconds}};
    const auto bytes = encode_bundle(*bundle.net, meta);
    write_bundle_file(opts.model, bytes);
    std::printf("updated=%s model_id=%s\n", opts.model.c_str(), sha256_hex(bytes.data(), bytes.size() - 32).c_str());
  }
  std::fflush(stdout);
  return 0;
}

int run_individual(const TrainConfig &cfg, const RunOptions &opt, const std::string &setups_arg) {
  const Datasets data = open_datasets(cfg, true, true);
  auto probe = build_net(cfg, *data.train);
  std::string list = setups_arg;
  if (list.empty())
    for (const auto &s : cfg.individual_setups) list += (list.empty() ? "" : ",") + s;
  const auto setups = parse_setups(probe->setups(), list);
  const fs::path dir = opt.run_dir / "individual";
  fs::create_directories(dir);
  const fs::path results = dir / "results.json";
  nlohmann::json table = fs::exists(results) ? read_json(results) : nlohmann::json::object();
  for (const auto &s : setups) {
    if (opt.resume && table.contains(s.name())) continue;
    const double acc = train_individual(cfg, cfg.individual, opt, data, s, dir);
    table[s.name()] = 100.0 * acc;
    write_json(results, table);
    std::printf("individual setup=%s top1=%.2f\n", s.name().c_str(), 100.0 * acc);
    std::fflush(stdout);
  }
  return 0;
}

int run_ablation(const TrainConfig &cfg, const RunOptions &opt, const std::string &setups_arg,
                 const std::string &methods) {
  const fs::path results = opt.run_dir / "individual" / "results.json";
  if (!fs::exists(results))
    throw std::runtime_error("no " + results.string() + " (run `rtcoinfer-train individual` first)");
  const nlohmann::json individual = read_json(results);
  const Datasets data = open_datasets(cfg, true, true);
  auto probe = build_net(cfg, *data.train);
  std::string list = setups_arg;
  if (list.empty())
    for (const auto &kv : individual.items()) list += (list.empty() ? "" : ",") + kv.key();
  const auto setups = parse_setups(probe->setups(), list);
  const fs::path table_path = opt.run_dir / "ablation.json";
  nlohmann::json table = fs::exists(table_path) ? read_json(table_path) : nlohmann::json::object();
  // The paper's order: worst to best.
  const SwcnnSwitches combos[] = {{false, true, true},  {false, false, false}, {true, false, true},
                                  {false, false, true}, {true, false, false},  {true, true, false},
                                  {true, true, true},   {false, true, false}};
  for (const auto &c : combos) {
    const std::string name = std::string(c.initialization ? "I" : "noI") + "-" + (c.distillation ? "D" : "noD") + "-" +
                             (c.clustering ? "C" : "noC");
    if (opt.resume && table.contains(name)) continue;
    const auto wanted = split_list(methods);
    if (!wanted.empty() && std::find(wanted.begin(), wanted.end(), name) == wanted.end()) continue;
    const fs::path dir = opt.run_dir / "ablation" / name;
    fs::create_directories(dir);
    train_swcnn(cfg, cfg.ablation, opt, data, c, opt.run_dir / "clusters.yml", dir);
    auto net = build_net(cfg, *data.train);
    load_net(*net, dir / "swcnn.pt");
    double mx = -1e9, mn = 1e9, sum = 0;
    nlohmann::json per;
    for (const auto &s : setups) {
      const double sw_acc = 100.0 * top1(*net, *data.test, cfg, s.index);
      const double loss = individual.at(s.name()).get<double>() - sw_acc;
      per[s.name()] = {{"swcnn", sw_acc}, {"individual", individual.at(s.name())}, {"loss", loss}};
      mx = std::max(mx, loss);
      mn = std::min(mn, loss);
      sum += loss;
    }
    table[name] = {{"max", mx},
                   {"min", mn},
                   {"mean", sum / double(setups.size())},
                   {"setups", per},
                   {"epochs", cfg.ablation.epochs},
                   {"train_images", data.train->size()}};
    // Re-read before writing so parallel runs on disjoint --methods keep each other's rows.
    nlohmann::json latest = fs::exists(table_path) ? read_json(table_path) : nlohmann::json::object();
    latest[name] = table[name];
    write_json(table_path, latest);
    std::printf("ablation method=%s max=%.2f min=%.2f mean=%.3f\n", name.c_str(), mx, mn, sum / double(setups.size()));
    std::fflush(stdout);
  }
  return 0;
}

}  // namespace rtcoinfer::train
