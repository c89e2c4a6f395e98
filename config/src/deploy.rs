//! Spec §7: the deployment file, one TOML file that says which roles a process plays.
//!
//! [`Deployment::parse`] takes the text and the file's name (for relative paths); it
//! reports every problem it finds, each at its `LINE:COL`, not just the first. The
//! pipeline: TOML text → raw serde structs (`deny_unknown_fields`, values `Spanned`) →
//! validated [`Deployment`]. [`Deployment::to_toml`] prints the canonical file back.
//!
//! ```
//! use broker_config::deploy::Deployment;
//! let text = "[node]\nname = \"C\"\n[proxy]\nlisten = \"127.0.0.1:8080\"\n";
//! let d = Deployment::parse(text, "conf/c.toml".as_ref()).unwrap();
//! assert_eq!(d.node.name.as_str(), "C");
//! assert_eq!(d.proxy.unwrap().listen.port(), 8080);
//! ```

mod error;
mod limits;
mod locate;
mod print;
mod raw;
mod validate;
mod values;

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use ipnet::IpNet;

pub use error::{DeployError, DeployErrors, Problem};
pub use limits::{
    CONNECTIONS, DEFAULT_CONTROL_CONNECTIONS, DEFAULT_MAX_CONNECTIONS, DEFAULT_MAX_TCP,
    DEFAULT_MAX_TRANSACTION_MB, DEFAULT_RELAY_IN_FLIGHT, DnsLimits, Rrl, TRANSACTION_MB,
};
pub use locate::{Step, locate, locate_str};
pub use values::{HostPort, HttpUrl, Scheme, TlsFiles, Token, UrlHost};

use crate::name::{DnsName, Name};

/// `[dns] ttl` when the file gives none (seconds).
pub const DEFAULT_DNS_TTL: u32 = 20;
/// `[edge] cache_mb` when the file gives none.
pub const DEFAULT_CACHE_MB: u64 = 256;

/// A whole deployment file: a role runs when its table is present.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Deployment {
    /// `[node]`: who we are.
    pub node: Node,
    /// `[dns]`: the brokering DNS engine role.
    pub dns: Option<DnsRole>,
    /// `[control]`: the control component role.
    pub control: Option<ControlRole>,
    /// `[proxy]`: the front proxy role (offloading side).
    pub proxy: Option<ProxyRole>,
    /// `[[partner]]`: CDNs we may offload to, in file order.
    pub partners: Vec<Partner>,
    /// `[[customer]]`: our customers, in file order.
    pub customers: Vec<Customer>,
    /// `[edge]`: the partner edge role (granting side).
    pub edge: Option<EdgeRole>,
    /// `[cluster]`: joins every role of the file to an etcd cluster (many hosts, one plan).
    pub cluster: Option<ClusterRole>,
}

/// `[cluster] lease_s` when the file gives none (seconds).
pub const DEFAULT_LEASE_S: u64 = 5;
/// The range of `[cluster] lease_s`.
pub const LEASE_S: std::ops::RangeInclusive<u64> = 2..=60;

/// `[cluster]`: where the shared store is and how this process takes part.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClusterRole {
    /// etcd client endpoints (`http://` or `https://`, host and port, no path), tried in
    /// order.
    pub etcd: Vec<HttpUrl>,
    /// Key prefix of this CDN's state, no trailing `/`; `/cdnbroker/<node.name>` when the
    /// file gives none.
    pub prefix: String,
    /// The leader's lease and members' liveness.
    pub lease: Duration,
    /// The address other hosts reach this process at (for a wildcard listen address).
    pub advertise: Option<UrlHost>,
    /// Trust roots of `https://` endpoints; `None`: the system's.
    pub ca: Option<PathBuf>,
    /// etcd authentication: the user and the file holding its password.
    pub auth: Option<EtcdAuth>,
}

/// `[cluster] user` and `password_file`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EtcdAuth {
    /// The etcd user.
    pub user: String,
    /// The file whose first line is the password (never written in the TOML).
    pub password_file: PathBuf,
}

impl ClusterRole {
    /// The default prefix for a CDN named `node`.
    pub fn default_prefix(node: &Name) -> String {
        format!("/cdnbroker/{node}")
    }
}

/// `[node]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Node {
    /// This CDN's id: the CDN-ID in the alerts it sends, its `ADD CDN` name.
    pub name: Name,
}

/// `[dns]`: the brokering DNS engine.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DnsRole {
    /// UDP and TCP addresses answering queries.
    pub listen: Vec<SocketAddr>,
    /// The control port (spec §1 transactions).
    pub control: SocketAddr,
    /// Names put in the SOA/NS records of served domains.
    pub ns: Vec<DnsName>,
    /// TTL of redirecting answers, seconds.
    pub ttl: u32,
    /// Where to log queries, if anywhere.
    pub query_log: Option<PathBuf>,
    /// A transaction (spec §1) applied at start.
    pub load: Option<PathBuf>,
    /// Prometheus endpoint.
    pub metrics: Option<SocketAddr>,
    /// `dnssec` (spec §10): the folder of key pairs that sign the zones they name.
    pub dnssec: Option<PathBuf>,
    /// `signature_days` (spec §10): validity of each signature, days.
    pub signature_days: u32,
    /// Caps and the control port's token (spec §11).
    pub limits: DnsLimits,
}

/// `[dns] signature_days` when the file gives none.
pub const DEFAULT_SIGNATURE_DAYS: u32 = 7;
/// The range of `[dns] signature_days`.
pub const SIGNATURE_DAYS: std::ops::RangeInclusive<u64> = 1..=90;

/// `[control]`: the control component.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ControlRole {
    /// regions.txt (spec §2).
    pub regions: PathBuf,
    /// cdn.txt (spec §2).
    pub cdns: PathBuf,
    /// customer.txt (spec §2).
    pub customers: PathBuf,
    /// The DNS engines' control ports it drives.
    pub engines: Vec<SocketAddr>,
    /// Management port (spec §3), if opened.
    pub management: Option<SocketAddr>,
    /// HTTP API, operator page and metrics, if opened.
    pub api: Option<SocketAddr>,
    /// Credential of `management` and `api` (present when either is set or `alerts` is).
    pub token: Option<Token>,
    /// HTTPS receiver of partners' alerts (spec §4), if opened.
    pub alerts: Option<SocketAddr>,
    /// Certificate for `alerts` (present when `alerts` is).
    pub tls: Option<TlsFiles>,
    /// `poll_period_s` (added key): how often the load agent polls each partner's status
    /// reports; `None`: the component's default (10 s).
    pub poll_period: Option<Duration>,
    /// `poll_timeout_s` (added key): how long one poll may take; `None`: the default (5 s).
    pub poll_timeout: Option<Duration>,
    /// `max_connections` (spec §11): management, API and alert connections together;
    /// `None`: [`DEFAULT_CONTROL_CONNECTIONS`].
    pub max_connections: Option<usize>,
    /// `engine_token` (spec §11): sent as `AUTH` to engines.
    pub engine_token: Option<Token>,
}

/// `[proxy]`: the front proxy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProxyRole {
    /// Where clients connect.
    pub listen: SocketAddr,
    /// One extra port per partner that forces that partner.
    pub special_ports: BTreeMap<Name, SocketAddr>,
    /// Peers whose `X-Forwarded-For` is believed (a bare address is a /32 or /128).
    pub trusted_proxies: Vec<IpNet>,
    /// Prometheus endpoint.
    pub metrics: Option<SocketAddr>,
    /// Where clients connect over TLS (added key, not in spec §7's list): the certificate
    /// is chosen among `tls` by SNI; HTTP/2 or HTTP/1.1 by ALPN.
    pub https_listen: Option<SocketAddr>,
    /// Certificates of the sites served on `https_listen` (added key; required, one entry
    /// at least, when `https_listen` is set).
    pub tls: Vec<SiteTls>,
    /// Trust roots (PEM) for `https://` origins besides the system's (added key).
    pub origin_ca: Option<PathBuf>,
    /// Deadlines and the request head limit (added keys).
    pub limits: ProxyLimits,
}

/// The front proxy's deadlines and request head limit, as `[proxy]` may set them (added
/// keys, all optional); `None`: the proxy's own default.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ProxyLimits {
    /// `origin_timeout_s`: how long an origin may take to send its response head.
    pub origin_timeout: Option<Duration>,
    /// `origin_idle_timeout_s`: how long an origin body may stall between two chunks.
    pub origin_idle_timeout: Option<Duration>,
    /// `client_header_timeout_s`: how long a client may take to send a request head.
    pub client_header_timeout: Option<Duration>,
    /// `client_write_timeout_s`: how long a client may leave our writes unread.
    pub client_write_timeout: Option<Duration>,
    /// `max_header_bytes`: the largest request head accepted.
    pub max_header_bytes: Option<usize>,
    /// `rewrite_cache_mb`: memory for rewrite plans of pages seen before, in MiB (0: off).
    pub rewrite_cache_mb: Option<u32>,
    /// `max_connections` (spec §11): client connections over all listeners;
    /// `None`: [`DEFAULT_MAX_CONNECTIONS`].
    pub max_connections: Option<usize>,
}

/// The longest deadline `[proxy]` accepts, in seconds (a day).
pub const MAX_PROXY_TIMEOUT_S: u64 = 86_400;
/// The largest `[proxy] rewrite_cache_mb`: 64 GiB.
pub const MAX_REWRITE_CACHE_MB: u64 = 65_536;
/// The range of `[proxy] max_header_bytes`: 1 KiB to 16 MiB.
pub const PROXY_HEADER_BYTES: std::ops::RangeInclusive<u64> = 1024..=16 * 1024 * 1024;

/// One entry of `[proxy] tls = [{ names = [...], cert = "...", key = "..." }]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SiteTls {
    /// Host names the certificate is served for, lower-case; `*.example.com` matches one
    /// label below `example.com`.
    pub names: Vec<String>,
    /// The certificate chain and key.
    pub files: TlsFiles,
}

/// `[[partner]]`: a CDN we may offload to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Partner {
    /// Its name, as in `ADD CDN <name>` of cdn.txt.
    pub name: Name,
    /// The URL form its edge accepts from us (spec §5).
    pub form: UrlForm,
    /// Embedded form: the partner host; semantic form: the suffix that follows the origin
    /// host (our label included). Always present for these two forms.
    pub host: Option<HostPort>,
    /// Table form: origin host → partner host. Never empty for the table form. (Keys of
    /// the forms not chosen may be given too: they are kept, not used.)
    pub table: BTreeMap<HostPort, HostPort>,
    /// Its status reports (spec §4), HTTPS.
    pub status: Option<HttpUrl>,
    /// Our bearer token towards it.
    pub token: Option<Token>,
    /// Trust roots for its TLS; `None`: the system's.
    pub ca: Option<PathBuf>,
}

/// The three URL forms of spec §5.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum UrlForm {
    /// `http://<host>/<origin-host>/<path>`.
    Embedded,
    /// `http://<table[origin-host]>/<path>`.
    Table,
    /// `http://<origin-host>.<host>/<path>`.
    Semantic,
}

impl UrlForm {
    /// The name used for `form` in the file.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Embedded => "embedded",
            Self::Table => "table",
            Self::Semantic => "semantic",
        }
    }
}

/// `[[customer]]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Customer {
    /// Its name, as in `ADD CST <name>` of customer.txt.
    pub name: Name,
    /// Hosts whose root pages go through the front proxy.
    pub site: Vec<HostPort>,
    /// Hosts of embedded content that may go to a partner.
    pub offload: Vec<HostPort>,
    /// Names DNS-outsourced to us.
    pub dns: Vec<DnsName>,
    /// Where each host is really fetched from (names every `site` host).
    pub origin: BTreeMap<HostPort, HttpUrl>,
}

/// `[edge]`: the partner edge.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EdgeRole {
    /// Where offloaded clients connect.
    pub listen: SocketAddr,
    /// Status report server (spec §4, HTTPS), if any.
    pub status: Option<SocketAddr>,
    /// Certificate for `status` (present when `status` is).
    pub tls: Option<TlsFiles>,
    /// Cache size, MiB.
    pub cache_mb: u64,
    /// Prometheus endpoint.
    pub metrics: Option<SocketAddr>,
    /// `max_connections` (spec §11); `None`: [`DEFAULT_MAX_CONNECTIONS`].
    pub max_connections: Option<usize>,
    /// The CDNs that offload to us.
    pub offloaders: Vec<Offloader>,
}

/// `[[edge.offloader]]`: a CDN that offloads to us.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Offloader {
    /// Its name (the CDN-ID we check and report to).
    pub name: Name,
    /// The bearer token it presents.
    pub token: Token,
    /// Capacity reserved for it; `None`: no alerts.
    pub capacity_kbps: Option<u64>,
    /// Embedded-form partner hosts that mean this offloader.
    pub embedded_hosts: Vec<HostPort>,
    /// Semantic-form suffix that means this offloader.
    pub semantic_suffix: Option<HostPort>,
    /// Table form: partner host → origin host.
    pub table: BTreeMap<HostPort, HostPort>,
    /// Allowed origin hosts and their back doors.
    pub origins: BTreeMap<HostPort, HttpUrl>,
    /// Its load agent's alert URLs, HTTPS, tried in order (one per control replica;
    /// empty: no alerts).
    pub alert: Vec<HttpUrl>,
    /// Trust roots for `alert`; `None`: the system's.
    pub ca: Option<PathBuf>,
}

impl Deployment {
    /// Parses and validates a deployment file. `file` names it: relative paths in it are
    /// resolved against its folder; it is not read.
    pub fn parse(text: &str, file: &Path) -> Result<Self, DeployErrors> {
        validate::parse(text, base_dir(file))
    }

    /// Reads and parses a deployment file from disk.
    pub fn read(file: &Path) -> Result<Self, ReadError> {
        let text = std::fs::read_to_string(file).map_err(|source| ReadError::Io {
            file: file.to_owned(),
            source,
        })?;
        Self::parse(&text, file).map_err(|errors| ReadError::Invalid {
            file: file.to_owned(),
            errors,
        })
    }

    /// The canonical TOML of this deployment; paths under `file`'s folder are written
    /// relative to it, so `parse(to_toml(f), f)` gives the deployment back.
    pub fn to_toml(&self, file: &Path) -> String {
        print::to_toml(self, base_dir(file))
    }

    /// Every file this deployment names that cdnbroker reads at start, with the key that
    /// names it (`control.regions`, `edge.tls.cert`...). Output files (`query_log`) are not
    /// listed.
    pub fn input_files(&self) -> Vec<(&'static str, &Path)> {
        let mut files: Vec<(&'static str, &Path)> = Vec::new();
        if let Some(dns) = &self.dns {
            files.extend(dns.load.as_deref().map(|p| ("dns.load", p)));
        }
        if let Some(c) = &self.control {
            files.push(("control.regions", &c.regions));
            files.push(("control.cdns", &c.cdns));
            files.push(("control.customers", &c.customers));
            if let Some(tls) = &c.tls {
                files.push(("control.tls.cert", &tls.cert));
                files.push(("control.tls.key", &tls.key));
            }
        }
        if let Some(proxy) = &self.proxy {
            for t in &proxy.tls {
                files.push(("proxy.tls.cert", &t.files.cert));
                files.push(("proxy.tls.key", &t.files.key));
            }
            files.extend(proxy.origin_ca.as_deref().map(|ca| ("proxy.origin_ca", ca)));
        }
        for p in &self.partners {
            files.extend(p.ca.as_deref().map(|ca| ("partner.ca", ca)));
        }
        if let Some(cluster) = &self.cluster {
            files.extend(cluster.ca.as_deref().map(|ca| ("cluster.ca", ca)));
            if let Some(auth) = &cluster.auth {
                files.push(("cluster.password_file", &auth.password_file));
            }
        }
        if let Some(edge) = &self.edge {
            if let Some(tls) = &edge.tls {
                files.push(("edge.tls.cert", &tls.cert));
                files.push(("edge.tls.key", &tls.key));
            }
            for o in &edge.offloaders {
                files.extend(o.ca.as_deref().map(|ca| ("edge.offloader.ca", ca)));
            }
        }
        files
    }
}

/// [`Deployment::read`] failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReadError {
    /// The file could not be read.
    #[error("{}: {source}", file.display())]
    Io {
        /// The file.
        file: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file has errors; printed one `FILE:LINE:COL: message` per line.
    #[error("{}", prefix_lines(file, errors))]
    Invalid {
        /// The file.
        file: PathBuf,
        /// Its errors.
        errors: DeployErrors,
    },
}

fn prefix_lines(file: &Path, errors: &DeployErrors) -> String {
    let lines: Vec<String> = errors
        .errors
        .iter()
        .map(|e| format!("{}:{e}", file.display()))
        .collect();
    lines.join("\n")
}

fn base_dir(file: &Path) -> &Path {
    file.parent().unwrap_or(Path::new(""))
}

/// An address in `trusted_proxies`: a bare address is the prefix of just that address.
fn parse_trusted(s: &str) -> Option<IpNet> {
    s.parse::<IpNet>()
        .ok()
        .or_else(|| s.parse::<IpAddr>().ok().map(IpNet::from))
}
