#!/usr/bin/env python3
"""DistilHuBERT distillation step: PyTorch eager (transformers HubertModel) vs ssl-distill (burn
flex), same workload, same thread count, one run, each side in its own process.

The step: a HuBERT Base teacher (random init, eval, no grad, `output_hidden_states=True`)
gives targets = layers 4, 8, 12; a DistilHuBERT student (a 2-layer `HubertModel` with
`feat_proj_layer_norm=False`, front-end / projection / positional conv / first 2 layers copied
from the teacher, conv gradient x 0.1) with prediction heads Linear(768 -> 768*3) -> GELU ->
3 x Linear(768 -> 768); loss = mean|p - t| + mean(-log sigmoid(cos(p, t))) averaged over the 3
targets; backward; clip_grad_norm_(5.0); AdamW(lr 2e-4, betas (0.9, 0.98), eps 1e-6, wd 0.01).
Dropout and layerdrop are 0 on the PyTorch side, since ssl-distill's model has none
(`--torch-dropout 0.1` measures s3prl's training setting).

Requires: pip install torch==2.11.0 transformers; cargo.
Usage: python tools/bench/distill_vs_pytorch.py [--steps 5] [--rounds 2] [--threads N]
       [--batch 8] [--seconds 4] [--device flex|tch] [--binary PATH] [--json OUT]
Each round runs both sides once (order alternating between rounds), each timing `--steps`
steps after one warm-up step. Prints per-round medians, the median over all timed steps, the
ratio ours / PyTorch (goal <= 0.9), the per-phase split and each process's peak RSS
(`wait4` ru_maxrss). The Rust side is `examples/distill_step_timing.rs` (release build).
"""

import argparse
import json
import os
import pathlib
import platform
import statistics
import subprocess
import sys
import time

import pt_distilhubert as pt
from pt_distilhubert import TARGETS

ROOT = pathlib.Path(__file__).resolve().parents[2]
PHASES = ("teacher", "student_forward_loss", "backward", "clip", "optim")


def peak_rss_mib():
    """VmHWM of this process in MiB."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


def torch_worker(args):
    import torch
    import transformers
    from transformers import HubertConfig, HubertModel

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    p = args.torch_dropout
    common = dict(mask_time_prob=0.0, layerdrop=0.0, hidden_dropout=p, attention_dropout=p,
                  activation_dropout=p, feat_proj_dropout=0.0, final_dropout=0.0)
    setup = time.perf_counter()
    teacher = HubertModel(HubertConfig(**common)).eval()
    teacher.requires_grad_(False)
    student = pt.student_from_teacher(teacher)
    heads = pt.PredictionHeads()
    student.train()
    heads.train()
    params = [q for q in list(student.parameters()) + list(heads.parameters()) if q.requires_grad]
    opt = pt.adamw(params)
    x = torch.randn(args.batch, int(round(args.seconds * 16000))) * 0.1
    setup_s = time.perf_counter() - setup
    rss_setup = peak_rss_mib()

    def step():
        ph = {}
        start = t = time.perf_counter()
        with torch.no_grad():
            hs = teacher(x, output_hidden_states=True).hidden_states
            targets = [hs[k] for k in TARGETS]
        del hs
        ph["teacher"] = time.perf_counter() - t
        t = time.perf_counter()
        preds = heads(student(x).last_hidden_state)
        loss = pt.loss(preds, targets)
        value = loss.item()
        ph["student_forward_loss"] = time.perf_counter() - t
        t = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        ph["backward"] = time.perf_counter() - t
        t = time.perf_counter()
        torch.nn.utils.clip_grad_norm_(params, 5.0)
        ph["clip"] = time.perf_counter() - t
        t = time.perf_counter()
        opt.step()
        ph["optim"] = time.perf_counter() - t
        ph["total"] = time.perf_counter() - start
        return value, ph

    losses, phases = [], []
    for _ in range(args.steps + 1):
        value, ph = step()
        losses.append(value)
        phases.append(ph)
    first = phases.pop(0)
    out = {
        "batch": args.batch, "seconds": args.seconds, "steps": args.steps,
        "threads": torch.get_num_threads(), "setup_s": setup_s, "first_step_s": first["total"],
        "median_s": statistics.median(p_["total"] for p_ in phases),
        **{f"{k}_median_s": statistics.median(p_[k] for p_ in phases) for k in PHASES},
        "step_s": [p_["total"] for p_ in phases], "losses": losses,
        "student_params": sum(q.numel() for q in params),
        "rss_after_setup_mib": rss_setup, "peak_rss_mib": peak_rss_mib(),
        "torch": torch.__version__, "transformers": transformers.__version__,
        "python": platform.python_version(),
    }
    print(json.dumps(out))


def run_child(cmd, env):
    """Runs `cmd`, returns (its JSON stdout, its peak RSS in MiB, wall s, load before/after)."""
    load_before = os.getloadavg()
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)
    stdout = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        sys.exit(f"{cmd[0]} failed with exit code {proc.returncode}")
    result = json.loads(stdout.strip().splitlines()[-1])
    result["wall_s"] = time.perf_counter() - start
    result["max_rss_mib"] = usage.ru_maxrss / 1024  # KiB on Linux
    result["load_before"] = load_before
    result["load_after"] = os.getloadavg()
    return result


def rust_binary(env):
    subprocess.run(["cargo", "build", "--release", "-q", "-p", "ssl-distill", "--example",
                    "distill_step_timing"], cwd=ROOT, check=True, env=env)
    meta = json.loads(subprocess.run(["cargo", "metadata", "--format-version", "1", "--no-deps"],
                                     cwd=ROOT, check=True, capture_output=True, text=True,
                                     env=env).stdout)
    return pathlib.Path(meta["target_directory"]) / "release" / "examples" / "distill_step_timing"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=5, help="timed steps per run (after 1 warm-up)")
    ap.add_argument("--rounds", type=int, default=2, help="runs of each side, interleaved")
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--seconds", type=float, default=4.0)
    ap.add_argument("--torch-dropout", type=float, default=0.0)
    ap.add_argument("--json", type=pathlib.Path, help="write every measurement here")
    ap.add_argument("--device", default="flex", choices=["flex", "tch"], help="our backend")
    ap.add_argument("--binary", type=pathlib.Path, help="a built distill_step_timing example")
    ap.add_argument("--worker", choices=["torch"], help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker == "torch":
        torch_worker(args)
        return

    env = dict(os.environ, RAYON_NUM_THREADS=str(args.threads), OMP_NUM_THREADS=str(args.threads))
    binary = args.binary or rust_binary(env)
    sides = {
        "pytorch": [sys.executable, __file__, "--worker", "torch", "--steps", str(args.steps),
                    "--threads", str(args.threads), "--batch", str(args.batch),
                    "--seconds", str(args.seconds), "--torch-dropout", str(args.torch_dropout)],
        "ours": [str(binary), "--steps", str(args.steps), "--batch", str(args.batch),
                 "--seconds", str(args.seconds), "--device", args.device],
    }
    rustc = subprocess.run(["rustc", "--version"], capture_output=True, text=True).stdout.strip()
    print(f"DistilHuBERT step, HuBERT Base teacher (random init), batch {args.batch} x "
          f"{args.seconds:g} s; {args.threads} threads; {args.steps} timed steps after 1 warm-up, "
          f"{args.rounds} interleaved rounds; {time.strftime('%Y-%m-%d %H:%M:%S %Z')}")
    runs = {"pytorch": [], "ours": []}
    for r in range(args.rounds):
        order = ["pytorch", "ours"] if r % 2 == 0 else ["ours", "pytorch"]
        for side in order:
            res = run_child(sides[side], env)
            runs[side].append(res)
            print(f"  round {r + 1} {side:8s}: median {res['median_s']:.3f} s "
                  f"(first {res['first_step_s']:.3f} s), peak RSS {res['max_rss_mib']:.0f} MiB, "
                  f"load {res['load_before'][0]:.2f} -> {res['load_after'][0]:.2f}", flush=True)
    pt = runs["pytorch"][0]
    print(f"versions: torch {pt['torch']}, transformers {pt['transformers']}, python "
          f"{pt['python']}; burn 0.22.1 (flex), {rustc}")

    summary = {}
    for side, rs in runs.items():
        summary[side] = {
            "median_s": statistics.median(t for r in rs for t in r["step_s"]),
            "max_rss_mib": max(r["max_rss_mib"] for r in rs),
            "rss_after_setup_mib": max(r["rss_after_setup_mib"] for r in rs),
            **{f"{k}_median_s": statistics.median(r[f"{k}_median_s"] for r in rs) for k in PHASES},
            "student_params": rs[0]["student_params"],
        }
    ours, theirs = summary["ours"], summary["pytorch"]
    print(f"{'':24s} {'PyTorch':>9s} {'ours':>9s} {'ours/PT':>8s}")
    for key in ["median_s"] + [f"{k}_median_s" for k in PHASES]:
        print(f"{key.removesuffix('_median_s').removesuffix('_s'):24s} {theirs[key]:9.3f} "
              f"{ours[key]:9.3f} {ours[key] / theirs[key]:8.2f}")
    print(f"{'peak RSS (MiB)':24s} {theirs['max_rss_mib']:9.0f} {ours['max_rss_mib']:9.0f} "
          f"{ours['max_rss_mib'] / theirs['max_rss_mib']:8.2f}")
    print(f"{'RSS after setup (MiB)':24s} {theirs['rss_after_setup_mib']:9.0f} "
          f"{ours['rss_after_setup_mib']:9.0f}")
    print(f"trainable params: PyTorch {theirs['student_params']}, ours {ours['student_params']}")
    print(f"ratio ours/PyTorch (time): {ours['median_s'] / theirs['median_s']:.2f} (goal <= 0.9); "
          f"peak memory: {ours['max_rss_mib'] / theirs['max_rss_mib']:.2f} (goal <= 1)")
    if args.json:
        args.json.write_text(json.dumps({"runs": runs, "summary": summary, "rustc": rustc}, indent=1))


if __name__ == "__main__":
    main()
