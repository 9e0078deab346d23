#include "training.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <functional>
#include <numeric>
#include <random>
#include <stdexcept>

#include <yaml-cpp/yaml.h>

#include "progress.h"
#include "sw_layers.h"

namespace rtcoinfer::train {

namespace fs = std::filesystem;

Datasets open_datasets(const TrainConfig &cfg, bool want_train, bool want_test) {
  Datasets d;
  auto open = [&](const std::string &split, std::size_t limit) -> std::unique_ptr<Dataset> {
    if (cfg.dataset_kind == "fashion-mnist") return load_fashion_mnist(cfg.dataset_root, split, limit);
    if (cfg.dataset_kind == "image-folder") {
      const int size = cfg.hyper_params.value("input_size", 224);
      return load_image_folder(cfg.dataset_root, split, int(cfg.norm.mean.size()), size, size, limit);
    }
    throw std::runtime_error("unknown dataset kind '" + cfg.dataset_kind + "' (fashion-mnist or image-folder)");
  };
  if (want_train) d.train = open(cfg.train_split, cfg.train_limit);
  if (want_test) d.test = open(cfg.test_split, cfg.test_limit);
  return d;
}

std::shared_ptr<SwNet> build_net(const TrainConfig &cfg, const Dataset &data) {
  auto hp = cfg.hyper_params;
  hp["classes"] = int(data.labels().size());
  if (data.height() != data.width()) throw std::runtime_error("the architectures take square inputs");
  hp["input_size"] = data.height();
  if (cfg.arch == "sw-compact") hp["in_channels"] = data.channels();
  auto net = make_sw_net(cfg.arch, hp);
  if (net->input_channels() != data.channels())
    throw std::runtime_error(cfg.arch + " takes " + std::to_string(net->input_channels()) +
                             "-channel input; the dataset has " + std::to_string(data.channels()));
  return net;
}

void save_net(SwNet &net, const fs::path &path) {
  torch::serialize::OutputArchive archive;
  net.save(archive);
  const fs::path tmp = path.string() + ".tmp";
  archive.save_to(tmp.string());
  fs::rename(tmp, path);
}

void load_net(SwNet &net, const fs::path &path) {
  if (!fs::exists(path)) throw std::runtime_error("missing " + path.string());
  torch::serialize::InputArchive archive;
  archive.load_from(path.string());
  net.load(archive);
}

namespace {

int setup_index(const SetupTable &t, int channels, int bits) {
  auto s = t.find(channels, bits);
  if (!s) throw std::runtime_error("setup table lacks " + std::to_string(channels) + "x" + std::to_string(bits));
  return s->index;
}
int full_uncompressed(const SetupTable &t) { return setup_index(t, t.total_channels(), 16); }
int full_8bit(const SetupTable &t) { return setup_index(t, t.total_channels(), 8); }

torch::Tensor soft_cross_entropy(const torch::Tensor &logits, const torch::Tensor &target_prob) {
  return -(target_prob * torch::log_softmax(logits, 1)).sum(1).mean();
}

// Weight decay on conv and linear weights only: not on depthwise convs, BN or biases.
std::unique_ptr<torch::optim::SGD> make_optimizer(SwNet &net, const StageConfig &st) {
  std::vector<torch::Tensor> decay, no_decay;
  std::vector<const torch::Tensor *> depthwise;
  for (const auto &m : net.modules(/*include_self=*/false))
    if (auto *conv = m->as<torch::nn::Conv2dImpl>())
      if (conv->options.groups() > 1) depthwise.push_back(&conv->weight);
  for (const auto &p : net.named_parameters()) {
    const bool is_dw =
        std::any_of(depthwise.begin(), depthwise.end(), [&](const torch::Tensor *t) { return t->is_same(p.value()); });
    if (p.value().dim() >= 2 && !is_dw)
      decay.push_back(p.value());
    else
      no_decay.push_back(p.value());
  }
  auto opts = torch::optim::SGDOptions(st.lr).momentum(st.momentum).nesterov(st.nesterov);
  std::vector<torch::optim::OptimizerParamGroup> groups;
  groups.emplace_back(
      decay, std::make_unique<torch::optim::SGDOptions>(torch::optim::SGDOptions(opts).weight_decay(st.weight_decay)));
  groups.emplace_back(no_decay,
                      std::make_unique<torch::optim::SGDOptions>(torch::optim::SGDOptions(opts).weight_decay(0)));
  return std::make_unique<torch::optim::SGD>(std::move(groups), opts);
}

std::vector<std::int64_t> epoch_order(std::size_t n, std::uint64_t seed, int epoch) {
  std::vector<std::int64_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::mt19937_64 rng(seed * 0x9E3779B97F4A7C15ull + std::uint64_t(epoch) + 1);
  std::shuffle(order.begin(), order.end(), rng);
  return order;
}

struct StepResult {
  double loss = 0, accuracy = 0;
};
using StepFn = std::function<StepResult(const Batch &, std::mt19937 &)>;

// The shared loop: linear per-iteration lr decay, shuffling, progress, checkpoints and
// --resume at step granularity. `step` computes the loss and calls backward().
StageReport run_stage(const std::string &label, SwNet &net, const StageConfig &st, const TrainConfig &cfg,
                      const Dataset &data, const RunOptions &opt, const fs::path &ckpt_dir, const StepFn &step) {
  const long spe = long(data.size()) / st.batch;
  if (spe < 1) throw std::runtime_error("fewer training images than one batch");
  const long total = spe * st.epochs;
  auto optimizer = make_optimizer(net, st);
  StageReport report;
  std::vector<double> step_losses;
  long global = 0;
  fs::create_directories(ckpt_dir);
  const fs::path state_path = ckpt_dir / "state.json";
  if (opt.resume && fs::exists(state_path)) {
    std::ifstream in(state_path);
    const auto state = nlohmann::json::parse(in);
    global = state.at("global_step").get<long>();
    report.epoch_loss = state.at("epoch_loss").get<std::vector<double>>();
    step_losses = state.at("step_losses").get<std::vector<double>>();
    load_net(net, ckpt_dir / "model.pt");
    torch::load(*optimizer, (ckpt_dir / "optimizer.pt").string());
    std::fprintf(stderr, "%s: resuming at step %ld of %ld\n", label.c_str(), global, total);
  }
  auto checkpoint = [&]() {
    save_net(net, ckpt_dir / "model.pt");
    torch::save(*optimizer, (ckpt_dir / "optimizer.pt").string());
    nlohmann::json state = {{"global_step", global},
                            {"epoch_loss", report.epoch_loss},
                            {"step_losses", step_losses},
                            {"total_steps", total}};
    std::ofstream(ckpt_dir / "state.json.tmp") << state.dump();
    fs::rename(ckpt_dir / "state.json.tmp", state_path);
  };
  net.train();
  ProgressBar bar(label, total, global);
  double loss_sum = 0, acc_sum = 0;
  long in_window = 0;
  while (global < total) {
    const int epoch = int(global / spe);
    const auto order = epoch_order(data.size(), opt.seed, epoch);
    for (long s = global % spe; s < spe; ++s, ++global) {
      const double lr = st.lr * (1.0 - double(global) / double(total));
      for (auto &g : optimizer->param_groups()) static_cast<torch::optim::SGDOptions &>(g.options()).lr(lr);
      std::vector<std::int64_t> idx(order.begin() + s * st.batch, order.begin() + (s + 1) * st.batch);
      std::mt19937 rng(std::uint32_t(opt.seed * 7919 + std::uint64_t(global)));
      const Batch batch = data.batch(idx, cfg.augment, cfg.norm, rng);
      optimizer->zero_grad();
      const StepResult r = step(batch, rng);
      if (!std::isfinite(r.loss)) throw std::runtime_error(label + ": loss is not finite");
      optimizer->step();
      step_losses.push_back(r.loss);
      loss_sum += r.loss;
      acc_sum += r.accuracy;
      ++in_window;
      bar.update(global + 1, loss_sum / in_window, acc_sum / in_window);
      if ((global + 1) % st.checkpoint_every == 0 && global + 1 < total) {
        ++global;
        checkpoint();
        --global;
      }
    }
    const double mean = std::accumulate(step_losses.end() - spe, step_losses.end(), 0.0) / spe;
    report.epoch_loss.push_back(mean);
    std::fprintf(stderr, "%s: epoch %d/%d mean loss %.4f\n", label.c_str(), epoch + 1, st.epochs, mean);
    loss_sum = acc_sum = 0;
    in_window = 0;
    checkpoint();
  }
  const std::size_t few = std::max<std::size_t>(1, std::min<std::size_t>(5, step_losses.size() / 4));
  report.first_loss = std::accumulate(step_losses.begin(), step_losses.begin() + few, 0.0) / few;
  report.last_loss = std::accumulate(step_losses.end() - few, step_losses.end(), 0.0) / few;
  report.seconds_per_step = bar.seconds() / std::max(1L, total);
  return report;
}

double batch_accuracy(const torch::Tensor &logits, const torch::Tensor &labels) {
  return logits.argmax(1).eq(labels).to(torch::kFloat64).mean().item<double>();
}

// Appends the stage's numbers to <run>/history.json, which export copies into bundles.
void record_history(const fs::path &run_dir, const std::string &stage, const StageReport &r,
                    const nlohmann::json &extra = nlohmann::json::object()) {
  const fs::path p = run_dir / "history.json";
  nlohmann::json h = nlohmann::json::array();
  if (fs::exists(p)) {
    std::ifstream in(p);
    h = nlohmann::json::parse(in, nullptr, false);
    if (!h.is_array()) h = nlohmann::json::array();
  }
  nlohmann::json e = {{"stage", stage},
                      {"epoch_loss", r.epoch_loss},
                      {"loss_first", r.first_loss},
                      {"loss_last", r.last_loss},
                      {"seconds_per_step", r.seconds_per_step},
                      {"threads", torch::get_num_threads()}};
  e.update(extra);
  h.push_back(e);
  std::ofstream(p.string() + ".tmp") << h.dump(1) << "\n";
  fs::rename(p.string() + ".tmp", p);
}

void print_report(const std::string &stage, const StageReport &r) {
  std::printf("stage=%s loss_first=%.4f loss_last=%.4f seconds_per_step=%.3f", stage.c_str(), r.first_loss, r.last_loss,
              r.seconds_per_step);
  for (std::size_t e = 0; e < r.epoch_loss.size(); ++e) std::printf(" epoch%zu_loss=%.4f", e + 1, r.epoch_loss[e]);
  std::printf("\n");
  std::fflush(stdout);
}

}  // namespace

StageReport train_init(const TrainConfig &cfg, const RunOptions &opt, const Datasets &data) {
  torch::manual_seed(opt.seed);
  auto net = build_net(cfg, *data.train);
  const int full = full_uncompressed(net->setups());
  auto report = run_stage("init", *net, cfg.init, cfg, *data.train, opt, opt.run_dir / "init.ckpt",
                          [&](const Batch &b, std::mt19937 &) {
                            auto logits = net->forward(b.images, full);
                            auto loss = torch::cross_entropy_loss(logits, b.labels);
                            loss.backward();
                            return StepResult{loss.item<double>(), batch_accuracy(logits, b.labels)};
                          });
  // The teacher's statistics only matter for its own setup; re-estimate them on clean data.
  calibrate_batchnorm(*net, *data.train, cfg, {full}, cfg.calibrate_batches, opt.seed);
  save_net(*net, opt.run_dir / "init.pt");
  print_report("init", report);
  nlohmann::json extra = {{"epochs", cfg.init.epochs}, {"train_images", data.train->size()}};
  if (data.test) {
    const double acc = 100.0 * top1(*net, *data.test, cfg, full);
    std::printf("stage=init setup=%s top1=%.2f\n", net->setups().at(full).name().c_str(), acc);
    extra["test_top1"] = acc;
  }
  record_history(opt.run_dir, "init", report, extra);
  return report;
}

// ---------------------------------------------------------------- clustering

std::vector<int> dbscan_1d(const std::vector<double> &values, double eps, int min_samples) {
  const std::size_t n = values.size();
  std::vector<int> label(n, -2);  // -2 unvisited, -1 noise
  auto neighbours = [&](std::size_t i) {
    std::vector<std::size_t> out;
    for (std::size_t j = 0; j < n; ++j)
      if (std::fabs(values[i] - values[j]) <= eps) out.push_back(j);
    return out;
  };
  int cluster = 0;
  for (std::size_t i = 0; i < n; ++i) {
    if (label[i] != -2) continue;
    auto seeds = neighbours(i);
    if (int(seeds.size()) < min_samples) {
      label[i] = -1;
      continue;
    }
    label[i] = cluster;
    for (std::size_t q = 0; q < seeds.size(); ++q) {
      const std::size_t j = seeds[q];
      if (label[j] == -1) label[j] = cluster;
      if (label[j] != -2) continue;
      label[j] = cluster;
      auto more = neighbours(j);
      if (int(more.size()) >= min_samples) seeds.insert(seeds.end(), more.begin(), more.end());
    }
    ++cluster;
  }
  return label;
}

ClusterTable cluster_by_similarity(const std::vector<std::pair<int, double>> &sim, int clusters) {
  if (sim.empty()) throw std::runtime_error("clustering needs at least one setup");
  std::vector<double> values;
  for (const auto &p : sim) values.push_back(p.second);
  std::vector<double> sorted = values;
  std::sort(sorted.begin(), sorted.end());
  // Candidate eps: just below and at every gap between neighbouring values. DBSCAN with
  // min_samples = 1 in 1-D splits exactly at the gaps larger than eps.
  std::vector<double> candidates = {0.0};
  for (std::size_t i = 1; i < sorted.size(); ++i) candidates.push_back(sorted[i] - sorted[i - 1]);
  std::sort(candidates.begin(), candidates.end());
  ClusterTable best;
  int best_count = -1;
  for (double eps : candidates) {
    const auto label = dbscan_1d(values, eps, 1);
    const int count = *std::max_element(label.begin(), label.end()) + 1;
    // Prefer the exact count; among equals, the largest eps (most stable grouping).
    const bool better = best_count < 0 || std::abs(count - clusters) < std::abs(best_count - clusters) ||
                        (std::abs(count - clusters) == std::abs(best_count - clusters) && eps >= best.eps);
    if (!better) continue;
    best_count = count;
    best.eps = eps;
    best.clusters.assign(std::size_t(count), {});
    for (std::size_t i = 0; i < label.size(); ++i) best.clusters[std::size_t(label[i])].push_back(sim[i].first);
  }
  for (auto &c : best.clusters) std::sort(c.begin(), c.end());
  std::sort(best.clusters.begin(), best.clusters.end());
  best.similarity = sim;
  return best;
}

ClusterTable balanced_by_similarity(const std::vector<std::pair<int, double>> &sim, int clusters) {
  if (sim.empty()) throw std::runtime_error("clustering needs at least one setup");
  if (clusters < 1) throw std::runtime_error("clustering needs at least one cluster");
  auto order = sim;
  std::stable_sort(order.begin(), order.end(), [](const auto &a, const auto &b) { return a.second < b.second; });
  const std::size_t k = std::min(order.size(), std::size_t(clusters));
  ClusterTable t;
  t.method = "balanced";
  t.clusters.assign(k, {});
  for (std::size_t i = 0; i < order.size(); ++i) t.clusters[i * k / order.size()].push_back(order[i].first);
  for (auto &c : t.clusters) std::sort(c.begin(), c.end());
  std::sort(t.clusters.begin(), t.clusters.end());
  t.similarity = sim;
  return t;
}

ClusterTable run_clustering(const TrainConfig &cfg, const RunOptions &opt, const Datasets &data, int clusters,
                            int batches, bool balanced) {
  torch::manual_seed(opt.seed);
  auto net = build_net(cfg, *data.train);
  load_net(*net, opt.run_dir / "init.pt");
  auto teacher = build_net(cfg, *data.train);
  load_net(*teacher, opt.run_dir / "init.pt");
  teacher->eval();
  net->train();
  const SetupTable &table = net->setups();
  const int full16 = full_uncompressed(table), ref = full_8bit(table);
  std::vector<int> candidates;  // the paper leaves out the 16-bit setups
  for (const auto &s : table.all())
    if (s.bits != 16) candidates.push_back(s.index);
  std::vector<double> sum(table.size(), 0.0);
  const auto order = epoch_order(data.train->size(), opt.seed, 1000);
  const long usable = long(data.train->size()) / cfg.swcnn.batch;
  const long n = std::min<long>(batches, usable);
  if (n < 1) throw std::runtime_error("fewer training images than one batch");
  ProgressBar bar("cluster", n, 0, "setups", "mean-cos-sim");
  for (long b = 0; b < n; ++b) {
    std::vector<std::int64_t> idx(order.begin() + b * cfg.swcnn.batch, order.begin() + (b + 1) * cfg.swcnn.batch);
    std::mt19937 rng(std::uint32_t(opt.seed + b));
    const Batch batch = data.train->batch(idx, cfg.augment, cfg.norm, rng);
    torch::Tensor target;
    {
      torch::NoGradGuard ng;
      target = torch::softmax(teacher->forward_uncompressed(batch.images, full16), 1);
    }
    auto grad_of = [&](int setup) {
      net->zero_grad();
      auto loss = soft_cross_entropy(net->forward(batch.images, setup), target);
      loss.backward();
      return net->receiving_weight().grad()[0].flatten().clone();
    };
    const auto g_ref = grad_of(ref);
    double mean_sim = 0;
    for (int s : candidates) {
      const auto g = s == ref ? g_ref : grad_of(s);
      const double sim = torch::cosine_similarity(g, g_ref, 0, 1e-12).item<double>();
      sum[std::size_t(s)] += sim;
      mean_sim += sim / candidates.size();
    }
    bar.update(b + 1, double(candidates.size()), mean_sim);
  }
  std::vector<std::pair<int, double>> sim;
  for (int s : candidates) sim.emplace_back(s, sum[std::size_t(s)]);
  ClusterTable t = balanced ? balanced_by_similarity(sim, clusters) : cluster_by_similarity(sim, clusters);
  t.reference = table.at(std::size_t(ref)).name();
  save_clusters(t, table, opt.run_dir / "clusters.yml");
  for (std::size_t c = 0; c < t.clusters.size(); ++c) {
    std::printf("cluster=%zu size=%zu setups=", c, t.clusters[c].size());
    for (std::size_t i = 0; i < t.clusters[c].size(); ++i)
      std::printf("%s%s", i ? "," : "", table.at(std::size_t(t.clusters[c][i])).name().c_str());
    std::printf("\n");
  }
  std::printf("clusters=%zu method=%s eps=%.6g batches=%ld\n", t.clusters.size(), t.method.c_str(), t.eps, n);
  std::fflush(stdout);
  return t;
}

void save_clusters(const ClusterTable &t, const SetupTable &setups, const fs::path &path) {
  YAML::Emitter out;
  out << YAML::Comment("written by rtcoinfer-train cluster; read by rtcoinfer-train swcnn");
  out << YAML::BeginMap;
  out << YAML::Key << "method" << YAML::Value << t.method;
  out << YAML::Key << "eps" << YAML::Value << t.eps;
  out << YAML::Key << "reference" << YAML::Value << t.reference;
  out << YAML::Key << "clusters" << YAML::Value << YAML::BeginSeq;
  for (const auto &c : t.clusters) {
    out << YAML::Flow << YAML::BeginSeq;
    for (int s : c) out << setups.at(std::size_t(s)).name();
    out << YAML::EndSeq;
  }
  out << YAML::EndSeq;
  out << YAML::Key << "similarity" << YAML::Value << YAML::BeginMap;
  for (const auto &p : t.similarity)
    out << YAML::Key << setups.at(std::size_t(p.first)).name() << YAML::Value << p.second;
  out << YAML::EndMap << YAML::EndMap;
  const fs::path tmp = path.string() + ".tmp";
  std::ofstream(tmp) << out.c_str() << "\n";
  fs::rename(tmp, path);
}

ClusterTable load_clusters(const SetupTable &setups, const fs::path &path) {
  if (!fs::exists(path))
    throw std::runtime_error("no cluster table " + path.string() + " (run `rtcoinfer-train cluster` first)");
  ClusterTable t;
  try {
    const YAML::Node root = YAML::LoadFile(path.string());
    if (root["method"]) t.method = root["method"].as<std::string>();
    if (root["eps"]) t.eps = root["eps"].as<double>();
    if (root["reference"]) t.reference = root["reference"].as<std::string>();
    for (const auto &c : root["clusters"]) {
      std::vector<int> members;
      for (const auto &name : c) {
        std::string err;
        auto s = setups.lookup(name.as<std::string>(), &err);
        if (!s) throw std::runtime_error(err);
        members.push_back(s->index);
      }
      if (!members.empty()) t.clusters.push_back(members);
    }
  } catch (const YAML::Exception &e) {
    throw std::runtime_error(path.string() + ": " + e.what());
  }
  if (t.clusters.empty()) throw std::runtime_error(path.string() + ": no clusters");
  return t;
}

// ---------------------------------------------------------------- SW-CNN

StageReport train_swcnn(const TrainConfig &cfg, const StageConfig &stage, const RunOptions &opt, const Datasets &data,
                        const SwcnnSwitches &sw, const fs::path &clusters_file, const fs::path &out_dir) {
  torch::manual_seed(opt.seed);
  auto net = build_net(cfg, *data.train);
  if (sw.initialization) load_net(*net, opt.run_dir / "init.pt");
  const SetupTable &table = net->setups();
  const int full16 = full_uncompressed(table), full8 = full_8bit(table);
  const int smallest = table.smallest().index;
  std::shared_ptr<SwNet> teacher;
  if (sw.distillation) {
    teacher = build_net(cfg, *data.train);
    load_net(*teacher, opt.run_dir / "init.pt");
    teacher->eval();
  }
  // Groups sampled one setup each per step. With clustering: the cluster table, with each
  // 16-bit setup joining the cluster of its 8-bit sibling (the paper leaves 16-bit setups
  // out of clustering). Without: as many groups, drawn from all setups uniformly.
  std::vector<std::vector<int>> groups;
  int n_groups = cfg.clusters;
  if (sw.clustering) {
    auto t = load_clusters(table, clusters_file);
    groups = t.clusters;
    for (const auto &s : table.all()) {
      if (s.bits != 16) continue;
      const int sibling = setup_index(table, s.channels, 8);
      for (auto &g : groups)
        if (std::find(g.begin(), g.end(), sibling) != g.end()) g.push_back(s.index);
    }
    n_groups = int(groups.size());
  }
  std::vector<int> all(table.size());
  std::iota(all.begin(), all.end(), 0);
  std::fprintf(stderr, "swcnn: I=%d D=%d C=%d (label weight %.2f), %d groups per step + %s + %s\n", sw.initialization,
               sw.distillation, sw.clustering, sw.distillation ? cfg.label_weight : 1.0, n_groups,
               table.at(full8).name().c_str(), table.at(smallest).name().c_str());
  auto report = run_stage(
      "swcnn", *net, stage, cfg, *data.train, opt, out_dir / "swcnn.ckpt", [&](const Batch &b, std::mt19937 &rng) {
        std::vector<int> picks = {full8, smallest};
        for (int g = 0; g < n_groups; ++g) {
          const auto &pool = sw.clustering ? groups[std::size_t(g)] : all;
          picks.push_back(pool[std::uniform_int_distribution<std::size_t>(0, pool.size() - 1)(rng)]);
        }
        torch::Tensor target;
        if (teacher) {
          torch::NoGradGuard ng;
          target = torch::softmax(teacher->forward_uncompressed(b.images, full16), 1);
        }
        double loss_sum = 0, acc = 0;
        for (std::size_t i = 0; i < picks.size(); ++i) {
          auto logits = net->forward(b.images, picks[i]);
          torch::Tensor loss;
          if (!teacher)
            loss = torch::cross_entropy_loss(logits, b.labels);
          else if (cfg.label_weight > 0)
            loss = (1 - cfg.label_weight) * soft_cross_entropy(logits, target) +
                   cfg.label_weight * torch::cross_entropy_loss(logits, b.labels);
          else
            loss = soft_cross_entropy(logits, target);
          loss.backward();  // gradients of all sampled setups accumulate before one step
          loss_sum += loss.item<double>();
          if (i == 0) acc = batch_accuracy(logits, b.labels);
        }
        return StepResult{loss_sum / picks.size(), acc};
      });
  calibrate_batchnorm(*net, *data.train, cfg, all, cfg.calibrate_batches, opt.seed);
  save_net(*net, out_dir / "swcnn.pt");
  print_report("swcnn", report);
  nlohmann::json extra = {{"epochs", stage.epochs},
                          {"train_images", data.train->size()},
                          {"initialization", sw.initialization},
                          {"distillation", sw.distillation},
                          {"clustering", sw.clustering},
                          {"label_weight", sw.distillation ? cfg.label_weight : 1.0}};
  if (data.test) {
    for (int s : {full8, smallest}) {
      const double acc = 100.0 * top1(*net, *data.test, cfg, s);
      std::printf("stage=swcnn setup=%s top1=%.2f\n", table.at(std::size_t(s)).name().c_str(), acc);
      extra["test_top1_" + table.at(std::size_t(s)).name()] = acc;
    }
  }
  record_history(out_dir, "swcnn", report, extra);
  return report;
}

double train_individual(const TrainConfig &cfg, const StageConfig &stage, const RunOptions &opt, const Datasets &data,
                        const Setup &setup, const fs::path &out_dir) {
  torch::manual_seed(opt.seed);
  auto net = build_net(cfg, *data.train);
  load_net(*net, opt.run_dir / "init.pt");
  const int s = setup.index;
  auto report = run_stage("individual " + setup.name(), *net, stage, cfg, *data.train, opt,
                          out_dir / (setup.name() + ".ckpt"), [&](const Batch &b, std::mt19937 &) {
                            auto logits = net->forward(b.images, s);
                            auto loss = torch::cross_entropy_loss(logits, b.labels);
                            loss.backward();
                            return StepResult{loss.item<double>(), batch_accuracy(logits, b.labels)};
                          });
  calibrate_batchnorm(*net, *data.train, cfg, {s}, cfg.calibrate_batches, opt.seed);
  save_net(*net, out_dir / (setup.name() + ".pt"));
  print_report("individual", report);
  return top1(*net, *data.test, cfg, s);
}

// ---------------------------------------------------------------- BN and accuracy

void calibrate_batchnorm(SwNet &net, const Dataset &data, const TrainConfig &cfg, const std::vector<int> &setups,
                         int batches, std::uint64_t seed) {
  std::vector<SwitchableBatchNorm2dImpl *> bns;
  for (const auto &m : net.modules(false))
    if (auto *bn = m->as<SwitchableBatchNorm2dImpl>()) bns.push_back(bn);
  const auto order = epoch_order(data.size(), seed, 2000);
  const long batch = std::min<long>(cfg.eval_batch, long(data.size()));
  const long n = std::min<long>(batches, long(data.size()) / batch);
  const double saved_momentum = bns.empty() ? 0.1 : bns.front()->momentum;
  torch::NoGradGuard ng;
  net.train();
  const Augment none;
  for (int s : setups) {
    for (auto *bn : bns) {
      bn->running_mean[s].zero_();
      bn->running_var[s].fill_(1);
    }
    for (long b = 0; b < n; ++b) {
      for (auto *bn : bns) bn->momentum = 1.0 / double(b + 1);  // cumulative average
      std::vector<std::int64_t> idx(order.begin() + b * batch, order.begin() + (b + 1) * batch);
      std::mt19937 rng(0);
      net.forward(data.batch(idx, none, cfg.norm, rng).images, s);
    }
  }
  for (auto *bn : bns) bn->momentum = saved_momentum;
  net.eval();
}

double top1(SwNet &net, const Dataset &data, const TrainConfig &cfg, int setup) {
  torch::NoGradGuard ng;
  net.eval();
  long correct = 0;
  const Augment none;
  std::mt19937 rng(0);
  for (std::size_t at = 0; at < data.size(); at += std::size_t(cfg.eval_batch)) {
    std::vector<std::int64_t> idx;
    for (std::size_t i = at; i < std::min(data.size(), at + std::size_t(cfg.eval_batch)); ++i)
      idx.push_back(std::int64_t(i));
    const Batch b = data.batch(idx, none, cfg.norm, rng);
    correct += net.forward(b.images, setup).argmax(1).eq(b.labels).sum().item<long>();
  }
  return double(correct) / double(data.size());
}

}  // namespace rtcoinfer::train
