//! Hand-written FFI to libespeak-ng (synchronous mode with phoneme events), loaded at run time
//! (`libloading`) so nothing links it at build time.
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

type InitializeFn = unsafe extern "C" fn(c_int, c_int, *const c_char, c_int) -> c_int;
type SetSynthCallbackFn = unsafe extern "C" fn(Callback);
type SetVoiceByNameFn = unsafe extern "C" fn(*const c_char) -> c_int;
type SetParameterFn = unsafe extern "C" fn(c_int, c_int, c_int) -> c_int;
type SynthFn = unsafe extern "C" fn(
    *const c_void,
    usize,
    c_uint,
    c_int,
    c_uint,
    c_uint,
    *mut c_uint,
    *mut c_void,
) -> c_int;
type InfoFn = unsafe extern "C" fn(*mut *const c_char) -> *const c_char;
type TerminateFn = unsafe extern "C" fn() -> c_int;

/// The shared library's file names tried in order (Linux soname first, then macOS).
const LIBRARY_NAMES: [&str; 4] = [
    "libespeak-ng.so.1",
    "libespeak-ng.so",
    "libespeak-ng.1.dylib",
    "libespeak-ng.dylib",
];

/// libespeak-ng's entry points, resolved at run time so that the workspace builds and runs on a
/// machine without espeak-ng (only corpus generation needs it).
struct Api {
    initialize: InitializeFn,
    set_synth_callback: SetSynthCallbackFn,
    set_voice_by_name: SetVoiceByNameFn,
    set_parameter: SetParameterFn,
    synth: SynthFn,
    info: InfoFn,
    terminate: TerminateFn,
    /// Keeps the library mapped while the function pointers above are in use.
    _library: libloading::Library,
}

impl std::fmt::Debug for Api {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Api(libespeak-ng)")
    }
}

/// Loads libespeak-ng once per process.
fn api() -> Result<&'static Api, CorpusError> {
    static API: std::sync::OnceLock<Result<Api, String>> = std::sync::OnceLock::new();
    API.get_or_init(load_api)
        .as_ref()
        .map_err(|reason| CorpusError::EspeakNotFound {
            reason: reason.clone(),
        })
}

fn load_api() -> Result<Api, String> {
    let mut errors = Vec::new();
    for name in LIBRARY_NAMES {
        // SAFETY: loading libespeak-ng runs its initialisers, which have no preconditions.
        match unsafe { libloading::Library::new(name) } {
            Ok(library) => return resolve(library).map_err(|e| format!("{name}: {e}")),
            Err(e) => errors.push(e.to_string()),
        }
    }
    Err(errors.join("; "))
}

fn resolve(library: libloading::Library) -> Result<Api, libloading::Error> {
    // SAFETY: each symbol is looked up with the C signature of espeak-ng 1.51's
    // speak_lib.h; the pointers stay valid while `library` is alive (kept in `Api`).
    unsafe {
        Ok(Api {
            initialize: *library.get::<InitializeFn>(b"espeak_Initialize\0")?,
            set_synth_callback: *library.get::<SetSynthCallbackFn>(b"espeak_SetSynthCallback\0")?,
            set_voice_by_name: *library.get::<SetVoiceByNameFn>(b"espeak_SetVoiceByName\0")?,
            set_parameter: *library.get::<SetParameterFn>(b"espeak_SetParameter\0")?,
            synth: *library.get::<SynthFn>(b"espeak_Synth\0")?,
            info: *library.get::<InfoFn>(b"espeak_Info\0")?,
            terminate: *library.get::<TerminateFn>(b"espeak_Terminate\0")?,
            _library: library,
        })
    }
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
    api: &'static Api,
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
        let api = api()?;
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
            let rate = (api.initialize)(
                AUDIO_OUTPUT_SYNCHRONOUS,
                0,
                cpath.as_ptr(),
                INIT_PHONEME_EVENTS | INIT_DONT_EXIT,
            );
            (api.set_synth_callback)(on_synth);
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
            let p = (api.info)(std::ptr::null_mut());
            if p.is_null() {
                String::new()
            } else {
                CStr::from_ptr(p).to_string_lossy().into_owned()
            }
        };
        Ok(Self { version, api })
    }

    /// Select a voice by name, e.g. `gmw/en-US+spk0007`.
    pub(crate) fn set_voice(&mut self, name: &str) -> Result<(), CorpusError> {
        let c = CString::new(name).map_err(|_| CorpusError::InvalidConfig {
            reason: format!("voice name {name:?}"),
        })?;
        // SAFETY: valid NUL-terminated string for the duration of the call.
        check("espeak_SetVoiceByName", unsafe {
            (self.api.set_voice_by_name)(c.as_ptr())
        })
    }

    /// Set an absolute parameter value.
    pub(crate) fn set_param(&mut self, param: c_int, value: i32) -> Result<(), CorpusError> {
        // SAFETY: plain integer arguments.
        check("espeak_SetParameter", unsafe {
            (self.api.set_parameter)(param, value, 0)
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
            (self.api.synth)(
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
            (self.api.terminate)();
        }
    }
}
