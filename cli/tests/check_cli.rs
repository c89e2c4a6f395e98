//! The real `cdnbroker check` binary on the shipped examples and on broken copies of
//! them: exit status, and the exact `FILE:LINE:COL:` of each error.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn examples_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples")
}

fn check(files: &[PathBuf]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cdnbroker"))
        .arg("check")
        .args(files)
        .output()
        .unwrap()
}

/// A copy of the files of `examples/` (not its folders: `cluster/` is a deployment of
/// its own) in a fresh temporary folder, with their list.
fn copy_examples() -> (tempfile::TempDir, Vec<PathBuf>) {
    let dir = tempfile::tempdir().unwrap();
    let mut files = Vec::new();
    for entry in std::fs::read_dir(examples_dir()).unwrap() {
        let from = entry.unwrap().path();
        if !from.is_file() {
            continue;
        }
        let to = dir.path().join(from.file_name().unwrap());
        std::fs::copy(&from, &to).unwrap();
        files.push(to);
    }
    files.sort();
    (dir, files)
}

fn edit(path: &Path, from: &str, to: &str) {
    let text = std::fs::read_to_string(path).unwrap();
    assert!(text.contains(from), "{from:?} not in {}", path.display());
    std::fs::write(path, text.replacen(from, to, 1)).unwrap();
}

#[test]
fn examples_pass_with_one_summary_line_per_file() {
    let (_dir, files) = copy_examples();
    let out = check(&files);
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(stdout.lines().count(), files.len(), "{stdout}");
    assert!(stdout.contains("c.toml: deployment (§7): node C, roles dns, control, proxy"));
}

#[test]
fn the_readme_command_passes_from_the_repository_root() {
    let root = examples_dir().join("..");
    let files: Vec<PathBuf> = std::fs::read_dir(examples_dir())
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| e.path().is_file())
        .map(|e| Path::new("examples").join(e.file_name()))
        .collect();
    let out = Command::new(env!("CARGO_BIN_EXE_cdnbroker"))
        .current_dir(root)
        .arg("check")
        .args(&files)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn broken_copies_fail_with_file_line_and_column() {
    let cases: [(&str, &str, &str, &str); 5] = [
        (
            "c.toml",
            "listen = \"127.0.0.1:8080\"",
            "listen = \"127.0.0.1\"",
            "c.toml:29:10: expected IP:PORT",
        ),
        (
            "c.toml",
            "ttl = 20",
            "tll = 20",
            "c.toml:14:1: unknown field `tll`",
        ),
        (
            "cdn.txt",
            "LOCAL:80; DEFAULT:50;",
            "LOCAL:80; SPAIN:50;",
            "cdn.txt:3:67: unknown region SPAIN",
        ),
        (
            "tables.txt",
            "ADD CST img.xyz.com { two-cdns; }!",
            "ADD CST img.xyz.com { three-cdns; }!",
            "tables.txt:12:23:",
        ),
        (
            "g.toml",
            "token = \"example-c-to-g-token\"",
            "token = \"wrong\"",
            "c.toml:38:9: token differs",
        ),
    ];
    for (file, from, to, want) in cases {
        let (dir, files) = copy_examples();
        edit(&dir.path().join(file), from, to);
        let out = check(&files);
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert_eq!(out.status.code(), Some(1), "{file}: {stderr}");
        let prefix = format!("{}/{want}", dir.path().display());
        assert!(
            stderr.lines().any(|l| l.starts_with(&prefix)),
            "want {prefix}\ngot:\n{stderr}"
        );
        assert!(out.stdout.is_empty());
    }
}

#[test]
fn a_deployment_alone_reads_its_files_next_to_it() {
    let (dir, _) = copy_examples();
    let out = check(&[dir.path().join("c.toml")]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::remove_file(dir.path().join("customer.txt")).unwrap();
    let out = check(&[dir.path().join("c.toml")]);
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(1));
    let want = format!(
        "{}/c.toml:20:13: cannot read {}/customer.txt",
        dir.path().display(),
        dir.path().display()
    );
    assert!(stderr.starts_with(&want), "want {want}\ngot:\n{stderr}");
}

#[test]
fn an_unreadable_argument_is_an_error() {
    let out = check(&[PathBuf::from("/nonexistent/cdnbroker.toml")]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.starts_with("/nonexistent/cdnbroker.toml: cannot read:"),
        "{stderr}"
    );
}

#[test]
fn a_folder_stands_for_its_files() {
    let (dir, files) = copy_examples();
    let out = check(&[dir.path().to_path_buf()]);
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(stdout.lines().count(), files.len(), "{stdout}");
}
