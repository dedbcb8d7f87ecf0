#!/usr/bin/env python3
"""Writes the bad-input corpus of `ssl-distill` (issue 7, "Hardening") next to this script.

Standard library only, deterministic (no randomness, no timestamps): running it twice gives the
same bytes. Every file is generated here, none is edited by hand.

    python3 tests/bad_inputs/make.py          # rewrites tests/bad_inputs/{good,audio,...}

What it writes:
- `good/`: valid inputs the cases build on: a tiny HuBERT teacher (`good/teacher`: 3 layers x 8
  wide, 4-channel CNN; config.json + model.safetensors), a tone (`good/tone.wav`, `.flac`), a
  folder of three tones (`good/data`) and a tiny recipe for it (`good/recipe.toml`);
- `audio/`, `manifests/`, `configs/`, `checkpoints/`, `recipes/`: one broken input per case;
- `cases.tsv`: one line per case: `id`, `command` (arguments of `ssl-distill`, paths relative to
  this directory, `{out}` = a fresh output path), `names` (the file the error must name),
  `expect` (a substring of the expected one-line error; `OK` for control cases that must
  succeed) and `what` (the defect, in words).

The CLI integration test `crates/ssl-distill-cli/tests/it/bad_inputs.rs` runs every case.
"""

import json
import math
import os
import shutil
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
RATE = 16000
N_GOOD = 4800  # samples of each valid tone (0.3 s)

# ---------------------------------------------------------------------------------------------
# Small writers


def write(rel, data):
    path = os.path.join(HERE, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    mode = "wb" if isinstance(data, (bytes, bytearray)) else "w"
    with open(path, mode) as f:
        f.write(data)


def tone(n, freq=220.0, amp=0.3):
    """`n` samples of a sine at `RATE`, as floats."""
    return [amp * math.sin(2 * math.pi * freq * i / RATE) for i in range(n)]


def pcm16(samples):
    return b"".join(struct.pack("<h", max(-32768, min(32767, int(round(s * 32767))))) for s in samples)


def float32(samples):
    return b"".join(struct.pack("<f", s) for s in samples)


def fmt_chunk(fmt_tag, channels, rate, bits, extra=b""):
    block_align = channels * ((bits + 7) // 8)
    body = struct.pack("<HHIIHH", fmt_tag, channels, rate, (rate * block_align) & 0xFFFFFFFF, block_align, bits)
    if extra or fmt_tag not in (1,):
        body += struct.pack("<H", len(extra)) + extra
    return b"fmt " + struct.pack("<I", len(body)) + body


def wav(data, fmt_tag=1, channels=1, rate=RATE, bits=16, data_size=None, extra=b"", riff=b"WAVE"):
    """A RIFF/WAVE file; `data_size` overrides the data chunk's declared length."""
    size = len(data) if data_size is None else data_size
    chunks = fmt_chunk(fmt_tag, channels, rate, bits, extra) + b"data" + struct.pack("<I", size) + data
    if len(data) % 2:
        chunks += b"\0"
    return b"RIFF" + struct.pack("<I", 4 + len(chunks)) + riff + chunks


# --- FLAC (fixed block size, VERBATIM subframes: valid, uncompressed) -------------------------


class Bits:
    def __init__(self):
        self.out = bytearray()
        self.acc = 0
        self.n = 0

    def put(self, value, bits):
        for i in range(bits - 1, -1, -1):
            self.acc = (self.acc << 1) | ((value >> i) & 1)
            self.n += 1
            if self.n == 8:
                self.out.append(self.acc)
                self.acc = 0
                self.n = 0

    def align(self):
        while self.n:
            self.put(0, 1)

    def bytes(self):
        assert self.n == 0
        return bytes(self.out)


def crc8(data):
    crc = 0
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = ((crc << 1) ^ 0x07) & 0xFF if crc & 0x80 else (crc << 1) & 0xFF
    return crc


def crc16(data):
    crc = 0
    for b in data:
        crc ^= b << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x8005) & 0xFFFF if crc & 0x8000 else (crc << 1) & 0xFFFF
    return crc


def flac(samples, block=4096, rate=RATE, declared=None):
    """Mono 16-bit FLAC; `declared` overrides STREAMINFO's total sample count."""
    ints = [max(-32768, min(32767, int(round(s * 32767)))) for s in samples]
    info = Bits()
    info.put(block, 16)  # min block size
    info.put(block, 16)  # max block size
    info.put(0, 24)  # min frame size: unknown
    info.put(0, 24)  # max frame size: unknown
    info.put(rate, 20)
    info.put(0, 3)  # channels - 1
    info.put(15, 5)  # bits per sample - 1
    info.put(len(ints) if declared is None else declared, 36)
    info.put(0, 64)  # MD5: unknown
    info.put(0, 64)
    streaminfo = info.bytes()
    out = bytearray(b"fLaC")
    out += bytes([0x80]) + len(streaminfo).to_bytes(3, "big") + streaminfo
    for number, start in enumerate(range(0, len(ints), block)):
        chunk = ints[start : start + block]
        assert number < 128 and len(chunk) >= 16
        h = Bits()
        h.put(0b11111111111110, 14)  # sync
        h.put(0, 1)
        h.put(0, 1)  # fixed block size
        h.put(0b0111, 4)  # block size: 16 bits (n - 1) after the frame number
        h.put(0b0101, 4)  # 16 kHz (ignored when `rate` differs: decoders use STREAMINFO)
        h.put(0b0000, 4)  # mono
        h.put(0b100, 3)  # 16 bits per sample
        h.put(0, 1)
        h.put(number, 8)  # frame number (UTF-8 coded; < 128 is one byte)
        h.put(len(chunk) - 1, 16)
        header = h.bytes()
        frame = Bits()
        frame.put(0, 1)
        frame.put(0b000001, 6)  # VERBATIM
        frame.put(0, 1)  # no wasted bits
        for v in chunk:
            frame.put(v & 0xFFFF, 16)
        frame.align()
        body = header + bytes([crc8(header)]) + frame.bytes()
        out += body + crc16(body).to_bytes(2, "big")
    return bytes(out)


# --- safetensors ------------------------------------------------------------------------------

DTYPE_SIZE = {"F32": 4, "F16": 2, "I32": 4, "I64": 8}


def safetensors(tensors):
    """`tensors`: list of (name, dtype, shape, raw bytes), written in name order."""
    header = {"__metadata__": {"format": "pt"}}
    blobs = []
    offset = 0
    for name, dtype, shape, raw in sorted(tensors, key=lambda t: t[0]):
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + b"".join(blobs)


# ---------------------------------------------------------------------------------------------
# The good teacher: HF HuBERT, 3 layers x 8 wide (2 heads, FFN 16), 4-channel 7-layer CNN with
# group norm, positional conv kernel 4 / 2 groups.

TEACHER_CONFIG = {
    "model_type": "hubert",
    "architectures": ["HubertModel"],
    "hidden_size": 8,
    "num_hidden_layers": 3,
    "num_attention_heads": 2,
    "intermediate_size": 16,
    "hidden_act": "gelu",
    "conv_dim": [4] * 7,
    "conv_kernel": [10, 3, 3, 3, 3, 2, 2],
    "conv_stride": [5, 2, 2, 2, 2, 2, 2],
    "conv_bias": False,
    "feat_extract_norm": "group",
    "feat_extract_activation": "gelu",
    "feat_proj_layer_norm": True,
    "num_conv_pos_embeddings": 4,
    "num_conv_pos_embedding_groups": 2,
    "do_stable_layer_norm": False,
    "layer_norm_eps": 1e-5,
}


def teacher_shapes(cfg):
    """HF tensor names and shapes of a HuBERT with group-norm CNN (post-LN encoder)."""
    shapes = {}
    c_in = 1
    for i, (c, k) in enumerate(zip(cfg["conv_dim"], cfg["conv_kernel"])):
        shapes[f"feature_extractor.conv_layers.{i}.conv.weight"] = [c, c_in, k]
        c_in = c
    c0 = cfg["conv_dim"][0]
    shapes["feature_extractor.conv_layers.0.layer_norm.weight"] = [c0]
    shapes["feature_extractor.conv_layers.0.layer_norm.bias"] = [c0]
    h, f = cfg["hidden_size"], cfg["intermediate_size"]
    shapes["feature_projection.layer_norm.weight"] = [c_in]
    shapes["feature_projection.layer_norm.bias"] = [c_in]
    shapes["feature_projection.projection.weight"] = [h, c_in]
    shapes["feature_projection.projection.bias"] = [h]
    k, g = cfg["num_conv_pos_embeddings"], cfg["num_conv_pos_embedding_groups"]
    shapes["encoder.pos_conv_embed.conv.weight_g"] = [1, 1, k]
    shapes["encoder.pos_conv_embed.conv.weight_v"] = [h, h // g, k]
    shapes["encoder.pos_conv_embed.conv.bias"] = [h]
    shapes["masked_spec_embed"] = [h]
    shapes["encoder.layer_norm.weight"] = [h]
    shapes["encoder.layer_norm.bias"] = [h]
    for layer in range(cfg["num_hidden_layers"]):
        p = f"encoder.layers.{layer}."
        for proj in ("q_proj", "k_proj", "v_proj", "out_proj"):
            shapes[p + f"attention.{proj}.weight"] = [h, h]
            shapes[p + f"attention.{proj}.bias"] = [h]
        shapes[p + "layer_norm.weight"] = [h]
        shapes[p + "layer_norm.bias"] = [h]
        shapes[p + "feed_forward.intermediate_dense.weight"] = [f, h]
        shapes[p + "feed_forward.intermediate_dense.bias"] = [f]
        shapes[p + "feed_forward.output_dense.weight"] = [h, f]
        shapes[p + "feed_forward.output_dense.bias"] = [h]
        shapes[p + "final_layer_norm.weight"] = [h]
        shapes[p + "final_layer_norm.bias"] = [h]
    return shapes


def teacher_values(name, shape):
    n = 1
    for d in shape:
        n *= d
    if name.endswith("norm.weight"):
        return [1.0] * n
    if name.endswith(".bias"):
        return [0.0] * n
    if name.endswith("weight_g"):
        return [1.0] * n
    fan_in = max(1, n // shape[0])
    scale = 1.0 / math.sqrt(fan_in)
    seed = sum(ord(ch) * (i + 1) for i, ch in enumerate(name))
    return [scale * math.sin(seed + 0.7 * i) for i in range(n)]


def teacher_tensors(shapes):
    return [(n, "F32", s, float32(teacher_values(n, s))) for n, s in shapes.items()]


# ---------------------------------------------------------------------------------------------
# Cases

CASES = []


def case(cid, command, names, expect, what):
    for field in (cid, command, names, expect, what):
        assert "\t" not in field and "\n" not in field
    CASES.append((cid, command, names, expect, what))


def fbank(path):
    return f"fbank --audio {path} --out {{out}}"


def features(model, audio="good/tone.wav"):
    return f"features --model {model} --audio {audio} --out {{out}}"


def distill(recipe="good/recipe.toml", data="good/data"):
    return (
        f"distill --recipe {recipe} --teacher good/teacher --data {data} --out {{out}} "
        "--max-steps 2 --seed 1"
    )


def make_good():
    write("good/tone.wav", wav(pcm16(tone(N_GOOD))))
    write("good/tone.flac", flac(tone(N_GOOD)))
    for i in range(3):
        write(f"good/data/utt{i}.wav", wav(pcm16(tone(N_GOOD, 150.0 + 40 * i))))
    shapes = teacher_shapes(TEACHER_CONFIG)
    write("good/teacher/config.json", json.dumps(TEACHER_CONFIG, indent=2) + "\n")
    write("good/teacher/model.safetensors", safetensors(teacher_tensors(shapes)))
    write(
        "good/recipe.toml",
        """# A 1-layer student of good/teacher (3 layers), for the bad-input cases.
name = "bad-inputs"

[data]
batch_size = 2
crop_seconds = 0.25

[student]
layers = 1

[student.head]
kind = "prediction"

[targets]
strategy = "fixed"
layers = [1, 3]

[train]
max_steps = 2
warmup_steps = 1
checkpoint_every = 1
log_every = 1
""",
    )
    case("good-wav", fbank("good/tone.wav"), "-", "OK", "control: a valid 16-bit WAV")
    case("good-flac", fbank("good/tone.flac"), "-", "OK", "control: a valid FLAC (this script's encoder)")
    case("good-teacher", "inspect --model good/teacher", "-", "OK", "control: the teacher loads")


def make_audio():
    ok = pcm16(tone(1600))
    write("audio/empty.wav", b"")
    case("audio-empty", fbank("audio/empty.wav"), "audio/empty.wav", "file is empty", "zero-length file")
    write("audio/header-only.wav", wav(b""))
    case("audio-header-only", fbank("audio/header-only.wav"), "audio/header-only.wav", "zero samples",
         "WAV header with an empty data chunk")
    write("audio/truncated.wav", wav(ok)[: 44 + 1000])
    case("audio-truncated", fbank("audio/truncated.wav"), "audio/truncated.wav", "truncated WAV",
         "header declares 1600 samples, the file stops after 500")
    write("audio/size-too-big.wav", wav(pcm16(tone(100)), data_size=0x7FFF_FFF0))
    case("audio-size-too-big", fbank("audio/size-too-big.wav"), "audio/size-too-big.wav", "truncated WAV",
         "data chunk declares 2 GiB, 200 bytes present")
    write("audio/size-odd.wav", wav(pcm16(tone(100)) + b"\x01", data_size=201))
    case("audio-size-odd", fbank("audio/size-odd.wav"), "audio/size-odd.wav", "WAV",
         "data chunk of 201 bytes: not a whole number of 16-bit samples")
    write("audio/riff-not-wave.wav", wav(ok, riff=b"AVI "))
    case("audio-riff-not-wave", fbank("audio/riff-not-wave.wav"), "audio/riff-not-wave.wav",
         "RIFF but not WAVE", "RIFF container of another type")
    write("audio/text.wav", "this is a text file, not audio\n")
    case("audio-text", fbank("audio/text.wav"), "audio/text.wav", "unsupported audio format (text)",
         "a text file named .wav")
    write("audio/ogg.wav", b"OggS\x00\x02" + bytes(58))
    case("audio-ogg", fbank("audio/ogg.wav"), "audio/ogg.wav", "(OGG)", "an Ogg page named .wav")
    for tag, name, what, expect in [
        (2, "adpcm", "Microsoft ADPCM (format code 2)", "unsupported audio format (WAV with Microsoft ADPCM"),
        (6, "alaw", "A-law (format code 6)", "unsupported audio format (WAV with A-law"),
        (7, "mulaw", "mu-law (format code 7)", "unsupported audio format (WAV with mu-law"),
        (0x55, "mp3-in-wav", "MPEG layer 3 in RIFF (format code 0x55)", "unsupported audio format (WAV with MPEG"),
        (0, "format-zero", "format code 0 (unknown)", "unsupported audio format (WAV with format code 0"),
    ]:
        bits = 4 if tag == 2 else 8 if tag in (6, 7) else 16
        write(f"audio/{name}.wav", wav(ok, fmt_tag=tag, bits=bits))
        case(f"audio-{name}", fbank(f"audio/{name}.wav"), f"audio/{name}.wav", expect, what)
    write("audio/float64.wav", wav(b"".join(struct.pack("<d", s) for s in tone(100)), fmt_tag=3, bits=64))
    case("audio-float64", fbank("audio/float64.wav"), "audio/float64.wav", "bit depth other than 32",
         "64-bit IEEE float samples")
    alaw_guid = struct.pack("<I", 6) + bytes.fromhex("00001000800000aa00389b71")
    write("audio/extensible-alaw.wav",
          wav(ok, fmt_tag=0xFFFE, bits=16, extra=struct.pack("<HI", 16, 4) + alaw_guid))
    case("audio-extensible-alaw", fbank("audio/extensible-alaw.wav"), "audio/extensible-alaw.wav",
         "unsupported audio format (WAV with A-law", "WAVE_FORMAT_EXTENSIBLE with an A-law sub-format")
    write("audio/bits-zero.wav", wav(ok, bits=0))
    case("audio-bits-zero", fbank("audio/bits-zero.wav"), "audio/bits-zero.wav", "WAV",
         "PCM with 0 bits per sample")
    nan = tone(1000)
    nan[400:420] = [float("nan")] * 20
    write("audio/nan.wav", wav(float32(nan), fmt_tag=3, bits=32))
    case("audio-nan", fbank("audio/nan.wav"), "audio/nan.wav", "20 non-finite samples",
         "float WAV with NaN samples")
    inf = tone(1000)
    inf[999] = float("inf")
    write("audio/inf.wav", wav(float32(inf), fmt_tag=3, bits=32))
    case("audio-inf", fbank("audio/inf.wav"), "audio/inf.wav", "1 non-finite samples",
         "float WAV with an infinite sample")
    write("audio/zero-hz.wav", wav(ok, rate=0))
    case("audio-zero-hz", fbank("audio/zero-hz.wav"), "audio/zero-hz.wav", "invalid sample rate 0 Hz",
         "sample rate 0")
    write("audio/absurd-rate.wav", wav(ok, rate=4_000_000_000))
    case("audio-absurd-rate", fbank("audio/absurd-rate.wav"), "audio/absurd-rate.wav",
         "invalid sample rate 4000000000 Hz", "sample rate 4 GHz")
    write("audio/zero-channels.wav", wav(ok, channels=0))
    case("audio-zero-channels", fbank("audio/zero-channels.wav"), "audio/zero-channels.wav",
         "invalid channel count 0", "0 channels")
    write("audio/one-sample.wav", wav(pcm16([0.5])))
    case("audio-one-sample", fbank("audio/one-sample.wav"), "audio/one-sample.wav", "shorter than one 400-sample frame",
         "a single sample: no 25 ms frame")
    case("audio-one-sample-features", features("good/teacher", "audio/one-sample.wav"),
         "audio/one-sample.wav", "receptive field", "a single sample into a teacher")
    case("audio-missing", fbank("audio/no-such-file.wav"), "audio/no-such-file.wav", "file not found",
         "the file does not exist")
    good_flac = flac(tone(N_GOOD))
    write("audio/flac-header-only.flac", good_flac[:20])
    case("flac-header-only", fbank("audio/flac-header-only.flac"), "audio/flac-header-only.flac",
         "corrupt FLAC", "FLAC cut inside STREAMINFO")
    write("audio/flac-truncated.flac", good_flac[:-500])
    case("flac-truncated", fbank("audio/flac-truncated.flac"), "audio/flac-truncated.flac",
         "only 4096 present", "FLAC cut inside its second frame")
    bad_crc = bytearray(good_flac)
    bad_crc[200] ^= 0x40
    write("audio/flac-bad-crc.flac", bytes(bad_crc))
    case("flac-bad-crc", fbank("audio/flac-bad-crc.flac"), "audio/flac-bad-crc.flac", "corrupt FLAC",
         "a flipped bit inside a frame (CRC-16 mismatch)")
    write("audio/flac-lying-length.flac", flac(tone(N_GOOD), declared=20000))
    case("flac-lying-length", fbank("audio/flac-lying-length.flac"), "audio/flac-lying-length.flac",
         "truncated FLAC", "STREAMINFO declares 20000 samples, the frames hold 4800")
    write("audio/flac-zero-rate.flac", flac(tone(N_GOOD), rate=0))
    case("flac-zero-rate", fbank("audio/flac-zero-rate.flac"), "audio/flac-zero-rate.flac", "FLAC",
         "STREAMINFO sample rate 0")


def make_manifests():
    root = "good/data"
    write("manifests/no-root.tsv", "utt0.wav\t4800\nutt1.wav\t4800\n")
    case("manifest-no-root", distill(data="manifests/no-root.tsv"), "manifests/no-root.tsv",
         "must start with the root directory", "fairseq TSV without its root line")
    write("manifests/bad-count.tsv", f"{root}\nutt0.wav\t4800\nutt1.wav\tfour thousand\n")
    case("manifest-bad-line", distill(data="manifests/bad-count.tsv"), "manifests/bad-count.tsv:3",
         "not a non-negative integer", "a sample count that is not a number")
    write("manifests/three-fields.tsv", f"{root}\nutt0.wav\t4800\t1\n")
    case("manifest-three-fields", distill(data="manifests/three-fields.tsv"), "manifests/three-fields.tsv:2",
         "tab-separated fields", "a row with three fields")
    write("manifests/missing-file.tsv", f"{root}\ngone.wav\t4800\n")
    case("manifest-missing-file", distill(data="manifests/missing-file.tsv"), "good/data/gone.wav",
         "file not found", "a row naming a file that does not exist")
    write("manifests/wrong-count.tsv", f"{root}\nutt0.wav\t5000\n")
    case("manifest-wrong-count", distill(data="manifests/wrong-count.tsv"), "good/data/utt0.wav",
         "manifest declares 5000 samples, the file has 4800", "a row whose sample count is wrong")
    write("manifests/empty.tsv", f"{root}\n")
    case("manifest-empty", distill(data="manifests/empty.tsv"), "manifests/empty.tsv", "no audio file",
         "a root line and no rows")
    write("manifests/bad-json.jsonl", '{"path": "../good/data/utt0.wav"}\n{"path": \n')
    case("manifest-bad-json", distill(data="manifests/bad-json.jsonl"), "manifests/bad-json.jsonl:2",
         "bad manifest line", "JSONL with a broken line")
    write("manifests/no-path.jsonl", '{"speaker": "s1"}\n')
    case("manifest-no-path", distill(data="manifests/no-path.jsonl"), "manifests/no-path.jsonl:1",
         "path", "JSONL row without `path`")
    write("manifests/list.csv", "utt0.wav,4800\n")
    case("manifest-unknown-kind", distill(data="manifests/list.csv"), "manifests/list.csv",
         "unknown manifest kind", "neither a folder, .tsv nor .jsonl")
    case("manifest-analyze", f"analyze --model good/teacher --data manifests/no-root.tsv --out {{out}}",
         "manifests/no-root.tsv", "must start with the root directory", "`analyze` on a TSV without root")


def make_configs():
    def config(name, cfg, what, names, expect, weights=False):
        d = f"configs/{name}"
        text = cfg if isinstance(cfg, str) else json.dumps(cfg, indent=2) + "\n"
        write(f"{d}/config.json", text)
        if weights:
            shutil.copy(os.path.join(HERE, "good/teacher/model.safetensors"), os.path.join(HERE, d))
        case(f"config-{name}", features(d), names or f"{d}/config.json", expect, what)

    def changed(**kw):
        c = dict(TEACHER_CONFIG)
        for k, v in kw.items():
            if v is None:
                del c[k]
            else:
                c[k] = v
        return c

    config("missing-field", changed(hidden_size=None), "no `hidden_size`", None, "required key `hidden_size`")
    config("wrong-type", changed(num_hidden_layers="3"), "`num_hidden_layers` is a string", None,
           "invalid type")
    config("negative-size", changed(intermediate_size=-16), "negative `intermediate_size`", None,
           "invalid value: integer `-16`")
    config("heads-not-dividing", changed(num_attention_heads=3), "8 wide, 3 heads", None,
           "not a multiple of num_attention_heads 3")
    config("zero-width", changed(hidden_size=0), "`hidden_size` 0", None, "hidden_size")
    config("conv-lists", changed(conv_kernel=[10, 3, 3]), "7 conv channels, 3 kernels", None,
           "equal length")
    config("model-type", changed(model_type="bert"), "`model_type` bert", None, "unsupported value")
    config("not-json", "{\"model_type\": \"hubert\",\n", "truncated JSON", None, "not a valid config.json")
    config("huge-width", changed(hidden_size=1 << 20, intermediate_size=1 << 22),
           "sizes far beyond the weights file (would allocate terabytes)", None, "config.json", weights=True)
    write("configs/bad-preprocessor/config.json", json.dumps(TEACHER_CONFIG, indent=2) + "\n")
    write("configs/bad-preprocessor/preprocessor_config.json", '{"sampling_rate": -16000}\n')
    shutil.copy(os.path.join(HERE, "good/teacher/model.safetensors"), os.path.join(HERE, "configs/bad-preprocessor"))
    case("config-bad-preprocessor", features("configs/bad-preprocessor"),
         "configs/bad-preprocessor/preprocessor_config.json", "sampling_rate", "negative sampling_rate")
    case("config-missing-dir", features("configs/no-such-model"), "configs/no-such-model",
         "does not exist", "the model directory does not exist")
    case("config-probe", "probe --model configs/missing-field --task ks --data good --out {out}",
         "configs/missing-field/config.json", "required key `hidden_size`", "`probe` on a broken config")


def make_checkpoints():
    shapes = teacher_shapes(TEACHER_CONFIG)
    good = teacher_tensors(shapes)
    good_bytes = safetensors(good)

    def ckpt(name, weights, what, expect):
        d = f"checkpoints/{name}"
        write(f"{d}/config.json", json.dumps(TEACHER_CONFIG, indent=2) + "\n")
        if weights is not None:
            write(f"{d}/model.safetensors", weights)
        names = f"{d}/model.safetensors" if weights is not None else d
        case(f"checkpoint-{name}", features(d), names, expect, what)

    ckpt("truncated", good_bytes[: len(good_bytes) * 3 // 5], "model.safetensors cut at 60 %",
         "not a valid safetensors file")
    ckpt("header-too-long", struct.pack("<Q", 1 << 40) + good_bytes[8:],
         "header length field says 1 TiB", "not a valid safetensors file")
    ckpt("not-safetensors", b"PK\x03\x04 a zip file, not safetensors\n", "a zip signature",
         "not a valid safetensors file")
    bad_offsets = bytearray(good_bytes)
    n = struct.unpack("<Q", bad_offsets[:8])[0]
    header = json.loads(bad_offsets[8 : 8 + n])
    header["encoder.layer_norm.bias"]["data_offsets"][1] += 4
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    ckpt("bad-offsets", struct.pack("<Q", len(text)) + text + bytes(bad_offsets[8 + n :]),
         "a tensor's byte range does not match its shape", "not a valid safetensors file")
    wrong_dtype = [
        (n, "I32", s, b"".join(struct.pack("<i", 1) for _ in range(len(r) // 4)))
        if n == "encoder.layer_norm.weight" else (n, d, s, r)
        for n, d, s, r in good
    ]
    ckpt("wrong-dtype", safetensors(wrong_dtype), "encoder.layer_norm.weight stored as int32",
         "`encoder.layer_norm.weight` has unsupported dtype I32")
    wrong_shape = [
        (n, d, [4, 8], r) if n == "feature_projection.projection.weight" else (n, d, s, r)
        for n, d, s, r in good
    ]
    ckpt("wrong-shape", safetensors(wrong_shape), "projection weight [4, 8] instead of [8, 4]",
         "`feature_projection.projection.weight` has shape [4, 8], expected [8, 4]")
    missing = [t for t in good if t[0] != "encoder.layers.2.final_layer_norm.bias"]
    ckpt("missing-key", safetensors(missing), "encoder.layers.2.final_layer_norm.bias absent",
         "missing tensors: encoder.layers.2.final_layer_norm.bias")
    extra = good + [("encoder.layers.3.attention.q_proj.weight", "F32", [8, 8], float32([0.0] * 64))]
    ckpt("extra-key", safetensors(extra), "a fourth layer's tensor in a 3-layer model",
         "unexpected tensors: encoder.layers.3.attention.q_proj.weight")
    ckpt("no-weights", None, "config.json without a weights file", "no model.safetensors")


def make_recipes():
    base = open(os.path.join(HERE, "good/recipe.toml")).read()

    def recipe(name, text, what, expect):
        write(f"recipes/{name}.toml", text)
        case(f"recipe-{name}", distill(recipe=f"recipes/{name}.toml"), f"recipes/{name}.toml", expect, what)

    recipe("unknown-field", base.replace("layers = 1\n", "layers = 1\nbogus = 3\n"),
           "[student] bogus = 3", "unknown field `bogus`")
    recipe("unknown-section", base + "\n[optimiser]\nlr = 1.0\n", "an [optimiser] table",
           "unknown field `optimiser`")
    recipe("zero-batch", base.replace("batch_size = 2", "batch_size = 0"), "data.batch_size = 0",
           "data.batch_size")
    recipe("negative-lr", base + "lr = -0.001\n", "train.lr < 0", "`lr` must be finite and > 0")
    recipe("wrong-type", base.replace("layers = 1\n", 'layers = "one"\n'), "student.layers a string",
           "invalid type")
    recipe("bad-enum", base + 'nan_policy = "ignore"\n', "nan_policy = \"ignore\"", "unknown variant `ignore`")
    recipe("syntax", base.replace("[student]", "[student"), "an unclosed table header", "invalid recipe")
    recipe("no-student", base.split("[student]")[0] + "[targets]\nstrategy = \"fixed\"\nlayers = [1]\n",
           "no [student] table", "missing field `student`")
    recipe("crop-too-short", base.replace("crop_seconds = 0.25", "crop_seconds = 0.001"),
           "a crop shorter than one frame", "data.crop_seconds")
    recipe("targets-too-deep", base.replace("layers = [1, 3]", "layers = [1, 9]"),
           "target layer 9 of a 3-layer teacher", "targets.layers")


def main():
    for sub in ("good", "audio", "manifests", "configs", "checkpoints", "recipes"):
        shutil.rmtree(os.path.join(HERE, sub), ignore_errors=True)
    make_good()
    make_audio()
    make_manifests()
    make_configs()
    make_checkpoints()
    make_recipes()
    lines = ["id\tcommand\tnames\texpect\twhat"] + ["\t".join(c) for c in CASES]
    write("cases.tsv", "\n".join(lines) + "\n")
    ids = [c[0] for c in CASES]
    assert len(ids) == len(set(ids)), "duplicate case id"
    print(f"{len(CASES)} cases written to {HERE}")


if __name__ == "__main__":
    main()
