//! Harness: agent files and certificates in a temporary folder, a control component, DNS
//! engines, a partner edge G, and a DNS client.

use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use broker_config::deploy::Deployment;
use broker_control::{Control, ControlSettings};
use broker_dns::{Engine, Listeners, Options, Settings};
use broker_proxy::edge::{Edge, EdgeListeners, EdgeSettings, Regions};
use hickory_proto::op::{Message, Query};
use hickory_proto::rr::{Name, RData, RecordType};
use tokio::net::UdpSocket;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

pub(crate) const REGIONS: &str =
    "ADD REG FRANCE { 198.54.234.0, 23; }!\nADD REG LOCAL { 127.0.0.0, 8; }!\n";
/// C answers 192.0.2.10, G 192.0.2.20; both cover LOCAL (where test clients are) well.
pub(crate) const CDNS: &str = "\
ADD CDN C:400000 {A:192.0.2.10} [ FRANCE:90; LOCAL:80; DEFAULT:50; ]!
ADD CDN G:100000 {A:192.0.2.20} [ FRANCE:60; LOCAL:80; ]!
";
pub(crate) const CUSTOMERS: &str = "ADD CST xyz [ C; G; ]!\n";
pub(crate) const C_ADDR: &str = "192.0.2.10";
pub(crate) const G_ADDR: &str = "192.0.2.20";
pub(crate) const TOKEN: &str = "test-management-token";
pub(crate) const G_TOKEN: &str = "secret-c-to-g";

/// A folder with the agent files and the example test certificates.
pub(crate) fn folder() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    broker_tests::copy_example_certs(dir.path()).expect("the example certificates");
    std::fs::write(dir.path().join("regions.txt"), REGIONS).unwrap();
    std::fs::write(dir.path().join("cdn.txt"), CDNS).unwrap();
    std::fs::write(dir.path().join("customer.txt"), CUSTOMERS).unwrap();
    dir
}

/// What C's deployment says beyond the agent files.
pub(crate) struct CSetup<'a> {
    pub(crate) engines: &'a [SocketAddr],
    /// G's status server, if polled.
    pub(crate) status: Option<SocketAddr>,
    /// The token C presents to G's status server.
    pub(crate) status_token: &'a str,
    /// `[control] engine_token`, if any.
    pub(crate) engine_token: Option<&'a str>,
}

/// Writes C's deployment (customer `xyz` bound in DNS as `img.xyz.com`) and starts its
/// control component; returns it and the task serving it.
pub(crate) async fn start_control(
    dir: &Path,
    setup: &CSetup<'_>,
    settings: ControlSettings,
    shutdown: &CancellationToken,
) -> (Control, JoinHandle<()>) {
    let engines: Vec<String> = setup.engines.iter().map(|e| format!("\"{e}\"")).collect();
    let status = match setup.status {
        Some(a) => format!(
            "status = \"https://127.0.0.1:{}\"\nca = \"test-ca.pem\"\n",
            a.port()
        ),
        None => String::new(),
    };
    let engine_token = setup
        .engine_token
        .map(|t| format!("engine_token = \"{t}\"\n"))
        .unwrap_or_default();
    let toml = format!(
        r#"[node]
name = "C"

[control]
regions = "regions.txt"
cdns = "cdn.txt"
customers = "customer.txt"
engines = [{}]
management = "127.0.0.1:0"
api = "127.0.0.1:0"
token = "{TOKEN}"
alerts = "127.0.0.1:0"
tls = {{ cert = "c-alerts.pem", key = "c-alerts.key" }}
{engine_token}
[[partner]]
name = "G"
form = "embedded"
host = "foo.cdn-g.example"
token = "{}"
{status}
[[customer]]
name = "xyz"
offload = ["img.xyz.com"]
dns = ["img.xyz.com"]
"#,
        engines.join(", "),
        setup.status_token,
    );
    let file = dir.join("c.toml");
    std::fs::write(&file, toml).unwrap();
    let deployment = Deployment::read(&file).unwrap();
    let (control, serving) = Control::start_with(&deployment, settings, shutdown.clone())
        .await
        .unwrap();
    (control, tokio::spawn(serving))
}

/// Settings with short periods for tests.
pub(crate) fn quick_settings() -> ControlSettings {
    ControlSettings {
        poll_period: Duration::from_millis(100),
        poll_timeout: Duration::from_secs(2),
        retry_min: Duration::from_millis(20),
        retry_max: Duration::from_millis(200),
        engine_probe: Duration::from_millis(100),
        engine_timeout: Duration::from_secs(2),
        tick: Duration::from_millis(50),
        ..ControlSettings::default()
    }
}

/// An in-process DNS engine.
pub(crate) struct TestEngine {
    pub(crate) dns: SocketAddr,
    pub(crate) control: SocketAddr,
    pub(crate) engine: Arc<Engine>,
    shutdown: CancellationToken,
    task: JoinHandle<std::io::Result<()>>,
}

impl TestEngine {
    /// An engine with its control port on `control` (port 0: any) and DNS on `dns`.
    pub(crate) fn start(dns: SocketAddr, control: SocketAddr) -> Self {
        Self::start_with(dns, control, Options::default())
    }

    /// [`TestEngine::start`] with `options`.
    pub(crate) fn start_with(dns: SocketAddr, control: SocketAddr, options: Options) -> Self {
        let settings = Settings {
            ns: vec![broker_config::DnsName::new("ns1.cdn-c.example").unwrap()],
            ttl: 20,
            forward_port: 53,
            sticky: false,
        };
        let engine = Arc::new(Engine::new(settings, false));
        let listeners = Listeners::bind(&[dns], Some(control), None, 1).unwrap();
        let dns = listeners.dns_addrs()[0];
        let control = listeners.control_addr().unwrap();
        let shutdown = CancellationToken::new();
        let task = tokio::spawn(broker_dns::run(
            listeners,
            Arc::clone(&engine),
            options,
            shutdown.clone(),
        ));
        Self {
            dns,
            control,
            engine,
            shutdown,
            task,
        }
    }

    pub(crate) async fn stop(self) {
        self.shutdown.cancel();
        self.task.await.unwrap().unwrap();
    }
}

/// A port free now on 127.0.0.1 for TCP and UDP (for a server started later; a DNS
/// engine binds both).
pub(crate) fn free_port() -> SocketAddr {
    loop {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        if std::net::UdpSocket::bind(addr).is_ok() {
            return addr;
        }
    }
}

/// Partner G's edge: status reports over HTTPS for offloader C, alerts to `alert`.
pub(crate) struct TestEdge {
    pub(crate) shutdown: CancellationToken,
    pub(crate) task: JoinHandle<()>,
}

/// Binds G's edge; [`run_edge`] then serves it (the alert URL may need C's port first).
pub(crate) async fn bind_edge(dir: &Path) -> EdgeListeners {
    EdgeListeners::bind(
        "127.0.0.1:0".parse().unwrap(),
        Some((
            "127.0.0.1:0".parse().unwrap(),
            &dir.join("g-status.pem"),
            &dir.join("g-status.key"),
        )),
    )
    .await
    .unwrap()
}

/// Serves G's edge: `capacity_kbps` reserved for C, alerts to `alert` if given.
pub(crate) fn run_edge(
    dir: &Path,
    listeners: EdgeListeners,
    capacity_kbps: u64,
    alert: Option<SocketAddr>,
) -> TestEdge {
    let alert = match alert {
        Some(a) => format!(
            "alert = \"https://127.0.0.1:{}/alert\"\nca = \"test-ca.pem\"\n",
            a.port()
        ),
        None => String::new(),
    };
    let toml = format!(
        r#"[node]
name = "G"

[edge]
listen = "127.0.0.1:0"
status = "127.0.0.1:0"
tls = {{ cert = "g-status.pem", key = "g-status.key" }}

[[edge.offloader]]
name = "C"
token = "{G_TOKEN}"
capacity_kbps = {capacity_kbps}
embedded_hosts = ["foo.cdn-g.example"]
origins = {{ "img.xyz.com" = "http://127.0.0.1:9" }}
{alert}"#
    );
    let file = dir.join("g.toml");
    std::fs::write(&file, toml).unwrap();
    let deployment = Deployment::read(&file).unwrap();
    let role = deployment.edge.as_ref().unwrap();
    let settings =
        EdgeSettings::from_role(&deployment.node.name, role, Regions::default_only()).unwrap();
    let edge = Arc::new(Edge::new(settings).unwrap());
    let shutdown = CancellationToken::new();
    let token = shutdown.clone();
    let task = tokio::spawn(async move {
        broker_proxy::edge::run(listeners, edge, token)
            .await
            .unwrap();
    });
    TestEdge { shutdown, task }
}

/// A UDP DNS client from 127.0.0.1 (region LOCAL).
pub(crate) struct Resolver {
    socket: UdpSocket,
    server: SocketAddr,
    id: u16,
}

impl Resolver {
    pub(crate) async fn new(server: SocketAddr) -> Self {
        Self {
            socket: UdpSocket::bind("127.0.0.1:0").await.unwrap(),
            server,
            id: 0,
        }
    }

    /// The first A record of `name`, `None` for an answer without one (refused...).
    pub(crate) async fn a(&mut self, name: &str) -> Option<IpAddr> {
        self.id = self.id.wrapping_add(1);
        let mut q = Message::query();
        q.metadata.id = self.id;
        q.add_query(Query::query(Name::from_ascii(name).unwrap(), RecordType::A));
        self.socket
            .send_to(&q.to_vec().unwrap(), self.server)
            .await
            .unwrap();
        let mut buf = vec![0u8; 4096];
        loop {
            let n = tokio::time::timeout(Duration::from_secs(2), self.socket.recv(&mut buf))
                .await
                .expect("the engine answers")
                .unwrap();
            let m = Message::from_vec(&buf[..n]).unwrap();
            if m.metadata.id != self.id {
                continue; // a late answer to an earlier query
            }
            return m.answers.iter().find_map(|r| match &r.data {
                RData::A(a) => Some(IpAddr::V4(a.0)),
                _ => None,
            });
        }
    }
}

/// Waits until `cond` holds on the engine status `rx` (bounded).
pub(crate) async fn wait_engine(
    rx: &mut tokio::sync::watch::Receiver<broker_control::EngineStatus>,
    what: &str,
    cond: impl Fn(&broker_control::EngineStatus) -> bool,
) -> broker_control::EngineStatus {
    let waited = tokio::time::timeout(Duration::from_secs(20), rx.wait_for(|s| cond(s)))
        .await
        .map(|r| r.map(|s| s.clone()));
    match waited {
        Ok(Ok(status)) => status,
        _ => panic!("timed out waiting for: {what}; status {:?}", rx.borrow()),
    }
}

/// One management batch over TCP; returns the answer line.
pub(crate) async fn management(addr: SocketAddr, text: &str) -> String {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    s.write_all(text.as_bytes()).await.unwrap();
    s.shutdown().await.unwrap();
    let mut reply = String::new();
    s.read_to_string(&mut reply).await.unwrap();
    reply
}

/// `GET path` on the control API with the token; returns the body.
pub(crate) async fn api_get(addr: SocketAddr, path: &str) -> String {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let req = format!(
        "GET {path} HTTP/1.1\r\nHost: control\r\nAuthorization: Bearer {TOKEN}\r\nConnection: close\r\n\r\n"
    );
    s.write_all(req.as_bytes()).await.unwrap();
    let mut resp = String::new();
    s.read_to_string(&mut resp).await.unwrap();
    let (head, body) = resp.split_once("\r\n\r\n").unwrap();
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    body.to_owned()
}

/// The control component's state as JSON.
pub(crate) async fn state(control: &Control) -> serde_json::Value {
    serde_json::from_str(&api_get(control.api_addr().unwrap(), "/api/state").await).unwrap()
}

/// The CDN `name` of a state.
pub(crate) fn cdn<'a>(state: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    state["cdns"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap()
}

/// Polls the state (every 20 ms, at most 20 s) until `cond` holds; returns that state
/// and every state seen before it.
pub(crate) async fn wait_state(
    control: &Control,
    what: &str,
    cond: impl Fn(&serde_json::Value) -> bool,
) -> (serde_json::Value, Vec<serde_json::Value>) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    let mut seen = Vec::new();
    loop {
        let s = state(control).await;
        if cond(&s) {
            return (s, seen);
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for: {what}; last state {s}"
        );
        seen.push(s);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
