//! Hand-written FFI to libespeak-ng (synchronous mode with phoneme events).
//!
//! libespeak-ng keeps global state: one synthesizer per process. [`Engine`] is guarded by a
//! process-wide mutex in [`crate::synth`], never used from two threads at once.
#![allow(
    unsafe_code,
    reason = "FFI to libespeak-ng; each unsafe block carries a SAFETY note"
)]

use std::cell::RefCell;
use std::ffi::{CStr, CString, c_char, c_int, c_short, c_uint, c_void};
use std::path::Path;

use crate::error::CorpusError;

/// espeak_EVENT on x86_64/aarch64 (40 bytes).
#[repr(C)]
struct Event {
    kind: c_int,
    unique_identifier: c_uint,
    text_position: c_int,
    length: c_int,
    audio_position: c_int,
    sample: c_int,
    user_data: *mut c_void,
    id: [u8; 8],
}

type Callback = extern "C" fn(*mut c_short, c_int, *mut Event) -> c_int;

#[link(name = "espeak-ng")]
unsafe extern "C" {
    fn espeak_Initialize(
        output: c_int,
        buflength: c_int,
        path: *const c_char,
        options: c_int,
    ) -> c_int;
    fn espeak_SetSynthCallback(cb: Callback);
    fn espeak_SetVoiceByName(name: *const c_char) -> c_int;
    fn espeak_SetParameter(parameter: c_int, value: c_int, relative: c_int) -> c_int;
    #[allow(clippy::too_many_arguments, reason = "C signature")]
    fn espeak_Synth(
        text: *const c_void,
        size: usize,
        position: c_uint,
        position_type: c_int,
        end_position: c_uint,
        flags: c_uint,
        unique_identifier: *mut c_uint,
        user_data: *mut c_void,
    ) -> c_int;
    fn espeak_Info(path_data: *mut *const c_char) -> *const c_char;
    fn espeak_Terminate() -> c_int;
}

const AUDIO_OUTPUT_SYNCHRONOUS: c_int = 2;
const INIT_PHONEME_EVENTS: c_int = 0x0001;
const INIT_DONT_EXIT: c_int = 0x8000;
const EVENT_LIST_TERMINATED: c_int = 0;
const EVENT_PHONEME: c_int = 7;
const CHARS_UTF8: c_uint = 1;
const POS_CHARACTER: c_int = 1;
/// espeak_SetParameter ids.
pub(crate) const RATE: c_int = 1;
/// Volume (0-200).
pub(crate) const VOLUME: c_int = 2;
/// Base pitch (0-100).
pub(crate) const PITCH: c_int = 3;
/// Pitch range (0-100).
pub(crate) const RANGE: c_int = 4;

/// Output of one synthesis: 22050 Hz samples and phoneme onsets (mnemonic, 22050 Hz sample).
#[derive(Debug, Default)]
pub(crate) struct Synthesis {
    pub(crate) samples: Vec<i16>,
    pub(crate) phonemes: Vec<(String, usize)>,
}

thread_local! {
    static CURRENT: RefCell<Synthesis> = RefCell::new(Synthesis::default());
}

extern "C" fn on_synth(wav: *mut c_short, n: c_int, events: *mut Event) -> c_int {
    CURRENT.with(|cur| {
        let mut cur = cur.borrow_mut();
        if !wav.is_null() && n > 0 {
            // SAFETY: espeak-ng passes `n` valid samples at `wav` for the duration of the call.
            let s = unsafe { std::slice::from_raw_parts(wav, n as usize) };
            cur.samples.extend_from_slice(s);
        }
        let mut ev = events;
        while !ev.is_null() {
            // SAFETY: `events` is an array terminated by an EVENT_LIST_TERMINATED entry.
            let e = unsafe { &*ev };
            if e.kind == EVENT_LIST_TERMINATED {
                break;
            }
            if e.kind == EVENT_PHONEME {
                let end = e.id.iter().position(|&b| b == 0).unwrap_or(8);
                let name = String::from_utf8_lossy(&e.id[..end]).into_owned();
                cur.phonemes.push((name, e.sample.max(0) as usize));
            }
            // SAFETY: still inside the terminated array (the terminator was not reached).
            ev = unsafe { ev.add(1) };
        }
    });
    0
}

/// An initialized libespeak-ng (22050 Hz, synchronous, phoneme events on).
#[derive(Debug)]
pub(crate) struct Engine {
    /// Library version string.
    pub(crate) version: String,
}

fn check(call: &'static str, code: c_int) -> Result<(), CorpusError> {
    if code == 0 {
        Ok(())
    } else {
        Err(CorpusError::Espeak { call, code })
    }
}

impl Engine {
    /// Initialize with `data_parent` (the directory holding `espeak-ng-data`).
    pub(crate) fn new(data_parent: &Path) -> Result<Self, CorpusError> {
        let data = data_parent.join("espeak-ng-data");
        if !data.join("phontab").exists() {
            return Err(CorpusError::EspeakDataMissing { path: data });
        }
        let cpath = CString::new(data_parent.as_os_str().as_encoded_bytes()).map_err(|_| {
            CorpusError::InvalidConfig {
                reason: "data path contains a NUL byte".into(),
            }
        })?;
        // SAFETY: `cpath` is a valid NUL-terminated string for the call; the callback is a
        // plain extern "C" fn with the expected signature.
        let rate = unsafe {
            let rate = espeak_Initialize(
                AUDIO_OUTPUT_SYNCHRONOUS,
                0,
                cpath.as_ptr(),
                INIT_PHONEME_EVENTS | INIT_DONT_EXIT,
            );
            espeak_SetSynthCallback(on_synth);
            rate
        };
        if rate != 22050 {
            return Err(CorpusError::Espeak {
                call: "espeak_Initialize",
                code: rate,
            });
        }
        // SAFETY: espeak_Info returns a static NUL-terminated version string.
        let version = unsafe {
            let p = espeak_Info(std::ptr::null_mut());
            if p.is_null() {
                String::new()
            } else {
                CStr::from_ptr(p).to_string_lossy().into_owned()
            }
        };
        Ok(Self { version })
    }

    /// Select a voice by name, e.g. `gmw/en-US+spk0007`.
    pub(crate) fn set_voice(&mut self, name: &str) -> Result<(), CorpusError> {
        let c = CString::new(name).map_err(|_| CorpusError::InvalidConfig {
            reason: format!("voice name {name:?}"),
        })?;
        // SAFETY: valid NUL-terminated string for the duration of the call.
        check("espeak_SetVoiceByName", unsafe {
            espeak_SetVoiceByName(c.as_ptr())
        })
    }

    /// Set an absolute parameter value.
    pub(crate) fn set_param(&mut self, param: c_int, value: i32) -> Result<(), CorpusError> {
        // SAFETY: plain integer arguments.
        check("espeak_SetParameter", unsafe {
            espeak_SetParameter(param, value, 0)
        })
    }

    /// Synthesize UTF-8 `text` synchronously.
    pub(crate) fn synth(&mut self, text: &str) -> Result<Synthesis, CorpusError> {
        let c = CString::new(text).map_err(|_| CorpusError::InvalidConfig {
            reason: "text contains a NUL byte".into(),
        })?;
        CURRENT.with(|cur| *cur.borrow_mut() = Synthesis::default());
        let bytes = c.as_bytes_with_nul();
        // SAFETY: `c` outlives the synchronous call; the callback runs on this thread.
        let code = unsafe {
            espeak_Synth(
                c.as_ptr().cast(),
                bytes.len(),
                0,
                POS_CHARACTER,
                0,
                CHARS_UTF8,
                std::ptr::null_mut(),
                std::ptr::null_mut(),
            )
        };
        check("espeak_Synth", code)?;
        Ok(CURRENT.with(|cur| std::mem::take(&mut *cur.borrow_mut())))
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        // SAFETY: no synthesis is running (synchronous mode, &mut self).
        unsafe {
            espeak_Terminate();
        }
    }
}
