//! Fault injection on `ssl-distill distill`: SIGKILL at seeded moments (including while a
//! checkpoint is being written) then `--resume`, until the run ends; and a batch whose
//! waveform drives the loss to NaN/inf, with `nan_policy` `stop` and `skip_step`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant, SystemTime};

use burn::optim::OptimizerRecord;
use burn::tensor::Device;
use ssl_distill_train::{META_FILE, MODEL_FILE, OPTIM_FILE, read_meta};
use ssl_distill_train::{complete_checkpoints, latest_checkpoint, read_metrics};

/// The distilhubert recipe with `edits` applied (`(from, to)` replacements that must match).
fn recipe(dir: &Path, name: &str, edits: &[(&str, &str)]) -> PathBuf {
    let base = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../recipes/distilhubert.toml"
    );
    let mut text = std::fs::read_to_string(base).unwrap();
    for (from, to) in edits {
        assert!(
            text.contains(from),
            "recipes/distilhubert.toml lacks {from:?}"
        );
        text = text.replace(from, to);
    }
    let path = dir.join(format!("{name}.toml"));
    std::fs::write(&path, text).unwrap();
    path
}

fn teacher(dir: &Path) -> PathBuf {
    let teacher = dir.join("teacher");
    ssl_distill_recipes::toy::write_tiny_teacher(&teacher, 12, 3, false, &Device::flex()).unwrap();
    teacher
}

/// `ssl-distill distill` with the flags every run here shares, plus `extra`.
fn distill_cmd(recipe: &Path, teacher: &Path, data: &Path, out: &Path, extra: &[&str]) -> Command {
    let mut cmd = crate::command();
    cmd.arg("distill")
        .arg("--recipe")
        .arg(recipe)
        .arg("--teacher")
        .arg(teacher)
        .arg("--data")
        .arg(data)
        .arg("--out")
        .arg(out)
        .args(["--crop-seconds", "0.5", "--checkpoint-every", "1"])
        .args(extra)
        .stdin(Stdio::null());
    cmd
}

/// Tensors of a safetensors file as raw bits by name (burn writes the metadata map in arbitrary
/// order, so files with equal weights may differ in bytes).
fn weight_bits(file: &Path) -> BTreeMap<String, (Vec<usize>, Vec<u32>)> {
    ssl_distill_models::read_safetensors(file)
        .unwrap_or_else(|e| panic!("{e}"))
        .into_iter()
        .map(|(k, t)| (k, (t.shape, t.data.iter().map(|v| v.to_bits()).collect())))
        .collect()
}

/// Every `step-N` directory is complete and loads (meta.json last, every listed file present,
/// weights and optimizer state readable, state.json at step N). Returns the complete steps and
/// the temporary directories a kill left behind.
fn check_checkpoints(out: &Path) -> (Vec<u64>, Vec<String>) {
    let root = out.join("checkpoints");
    let mut tmp = Vec::new();
    let Ok(rd) = std::fs::read_dir(&root) else {
        return (Vec::new(), tmp);
    };
    for entry in rd.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.contains(".tmp-") {
            tmp.push(name);
            continue;
        }
        let dir = entry.path();
        assert!(
            dir.join(META_FILE).is_file(),
            "{}: a step directory without meta.json",
            dir.display()
        );
        let meta = read_meta(&dir).unwrap();
        assert_eq!(format!("step-{}", meta.step), name);
        for f in &meta.files {
            assert!(dir.join(f).is_file(), "{}: {f} missing", dir.display());
        }
        assert!(!weight_bits(&dir.join(MODEL_FILE)).is_empty());
        OptimizerRecord::load(dir.join(OPTIM_FILE))
            .unwrap_or_else(|e| panic!("{}: optimizer state: {e:?}", dir.display()));
        let state: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("state.json")).unwrap())
                .unwrap();
        assert_eq!(state["step"], meta.step, "{}", dir.display());
    }
    let steps: Vec<u64> = complete_checkpoints(out)
        .unwrap()
        .into_iter()
        .map(|(s, _)| s)
        .collect();
    let latest = latest_checkpoint(out).unwrap().map(|(s, _)| s);
    assert_eq!(latest, steps.last().copied());
    (steps, tmp)
}

/// xorshift64*: the seeded source of kill moments.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) % n
    }
}

/// When to kill.
#[derive(Debug, Clone, Copy)]
enum Moment {
    /// After a delay from the start, shorter than the start-up (loading the teacher, building
    /// the student, loading the checkpoint to resume from).
    StartUp(Duration),
    /// A delay after metrics.jsonl reaches `n` steps past the checkpoint the run started
    /// from: inside a step, or inside the checkpoint that follows it.
    InStep(u64, Duration),
    /// As soon as the `n`-th temporary checkpoint directory of this process appears: while
    /// `write_checkpoint` is writing it.
    WritingCheckpoint(u64),
    /// A few milliseconds after the `n`-th new complete checkpoint appears (rename done,
    /// pruning of old checkpoints possibly under way).
    AfterCheckpoint(u64, Duration),
}

/// The step of the last complete line of metrics.jsonl, if the file was written after `since`
/// (a resumed run first drops the rows after its checkpoint: older contents are stale).
fn last_logged_step(out: &Path, since: SystemTime) -> Option<u64> {
    let file = out.join("metrics.jsonl");
    if std::fs::metadata(&file).ok()?.modified().ok()? <= since {
        return None;
    }
    let text = std::fs::read_to_string(file).ok()?;
    text.lines()
        .rev()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find_map(|v| v["step"].as_u64())
}

/// Waits for `moment` and kills `child` with SIGKILL (`Child::kill`); `false` if it exited first.
fn kill_at(child: &mut Child, out: &Path, from: Option<u64>, moment: Moment) -> bool {
    let root = out.join("checkpoints");
    let pid = child.id();
    let start = Instant::now();
    let spawned = SystemTime::now();
    let before = complete_checkpoints(out).unwrap().len();
    let (mut seen_tmp, mut last_tmp) = (0u64, String::new());
    loop {
        if child.try_wait().unwrap().is_some() {
            return false;
        }
        assert!(start.elapsed() < Duration::from_secs(300), "run hangs");
        let fire = match moment {
            Moment::StartUp(d) => start.elapsed() >= d,
            Moment::InStep(n, d) => {
                let reached =
                    last_logged_step(out, spawned).is_some_and(|s| s >= from.unwrap_or(0) + n);
                if reached {
                    std::thread::sleep(d);
                }
                reached
            }
            Moment::WritingCheckpoint(n) => {
                let suffix = format!(".tmp-{pid}");
                let current = std::fs::read_dir(&root).ok().and_then(|rd| {
                    rd.flatten()
                        .map(|e| e.file_name().to_string_lossy().into_owned())
                        .find(|n| n.ends_with(&suffix))
                });
                if let Some(name) = current
                    && name != last_tmp
                {
                    seen_tmp += 1;
                    last_tmp = name;
                }
                seen_tmp >= n
            }
            Moment::AfterCheckpoint(n, d) => {
                let now = complete_checkpoints(out).unwrap_or_default().len();
                if now >= before + n as usize {
                    std::thread::sleep(d);
                    true
                } else {
                    false
                }
            }
        };
        if fire {
            child.kill().unwrap();
            child.wait().unwrap();
            return true;
        }
        std::thread::sleep(Duration::from_micros(200));
    }
}

#[test]
fn sigkill_at_random_moments_then_resume_gives_the_uninterrupted_weights() {
    const STEPS: u64 = 24;
    const KILLS: usize = 8;
    let tmp = tempfile::tempdir().unwrap();
    let teacher = teacher(tmp.path());
    let data = tmp.path().join("audio");
    let manifest = ssl_distill_recipes::toy::write_tone_corpus(&data, 6, 1.0, 3).unwrap();
    std::fs::remove_file(manifest).unwrap();
    let r = recipe(tmp.path(), "r", &[("log_every = 50", "log_every = 1")]);
    let steps = STEPS.to_string();
    let base = [
        "--max-steps",
        steps.as_str(),
        "--batch-size",
        "2",
        "--seed",
        "5",
    ];

    // The uninterrupted run, timed: its start-up (until the first metrics row) and step time
    // scale the kill delays. Each kill comes at most a few steps after the run's start, so
    // KILLS kills come before STEPS steps are done.
    let reference = tmp.path().join("reference");
    let start = Instant::now();
    let spawned = SystemTime::UNIX_EPOCH;
    let mut child = distill_cmd(&r, &teacher, &data, &reference, &base)
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    while last_logged_step(&reference, spawned).is_none() && child.try_wait().unwrap().is_none() {
        std::thread::sleep(Duration::from_millis(1));
    }
    let start_up = start.elapsed().as_millis() as u64;
    assert!(child.wait().unwrap().success());
    let step_ms = (start.elapsed().as_millis() as u64 - start_up) / STEPS;
    eprintln!("uninterrupted: start-up {start_up} ms, {step_ms} ms per step");
    let out = tmp.path().join("killed");
    let mut rng = Rng(0x5EED_0007);
    let mut kills = Vec::new();
    let mut torn = 0;
    loop {
        let resume = out.join("checkpoints").exists();
        let before = check_checkpoints(&out).0.last().copied();
        let mut args = base.to_vec();
        if resume {
            args.push("--resume");
        }
        let mut cmd = distill_cmd(&r, &teacher, &data, &out, &args);
        cmd.stdout(Stdio::null()).stderr(Stdio::piped());
        if kills.len() == KILLS {
            let res: Output = cmd.output().unwrap();
            let stderr = String::from_utf8_lossy(&res.stderr);
            assert!(res.status.success(), "{stderr}");
            if let Some(step) = before {
                assert!(
                    stderr.contains(&format!("resuming step={step}")),
                    "did not resume from step {step}: {stderr}"
                );
            }
            break;
        }
        let (a, b) = (rng.below(3), rng.below(1000));
        let ms = |max: u64| Duration::from_millis(b * max / 1000);
        let moment = match kills.len() % 4 {
            0 => Moment::StartUp(ms(start_up)),
            1 => Moment::InStep(1 + a, ms(step_ms)),
            2 => Moment::WritingCheckpoint(1 + a % 2),
            _ => Moment::AfterCheckpoint(1 + a % 2, ms(10)),
        };
        // The child's stderr is read only after it ends: a pipe holds far more than these
        // few log lines, so it never blocks the child.
        let mut child = cmd.spawn().unwrap();
        let killed = kill_at(&mut child, &out, before, moment);
        assert!(
            killed,
            "the run ended before the kill at {moment:?} (kills so far: {kills:?}); make it longer"
        );
        // A resumed run names the checkpoint it loaded: the newest complete one.
        let mut stderr = String::new();
        std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
        if let Some(at) = stderr.find("resuming step=") {
            let step: String = stderr[at + 14..]
                .chars()
                .take_while(char::is_ascii_digit)
                .collect();
            assert_eq!(Some(step.parse::<u64>().unwrap()), before, "{stderr}");
        }
        let (steps, left) = check_checkpoints(&out);
        // `step-N.tmp-<pid>` is a checkpoint being written; `step-N.tmp-del-<pid>` one being
        // deleted.
        let writing = left.iter().any(|n| {
            n.rsplit(".tmp-")
                .next()
                .is_some_and(|pid| pid.chars().all(|c| c.is_ascii_digit()))
        });
        torn += usize::from(writing);
        kills.push((moment, before, steps.last().copied(), left));
    }
    for (i, (moment, before, after, left)) in kills.iter().enumerate() {
        eprintln!(
            "kill {i}: {moment:?}: latest checkpoint {before:?} -> {after:?}, temporary dirs left {left:?}"
        );
    }
    assert!(
        torn >= 1,
        "no kill landed inside a checkpoint write: {kills:?}"
    );
    let (steps, _) = check_checkpoints(&out);
    assert_eq!(steps.last().copied(), Some(STEPS));
    let rows = read_metrics(&out.join("metrics.jsonl")).unwrap();
    let logged: Vec<u64> = rows.iter().map(|r| r.step).collect();
    assert_eq!(
        logged,
        (1..=STEPS).collect::<Vec<_>>(),
        "metrics.jsonl steps"
    );
    assert!(
        weight_bits(&out.join("student/model.safetensors"))
            == weight_bits(&reference.join("student/model.safetensors")),
        "the killed-and-resumed student differs from the uninterrupted one"
    );
}

/// A 1-second 16 kHz float WAV at a constant +3e38: finite, so decoding accepts it, but every
/// channel of the first conv is either inf or so large that its sum over time (GroupNorm's mean)
/// overflows, in any summation order, so the teacher's and the student's features are NaN.
/// (An alternating ±3e38 is not enough: whether its sums overflow depends on the order in
/// which a backend adds them.)
fn write_loud_wav(path: &Path) {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 16_000,
        bits_per_sample: 32,
        sample_format: hound::SampleFormat::Float,
    };
    let mut w = hound::WavWriter::create(path, spec).unwrap();
    for _ in 0..16_000 {
        w.write_sample(3.0e38f32).unwrap();
    }
    w.finalize().unwrap();
}

#[test]
fn a_non_finite_batch_stops_the_run_or_is_skipped() {
    let tmp = tempfile::tempdir().unwrap();
    let teacher = teacher(tmp.path());
    let data = tmp.path().join("audio");
    let manifest = ssl_distill_recipes::toy::write_tone_corpus(&data, 3, 1.0, 3).unwrap();
    std::fs::remove_file(manifest).unwrap();
    // The folder lists loud.wav first (sorted): a seed whose first epoch puts it third gives
    // two good steps, then the bad one (batch size 1).
    write_loud_wav(&data.join("loud.wav"));
    let seed = (0..)
        .find(|&s| ssl_distill_audio::epoch_order(4, s, 0, true)[2] == 0)
        .unwrap()
        .to_string();
    let args = [
        "--max-steps",
        "4",
        "--batch-size",
        "1",
        "--seed",
        seed.as_str(),
    ];
    let keep_all = ("keep_last_n = 3", "keep_last_n = 0");
    let stop = recipe(
        tmp.path(),
        "stop",
        &[("log_every = 50", "log_every = 1"), keep_all],
    );
    let skip = recipe(
        tmp.path(),
        "skip",
        &[
            (
                "log_every = 50",
                "log_every = 1\nnan_policy = \"skip_step\"",
            ),
            keep_all,
        ],
    );

    // nan_policy = "stop": one error line naming the run, the step and the intact checkpoint.
    let out = tmp.path().join("stop");
    let res = distill_cmd(&stop, &teacher, &data, &out, &args)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&res.stderr);
    assert_eq!(res.status.code(), Some(1), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    let errors: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(errors.len(), 1, "{stderr}");
    let kept = out.join("checkpoints").join("step-2");
    for needle in [
        out.to_str().unwrap(),
        "non-finite",
        "at step 3",
        kept.to_str().unwrap(),
        "intact",
        "skip_step",
    ] {
        assert!(
            errors[0].contains(needle),
            "{needle:?} not in {}",
            errors[0]
        );
    }
    assert_eq!(check_checkpoints(&out), (vec![1, 2], vec![]));
    assert!(!out.join("student").exists());
    let rows = read_metrics(&out.join("metrics.jsonl")).unwrap();
    assert_eq!(rows.iter().map(|r| r.step).collect::<Vec<_>>(), [1, 2]);

    // nan_policy = "skip_step": the bad step changes nothing and the run goes on.
    let out_skip = tmp.path().join("skip");
    let res = distill_cmd(&skip, &teacher, &data, &out_skip, &args)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&res.stderr);
    assert!(res.status.success(), "{stderr}");
    assert!(stderr.contains("step skipped"), "{stderr}");
    let rows = read_metrics(&out_skip.join("metrics.jsonl")).unwrap();
    assert_eq!(rows.len(), 4);
    assert!(!rows[2].loss.is_finite() || !rows[2].grad_norm.is_finite());
    assert_eq!(rows[3].skipped_steps, 1);
    assert!(rows[3].loss.is_finite());
    let ckpt = |dir: &Path, step: u64| {
        weight_bits(&dir.join(format!("checkpoints/step-{step}/{MODEL_FILE}")))
    };
    assert!(
        ckpt(&out_skip, 3) == ckpt(&out_skip, 2),
        "the skipped step changed the weights"
    );
    assert!(
        ckpt(&out_skip, 2) == ckpt(&out, 2),
        "the two runs differ before the bad batch"
    );
    // (Step 4 has lr 0 at the end of the linear decay; step 2 shows the run trains.)
    assert!(ckpt(&out_skip, 2) != ckpt(&out_skip, 1));
    assert!(out_skip.join("student/model.safetensors").is_file());
}
