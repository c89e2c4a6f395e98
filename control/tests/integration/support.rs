//! A control component on port 0 with the agent files and test certificates in a
//! temporary folder, and the clients the tests use.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use broker_config::deploy::Deployment;
use broker_control::{Control, ControlSettings};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

pub(crate) const REGIONS: &str =
    "ADD REG FRANCE { 198.54.234.0, 23; }!\nADD REG LOCAL { 127.0.0.0, 8; }!\n";
pub(crate) const CDNS: &str = "\
ADD CDN C:400000 {A:192.0.2.10} [ FRANCE:90; LOCAL:80; DEFAULT:50; ]!
ADD CDN G:100000 {A:192.0.2.20} [ FRANCE:60; LOCAL:80; ]!
";
pub(crate) const CUSTOMERS: &str = "ADD CST img.xyz.com [ C; G; ]!\n";
pub(crate) const TOKEN: &str = "test-management-token";
pub(crate) const G_TOKEN: &str = "secret-c-to-g";

/// A running control component.
pub(crate) struct World {
    pub(crate) dir: tempfile::TempDir,
    pub(crate) control: Control,
    shutdown: CancellationToken,
    task: JoinHandle<()>,
}

fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples")
}

impl World {
    pub(crate) async fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        for f in ["c-alerts.pem", "c-alerts.key", "test-ca.pem"] {
            std::fs::copy(examples().join(f), dir.path().join(f)).unwrap();
        }
        std::fs::write(dir.path().join("regions.txt"), REGIONS).unwrap();
        std::fs::write(dir.path().join("cdn.txt"), CDNS).unwrap();
        std::fs::write(dir.path().join("customer.txt"), CUSTOMERS).unwrap();
        let toml = format!(
            r#"[node]
name = "C"

[control]
regions = "regions.txt"
cdns = "cdn.txt"
customers = "customer.txt"
engines = []
management = "127.0.0.1:0"
api = "127.0.0.1:0"
token = "{TOKEN}"
alerts = "127.0.0.1:0"
tls = {{ cert = "c-alerts.pem", key = "c-alerts.key" }}

[[partner]]
name = "G"
form = "embedded"
host = "foo.cdn-g.example"
token = "{G_TOKEN}"
"#
        );
        let file = dir.path().join("c.toml");
        std::fs::write(&file, toml).unwrap();
        let deployment = Deployment::read(&file).unwrap();
        let shutdown = CancellationToken::new();
        let (control, serving) =
            Control::start_with(&deployment, ControlSettings::default(), shutdown.clone())
                .await
                .unwrap();
        let task = tokio::spawn(serving);
        Self {
            dir,
            control,
            shutdown,
            task,
        }
    }

    pub(crate) fn management(&self) -> SocketAddr {
        self.control.management_addr().unwrap()
    }

    pub(crate) fn api(&self) -> String {
        format!("http://{}", self.control.api_addr().unwrap())
    }

    pub(crate) fn alerts(&self) -> String {
        format!(
            "https://127.0.0.1:{}/alert",
            self.control.alerts_addr().unwrap().port()
        )
    }

    pub(crate) fn ca(&self) -> PathBuf {
        self.dir.path().join("test-ca.pem")
    }

    /// The state as the API shows it.
    pub(crate) async fn state(&self) -> StateJson {
        let (status, body) = curl(&[
            "-H",
            &format!("Authorization: Bearer {TOKEN}"),
            &format!("{}/api/state", self.api()),
        ])
        .await;
        assert_eq!(status, 200, "{body}");
        StateJson(serde_json::from_str(&body).unwrap())
    }

    pub(crate) async fn stop(self) {
        self.shutdown.cancel();
        tokio::time::timeout(Duration::from_secs(10), self.task)
            .await
            .expect("the control component stops")
            .unwrap();
    }
}

/// `/api/state` as JSON, with shortcuts.
pub(crate) struct StateJson(pub(crate) serde_json::Value);

impl StateJson {
    pub(crate) fn generation(&self) -> u64 {
        self.0["generation"].as_u64().unwrap()
    }

    pub(crate) fn cdn(&self, name: &str) -> &serde_json::Value {
        self.0["cdns"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == name)
            .unwrap_or_else(|| panic!("no cdn {name} in {}", self.0))
    }

    pub(crate) fn customers(&self) -> Vec<String> {
        self.0["customers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["name"].as_str().unwrap().to_owned())
            .collect()
    }

    /// The weight of `cdn` for the group holding `customer` in `region` (0 if absent).
    pub(crate) fn weight(&self, customer: &str, region: &str, cdn: &str) -> f64 {
        let group = self.0["plan"]["groups"]
            .as_array()
            .unwrap()
            .iter()
            .find(|g| {
                g["customers"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|c| c == customer)
            })
            .unwrap_or_else(|| panic!("no group for {customer}"));
        group["weights"][region][cdn].as_f64().unwrap_or(0.0)
    }
}

/// One management batch: writes `text`, half-closes, returns the answer line.
pub(crate) async fn management(addr: SocketAddr, text: &str) -> String {
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(text.as_bytes()).await.unwrap();
    s.shutdown().await.unwrap();
    let mut reply = String::new();
    s.read_to_string(&mut reply).await.unwrap();
    reply
}

/// Runs curl with `args`; returns the HTTP status and the body.
pub(crate) async fn curl(args: &[&str]) -> (u16, String) {
    let out = tokio::process::Command::new("curl")
        .args(["-sS", "--max-time", "10", "-w", "\n%{http_code}"])
        .args(args)
        .output()
        .await
        .expect("curl runs (scripts/setup installs it)");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (body, code) = text.rsplit_once('\n').unwrap_or(("", &text));
    match code.trim().parse() {
        Ok(code) if code > 0 => (code, body.to_owned()),
        // No HTTP answer: say why.
        _ => (0, String::from_utf8_lossy(&out.stderr).into_owned()),
    }
}
