#!/usr/bin/env python3
"""The whole-process distillation job: `ssl-distill distill` vs the same job in PyTorch, each a
fresh process timed from start to exit, same machine, same run, interleaved.

The job (what a user runs): a DistilHuBERT run (recipes/distilhubert.toml: 2-layer student
initialised from the teacher, prediction heads for layers 4/8/12, L1 + -log sigmoid(cos), AdamW
with warm-up + linear decay, clipping at 5) from a random-init HuBERT Base teacher (an HF
directory written by transformers), on a manifest of 16 kHz WAV files, `--steps` steps of batch
`--batch` x `--seconds` s random crops, then the student saved. Both sides read and crop the
audio themselves, run the teacher without gradients, and write the final student.

  ours:    ssl-distill distill --recipe recipes/distilhubert.toml --teacher T --data M
             --max-steps N --batch-size B --crop-seconds S --device D
  PyTorch: this file's `--worker torch`: transformers HubertModel teacher + student, the
             s3prl-style loop (GradMultiply 0.1 on the CNN, heads, loss, clip, AdamW + schedule)

Requires torch==2.11.0 transformers soundfile (PyPI); cargo. `--device` picks ours among
cpu (flex), tch (libtorch CPU), tch-cuda; PyTorch runs on the CPU, or CUDA with tch-cuda.

Usage: python tools/bench/distill_process.py [--reps 5] [--steps 6] [--batch 4] [--seconds 2]
           [--threads 2] [--device cpu|tch|tch-cuda] [--binary PATH] [--json OUT]
Prints each run, the medians of wall time and peak RSS per side, and the ratio ours / PyTorch.
"""

import argparse
import json
import os
import pathlib
import statistics
import subprocess
import sys
import tempfile
import time

import pt_distilhubert as pt
from pt_distilhubert import TARGETS

ROOT = pathlib.Path(__file__).resolve().parents[2]


def make_inputs(work, clips, seed=0):
    """A random-init HuBERT Base HF directory and a TSV manifest of 16 kHz WAV clips (the bundled
    corpus's first `clips` utterances, decoded once with soundfile)."""
    import soundfile
    import torch
    from transformers import HubertConfig, HubertModel

    teacher_dir = work / "teacher"
    if not (teacher_dir / "config.json").exists():
        torch.manual_seed(seed)
        HubertModel(HubertConfig()).save_pretrained(teacher_dir)
        (teacher_dir / "preprocessor_config.json").write_text(json.dumps(
            {"do_normalize": False, "sampling_rate": 16000,
             "feature_extractor_type": "Wav2Vec2FeatureExtractor"}))
    wav_dir = work / "wav"
    wav_dir.mkdir(exist_ok=True)
    lines = ["/"]
    corpus = ROOT / "assets" / "demo-corpus"
    with open(corpus / "train.jsonl") as f:
        for i, line in enumerate(f):
            if i == clips:
                break
            utt = json.loads(line)
            audio, rate = soundfile.read(corpus / utt["path"], dtype="int16")
            assert rate == 16000, f"{utt['path']}: {rate} Hz"
            out = wav_dir / f"{i:04d}.wav"
            if not out.exists():
                soundfile.write(out, audio, 16000, subtype="PCM_16")
            lines.append(f"{out}\t{len(audio)}")
    manifest = work / "train.tsv"
    manifest.write_text("\n".join(lines) + "\n")
    return teacher_dir, manifest


def torch_worker(args):
    """The PyTorch side as one process: load, train `args.steps` steps, save."""
    import random

    import soundfile
    import torch
    from transformers import HubertModel

    device = torch.device("cuda" if args.device == "tch-cuda" else "cpu")
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    rng = random.Random(0)
    teacher = HubertModel.from_pretrained(args.teacher).to(device).eval()
    teacher.requires_grad_(False)
    student = pt.student_from_teacher(
        teacher, hidden_dropout=0.0, attention_dropout=0.0, activation_dropout=0.0,
        feat_proj_dropout=0.0, layerdrop=0.0, mask_time_prob=0.0).to(device)
    heads = pt.PredictionHeads().to(device)
    params = [q for q in list(student.parameters()) + list(heads.parameters()) if q.requires_grad]
    opt = pt.adamw(params)
    warm = max(1, round(0.07 * args.steps))
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: (s + 1) / warm if s < warm else max(0.0, (args.steps - s) / max(1, args.steps - warm)))
    paths = [line.split("\t")[0] for line in pathlib.Path(args.manifest).read_text().splitlines()[1:]]
    crop = int(round(args.seconds * 16000))

    def batch():
        rows = []
        for p in rng.sample(paths, args.batch):
            audio, _ = soundfile.read(p, dtype="float32")
            start = rng.randrange(0, max(1, len(audio) - crop))
            row = torch.zeros(crop)
            piece = torch.from_numpy(audio[start:start + crop])
            row[:len(piece)] = piece
            rows.append(row)
        return torch.stack(rows).to(device)

    for _ in range(args.steps):
        x = batch()
        with torch.no_grad():
            hs = teacher(x, output_hidden_states=True).hidden_states
            targets = [hs[k] for k in TARGETS]
        del hs
        preds = heads(student(x).last_hidden_state)
        loss = pt.loss(preds, targets)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 5.0)
        opt.step()
        sched.step()
        print(f"loss {loss.item():.4f}", file=sys.stderr)
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    torch.save({"student": student.state_dict(), "heads": heads.state_dict()}, out / "student.pt")


def timed(cmd, env):
    """Runs `cmd`; returns wall seconds, peak RSS (MiB) and the 1-minute load before/after."""
    load = os.getloadavg()[0]
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    stderr = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"{' '.join(map(str, cmd))} failed:\n{stderr[-3000:]}")
    return {"wall_s": wall, "peak_rss_mib": usage.ru_maxrss / 1024,
            "load_before": load, "load_after": os.getloadavg()[0]}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--steps", type=int, default=6)
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--seconds", type=float, default=2.0)
    ap.add_argument("--device", default="cpu", choices=["cpu", "tch", "tch-cuda"])
    ap.add_argument("--binary", type=pathlib.Path, help="ssl-distill binary (default: build it)")
    add_common_args(ap)
    args = ap.parse_args()
    if args.worker:
        torch_worker(args)
        return

    work, teacher, manifest, env = setup(args, "distill-process-")
    binary = args.binary
    if binary is None:
        subprocess.run(["cargo", "build", "--release", "-q", "-p", "ssl-distill-cli"], cwd=ROOT,
                       check=True, env=env)
        meta = json.loads(subprocess.run(["cargo", "metadata", "--format-version", "1",
                                          "--no-deps"], cwd=ROOT, check=True,
                                         capture_output=True, text=True, env=env).stdout)
        binary = pathlib.Path(meta["target_directory"]) / "release" / "ssl-distill"
    common = ["--steps", str(args.steps), "--batch", str(args.batch), "--seconds",
              str(args.seconds), "--threads", str(args.threads), "--device", args.device]
    print(f"whole-process DistilHuBERT distill: HuBERT Base teacher (random init), {args.steps} "
          f"steps of {args.batch} x {args.seconds:g} s, {args.threads} threads, device "
          f"{args.device}; {time.strftime('%Y-%m-%d %H:%M:%S %Z')}", flush=True)

    def command(side, out):
        if side == "pytorch":
            return [sys.executable, __file__, "--worker", "torch", "--teacher", str(teacher),
                    "--manifest", str(manifest), "--out", str(out), *common]
        return [str(binary), "distill", "--recipe", "recipes/distilhubert.toml",
                "--teacher", str(teacher), "--data", str(manifest), "--out", str(out),
                "--max-steps", str(args.steps), "--batch-size", str(args.batch),
                "--crop-seconds", str(args.seconds), "--checkpoint-every", "100000",
                "--device", args.device]

    interleave(args.reps, command, env, work / "out", args)


def add_common_args(ap):
    """The arguments of both whole-process benchmarks, and their worker's hidden ones."""
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--clips", type=int, default=40, help="utterances in the manifest")
    ap.add_argument("--work", type=pathlib.Path, help="where teacher and clips go (kept)")
    ap.add_argument("--json", type=pathlib.Path)
    ap.add_argument("--worker", choices=["torch"], help=argparse.SUPPRESS)
    ap.add_argument("--teacher", help=argparse.SUPPRESS)
    ap.add_argument("--manifest", help=argparse.SUPPRESS)
    ap.add_argument("--out", help=argparse.SUPPRESS)


def setup(args, prefix):
    """The work directory (`--work`, or a fresh one named `prefix`...), the teacher and manifest
    in it, and the environment that sets both sides' thread counts."""
    work = args.work or pathlib.Path(tempfile.mkdtemp(prefix=prefix))
    work.mkdir(parents=True, exist_ok=True)
    # The manifest lists absolute paths under the root "/"; a relative --work would not be.
    work = work.resolve()
    teacher, manifest = make_inputs(work, args.clips)
    env = dict(os.environ, RAYON_NUM_THREADS=str(args.threads), OMP_NUM_THREADS=str(args.threads))
    return work, teacher, manifest, env


def interleave(reps, command, env, out_prefix, args):
    """Runs `command(side, out_dir)` for PyTorch and ours `reps` times each, interleaved ABBA,
    prints every run and the medians of wall time and peak RSS, and writes `args.json`."""
    runs = {"pytorch": [], "ours": []}
    for r in range(reps):
        for side in (["pytorch", "ours"] if r % 2 == 0 else ["ours", "pytorch"]):
            out = pathlib.Path(f"{out_prefix}-{side}-{r}")
            subprocess.run(["rm", "-rf", str(out)], check=True)
            res = timed(command(side, out), env)
            runs[side].append(res)
            print(f"  rep {r + 1} {side:8s} {res['wall_s']:7.2f} s, peak RSS "
                  f"{res['peak_rss_mib']:6.0f} MiB, load {res['load_before']:.2f} -> "
                  f"{res['load_after']:.2f}", flush=True)
    summary = {side: {"wall_s": statistics.median(r["wall_s"] for r in rs),
                      "peak_rss_mib": statistics.median(r["peak_rss_mib"] for r in rs)}
               for side, rs in runs.items()}
    ratio = summary["ours"]["wall_s"] / summary["pytorch"]["wall_s"]
    rss = summary["ours"]["peak_rss_mib"] / summary["pytorch"]["peak_rss_mib"]
    print(f"median wall: PyTorch {summary['pytorch']['wall_s']:.2f} s, ours "
          f"{summary['ours']['wall_s']:.2f} s, ours/PyTorch {ratio:.2f}; peak RSS "
          f"{summary['pytorch']['peak_rss_mib']:.0f} / {summary['ours']['peak_rss_mib']:.0f} MiB "
          f"({rss:.2f})")
    if args.json:
        args.json.write_text(json.dumps({"args": {k: str(v) for k, v in vars(args).items()},
                                         "runs": runs, "summary": summary, "ratio": ratio},
                                        indent=1))

if __name__ == "__main__":
    main()
