//! End to end in a real browser: `cdnbroker demo` on a free port range, xyz's shop page
//! opened through C's front proxy in headless Chromium (names mapped to 127.0.0.1 with the
//! rules the demo prints), every image checked as loaded and classified by who delivered
//! it (G's edge or C), then G's status report (HTTPS, the demo CA, C's token) must show
//! the load C put on it. The other commands the demo prints are run too, and Ctrl-C must
//! stop it cleanly.

#[path = "support/demo_ports.rs"]
mod demo_ports;
#[path = "support/demo_process.rs"]
mod demo_process;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use demo_process::DemoProcess;

/// Starts the demo on a free port range and waits for its `demo ready` line.
fn start_demo() -> DemoProcess {
    let (demo, ()) = DemoProcess::start(|base| {
        let mut command = Command::new(env!("CARGO_BIN_EXE_cdnbroker"));
        command.args(["demo", "--port-base", &base.to_string()]);
        (command, ())
    });
    demo
}

/// The banner's commands (the lines after `try:` that are not comments).
fn commands(banner: &[String]) -> Vec<&str> {
    banner
        .iter()
        .skip_while(|l| *l != "try:")
        .skip(1)
        .map(|l| l.trim())
        .filter(|l| !l.starts_with('#'))
        .collect()
}

/// The address of a banner row such as `G edge   http://127.0.0.1:10090 ...`.
fn row_addr(banner: &[String], label: &str) -> String {
    let line = banner
        .iter()
        .find(|l| l.trim_start().starts_with(label))
        .unwrap_or_else(|| panic!("no {label:?} row in:\n{}", banner.join("\n")));
    let word = line.trim_start()[label.len()..]
        .split_whitespace()
        .next()
        .unwrap();
    word.trim_start_matches("http://")
        .trim_start_matches("https://")
        .trim_end_matches('/')
        .to_owned()
}

/// One line of the page's report: `img|bg <id> ok|failed <w>x<h> <url>`.
#[derive(Debug)]
struct Loaded {
    id: String,
    ok: bool,
    host: String,
    url: String,
}

/// Opens `url` in headless Chromium with `rules` and returns the page's report.
fn browse(rules: &str, url: &str) -> Vec<Loaded> {
    let profile = tempfile::tempdir().unwrap();
    let out = Command::new("timeout")
        .arg("120")
        .arg("chromium")
        .args([
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--no-proxy-server",
            "--disable-background-networking",
            "--virtual-time-budget=10000",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(format!("--host-resolver-rules={rules}"))
        .arg("--dump-dom")
        .arg(url)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let dom = String::from_utf8_lossy(&out.stdout);
    let start = dom
        .find("<pre id=\"report\">")
        .unwrap_or_else(|| panic!("no report in the page ({}):\n{dom}", out.status))
        + "<pre id=\"report\">".len();
    let end = start + dom[start..].find("</pre>").unwrap();
    let report: Vec<Loaded> = dom[start..end]
        .lines()
        .filter_map(|line| {
            let w: Vec<&str> = line.split_whitespace().collect();
            let [_kind, id, ok, _size, url] = w[..] else {
                return None;
            };
            let host = url
                .split_once("://")
                .map_or("", |(_, rest)| rest.split('/').next().unwrap_or(""));
            Some(Loaded {
                id: id.to_owned(),
                ok: ok == "ok",
                host: host.to_owned(),
                url: url.to_owned(),
            })
        })
        .collect();
    assert!(
        report.len() >= 10,
        "the page's script did not report its images:\n{}",
        &dom[start..end]
    );
    report
}

/// The `--host-resolver-rules` and the URL of a printed chromium command.
fn chromium_args(command: &str) -> (String, String) {
    let rules = command
        .split("--host-resolver-rules='")
        .nth(1)
        .and_then(|r| r.split('\'').next())
        .unwrap();
    let url = command
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap();
    (rules.to_owned(), url.to_owned())
}

fn sh(command: &str) -> String {
    let out = Command::new("sh").args(["-c", command]).output().unwrap();
    assert!(
        out.status.success(),
        "{command}: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn a_browser_gets_every_image_from_g_or_c_and_g_reports_the_load() {
    let demo = start_demo();
    let banner = demo.banner.join("\n");
    assert!(
        !banner.contains("not running"),
        "a role of the demo did not start:\n{banner}"
    );
    let edge = row_addr(&demo.banner, "G edge");
    let commands = commands(&demo.banner);
    let browsers: Vec<&&str> = commands
        .iter()
        .filter(|c| c.starts_with("chromium "))
        .collect();
    assert_eq!(browsers.len(), 2, "{banner}");

    // G's names are those the printed rules send to G's edge.
    let (forced_rules, forced_url) = chromium_args(browsers[1]);
    let g_hosts: Vec<String> = forced_rules
        .split(", ")
        .filter_map(|r| r.strip_prefix("MAP "))
        .filter_map(|r| r.split_once(' '))
        .filter(|(_, to)| *to == edge)
        .map(|(host, _)| host.to_owned())
        .collect();
    assert!(!g_hosts.is_empty(), "{forced_rules}");

    // The special port sends every offloadable image to G; the logo lives on the site.
    let forced = browse(&forced_rules, &forced_url);
    let failed: Vec<&Loaded> = forced.iter().filter(|l| !l.ok).collect();
    assert!(failed.is_empty(), "images not loaded: {failed:#?}");
    let (via_g, via_c): (Vec<&Loaded>, Vec<&Loaded>) =
        forced.iter().partition(|l| g_hosts.contains(&l.host));
    assert!(
        via_c.iter().all(|l| l.host == "www.xyz.com"),
        "an offloadable image did not go to G: {via_c:#?}"
    );
    assert!(via_c.iter().any(|l| l.id == "logo"), "{forced:#?}");
    assert!(via_g.len() >= 9, "{forced:#?}");
    assert!(
        via_g.iter().all(|l| l.url.contains("/img.xyz.com/")),
        "{via_g:#?}"
    );

    // G's status report, fetched with the command the demo prints, shows C's load.
    let status = commands
        .iter()
        .find(|c| c.contains("/load?aggregate"))
        .unwrap();
    let report = sh(status);
    let kbps: u64 = report
        .trim()
        .strip_prefix("Load aggregate=")
        .and_then(|r| r.split(',').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("not a load report: {report:?}"));
    assert!(kbps > 0, "{report}");

    // The ordinary port: every image loads, from G or from C, as C's plan picks.
    let (rules, url) = chromium_args(browsers[0]);
    let normal = browse(&rules, &url);
    let failed: Vec<&Loaded> = normal.iter().filter(|l| !l.ok).collect();
    assert!(failed.is_empty(), "images not loaded: {failed:#?}");
    for l in &normal {
        assert!(
            g_hosts.contains(&l.host) || l.host == "www.xyz.com" || l.host == "img.xyz.com",
            "{l:?}"
        );
    }
    let g = normal.iter().filter(|l| g_hosts.contains(&l.host)).count();
    eprintln!(
        "ordinary port: {g} of {} images via G, the rest via C",
        normal.len()
    );

    // The other printed commands work as shown.
    let edge_fetch = commands
        .iter()
        .find(|c| c.contains("--connect-to"))
        .unwrap();
    let fetched = sh(edge_fetch);
    assert!(fetched.starts_with("200 "), "{fetched}");
    let dig = commands.iter().find(|c| c.starts_with("dig ")).unwrap();
    let answer = sh(dig);
    assert!(
        answer.contains("status: NOERROR") && answer.contains("ANSWER SECTION"),
        "{answer}"
    );
    for page in commands
        .iter()
        .filter(|c| c.starts_with("curl -s -H 'Host:"))
    {
        let out = sh(page);
        if page.contains("X-Forwarded-For") {
            // A client elsewhere: its page points at C's or G's hosts, as the plan says.
            for line in out.lines() {
                let host = line.split("//").nth(1).unwrap().trim_end_matches('/');
                assert!(
                    g_hosts.iter().any(|g| g == host)
                        || host == "img.xyz.com"
                        || host == "www.xyz.com",
                    "{page}: {out}"
                );
            }
            eprintln!("a client in GERMANY:\n{out}");
        } else {
            assert!(out.contains("src="), "{page}");
        }
    }

    // Ctrl-C: a clean stop.
    let pid = demo.child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-INT", &pid])
            .status()
            .unwrap()
            .success()
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut stopped = false;
    while let Some(line) = demo.next_line(deadline) {
        stopped |= line == "demo stopped";
    }
    assert!(stopped, "no 'demo stopped' line");
    let mut demo = demo;
    let status = demo.child.wait().unwrap();
    assert!(status.success(), "{status}: {}", demo.stderr());
}
