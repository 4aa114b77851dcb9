// The `rlpp` program: argument parsing, then one call into the library per subcommand.
#include <torch/torch.h>
#include <torch/version.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <iomanip>
#include <iostream>

#include "command.h"
#include "rlpp/certify/commands.h"
#include "rlpp/core/error.h"
#include "rlpp/core/plot.h"
#include "rlpp/search/compute_curve.h"
#include "rlpp/search/expert_data.h"
#include "rlpp/search/mcts_dpo.h"
#include "rlpp/search/reward_model_bon.h"
#include "rlpp/search/trainers.h"
#include "rlpp/train/catalog.h"
#include "rlpp/train/run.h"
#include "rlpp/train/sweep.h"
#include "rlpp/version.h"

namespace {

std::atomic<bool> g_stop{false};

// First Ctrl-C or SIGTERM (what batch schedulers send): finish the current update, write a
// checkpoint and exit cleanly. A second one: the default action (terminate at once).
void on_stop_signal(int) {
  g_stop.store(true);
  std::signal(SIGINT, SIG_DFL);
  std::signal(SIGTERM, SIG_DFL);
}

std::string version_text() {
  std::ostringstream s;
  s << "rlpp " << RLPP_VERSION << "\nLibTorch " << TORCH_VERSION << "\nCUDA available: "
    << (torch::cuda::is_available() ? "yes" : "no");
  if (torch::cuda::is_available()) s << " (" << torch::cuda::device_count() << " device(s))";
  return s.str();
}

int run_list(const std::string& kind, bool markdown) {
  if (markdown) {
    std::cout << rlpp::train::catalog_markdown();
    return 0;
  }
  const auto all = rlpp::train::catalog();
  std::vector<std::string> kinds;
  for (const auto& [k, v] : all) kinds.push_back(k);
  if (!kind.empty() && !all.count(kind)) {
    throw rlpp::core::UserError("unknown kind '" + kind + "'" + rlpp::core::did_you_mean(kind, kinds) +
                                "; valid: " + rlpp::core::join(kinds, ", "));
  }
  for (const auto& [k, rows] : all) {
    if (!kind.empty() && k != kind) continue;
    std::cout << k << ":\n";
    for (const auto& [name, summary] : rows) {
      std::cout << "  " << std::left << std::setw(28) << name << " " << summary << "\n";
    }
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  rlpp::search::register_trainers();  // mcts_dpo, mcts_value, search_pg as `rlpp train` algorithms
  CLI::App app{"rlpp: reinforcement-learning policy optimization engine"};
  app.require_subcommand(0, 1);
  bool show_version = false;
  app.add_flag("--version", show_version, "print rlpp's version, the LibTorch version and CUDA availability");

  // train
  rlpp::train::StartRequest start;
  auto* train = app.add_subcommand("train", "train from a TOML recipe");
  train->add_option("recipe", start.recipe_path, "recipe file (see configs/)")->required();
  train->add_option("--set", start.overrides, "override a recipe value: section.key=value (repeatable)");
  train->add_option("--out", start.out_dir, "run directory (default: runs/<recipe>-s<seed>-<time>)");
  train->add_option("--stop-after-updates", start.stop_after_updates,
                    "checkpoint and stop after this many updates (resume later)");
  train->add_flag("--quiet", start.quiet, "no progress output");
  train->footer(
      "Examples:\n  rlpp train configs/cartpole_ppo.toml\n"
      "  rlpp train configs/cartpole_ppo.toml --set run.seed=3 --set ppo.learning_rate=1e-3 --out runs/cp3\n"
      "Ctrl-C writes a checkpoint and exits; 'rlpp resume RUN_DIR' continues.");

  // resume
  rlpp::train::ResumeRequest resume_req;
  auto* resume = app.add_subcommand("resume", "continue a run from its newest checkpoint");
  resume->add_option("run_dir", resume_req.run_dir, "run directory")->required();
  resume->add_option("--set", resume_req.overrides,
                     "change a recipe value: run.total_steps, run.checkpoint_every, run.keep_checkpoints, "
                     "run.torch_threads or run.log_interval_s");
  resume->add_option("--stop-after-updates", resume_req.stop_after_updates, "checkpoint and stop after this many updates");
  resume->add_flag("--quiet", resume_req.quiet, "no progress output");
  resume->add_flag("--skip-damaged", resume_req.skip_damaged,
                   "continue from the newest intact checkpoint when newer ones are damaged");
  resume->footer("Example:\n  rlpp resume runs/cp3 --set run.total_steps=1000000");

  // eval
  std::string eval_target;
  rlpp::train::EvalRequest eval_req;
  auto* eval = app.add_subcommand("eval", "evaluate the deterministic policy of a run or checkpoint");
  eval->add_option("target", eval_target, "run directory or checkpoint file")->required();
  eval->add_option("--episodes", eval_req.episodes, "episodes to run (language models: held-out problems)")
      ->check(CLI::Range(1, 1000000));
  eval->add_option("--seed", eval_req.seed, "seed of the evaluation environments / held-out problems");
  eval->add_option("--samples", eval_req.samples, "language models: sampled responses per problem for pass@k and maj@k")
      ->check(CLI::Range(0, 4096));
  eval->add_option("--temperature", eval_req.temperature, "language models: temperature of the sampled responses")
      ->check(CLI::Range(0.0, 100.0));
  eval->add_option("--samples-out", eval_req.samples_path, "language models: write every problem and response (JSONL)");
  eval->footer("Examples:\n  rlpp eval runs/cp3 --episodes 20\n"
               "  rlpp eval runs/lm-arith --episodes 500 --samples 8 --samples-out samples.jsonl");

  // list
  std::string list_kind;
  bool list_markdown = false;
  auto* list = app.add_subcommand("list", "list registered components");
  list->add_option("kind", list_kind,
                   "envs, algorithms, advantages, objectives, aggregations, kl, kl_controllers or selectors "
                   "(default: all)");
  list->add_flag("--markdown", list_markdown,
                 "the algo components with every option and default, as markdown (docs/objectives.md)");
  list->footer("Examples:\n  rlpp list objectives\n  rlpp list --markdown");

  // plot
  std::vector<std::string> plot_runs;
  std::string plot_metric = "charts/episodic_return", plot_out = "learning_curves.png", plot_title;
  std::string plot_xlabel = "step (environment steps for ppo, optimizer steps for lm, RL steps for rlvr)";
  int plot_smooth = 1;
  auto* plot = app.add_subcommand("plot", "draw learning curves of one or more runs to a PNG");
  plot->add_option("run_dirs", plot_runs, "run directories")->required();
  plot->add_option("--metric", plot_metric, "metric name in metrics.jsonl");
  plot->add_option("--out", plot_out, "PNG file to write");
  plot->add_option("--smooth", plot_smooth, "moving-average window")->check(CLI::Range(1, 100000));
  plot->add_option("--title", plot_title, "plot title");
  plot->add_option("--xlabel", plot_xlabel, "x-axis label");
  plot->footer("Example:\n  rlpp plot runs/cp1 runs/cp2 --metric charts/episodic_return --out cartpole.png");

  // sweep
  std::string sweep_file;
  rlpp::train::SweepRequest sweep_req;
  auto* sweep = app.add_subcommand("sweep", "train variants x seeds of a recipe and summarise them (table + PNG plots)");
  sweep->add_option("sweep_file", sweep_file, "sweep file (TOML: [sweep] base, seeds, set, metrics; [[variant]] name, set)")
      ->required();
  sweep->add_option("--out", sweep_req.out_dir, "sweep directory (default: runs/sweep-<file name>)");
  std::string sweep_base;
  sweep->add_option("--base", sweep_base, "base recipe replacing the file's sweep.base (the same variants on another task)");
  sweep->add_option("--jobs", sweep_req.jobs, "runs trained at once")->check(CLI::Range(1, 256));
  sweep->add_flag("--summary-only", sweep_req.summary_only, "train nothing: summarise the runs the directory holds");
  sweep->add_flag("--quiet", sweep_req.quiet, "no progress lines");
  sweep->footer("Example:\n  rlpp sweep configs/sweeps/objectives.toml --jobs 2\n"
                "Writes DIR/<variant>/seed_<s>/ (runs), DIR/summary.md, DIR/summary.json, DIR/<metric>.png; finished\n"
                "runs are kept when the sweep is run again.");

  // certify / simulate (differentiable games, docs/games.md)
  rlpp::certify::CertifyRequest cert_req;
  double cert_coupling = 0.0, cert_radius = 0.0;
  int64_t cert_points = 0;
  auto* certify = app.add_subcommand("certify", "Small-Gain Nash certificate of a game file (TOML or JSON)");
  certify->add_option("game", cert_req.game_path, "game file (see configs/games/)")->required();
  auto* cert_coupling_opt = certify->add_option("--coupling", cert_coupling, "multiply every coupling block A_ij (quadratic games)");
  auto* cert_radius_opt = certify->add_option("--radius", cert_radius, "half-width of the region box");
  auto* cert_points_opt = certify->add_option("--random-points", cert_points, "random points sampled in the region")
                              ->check(CLI::Range(int64_t{0}, int64_t{1000000}));
  certify->add_option("--geometry", cert_req.geometry, "euclidean or fisher (Markov games; default: the file's)");
  certify->add_option("--out", cert_req.json_out, "write the certificate as JSON");
  certify->add_option("--plot-margin", cert_req.plot_margin, "PNG: Euclidean and SGN margins against the coupling scale");
  certify->add_option("--coupling-max", cert_req.coupling_max, "largest coupling scale on that plot");
  certify->footer("Examples:\n  rlpp certify configs/games/toy.toml --out toy.json\n"
                  "  rlpp certify configs/games/lq_rotation.toml --coupling 1.2 --plot-margin lq.png");

  rlpp::certify::SimulateRequest sim_req;
  double sim_step = 0.0, sim_coupling = 0.0;
  auto* simulate = app.add_subcommand("simulate", "run a game's learning dynamics and check the certificate empirically");
  simulate->add_option("game", sim_req.game_path, "game file (see configs/games/)")->required();
  simulate->add_option("--method", sim_req.method, "euler, rk4 or npg (default: npg for Markov games, else euler)");
  auto* sim_step_opt = simulate->add_option("--step", sim_step, "step size h (default: the certified best Euler step)");
  simulate->add_option("--steps", sim_req.steps, "number of steps")->check(CLI::Range(int64_t{1}, int64_t{10000000}));
  simulate->add_option("--scale", sim_req.player_scale, "per-player step scales (one per player)");
  auto* sim_coupling_opt = simulate->add_option("--coupling", sim_coupling, "multiply every coupling block A_ij");
  simulate->add_option("--seed", sim_req.seed, "seed of the starting points");
  simulate->add_option("--trajectory", sim_req.trajectory_out, "write the trajectory as CSV");
  simulate->add_option("--out", sim_req.json_out, "write measured-vs-certified numbers as JSON");
  simulate->add_option("--plot", sim_req.plot, "PNG phase portrait (players 0 and 1)");
  simulate->footer("Examples:\n  rlpp simulate configs/games/toy.toml --plot toy_phase.png\n"
                   "  rlpp simulate configs/games/markov_coordination.toml --method npg --steps 500");

  // search-eval
  rlpp::search::ComputeCurveRequest search_req;
  std::string search_out = "runs/search-eval";
  auto* search_eval = app.add_subcommand("search-eval", "accuracy against test-time compute of an LM run: greedy, majority vote, best-of-N, beam, MCTS");
  search_eval->add_option("run_dir", search_req.run_dir, "language-model run directory (with model/)")->required();
  search_eval->add_option("--problems", search_req.problems, "fresh task problems")->check(CLI::Range(1, 100000));
  search_eval->add_option("--budgets", search_req.budgets, "budgets b (samples / expansions / 2b MCTS iterations)")->delimiter(',');
  search_eval->add_option("--methods", search_req.methods, "greedy, majority, best_of_n_logp, best_of_n_verifier, beam, mcts")->delimiter(',');
  search_eval->add_option("--temperature", search_req.temperature, "sampling temperature")->check(CLI::Range(0.0, 100.0));
  search_eval->add_option("--seed", search_req.seed, "seed of the problems");
  search_eval->add_option("--threads", search_req.torch_threads, "LibTorch threads")->check(CLI::Range(1, 256));
  search_eval->add_option("--task-run", search_req.task_run_dir, "run whose recipe defines the task (default: run_dir)");
  search_eval->add_option("--out", search_out, "directory for compute_curve.{md,json,png}");
  search_eval->footer("Example:\n  rlpp search-eval runs/lm-arith-150 --problems 64 --budgets 1,2,4,8 --out runs/search-eval");

  // expert-data
  rlpp::search::ExpertDataRequest expert_req;
  auto* expert = app.add_subcommand("expert-data", "rejection sampling: a run's verified solutions to fresh problems as SFT data (JSONL)");
  expert->add_option("run_dir", expert_req.run_dir, "language-model run directory (with model/)")->required();
  expert->add_option("--out", expert_req.out_path, "JSONL file to write")->required();
  expert->add_option("--problems", expert_req.problems, "fresh task problems")->check(CLI::Range(1, 10000000));
  expert->add_option("--samples", expert_req.samples, "samples per problem")->check(CLI::Range(1, 4096));
  expert->add_option("--temperature", expert_req.temperature, "sampling temperature")->check(CLI::Range(0.0, 100.0));
  expert->add_option("--seed", expert_req.seed, "seed of the problems");
  expert->add_option("--task-run", expert_req.task_run_dir, "run whose recipe defines the task (default: run_dir)");
  expert->add_option("--threads", expert_req.torch_threads, "LibTorch threads")->check(CLI::Range(1, 256));
  expert->footer("Example:\n  rlpp expert-data runs/lm-arith-150 --problems 2000 --samples 8 --out runs/expert.jsonl");

  // mcts-dpo
  rlpp::search::MctsDpoRequest dpo_req;
  auto* mcts_dpo = app.add_subcommand("mcts-dpo", "MCTS-DPO rounds on an LM run: search, step preference pairs, DPO, refresh");
  mcts_dpo->add_option("run_dir", dpo_req.run_dir, "language-model run directory (with model/)")->required();
  mcts_dpo->add_option("--out", dpo_req.out_dir, "directory for model/, recipe.toml and mcts_dpo.json")->required();
  mcts_dpo->add_option("--rounds", dpo_req.rounds, "search + DPO rounds")->check(CLI::Range(1, 1000));
  mcts_dpo->add_option("--problems", dpo_req.problems, "problems searched per round")->check(CLI::Range(1, 1000000));
  mcts_dpo->add_option("--eval-problems", dpo_req.eval_problems, "held-out problems for greedy accuracy")->check(CLI::Range(1, 1000000));
  mcts_dpo->add_option("--epochs", dpo_req.epochs, "passes over a round's pairs")->check(CLI::Range(1, 1000));
  mcts_dpo->add_option("--lr", dpo_req.learning_rate, "AdamW learning rate")->check(CLI::Range(1e-9, 1.0));
  mcts_dpo->add_option("--beta", dpo_req.dpo.beta, "DPO beta")->check(CLI::Range(1e-6, 100.0));
  mcts_dpo->add_option("--nll-weight", dpo_req.nll_weight, "weight of an NLL term on the chosen steps (RPO)")->check(CLI::Range(0.0, 100.0));
  mcts_dpo->add_option("--min-gap", dpo_req.min_gap, "Q gap needed for a sibling pair")->check(CLI::Range(0.0, 2.0));
  mcts_dpo->add_option("--iterations", dpo_req.mcts.iterations, "MCTS iterations per move")->check(CLI::Range(1, 100000));
  mcts_dpo->add_option("--children", dpo_req.mcts.num_children, "steps sampled per expansion")->check(CLI::Range(1, 64));
  mcts_dpo->add_option("--task-run", dpo_req.task_run_dir, "run whose recipe defines the task (default: run_dir)");
  mcts_dpo->add_option("--threads", dpo_req.torch_threads, "LibTorch threads")->check(CLI::Range(1, 256));
  mcts_dpo->footer("Example:\n  rlpp mcts-dpo runs/lm-arith-150 --rounds 2 --problems 64 --out runs/lm-arith-150-mcts-dpo");

  // rm-bon
  rlpp::search::RewardModelBonRequest rm_req;
  auto* rm_bon = app.add_subcommand("rm-bon", "train a Bradley-Terry reward model on an LM run's samples; best-of-N by it: proxy vs true reward");
  rm_bon->add_option("run_dir", rm_req.run_dir, "language-model run directory (with model/)")->required();
  rm_bon->add_option("--out", rm_req.out_dir, "directory for rm_bon.{md,json,png}")->required();
  rm_bon->add_option("--train-problems", rm_req.train_problems, "problems whose samples train the reward model")->check(CLI::Range(1, 1000000));
  rm_bon->add_option("--eval-problems", rm_req.eval_problems, "fresh problems for best-of-N")->check(CLI::Range(1, 1000000));
  rm_bon->add_option("--samples", rm_req.samples, "samples per training problem")->check(CLI::Range(2, 4096));
  rm_bon->add_option("--max-n", rm_req.max_n, "largest N (powers of two from 1)")->check(CLI::Range(1, 4096));
  rm_bon->add_option("--steps", rm_req.steps, "Adam steps of the reward head")->check(CLI::Range(1, 1000000));
  rm_bon->add_option("--task-run", rm_req.task_run_dir, "run whose recipe defines the task (default: run_dir)");
  rm_bon->add_option("--threads", rm_req.torch_threads, "LibTorch threads")->check(CLI::Range(1, 256));
  rm_bon->footer("Example:\n  rlpp rm-bon runs/lm-arith-150 --train-problems 128 --max-n 32 --out runs/rm-bon-150");

  // subcommands defined in their own files (command.h)
  std::vector<rlpp::cli::Command> extra;
  for (const auto& add : rlpp::cli::registered_commands()) extra.push_back(add(app, g_stop));

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return rlpp::core::kExitUserError;
  }

  try {
    if (show_version) {
      std::cout << version_text() << std::endl;
      return 0;
    }
    // Commands that watch g_stop stop cleanly on a signal; the others keep the default action.
    bool watches_stop = *train || *resume;
    for (const auto& c : extra) watches_stop = watches_stop || c.sub->parsed();
    if (watches_stop) {
      std::signal(SIGINT, on_stop_signal);
      std::signal(SIGTERM, on_stop_signal);
    }
    if (*train) {
      rlpp::train::start_run(start, g_stop);
    } else if (*resume) {
      rlpp::train::resume_run(resume_req, g_stop);
    } else if (*eval) {
      const auto r = rlpp::train::evaluate_run(eval_target, eval_req);
      if (r.score_name == "return") {
        std::cout << "episodes " << r.episodes << "  mean_return " << r.mean_return << "  std_return "
                  << r.std_return << "  mean_length " << r.mean_length << std::endl;
      } else {
        std::cout << "examples " << r.episodes << "  " << r.score_name << " " << r.mean_return
                  << "  mean_length " << r.mean_length << std::endl;
      }
      for (const auto& [name, value] : r.extra) std::cout << name << " " << value << std::endl;
    } else if (*list) {
      return run_list(list_kind, list_markdown);
    } else if (*sweep) {
      auto spec = rlpp::train::read_sweep(sweep_file);
      if (!sweep_base.empty()) {
        rlpp::core::require(std::filesystem::exists(sweep_base), "--base: no such recipe: " + sweep_base);
        spec.base = sweep_base;
      }
      if (sweep_req.out_dir.empty()) sweep_req.out_dir = "runs/sweep-" + std::filesystem::path(sweep_file).stem().string();
      sweep_req.exe = std::filesystem::read_symlink("/proc/self/exe").string();
      const auto s = rlpp::train::run_sweep(spec, sweep_req);
      for (const auto& f : s.files) std::cout << "rlpp: wrote " << f << std::endl;
      if (!s.failed.empty()) {
        std::cerr << "rlpp: " << s.failed.size() << " run(s) failed: " << s.failed.front() << " ..." << std::endl;
        return 1;
      }
    } else if (*search_eval) {
      const auto points = rlpp::search::compute_curve(search_req);
      std::cout << rlpp::search::compute_table(points);
      for (const auto& f : rlpp::search::write_compute_curve(points, search_out)) std::cout << "rlpp: wrote " << f << std::endl;
    } else if (*expert) {
      const auto r = rlpp::search::write_expert_data(expert_req);
      std::cout << "problems " << r.problems << "  solved " << r.solved << "  examples " << r.examples
                << "  tokens_generated " << r.tokens_generated << std::endl;
      std::cout << "rlpp: wrote " << expert_req.out_path << std::endl;
    } else if (*mcts_dpo) {
      for (const auto& r : rlpp::search::run_mcts_dpo(dpo_req))
        std::cout << "round " << r.round << "  pairs " << r.pairs << "  search_reward " << r.search_reward
                  << "  dpo_loss " << r.dpo_loss_first << " -> " << r.dpo_loss_last << "  reward_accuracy "
                  << r.reward_accuracy_last << "  greedy_accuracy " << r.greedy_accuracy << "  tokens "
                  << r.tokens_generated << std::endl;
      std::cout << "rlpp: wrote " << dpo_req.out_dir << std::endl;
    } else if (*rm_bon) {
      const auto r = rlpp::search::run_reward_model_bon(rm_req);
      std::cout << "train_pairs " << r.train_pairs << "  pair_accuracy train " << r.train_pair_accuracy
                << " held-out " << r.heldout_pair_accuracy << std::endl;
      for (const auto& p : r.points)
        std::cout << "N " << p.n << "  proxy " << p.proxy << "  true " << p.true_accuracy << "  oracle "
                  << p.oracle_accuracy << std::endl;
      std::cout << "rlpp: wrote " << rm_req.out_dir << std::endl;
    } else if (*plot) {
      rlpp::core::PlotOptions opts;
      opts.title = plot_title.empty() ? plot_metric : plot_title;
      opts.ylabel = plot_metric;
      opts.xlabel = plot_xlabel;
      opts.smoothing = plot_smooth;
      rlpp::core::plot_curves(rlpp::core::load_run_curves(plot_runs, plot_metric), opts, plot_out);
      std::cout << "rlpp: wrote " << plot_out << std::endl;
    } else if (*certify) {
      if (*cert_coupling_opt) cert_req.coupling = cert_coupling;
      if (*cert_radius_opt) cert_req.radius = cert_radius;
      if (*cert_points_opt) cert_req.random_points = cert_points;
      rlpp::certify::run_certify(cert_req, std::cout);
    } else if (*simulate) {
      if (*sim_step_opt) sim_req.step = sim_step;
      if (*sim_coupling_opt) sim_req.coupling = sim_coupling;
      rlpp::certify::run_simulate(sim_req, std::cout);
    } else {
      for (const auto& c : extra)
        if (c.sub->parsed()) return c.run();
      std::cout << app.help() << std::endl;
    }
  } catch (const rlpp::core::UserError& e) {
    std::cerr << "rlpp: error: " << e.what() << std::endl;
    return rlpp::core::kExitUserError;
  } catch (const c10::Error& e) {
    std::cerr << "rlpp: error: " << e.what_without_backtrace() << std::endl;
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "rlpp: internal error: " << e.what() << std::endl;
    return 1;
  }
  return 0;
}
