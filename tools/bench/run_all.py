#!/usr/bin/env python3
"""Regenerates the summary table of docs/performance.md: every benchmark on every CPU backend
that builds here (flex, and tch when a torch 2.9 is given) beside PyTorch, in one run.

  python tools/bench/run_all.py [--torch29 /opt/torch29/bin/python] [--threads 2] [--doc docs/performance.md]

Run it with a Python that has torch==2.11.0 torchaudio==2.11.0 transformers soundfile (the
PyTorch side). `--torch29` names a Python whose torch is 2.9 (burn-tch 0.22 links its libtorch);
without it the tch column is left out. It builds the release binaries once per backend
(`ssl-distill`, examples `teacher_timing`, `distill_step_timing`; `fbank_timing` has no backend),
then runs, each side in its own process, interleaved with PyTorch:

  Kaldi Fbank (10 s, 80 bins; 1 and 2 threads)         tools/bench/fbank_vs_torchaudio.py
  teacher forward, HuBERT Base (1 x 10 s, 8 x 4 s)      tools/bench/teacher_vs_pytorch.py
  DistilHuBERT step (8 x 4 s)                            tools/bench/distill_vs_pytorch.py
  whole-process `features` (every state, 40 utterances)  tools/bench/features_process.py
  whole-process `distill` (6 steps of 4 x 2 s)           tools/bench/distill_process.py

Every figure is a median of >= 5; the 1-minute load average is recorded before and after each
benchmark; peak RSS is the process's. The table goes between the `bench:begin` / `bench:end`
markers of the doc; each benchmark's raw JSON into `--out` (default runs/bench).
"""

import argparse
import json
import os
import pathlib
import shutil
import subprocess
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parents[2]
BENCH = ROOT / "tools" / "bench"
BEGIN, END = "<!-- bench:begin -->", "<!-- bench:end -->"


def build(backend, out, torch29):
    """Release binaries of one backend, copied to out/<backend>/."""
    env = dict(os.environ)
    features = []
    if backend == "tch":
        env["LIBTORCH_USE_PYTORCH"] = "1"
        env["PATH"] = f"{pathlib.Path(torch29).parent}:{env['PATH']}"
        features = ["--features", "ssl-distill/tch,ssl-distill-cli/tch"]
    cmd = ["cargo", "build", "--release", "-q", "-p", "ssl-distill", "-p", "ssl-distill-cli",
           "--bin", "ssl-distill", "--example", "teacher_timing", "--example",
           "distill_step_timing", *features]
    print(f"building {backend}: {' '.join(cmd)}", flush=True)
    subprocess.run(cmd, cwd=ROOT, env=env, check=True)
    meta = json.loads(subprocess.run(["cargo", "metadata", "--format-version", "1", "--no-deps"],
                                     cwd=ROOT, check=True, capture_output=True, text=True).stdout)
    release = pathlib.Path(meta["target_directory"]) / "release"
    dest = out / backend
    dest.mkdir(parents=True, exist_ok=True)
    for src in [release / "ssl-distill", release / "examples" / "teacher_timing",
                release / "examples" / "distill_step_timing"]:
        shutil.copy2(src, dest / src.name)
    return dest


def run(cmd, env=None):
    print("$ " + " ".join(map(str, cmd)), flush=True)
    subprocess.run(list(map(str, cmd)), cwd=ROOT, env=env, check=True)


def torch_lib(python):
    return subprocess.run([python, "-c", "import os, torch; print(os.path.join("
                           "os.path.dirname(torch.__file__), 'lib'))"], check=True,
                          capture_output=True, text=True).stdout.strip()


def fmt_ratio(ours, theirs):
    return f"{ours / theirs:.2f}"


def table(results, threads, backends):
    """The markdown summary from the benchmarks' JSON."""
    cols = ["PyTorch 2.11"] + [f"ours {b}" for b in backends] + [f"{b} / PyTorch" for b in backends]
    lines = ["| workload | " + " | ".join(cols) + " | load (1 min) |",
             "|---|" + "---|" * (len(cols) + 1)]
    fb = results.get("fbank")
    if fb:
        for t in ("1", "2"):
            r = fb[t]
            cells = [f"{r['torchaudio_ms']:.2f} ms"] + [f"{r['ours_ms']:.2f} ms"] * len(backends) \
                + [fmt_ratio(r["ours_ms"], r["torchaudio_ms"])] * len(backends)
            lines.append(f"| Kaldi Fbank 10 s, {t} thread(s) (torchaudio; no burn backend) | "
                         + " | ".join(cells) + f" | {r.get('load', '')} |")
    for shape in ("1x10s", "8x4s"):
        rows = [results[f"teacher-{b}"]["shapes"][shape] for b in backends]
        loads = [results[f"teacher-{b}"]["load_before"] for b in backends]
        pt = rows[0]["pytorch_s"]
        cells = [f"{pt:.3f} s"] + [f"{r['ours_s']:.3f} s" for r in rows] + \
            [fmt_ratio(r["ours_s"], r["pytorch_s"]) for r in rows]
        lines.append(f"| teacher forward, HuBERT Base, {shape.replace('x', ' × ')} | "
                     + " | ".join(cells) + " | " + ", ".join(f"{x:.1f}" for x in loads) + " |")
    steps = [results[f"step-{b}"]["summary"] for b in backends]
    pt = steps[0]["pytorch"]
    cells = [f"{pt['median_s']:.2f} s"] + [f"{s['ours']['median_s']:.2f} s" for s in steps] + \
        [fmt_ratio(s["ours"]["median_s"], s["pytorch"]["median_s"]) for s in steps]
    loads = [r["load_before"][0] for b in backends for side in results[f"step-{b}"]["runs"].values()
             for r in side]
    lines.append("| DistilHuBERT step, 8 × 4 s | " + " | ".join(cells) +
                 f" | {min(loads):.1f}–{max(loads):.1f} |")
    cells = [f"{pt['max_rss_mib']:.0f} MiB"] + [f"{s['ours']['max_rss_mib']:.0f} MiB" for s in steps] \
        + [fmt_ratio(s["ours"]["max_rss_mib"], s["pytorch"]["max_rss_mib"]) for s in steps]
    lines.append("| — peak RSS of the step process | " + " | ".join(cells) + " | |")
    for key, label in (("features", "whole-process `features`, every state of 40 utterances"),
                       ("process", "whole-process `distill`, 6 steps of 4 × 2 s")):
        lines += process_rows(label, [results[f"{key}-{b}"] for b in backends])
    return "\n".join(lines)


def process_rows(label, procs):
    """Two table rows (wall time, peak RSS) of a whole-process benchmark, one entry per backend."""
    lines = []
    pt = procs[0]["summary"]["pytorch"]
    cells = [f"{pt['wall_s']:.1f} s"] + [f"{p['summary']['ours']['wall_s']:.1f} s" for p in procs] \
        + [f"**{p['ratio']:.2f}**" for p in procs]
    loads = [r["load_before"] for p in procs for side in p["runs"].values() for r in side]
    lines.append(f"| {label} | " + " | ".join(cells) + f" | {min(loads):.1f}–{max(loads):.1f} |")
    cells = [f"{pt['peak_rss_mib']:.0f} MiB"] + \
        [f"{p['summary']['ours']['peak_rss_mib']:.0f} MiB" for p in procs] + \
        [fmt_ratio(p["summary"]["ours"]["peak_rss_mib"], p["summary"]["pytorch"]["peak_rss_mib"])
         for p in procs]
    lines.append("| — peak RSS of the whole process | " + " | ".join(cells) + " | |")
    return lines


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--torch29", help="a Python with torch 2.9 (enables the tch column)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", type=pathlib.Path, default=ROOT / "runs" / "bench")
    ap.add_argument("--doc", type=pathlib.Path, default=ROOT / "docs" / "performance.md")
    ap.add_argument("--reuse", action="store_true",
                    help="keep the JSON of benchmarks already in --out (resume a cut-off run)")
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    backends = ["flex"] + (["tch"] if args.torch29 else [])
    bins = {b: build(b, args.out, args.torch29) for b in backends}
    env = dict(os.environ, RAYON_NUM_THREADS=str(args.threads), OMP_NUM_THREADS=str(args.threads))
    env_of = {"flex": env}
    if args.torch29:
        env_of["tch"] = dict(env, LD_LIBRARY_PATH=torch_lib(args.torch29))
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                            capture_output=True, text=True).stdout.strip()
    py = sys.executable
    results = {}

    def bench(key, script, *flags, env=env):
        """Runs one benchmark script writing `<out>/<key>.json` (kept from an earlier run with
        `--reuse`), and loads its JSON."""
        out = args.out / f"{key}.json"
        if not (args.reuse and out.exists()):
            run([py, BENCH / script, *flags, "--json", out], env)
        results[key] = json.loads(out.read_text())

    bench("fbank", "fbank_vs_torchaudio.py", "--rounds", 5)
    for b in backends:
        bench(f"teacher-{b}", "teacher_vs_pytorch.py", "--threads", args.threads, "--repeats", 5,
              "--device", b, "--binary", bins[b] / "teacher_timing", env=env_of[b])
    for b in backends:
        bench(f"step-{b}", "distill_vs_pytorch.py", "--threads", args.threads, "--steps", 5,
              "--rounds", 1, "--device", b, "--binary", bins[b] / "distill_step_timing",
              env=env_of[b])
    for key, script in (("features", "features_process.py"), ("process", "distill_process.py")):
        for b in backends:
            bench(f"{key}-{b}", script, "--threads", args.threads, "--reps", 5,
                  "--device", "cpu" if b == "flex" else "tch", "--binary", bins[b] / "ssl-distill",
                  "--work", args.out / "process-work", env=env_of[b])

    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo")
                if line.startswith("model name")), "unknown CPU")
    body = (f"Regenerated by `python tools/bench/run_all.py{' --torch29 PY' if args.torch29 else ''}` "
            f"on {started} at commit `{commit}`: {os.cpu_count()} × {cpu}, {args.threads} threads "
            f"per process (`torch.set_num_threads`, `RAYON_NUM_THREADS`). Medians of ≥ 5; ratios "
            f"below 1 mean we are faster. Raw numbers: `{args.out.relative_to(ROOT) if args.out.is_relative_to(ROOT) else args.out}/*.json`.\n\n"
            + table(results, args.threads, backends))
    doc = args.doc.read_text()
    if BEGIN in doc and END in doc:
        head, rest = doc.split(BEGIN, 1)
        doc = head + BEGIN + "\n" + body + "\n" + END + rest.split(END, 1)[1]
    else:
        sys.exit(f"{args.doc}: no {BEGIN} ... {END} markers")
    args.doc.write_text(doc)
    print(body)


if __name__ == "__main__":
    main()
