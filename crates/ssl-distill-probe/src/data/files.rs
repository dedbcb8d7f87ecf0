//! Helpers of the real-layout readers: the lines of a text file, the sorted entries of a
//! directory, and the skip-or-fail rule for a bad entry ([`DataOptions::skip_bad`]).

use std::path::{Path, PathBuf};

use crate::error::ProbeError;
use crate::layout::DataOptions;

/// An entry that a real layout cannot use: skipped (counted in `skipped`) with
/// [`DataOptions::skip_bad`], else the error.
pub(crate) fn bad_entry(
    options: &DataOptions,
    skipped: &mut usize,
    error: ProbeError,
) -> Result<(), ProbeError> {
    if options.skip_bad {
        *skipped += 1;
        Ok(())
    } else {
        Err(error)
    }
}

/// The lines of a text file, 1-based, blank lines skipped.
///
/// # Errors
/// [`ProbeError::MissingFile`] (with `what`) when absent, [`ProbeError::Unreadable`] when not
/// UTF-8 or unreadable.
pub(crate) fn text_lines(
    path: &Path,
    what: &'static str,
) -> Result<Vec<(usize, String)>, ProbeError> {
    if !path.is_file() {
        return Err(ProbeError::MissingFile {
            path: path.into(),
            what,
        });
    }
    let text = std::fs::read_to_string(path).map_err(|e| ProbeError::Unreadable {
        path: path.into(),
        message: e.to_string(),
    })?;
    Ok(text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| (i + 1, l.trim_end_matches('\r').to_string()))
        .collect())
}

/// The entries of a directory, sorted by name, `.`-files left out.
///
/// # Errors
/// [`ProbeError::Unreadable`] naming the directory.
pub(crate) fn sorted_entries(dir: &Path) -> Result<Vec<PathBuf>, ProbeError> {
    let entries = std::fs::read_dir(dir).map_err(|e| ProbeError::Unreadable {
        path: dir.into(),
        message: e.to_string(),
    })?;
    let mut paths: Vec<PathBuf> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| !n.to_string_lossy().starts_with('.'))
        })
        .collect();
    paths.sort();
    Ok(paths)
}

/// The last component of `path`, lossily as text (empty for none).
pub(crate) fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}
