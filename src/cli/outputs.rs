//! Output files and directories, checked before any long work starts (a solve or a
//! training run should not end in "cannot write"), and written with messages that name
//! the flag and the path once.

use std::fs::OpenOptions;
use std::path::Path;

use super::bad_input;

/// Checks that `flag PATH` names a file this run can create or overwrite: not a
/// directory, in a directory that exists, writable. Leaves no file behind.
pub fn check_file(flag: &str, path: &Path) -> anyhow::Result<()> {
    if path.is_dir() {
        return Err(bad_input(format!("{flag} {}: is a directory; name a file", path.display())));
    }
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    if !parent.is_dir() {
        return Err(bad_input(format!(
            "{flag} {}: directory {} does not exist",
            path.display(),
            parent.display()
        )));
    }
    let existed = path.exists();
    let opened = OpenOptions::new().write(true).create(true).truncate(false).open(path);
    match opened {
        Ok(_) => {
            if !existed {
                let _ = std::fs::remove_file(path);
            }
            Ok(())
        }
        Err(e) => Err(bad_input(format!("{flag} {}: cannot write: {}", path.display(), os_message(&e)))),
    }
}

/// Checks `flag DIR` and creates it (with parents): it must not be an existing file.
pub fn prepare_dir(flag: &str, dir: &Path) -> anyhow::Result<()> {
    if dir.exists() && !dir.is_dir() {
        return Err(bad_input(format!("{flag} {}: exists and is not a directory", dir.display())));
    }
    std::fs::create_dir_all(dir).map_err(|e| {
        bad_input(format!("{flag} {}: cannot create directory: {}", dir.display(), os_message(&e)))
    })
}

/// Checks that `flag PATH` names a file that exists and can be read.
pub fn check_readable(flag: &str, path: &Path) -> anyhow::Result<()> {
    if path.is_dir() {
        return Err(bad_input(format!("{flag} {}: is a directory; name a file", path.display())));
    }
    std::fs::File::open(path)
        .map(|_| ())
        .map_err(|e| bad_input(format!("{flag} {}: cannot read: {}", path.display(), os_message(&e))))
}

/// Writes a file; a failure names what was being written and the path.
pub fn write(what: &str, path: &Path, text: &str) -> anyhow::Result<()> {
    std::fs::write(path, text)
        .map_err(|e| bad_input(format!("cannot write {what} {}: {}", path.display(), os_message(&e))))
}

/// The OS error without the `(os error N)` suffix people do not need.
pub fn os_message(e: &std::io::Error) -> String {
    let s = e.to_string();
    match s.find(" (os error") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}
