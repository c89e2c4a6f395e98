//! An in-process engine on port 0, a control client, and real tools.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use broker_dns::control::ControlLimits;
use broker_dns::triangle::Triangle;
use broker_dns::{Engine, Listeners, Options, Settings};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// The spec §1 example transaction, with a few more bindings used by the tests.
pub(crate) const EXAMPLE: &str = "
ADD REG FRANCE { 198.54.234.0, 23; 209.88.72.0, 21; }!
ADD REG GERMANY { 196.8.0.0, 16; 2001:db8:de::, 48; }!
ADD CVG two-cdns {
  FRANCE,  [70 = A:192.0.2.10; 30 = N:(ns1.cdn-g.example 198.51.100.53);];
  GERMANY, [100 = C:.cdn-g.example;];
  DEFAULT, [100 = A:192.0.2.10; 100 = A:2001:db8::10;];
}!
ADD CVG fixed { DEFAULT, [0 = A:192.0.2.99; 1 = C:target.example;]; }!
ADD CST img.xyz.com { two-cdns; }!
ADD CST a.img.xyz.com { fixed; }!
END
";

/// How to start a test engine.
pub(crate) struct Setup {
    pub(crate) control_idle: Duration,
    pub(crate) forward_port: u16,
    pub(crate) triangle: bool,
    pub(crate) query_log: bool,
    /// The DNS listener's address (control and metrics stay on 127.0.0.1).
    pub(crate) dns_listen: SocketAddr,
    /// The folder of DNSSEC keys (spec §10), when the engine signs.
    pub(crate) dnssec: Option<PathBuf>,
    /// Control port limits (the idle timeout above wins).
    pub(crate) control: ControlLimits,
    /// Spec §11 caps.
    pub(crate) rrl: Option<broker_config::deploy::Rrl>,
    pub(crate) max_tcp: usize,
    pub(crate) relay_in_flight: usize,
    pub(crate) relay_timeout: Duration,
}

impl Default for Setup {
    fn default() -> Self {
        Self {
            control_idle: Duration::from_secs(30),
            forward_port: 53,
            triangle: false,
            query_log: false,
            dns_listen: "127.0.0.1:0".parse().unwrap(),
            dnssec: None,
            control: ControlLimits::default(),
            rrl: None,
            max_tcp: Options::default().max_tcp,
            relay_in_flight: Options::default().relay_in_flight,
            relay_timeout: Duration::from_secs(2),
        }
    }
}

/// A running engine.
pub(crate) struct TestEngine {
    pub(crate) dns: SocketAddr,
    pub(crate) control: SocketAddr,
    pub(crate) metrics: SocketAddr,
    pub(crate) engine: Arc<Engine>,
    pub(crate) log: Option<PathBuf>,
    shutdown: CancellationToken,
    task: JoinHandle<std::io::Result<()>>,
    _dir: tempfile::TempDir,
}

impl TestEngine {
    pub(crate) async fn start() -> Self {
        Self::start_with(Setup::default()).await
    }

    pub(crate) async fn start_with(setup: Setup) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let settings = Settings {
            ns: vec![broker_config::DnsName::new("ns1.broker.example").unwrap()],
            ttl: 20,
            forward_port: setup.forward_port,
            sticky: false,
        };
        let triangle = if setup.triangle {
            Triangle::open().ok().map(Arc::new)
        } else {
            None
        };
        let mut engine = Engine::new(settings, triangle.is_some());
        if let Some(folder) = setup.dnssec {
            engine = engine
                .with_dnssec(broker_dns::engine::Dnssec {
                    folder,
                    signature_days: 7,
                })
                .unwrap();
        }
        let engine = Arc::new(engine);
        let listeners = Listeners::bind(
            &[setup.dns_listen],
            Some("127.0.0.1:0".parse().unwrap()),
            Some("127.0.0.1:0".parse().unwrap()),
            1,
        )
        .unwrap();
        let log = setup.query_log.then(|| dir.path().join("queries.log"));
        let me_dns = listeners.dns_addrs()[0];
        let control = listeners.control_addr().unwrap();
        let metrics = listeners.metrics_addr().unwrap();
        let options = Options {
            control: ControlLimits {
                idle: setup.control_idle,
                ..setup.control
            },
            query_log: log.clone(),
            relay_timeout: setup.relay_timeout,
            triangle,
            rrl: setup.rrl,
            max_tcp: setup.max_tcp,
            relay_in_flight: setup.relay_in_flight,
            ..Options::default()
        };
        let shutdown = CancellationToken::new();
        let task = tokio::spawn(broker_dns::run(
            listeners,
            Arc::clone(&engine),
            options,
            shutdown.clone(),
        ));
        Self {
            dns: me_dns,
            control,
            metrics,
            engine,
            log,
            shutdown,
            task,
            _dir: dir,
        }
    }

    /// Sends a transaction on the control port (half-closing after it) and returns the
    /// reply line.
    pub(crate) async fn transact(&self, text: &str) -> String {
        control_exchange(self.control, text).await
    }

    /// Stops the engine and returns the query log's contents (empty without a log).
    pub(crate) async fn stop(self) -> String {
        self.shutdown.cancel();
        self.task.await.unwrap().unwrap();
        match &self.log {
            Some(p) => std::fs::read_to_string(p).unwrap(),
            None => String::new(),
        }
    }
}

pub(crate) async fn control_exchange(control: SocketAddr, text: &str) -> String {
    let mut s = TcpStream::connect(control).await.unwrap();
    s.write_all(text.as_bytes()).await.unwrap();
    s.shutdown().await.unwrap();
    let mut reply = String::new();
    s.read_to_string(&mut reply).await.unwrap();
    reply
}

/// Runs dig against `server` with `args` and returns its output.
pub(crate) async fn dig(server: SocketAddr, args: &[&str]) -> String {
    let out = tokio::process::Command::new("dig")
        .arg(format!("@{}", server.ip()))
        .arg("-p")
        .arg(server.port().to_string())
        .args(["+time=5", "+tries=1"])
        .args(args)
        .output()
        .await
        .expect("dig runs (scripts/setup installs bind9-dnsutils)");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The records of dig's answer section as (name, type, data).
pub(crate) fn section(out: &str, name: &str) -> Vec<(String, String, String)> {
    let header = format!(";; {name} SECTION:");
    let mut lines = out.lines().skip_while(|l| *l != header).skip(1);
    let mut records = Vec::new();
    for l in lines.by_ref() {
        if l.trim().is_empty() {
            break;
        }
        let f: Vec<&str> = l.split_whitespace().collect();
        if f.len() >= 5 {
            records.push((f[0].to_owned(), f[3].to_owned(), f[4..].join(" ")));
        }
    }
    records
}

/// A free UDP+TCP port on 127.0.0.1 (bound then released, for servers that take a port
/// number in their configuration).
pub(crate) fn free_port() -> u16 {
    loop {
        let u = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let port = u.local_addr().unwrap().port();
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

/// True when `tool` can be run (tests needing a tool not installed fail with a message
/// naming the package that scripts/setup installs).
pub(crate) fn require(tool: &str, package: &str) {
    let found = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {tool} || test -x /usr/sbin/{tool}"))
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    assert!(
        found,
        "{tool} is missing: run scripts/setup (Debian package {package})"
    );
}
