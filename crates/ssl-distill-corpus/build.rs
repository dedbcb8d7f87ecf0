//! Links libespeak-ng when the `espeak` feature is on.
fn main() {
    if std::env::var_os("CARGO_FEATURE_ESPEAK").is_some() {
        println!("cargo:rustc-link-lib=dylib=espeak-ng");
    }
}
