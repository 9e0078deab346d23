// rtcoinfer-train: trains, clusters, evaluates and exports SW-CNN model bundles.
// docs/trainer.md is the guide; each subcommand's --help lists its options.
#include <torch/torch.h>

#include <CLI/CLI.hpp>

#include <cstdio>
#include <filesystem>
#include <iostream>

#include "config.h"
#include "training.h"
#include "trainer_commands.h"

using namespace rtcoinfer;
using namespace rtcoinfer::train;
namespace fs = std::filesystem;

int main(int argc, char **argv) {
  CLI::App app{"rtcoinfer-train: train, cluster, evaluate and export SW-CNN model bundles"};
  app.require_subcommand(1);
  CommonOptions common;
  auto add_common = [&](CLI::App *sub, bool needs_config) {
    auto *c = sub->add_option("-c,--config", common.config, "training config (YAML)");
    if (needs_config) c->required()->check(CLI::ExistingFile);
    sub->add_option("-r,--run", common.run_dir, "run directory for checkpoints and results")->default_str("run");
    sub->add_flag("--resume", common.resume, "continue from the stage's last checkpoint");
    sub->add_option("--seed", common.seed, "random seed")->default_str("1");
    sub->add_option("--threads", common.threads, "intra-op threads (0: LibTorch default)");
    sub->add_option("--epochs", common.epochs, "override the stage's epochs");
    sub->add_option("--train-limit", common.train_limit, "use only the first N training images");
    sub->add_option("--test-limit", common.test_limit, "use only the first N test images");
    sub->add_option("--calibrate-batches", common.calibrate_batches,
                    "BatchNorm calibration batches per setup (overrides the config)");
  };

  auto *init = app.add_subcommand("init", "train the uncompressed network (initialization and teacher)");
  add_common(init, true);

  int clusters = 0, batches = 0;
  auto *cluster = app.add_subcommand("cluster", "cluster setups by receiving-layer gradient similarity");
  add_common(cluster, true);
  cluster->add_option("--clusters", clusters, "number of clusters wanted (eps is searched)");
  cluster->add_option("--batches", batches, "batches of gradients to sum");
  bool balanced = false;
  cluster->add_flag("--balanced", balanced,
                    "split the setups in similarity order into clusters of equal size instead of DBSCAN "
                    "(config: cluster.balanced)");

  SwcnnSwitches sw;
  std::string clusters_file;
  auto *swcnn = app.add_subcommand("swcnn", "train the switchable CNN");
  add_common(swcnn, true);
  auto onoff = [](CLI::App *sub, const std::string &name, bool &value, const std::string &what) {
    sub->add_option("--" + name, value, what + " (true/false)")->default_str(value ? "true" : "false");
  };
  onoff(swcnn, "initialization", sw.initialization, "start from init.pt");
  onoff(swcnn, "distillation", sw.distillation, "soft targets from the init teacher");
  onoff(swcnn, "clustering", sw.clustering, "sample one setup per gradient cluster");
  swcnn->add_option("--clusters-file", clusters_file, "cluster table (default <run>/clusters.yml)");

  std::string setups_arg;
  auto *individual = app.add_subcommand("individual", "train one network per setup from init.pt");
  add_common(individual, true);
  individual->add_option("--setups", setups_arg, "CxB,CxB,... (default: the config's list)");

  EvalOptions eval_opts;
  auto *eval = app.add_subcommand("eval", "per-setup top-1 and coded bytes of a bundle");
  add_common(eval, false);
  eval->add_option("-m,--model", eval_opts.model, "model bundle")->required()->check(CLI::ExistingFile);
  eval->add_option("--setups", eval_opts.setups, "all or CxB,CxB,...")->default_str("all");
  eval->add_option("--plot", eval_opts.plot, "accuracy-vs-bytes PNG (default <model>.png)");
  eval->add_option("--write-metadata", eval_opts.write_metadata,
                   "store the table in the bundle's metadata (true/false)")
      ->default_str("true");
  eval->add_option("--dataset-root", eval_opts.dataset_root, "override the bundle's dataset root");

  ExitOptions exit_opts;
  auto *exit_cmd = app.add_subcommand("exit",
                                      "train a SPINN-style early-exit classifier on a bundle's partition "
                                      "output (the evaluation's SPINN baseline)");
  add_common(exit_cmd, false);
  exit_cmd->add_option("-m,--model", exit_opts.model, "model bundle (frozen)")->required()->check(CLI::ExistingFile);
  exit_cmd->add_option("-o,--out", exit_opts.out_dir, "output folder: exit.pt, exit.json, exit-test.csv")
      ->default_str("exit");
  exit_cmd->add_option("--setups", exit_opts.setups, "setups whose per-image correctness exit-test.csv records")
      ->capture_default_str();
  exit_cmd->add_option("--lr", exit_opts.lr, "Adam learning rate")->capture_default_str();
  exit_cmd->add_option("--dataset-root", exit_opts.dataset_root, "override the bundle's dataset root");

  ExportOptions export_opts;
  auto *exp = app.add_subcommand("export", "write a model bundle from a run");
  add_common(exp, true);
  exp->add_option("-o,--output", export_opts.output, "bundle file")->required();
  exp->add_option("--weights", export_opts.weights, "weights to export (default <run>/swcnn.pt)");

  std::string ablation_setups, ablation_methods;
  auto *ablation = app.add_subcommand("ablation", "accuracy loss of each I/D/C combination vs individual models");
  add_common(ablation, true);
  ablation->add_option("--setups", ablation_setups, "CxB,... (default: those trained by `individual`)");
  ablation->add_option("--methods", ablation_methods, "e.g. I-D-C,noI-noD-noC (default: all 8)");

  CLI11_PARSE(app, argc, argv);

  try {
    if (common.threads > 0) {
      torch::set_num_threads(common.threads);
      torch::set_num_interop_threads(1);
    }
    if (eval->parsed()) return run_eval(common, eval_opts);
    if (exit_cmd->parsed()) return run_exit(common, exit_opts);
    const TrainConfig cfg = load_effective_config(common);
    fs::create_directories(common.run_dir);
    RunOptions opt{common.run_dir, common.resume, common.seed};
    if (init->parsed()) {
      const Datasets data = open_datasets(cfg, true, true);
      train_init(cfg, opt, data);
    } else if (cluster->parsed()) {
      const Datasets data = open_datasets(cfg, true, false);
      run_clustering(cfg, opt, data, clusters > 0 ? clusters : cfg.clusters,
                     batches > 0 ? batches : cfg.cluster_batches, balanced || cfg.cluster_balanced);
    } else if (swcnn->parsed()) {
      const Datasets data = open_datasets(cfg, true, true);
      const fs::path cf = clusters_file.empty() ? opt.run_dir / "clusters.yml" : fs::path(clusters_file);
      train_swcnn(cfg, cfg.swcnn, opt, data, sw, cf, opt.run_dir);
    } else if (individual->parsed()) {
      return run_individual(cfg, opt, setups_arg);
    } else if (exp->parsed()) {
      return run_export(cfg, common, export_opts);
    } else if (ablation->parsed()) {
      return run_ablation(cfg, opt, ablation_setups, ablation_methods);
    }
  } catch (const std::exception &e) {
    // c10::Error derives from std::exception; keep the first line, it names the problem.
    std::string msg = e.what();
    msg = msg.substr(0, msg.find('\n'));
    std::fprintf(stderr, "rtcoinfer-train: %s\n", msg.c_str());
    return 1;
  }
  return 0;
}
