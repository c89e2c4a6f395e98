//! `cdnbroker check FILE...`: reads the files and prints what
//! [`broker_config::check::check_files`] finds: one summary line per file on stdout and
//! exit 0, or one `FILE:LINE:COL: message` per error on stderr and exit 1.

use std::io::Write;
use std::path::PathBuf;

use broker_config::check::{Disk, check_files};

pub(crate) fn run(files: &[PathBuf]) -> anyhow::Result<()> {
    let mut inputs = Vec::new();
    let mut unreadable = Vec::new();
    for file in files {
        match std::fs::read(file) {
            Ok(bytes) => inputs.push((file.display().to_string(), bytes)),
            Err(e) => unreadable.push(format!("{}: cannot read: {e}", file.display())),
        }
    }
    let report = check_files(&inputs, &Disk);
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
