//! The operator page in a real browser: `cdnbroker demo` on a free port range, C's
//! control page opened in headless Chromium driven over the DevTools protocol with real
//! mouse clicks and typed text. A wrong token shows the 401; the right one shows the CDN
//! table; a capacity saved in the form reaches the table and `/api/state`; a bad
//! capacity shows the server's `LINE:COL` message over the text the form sent and changes
//! nothing; a customer is added and removed; a partner's table entry edited on the page
//! changes the URLs of the next page fetched through C's front proxy, and a bad offload
//! host is refused at its `LINE:COL` with nothing changed; so is (over the API) a URL form
//! the front proxy's origin-map cannot build. A reload keeps the login, logging out
//! forgets the token.
//!
//! Chromium speaks the protocol over `--remote-debugging-pipe`: NUL-terminated JSON,
//! commands written to its fd 3, answers and events read from its fd 4 (no websocket
//! client needed). Every wait is on a DOM condition (a MutationObserver with a deadline)
//! or a protocol event, never a fixed delay.

#[path = "support/demo_ports.rs"]
mod demo_ports;
#[path = "support/demo_process.rs"]
mod demo_process;

use std::collections::VecDeque;
use std::io::{BufRead as _, BufReader, Write as _};
use std::net::SocketAddr;
use std::os::fd::{AsRawFd as _, OwnedFd};
use std::os::unix::process::CommandExt as _;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::time::{Duration, Instant};

use broker_config::deploy::Deployment;
use serde_json::{Value, json};

use demo_process::DemoProcess;

/// How long one browser condition or protocol answer may take.
const WAIT: Duration = Duration::from_secs(30);

/// The demo, run from its written configuration.
struct Demo {
    _process: DemoProcess,
    dir: tempfile::TempDir,
}

impl Demo {
    fn start() -> Self {
        let (process, dir) = DemoProcess::start(|base| {
            let dir = tempfile::tempdir().unwrap();
            let bin = env!("CARGO_BIN_EXE_cdnbroker");
            let written = Command::new(bin)
                .args(["demo", "--port-base", &base.to_string(), "--write-config"])
                .arg(dir.path())
                .output()
                .unwrap();
            assert!(written.status.success(), "{written:?}");
            let mut command = Command::new(bin);
            command
                .arg("demo")
                .arg("--config")
                .arg(dir.path().join("demo.toml"));
            (command, dir)
        });
        Self {
            _process: process,
            dir,
        }
    }

    fn c(&self) -> Deployment {
        Deployment::read(&self.dir.path().join("c.toml")).unwrap()
    }
}

/// Headless Chromium driven over `--remote-debugging-pipe`; killed when dropped.
struct Browser {
    child: Child,
    commands: std::fs::File,
    messages: Receiver<Value>,
    /// Messages read while waiting for something else.
    backlog: VecDeque<Value>,
    next_id: u64,
    session: Option<String>,
    _profile: tempfile::TempDir,
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Browser {
    fn start() -> Self {
        let profile = tempfile::tempdir().unwrap();
        let (to_chrome_r, to_chrome_w) = std::io::pipe().unwrap();
        let (from_chrome_r, from_chrome_w) = std::io::pipe().unwrap();
        let (cmd_fd, out_fd) = (to_chrome_r.as_raw_fd(), from_chrome_w.as_raw_fd());
        let mut command = Command::new("chromium");
        command
            .args([
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                "--no-proxy-server",
                "--disable-background-networking",
                "--remote-debugging-pipe",
                "--window-size=1400,1000",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg("about:blank")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        // SAFETY: between fork and exec only async-signal-safe calls (fcntl, dup2) on
        // descriptors this process owns.
        unsafe {
            command.pre_exec(move || {
                // Move both ends above 4 first, so that placing one cannot close the other.
                let high_cmd = libc::fcntl(cmd_fd, libc::F_DUPFD, 10);
                let high_out = libc::fcntl(out_fd, libc::F_DUPFD, 10);
                if high_cmd < 0
                    || high_out < 0
                    || libc::dup2(high_cmd, 3) < 0
                    || libc::dup2(high_out, 4) < 0
                {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = command
            .spawn()
            .expect("chromium runs (scripts/setup installs it)");
        // The child's ends belong to the child now: closing ours lets EOF through.
        drop::<OwnedFd>(to_chrome_r.into());
        drop::<OwnedFd>(from_chrome_w.into());
        let (tx, messages) = channel();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(from_chrome_r);
            let mut buf = Vec::new();
            while let Ok(n) = reader.read_until(0, &mut buf) {
                if n == 0 {
                    break;
                }
                buf.pop_if(|b| *b == 0);
                if let Ok(v) = serde_json::from_slice::<Value>(&buf)
                    && tx.send(v).is_err()
                {
                    break;
                }
                buf.clear();
            }
        });
        Self {
            child,
            commands: std::fs::File::from(OwnedFd::from(to_chrome_w)),
            messages,
            backlog: VecDeque::new(),
            next_id: 0,
            session: None,
            _profile: profile,
        }
    }

    /// Sends one command (to the attached page, once there is one) and returns its result.
    fn call(&mut self, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        let mut msg = json!({"id": id, "method": method, "params": params});
        if let Some(s) = &self.session {
            msg["sessionId"] = json!(s);
        }
        let mut bytes = serde_json::to_vec(&msg).unwrap();
        bytes.push(0);
        self.commands.write_all(&bytes).unwrap();
        let answer = self.next_message(|m| m["id"] == id, method);
        assert!(answer.get("error").is_none(), "{method}: {answer}");
        answer["result"].clone()
    }

    /// The first message (kept back or new) that `want` accepts.
    fn next_message(&mut self, want: impl Fn(&Value) -> bool, what: &str) -> Value {
        if let Some(i) = self.backlog.iter().position(&want) {
            return self.backlog.remove(i).unwrap();
        }
        let deadline = Instant::now() + WAIT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let m = self
                .messages
                .recv_timeout(left)
                .unwrap_or_else(|_| panic!("no answer from chromium for {what}"));
            if want(&m) {
                return m;
            }
            self.backlog.push_back(m);
        }
    }

    /// Opens `url` in a new tab, attaches to it and waits for its load event.
    fn open(&mut self, url: &str) {
        let target = self.call("Target.createTarget", json!({"url": "about:blank"}));
        let attached = self.call(
            "Target.attachToTarget",
            json!({"targetId": target["targetId"], "flatten": true}),
        );
        self.session = Some(attached["sessionId"].as_str().unwrap().to_owned());
        self.call("Page.enable", json!({}));
        self.backlog.clear();
        self.call("Page.navigate", json!({"url": url}));
        self.next_message(|m| m["method"] == "Page.loadEventFired", "the page's load");
    }

    /// Reloads the page and waits for its load event.
    fn reload(&mut self) {
        self.backlog.clear();
        self.call("Page.reload", json!({}));
        self.next_message(|m| m["method"] == "Page.loadEventFired", "the reload");
    }

    /// Evaluates `expr` in the page (awaiting a promise) and returns its value.
    fn eval(&mut self, expr: &str) -> Value {
        let r = self.call(
            "Runtime.evaluate",
            json!({"expression": expr, "returnByValue": true, "awaitPromise": true}),
        );
        assert!(
            r.get("exceptionDetails").is_none(),
            "{expr}: {}",
            r["exceptionDetails"]
        );
        r["result"]["value"].clone()
    }

    /// Waits until the DOM makes `condition` (a JS expression) truthy; returns its value.
    fn wait_for(&mut self, condition: &str) -> Value {
        let ms = WAIT.as_millis();
        let js = format!(
            r#"new Promise((resolve, reject) => {{
                const test = () => {{ try {{ return ({condition}); }} catch (_) {{ return false; }} }};
                const first = test();
                if (first) return resolve(first);
                const obs = new MutationObserver(() => {{
                    const v = test();
                    if (v) {{ obs.disconnect(); clearTimeout(timer); resolve(v); }}
                }});
                const timer = setTimeout(() => {{ obs.disconnect(); reject(new Error('timed out')); }}, {ms});
                obs.observe(document, {{subtree: true, childList: true, characterData: true, attributes: true}});
            }})"#
        );
        let r = self.call(
            "Runtime.evaluate",
            json!({"expression": js, "returnByValue": true, "awaitPromise": true}),
        );
        if r.get("exceptionDetails").is_some() {
            let body = self.eval("document.body.innerText");
            panic!("the page never showed `{condition}`; it shows:\n{body}");
        }
        r["result"]["value"].clone()
    }

    /// A real mouse click in the middle of the element `selector` names.
    fn click(&mut self, selector: &str) {
        let js = format!(
            "(() => {{ const e = document.querySelector({sel}); e.scrollIntoView({{block: 'center'}}); \
             const r = e.getBoundingClientRect(); return [r.x + r.width / 2, r.y + r.height / 2]; }})()",
            sel = json!(selector)
        );
        let at = self.eval(&js);
        let (x, y) = (at[0].as_f64().unwrap(), at[1].as_f64().unwrap());
        for kind in ["mouseMoved", "mousePressed", "mouseReleased"] {
            self.call(
                "Input.dispatchMouseEvent",
                json!({"type": kind, "x": x, "y": y, "button": "left", "clickCount": 1}),
            );
        }
    }

    /// Clicks into the field `selector`, selects what it holds and types `text` over it.
    fn type_into(&mut self, selector: &str, text: &str) {
        self.click(selector);
        for kind in ["rawKeyDown", "keyUp"] {
            self.call(
                "Input.dispatchKeyEvent",
                json!({"type": kind, "modifiers": 2, "key": "a", "code": "KeyA",
                       "windowsVirtualKeyCode": 65, "commands": ["selectAll"]}),
            );
        }
        self.call("Input.insertText", json!({"text": text}));
    }

    /// Chooses `value` in the select `selector` with the keyboard: focus by a click
    /// elsewhere would open the native list, so it is focused, then typed to.
    fn choose(&mut self, selector: &str, value: &str) {
        self.eval(&format!(
            "document.querySelector({}).focus()",
            json!(selector)
        ));
        for c in value.chars() {
            let key = c.to_string();
            self.call(
                "Input.dispatchKeyEvent",
                json!({"type": "char", "text": key, "key": key}),
            );
        }
        let chosen = self.eval(&format!(
            "document.querySelector({}).value",
            json!(selector)
        ));
        assert_eq!(chosen, value, "{selector}");
    }

    fn text(&mut self, selector: &str) -> String {
        let v = self.eval(&format!(
            "document.querySelector({})?.innerText ?? null",
            json!(selector)
        ));
        v.as_str().unwrap_or_default().to_owned()
    }
}

/// `curl` with `args`; the body, after checking the status is 200.
fn curl(args: &[&str]) -> String {
    let (code, body) = curl_status(args);
    assert_eq!(code, "200", "curl {args:?}: {body}");
    body
}

/// `curl` with `args`: the status and the body.
fn curl_status(args: &[&str]) -> (String, String) {
    let out = Command::new("curl")
        .args(["-sS", "--max-time", "20", "-w", "\n%{http_code}"])
        .args(args)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (body, code) = text.rsplit_once('\n').unwrap();
    let body = format!("{body}{}", String::from_utf8_lossy(&out.stderr));
    (code.to_owned(), body)
}

fn api(api: SocketAddr, token: &str, path: &str) -> Value {
    let body = curl(&[
        "-H",
        &format!("Authorization: Bearer {token}"),
        &format!("http://{api}{path}"),
    ]);
    serde_json::from_str(&body).unwrap()
}

fn capacity_of(state: &Value, cdn: &str) -> u64 {
    let c = state["cdns"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == cdn);
    c.unwrap()["capacity_kbps"].as_u64().unwrap()
}

#[test]
fn an_operator_logs_in_edits_figures_customers_and_tables_and_sees_errors_in_place() {
    let demo = Demo::start();
    let c = demo.c();
    let control = c.control.as_ref().unwrap();
    let (addr, token) = (
        control.api.unwrap(),
        control.token.as_ref().unwrap().expose().to_owned(),
    );
    let special = c
        .proxy
        .as_ref()
        .unwrap()
        .special_ports
        .values()
        .next()
        .copied()
        .unwrap();
    let mut b = Browser::start();
    b.open(&format!("http://{addr}/"));

    // A wrong token: the 401 is said, the tables stay hidden.
    b.type_into("#token", "not-the-token");
    b.click("#login");
    let said = b.wait_for("!document.getElementById('login-error').hidden && document.getElementById('login-error').innerText");
    assert!(said.as_str().unwrap().contains("401"), "{said}");
    assert_eq!(b.eval("document.getElementById('app').hidden"), true);

    // The right token: the CDN table shows C and G.
    b.type_into("#token", &token);
    b.click("#login");
    b.wait_for("document.querySelector('#cdns tr[data-cdn=\"G\"]') !== null");
    let cdns = b.eval("[...document.querySelectorAll('#cdns tbody tr')].map(r => r.dataset.cdn)");
    assert_eq!(cdns, json!(["C", "G"]));
    assert!(b.text("#plan").contains('%'), "plan weights shown");

    // G's total capacity through the form: the table and the API show it.
    b.choose("#figure-cdn", "G");
    b.type_into("#figure-kbps", "50000");
    b.click("#figure-save");
    b.wait_for("document.querySelector('#cdns tr[data-cdn=\"G\"] td[data-field=capacity]').innerText === '50,000'");
    let state = api(addr, &token, "/api/state");
    assert_eq!(capacity_of(&state, "G"), 50_000);
    // The plan moved with it: the weights that changed are highlighted.
    let changed = b.wait_for("document.querySelectorAll('#plan td.changed').length");
    assert!(changed.as_u64().unwrap() >= 2, "{changed}");

    // A bad figure: the server's LINE:COL over the text the form built; nothing changed.
    b.type_into("#figure-kbps", "5x000");
    b.click("#figure-save");
    let error = b.wait_for("document.querySelector('#figure-outcome .error')?.innerText");
    let error = error.as_str().unwrap().to_owned();
    let (line_col, _) = error.split_once(' ').unwrap();
    let (line, col) = line_col.split_once(':').unwrap();
    assert_eq!(line, "1", "{error}");
    let col: usize = col.parse().unwrap_or_else(|_| panic!("{error}"));
    let shown = b.text("#figure-outcome pre");
    let sent = "CAPACITY G,CDNTOTAL:5x000!";
    assert!(shown.contains(sent), "{shown}");
    assert!(
        col > "CAPACITY G,CDNTOTAL:".len() - 1 && col <= sent.len(),
        "{error}"
    );
    let after = api(addr, &token, "/api/state");
    assert_eq!(capacity_of(&after, "G"), 50_000);
    assert_eq!(after["generation"], state["generation"]);

    // A customer added with the form, then removed with its button.
    b.type_into("#customer-name", "img.abc.com");
    b.click("#customer-add");
    b.wait_for("document.querySelector('#customers tr[data-customer=\"img.abc.com\"]') !== null");
    let names = |s: &Value| -> Vec<String> {
        s["customers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["name"].as_str().unwrap().to_owned())
            .collect()
    };
    assert!(names(&api(addr, &token, "/api/state")).contains(&"img.abc.com".to_owned()));
    b.click("#customers button[data-remove=\"img.abc.com\"]");
    b.wait_for("document.querySelector('#customers tr[data-customer=\"img.abc.com\"]') === null");
    assert!(!names(&api(addr, &token, "/api/state")).contains(&"img.abc.com".to_owned()));

    // G's URL form, edited on the page, is what the front proxy writes next.
    let page = || curl(&["-H", "Host: www.xyz.com", &format!("http://{special}/")]);
    let before = page();
    assert!(
        before.contains("foo.cdn-g.example/img.xyz.com/"),
        "{before}"
    );
    b.choose("#partner-form-kind", "table");
    b.type_into("#partner-origin", "img.xyz.com");
    b.type_into("#partner-table-host", "xyz.cdn-g.example");
    b.click("#partner-save");
    b.wait_for("document.querySelector('#partners tr[data-partner=\"G\"] [data-origin=\"img.xyz.com\"]') !== null");
    assert_eq!(
        b.text("#partners tr[data-partner=\"G\"] td[data-field=form]"),
        "table"
    );
    let routing = api(addr, &token, "/api/routing");
    assert_eq!(
        routing["partners"][0]["table"]["img.xyz.com"],
        "xyz.cdn-g.example"
    );
    let after = page();
    assert!(after.contains("//xyz.cdn-g.example/"), "{after}");
    assert!(!after.contains("foo.cdn-g.example/img.xyz.com/"), "{after}");

    // A bad offload host: refused at its LINE:COL in the text shown; nothing changed.
    b.type_into("#site-customer", "xyz");
    b.type_into("#site-offload", "bad host!");
    b.click("#site-save");
    let error = b.wait_for("document.querySelector('#routing-outcome .error')?.innerText");
    let error = error.as_str().unwrap().to_owned();
    let shown = b.text("#routing-outcome pre");
    let (line_col, _) = error.split_once(' ').unwrap();
    let line: usize = line_col
        .split(':')
        .next()
        .unwrap()
        .parse()
        .unwrap_or_else(|_| panic!("{error}"));
    let marked = shown
        .lines()
        .find(|l| l.trim_start().starts_with(&format!("{line} |")))
        .unwrap();
    assert!(marked.contains("\"bad host!\""), "{error}\n{shown}");
    assert_eq!(
        api(addr, &token, "/api/routing")["generation"],
        routing["generation"]
    );
    assert_eq!(page(), after);

    // What the front proxy's origin-map cannot build (a semantic suffix that is an IP
    // address, which the file's validation takes) is refused at the API, at the
    // partner's name, and changes nothing.
    let text = routing["toml"]
        .as_str()
        .unwrap()
        .replace("form = \"table\"", "form = \"semantic\"")
        .replace("host = \"foo.cdn-g.example\"", "host = \"192.0.2.1\"");
    assert!(text.contains("192.0.2.1"), "{text}");
    let (code, body) = curl_status(&[
        "-X",
        "PUT",
        "-H",
        &format!("Authorization: Bearer {token}"),
        "--data-binary",
        &text,
        &format!("http://{addr}/api/routing"),
    ]);
    assert_eq!(code, "400", "{body}");
    let e: Value = serde_json::from_str(&body).unwrap();
    assert!(
        e["error"].as_str().unwrap().starts_with("2:8 partner G: "),
        "{e}\n{text}"
    );
    assert_eq!(
        api(addr, &token, "/api/routing")["generation"],
        routing["generation"]
    );
    assert_eq!(page(), after);

    // The token lasts for the tab: a reload logs in again; logging out forgets it.
    b.reload();
    b.wait_for("document.querySelector('#cdns tr[data-cdn=\"G\"]') !== null");
    b.click("#logout");
    b.wait_for("!document.getElementById('login-view').hidden");
    assert_eq!(b.eval("document.getElementById('app').hidden"), true);
    assert_eq!(b.eval("sessionStorage.length"), 0);
}
