//! `cdnbroker cluster` as a user runs it: files in, region file and report out.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use broker_config::{RegionList, RegionsFile};

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    fs::write(&path, text).unwrap();
    path
}

fn cdnbroker(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cdnbroker"))
        .args(args)
        .output()
        .expect("the binary runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).unwrap()
}

const ROUTES: &str = "\
# prefix asn
198.54.234.0/24 64500
198.54.235.0/24 64500
209.88.72.0/21 64501
196.8.0.0/16 64502
not-a-prefix 1
2001:db8::/32 64503
";

const GEO: &str = "\
198.54.234.0/23 FRANCE
209.88.64.0/18 FRANCE
196.0.0.0/8 GERMANY
2001:db8::/33 GERMANY
";

const REGIONS: &str = "\
FRANCE {
  198.54.234.0,23;
  209.88.72.0,21;
}
GERMANY {
  196.8.0.0,16;
  2001:db8::,33;
}
";

#[test]
fn writes_the_region_file_and_reports_bad_lines_with_file_line_col() {
    let dir = tempfile::tempdir().unwrap();
    let routes = write(dir.path(), "routes.txt", ROUTES);
    let geo = write(dir.path(), "geo.txt", GEO);
    let out = dir.path().join("regions.txt");
    let run = cdnbroker(&[
        "cluster",
        "--routes",
        routes.to_str().unwrap(),
        "--geo",
        geo.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
    ]);
    let stderr = text(&run.stderr);
    assert!(run.status.success(), "{stderr}");
    let written = fs::read_to_string(&out).unwrap();
    assert_eq!(written, REGIONS);
    // The output reads back through the §6 codec and as a regions.txt.
    let list = RegionList::parse(&written).unwrap();
    assert_eq!(list.to_string(), written);
    let file = RegionsFile::parse(&written).unwrap();
    assert_eq!(file.get("GERMANY").unwrap().prefixes.len(), 2);
    assert!(run.stdout.is_empty());
    let bad = format!("{}:6:1: expected a prefix ADDRESS/LENGTH", routes.display());
    assert!(stderr.contains(&bad), "{stderr}");
    assert!(stderr.contains("1 bad lines skipped"), "{stderr}");
    // Not a terminal: no progress bar drawing.
    assert!(
        !stderr.contains('\u{1b}') && !stderr.contains('\r'),
        "{stderr:?}"
    );
}

#[test]
fn strict_fails_the_run_on_a_bad_line() {
    let dir = tempfile::tempdir().unwrap();
    let routes = write(dir.path(), "routes.txt", ROUTES);
    let geo = write(dir.path(), "geo.txt", GEO);
    let run = cdnbroker(&[
        "cluster",
        "--strict",
        "--routes",
        routes.to_str().unwrap(),
        "--geo",
        geo.to_str().unwrap(),
    ]);
    let stderr = text(&run.stderr);
    assert!(!run.status.success());
    assert!(
        stderr.contains("routes.txt:6:1: expected a prefix"),
        "{stderr}"
    );
    assert!(stderr.contains("1 bad input lines (--strict)"), "{stderr}");
    assert!(run.stdout.is_empty());
}

#[test]
fn reads_delegated_stats_and_gzip_and_writes_the_report() {
    let dir = tempfile::tempdir().unwrap();
    let routes = dir.path().join("routes.txt.gz");
    let mut gz = flate2::write::GzEncoder::new(
        fs::File::create(&routes).unwrap(),
        flate2::Compression::fast(),
    );
    gz.write_all(b"10.0.0.0/22\n10.0.8.0/24\n").unwrap();
    gz.finish().unwrap();
    let geo = write(
        dir.path(),
        "delegated.txt",
        "2|ripencc|20260101|3|19830705|20260101|+0100\n\
         ripencc|*|ipv4|*|2|summary\n\
         ripencc|FR|ipv4|10.0.0.0|512|20000101|allocated\n\
         ripencc|DE|ipv4|10.0.2.0|256|20000101|assigned\n",
    );
    let report = dir.path().join("report.txt");
    let run = cdnbroker(&[
        "cluster",
        "--routes",
        routes.to_str().unwrap(),
        "--geo",
        geo.to_str().unwrap(),
        "--geo-format",
        "delegated",
        "--report",
        report.to_str().unwrap(),
    ]);
    let stderr = text(&run.stderr);
    assert!(run.status.success(), "{stderr}");
    assert_eq!(
        text(&run.stdout),
        "DE {\n  10.0.2.0,24;\n}\nFR {\n  10.0.0.0,23;\n}\n"
    );
    assert_eq!(
        fs::read_to_string(&report).unwrap(),
        "# routed addresses with no region, as CIDR blocks\n\
         unmapped 10.0.3.0/24\n\
         unmapped 10.0.8.0/24\n\
         # routes holding several regions (split in the output)\n\
         straddle 10.0.0.0/22 FR,DE partly-unmapped\n\
         # geo prefixes given twice with different regions (first kept)\n"
    );
    assert!(
        stderr.contains(
            "without a region: 512 of 1280 routed IPv4 addresses (40.00%), 0% of routed IPv6"
        ),
        "{stderr}"
    );
}

#[test]
fn a_missing_file_is_an_error_naming_it() {
    let run = cdnbroker(&[
        "cluster",
        "--routes",
        "/nonexistent/r",
        "--geo",
        "/nonexistent/g",
    ]);
    assert!(!run.status.success());
    assert!(text(&run.stderr).contains("/nonexistent/r"));
}

#[test]
fn an_overlong_line_is_reported_once_and_the_next_line_still_counts() {
    let dir = tempfile::tempdir().unwrap();
    let long = "9".repeat(100_000);
    let routes = write(
        dir.path(),
        "routes.txt",
        &format!("10.0.0.0/24\n{long}\n10.0.1.0/24\n"),
    );
    let geo = write(dir.path(), "geo.txt", "10.0.0.0/16 X\n");
    let run = cdnbroker(&[
        "cluster",
        "--routes",
        routes.to_str().unwrap(),
        "--geo",
        geo.to_str().unwrap(),
    ]);
    let stderr = text(&run.stderr);
    assert!(run.status.success(), "{stderr}");
    assert_eq!(text(&run.stdout), "X {\n  10.0.0.0,23;\n}\n");
    assert!(
        stderr.contains("routes.txt:2:4097: line longer than 4096 bytes"),
        "{stderr}"
    );
    assert_eq!(stderr.matches("routes.txt:").count(), 1, "{stderr}");
}

/// On a terminal the bar shows the stages. `script` (util-linux) gives the command a
/// pseudo-terminal; without it the test says so and checks nothing else.
#[test]
fn a_terminal_gets_a_progress_bar() {
    if Command::new("script").arg("--version").output().is_err() {
        eprintln!("no `script` command: progress bar on a terminal not checked");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let routes = write(dir.path(), "routes.txt", ROUTES);
    let geo = write(dir.path(), "geo.txt", GEO);
    let out = dir.path().join("regions.txt");
    let command = format!(
        "{} cluster --routes {} --geo {} -o {}",
        env!("CARGO_BIN_EXE_cdnbroker"),
        routes.display(),
        geo.display(),
        out.display()
    );
    let run = Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .output()
        .unwrap();
    let screen = text(&run.stdout);
    assert!(run.status.success(), "{screen}");
    assert!(screen.contains("reading routes"), "{screen:?}");
    assert!(screen.contains("\u{1b}[2K"), "no redraw: {screen:?}");
    assert_eq!(fs::read_to_string(&out).unwrap(), REGIONS);
}
