//! `cdnbroker check FILE...`: reads the files and prints what
//! [`broker_config::check::check_files`] finds: one summary line per file on stdout and
//! exit 0, or one `FILE:LINE:COL: message` per error on stderr and exit 1. A folder
//! argument stands for the files in it.

use std::io::Write;
use std::path::{Path, PathBuf};

use broker_config::check::{Disk, check_files};

pub(crate) fn run(files: &[PathBuf]) -> anyhow::Result<()> {
    let mut inputs = Vec::new();
    let mut unreadable = Vec::new();
    for file in &expand_folders(files, &mut unreadable) {
        match std::fs::read(file) {
            Ok(bytes) => inputs.push((file.display().to_string(), bytes)),
            Err(e) => unreadable.push(format!("{}: cannot read: {e}", file.display())),
        }
    }
    let report = check_files(&inputs, &Disk);
    {
        let mut err = std::io::stderr().lock();
        for warning in &report.warnings {
            writeln!(err, "{warning}")?;
        }
    }
    if report.is_ok() && unreadable.is_empty() {
        let mut out = std::io::stdout().lock();
        for file in &report.files {
            writeln!(out, "{file}")?;
        }
        return Ok(());
    }
    let mut err = std::io::stderr().lock();
    for line in unreadable {
        writeln!(err, "{line}")?;
    }
    for error in &report.errors {
        writeln!(err, "{error}")?;
    }
    err.flush()?;
    std::process::exit(1);
}

/// A folder stands for the files directly in it (not hidden), in name order.
fn expand_folders(args: &[PathBuf], unreadable: &mut Vec<String>) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for arg in args {
        if !arg.is_dir() {
            files.push(arg.clone());
            continue;
        }
        match std::fs::read_dir(arg) {
            Ok(entries) => {
                let mut inside: Vec<PathBuf> = entries
                    .filter_map(Result::ok)
                    .map(|e| e.path())
                    .filter(|p| p.is_file() && !is_hidden(p))
                    .collect();
                inside.sort();
                files.extend(inside);
            }
            Err(e) => unreadable.push(format!("{}: cannot read: {e}", arg.display())),
        }
    }
    files
}

fn is_hidden(path: &Path) -> bool {
    path.file_name()
        .is_some_and(|n| n.to_string_lossy().starts_with('.'))
}
