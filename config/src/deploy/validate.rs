//! Raw serde sections → a validated [`Deployment`], collecting every error on the way.

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::ops::Range;
use std::path::Path;
use std::time::Duration;

use serde::de::DeserializeOwned;
use toml::Spanned;
use toml::de::{DeTable, DeValue, ValueDeserializer};

use super::error::{DeployError, DeployErrors, Problem};
use super::locate::LineIndex;
use super::raw::{
    RawCluster, RawControl, RawCustomer, RawDns, RawEdge, RawNode, RawOffloader, RawPartner,
    RawProxy, RawSiteTls, S, StrMap,
};
use super::values::{HostPort, HttpUrl, Scheme, TlsFiles, UrlHost};
use super::{
    ClusterRole, ControlRole, Customer, DEFAULT_CACHE_MB, DEFAULT_DNS_TTL, DEFAULT_LEASE_S,
    DEFAULT_SIGNATURE_DAYS, Deployment, DnsRole, EdgeRole, EtcdAuth, LEASE_S, MAX_PROXY_TIMEOUT_S,
    MAX_REWRITE_CACHE_MB, Node, Offloader, PROXY_HEADER_BYTES, Partner, ProxyLimits, ProxyRole,
    SIGNATURE_DAYS, SiteTls, UrlForm, parse_trusted,
};

mod cross_checks;
mod limit_checks;
mod value_checks;

pub(super) fn parse(text: &str, base: &Path) -> Result<Deployment, DeployErrors> {
    let mut ck = Checker {
        lines: LineIndex::new(text),
        base,
        errors: Vec::new(),
        listeners: Vec::new(),
    };
    let (root, syntax) = DeTable::parse_recoverable(text);
    if !syntax.is_empty() {
        // A broken document gives half-read tables: report the syntax only.
        for e in syntax {
            ck.toml(e, 0);
        }
        return Err(ck.into_errors());
    }
    let sections = ck.split(root.into_inner());
    let deployment = ck.deployment(sections);
    ck.check_listeners();
    match deployment {
        Some(d) if ck.errors.is_empty() => Ok(d),
        _ => Err(ck.into_errors()),
    }
}

/// The raw sections; `None` for an absent table, `broken` set when one did not
/// deserialize (its cross-checks are then skipped rather than reported twice).
#[derive(Default)]
struct Sections {
    node: Option<RawNode>,
    dns: Option<RawDns>,
    control: Option<RawControl>,
    proxy: Option<RawProxy>,
    partners: Vec<RawPartner>,
    customers: Vec<RawCustomer>,
    edge: Option<RawEdge>,
    cluster: Option<RawCluster>,
    broken: bool,
}

struct Checker<'a> {
    lines: LineIndex,
    base: &'a Path,
    errors: Vec<DeployError>,
    /// Every address a role listens on, with its key, for the reuse check.
    listeners: Vec<(SocketAddr, String, usize)>,
}

impl Checker<'_> {
    fn into_errors(mut self) -> DeployErrors {
        self.errors.sort_by_key(DeployError::pos);
        DeployErrors {
            errors: self.errors,
        }
    }

    fn toml(&mut self, e: toml::de::Error, fallback: usize) {
        let at = e.span().map_or(fallback, |s| s.start);
        self.errors.push(DeployError::Toml {
            pos: self.lines.pos(at),
            source: e,
        });
    }

    fn invalid(&mut self, span: Range<usize>, problem: Problem) {
        self.errors.push(DeployError::Invalid {
            pos: self.lines.pos(span.start),
            problem,
        });
    }

    // ---- sections

    fn split(&mut self, root: DeTable<'_>) -> Sections {
        let mut s = Sections::default();
        for (key, value) in root {
            match key.get_ref().as_ref() {
                "node" => s.node = self.section(value, &mut s.broken),
                "dns" => s.dns = self.section(value, &mut s.broken),
                "control" => s.control = self.section(value, &mut s.broken),
                "proxy" => s.proxy = self.section(value, &mut s.broken),
                "edge" => s.edge = self.section(value, &mut s.broken),
                "cluster" => s.cluster = self.section(value, &mut s.broken),
                "partner" => s.partners = self.array("partner", value, &mut s.broken),
                "customer" => s.customers = self.array("customer", value, &mut s.broken),
                other => self.invalid(key.span(), Problem::UnknownSection(other.to_owned())),
            }
        }
        s
    }

    /// Deserializes one section. A key that is unknown or holds a value of the wrong type
    /// is reported, taken out and the section read again, so that every such mistake of
    /// a table is reported at once. After a wrong type the section is not used further
    /// (its other checks could only repeat the same mistake).
    fn section<T: DeserializeOwned>(
        &mut self,
        mut value: Spanned<DeValue<'_>>,
        broken: &mut bool,
    ) -> Option<T> {
        let at = value.span().start;
        let mut taken: Vec<String> = Vec::new();
        loop {
            match T::deserialize(ValueDeserializer::from(value.clone())) {
                Ok(t) if taken.is_empty() => return Some(t),
                Ok(_) => {
                    *broken = true;
                    return None;
                }
                Err(e) => {
                    let missing = e.message().strip_prefix("missing field `");
                    if missing.is_some_and(|m| taken.iter().any(|k| m == format!("{k}`"))) {
                        *broken = true; // the key was there, with a value already reported
                        return None;
                    }
                    let unknown = e.message().starts_with("unknown field");
                    let removed = e
                        .span()
                        .and_then(|s| remove_entry_at(value.get_mut(), s.start, !unknown));
                    self.toml(e, at);
                    match removed {
                        Some(key) if !unknown => taken.push(key),
                        Some(_) => {}
                        None => {
                            *broken = true;
                            return None;
                        }
                    }
                }
            }
        }
    }

    /// An array of tables, each deserialized alone so that each reports its own error.
    fn array<T: DeserializeOwned>(
        &mut self,
        key: &'static str,
        value: Spanned<DeValue<'_>>,
        broken: &mut bool,
    ) -> Vec<T> {
        let span = value.span();
        let DeValue::Array(items) = value.into_inner() else {
            self.invalid(
                span,
                Problem::WrongKind {
                    key,
                    expected: "an array of tables ([[...]])",
                },
            );
            *broken = true;
            return Vec::new();
        };
        items
            .iter()
            .filter_map(|item| self.section(item.clone(), broken))
            .collect()
    }

    fn deployment(&mut self, s: Sections) -> Option<Deployment> {
        let node = match &s.node {
            Some(raw) => self.name(&raw.name).map(|name| Node { name }),
            None => {
                if !s.broken {
                    self.invalid(0..0, Problem::MissingSection("node"));
                }
                None
            }
        };
        let dns = s.dns.as_ref().map(|raw| self.dns(raw));
        let control = s.control.as_ref().map(|raw| self.control(raw));
        let partners = self.partners(&s.partners, node.as_ref());
        let partner_names: Vec<&str> = s
            .partners
            .iter()
            .map(|p| p.name.get_ref().as_str())
            .collect();
        let known = (!s.broken).then_some(partner_names.as_slice());
        let proxy = s.proxy.as_ref().map(|raw| self.proxy(raw, known));
        let customers = self.customers(&s.customers);
        let edge = s.edge.as_ref().map(|raw| self.edge(raw));
        let cluster = s
            .cluster
            .as_ref()
            .map(|raw| self.cluster(raw, node.as_ref()));
        Some(Deployment {
            node: node?,
            dns: dns.map_or(Some(None), |v| v.map(Some))?,
            control: control.map_or(Some(None), |v| v.map(Some))?,
            proxy: proxy.map_or(Some(None), |v| v.map(Some))?,
            partners: partners.into_iter().collect::<Option<_>>()?,
            customers: customers?,
            edge: edge.map_or(Some(None), |v| v.map(Some))?,
            cluster: cluster.map_or(Some(None), |v| v.map(Some))?,
        })
    }

    /// `[cluster]`: endpoints, prefix, lease and credentials (spec §8).
    fn cluster(&mut self, raw: &RawCluster, node: Option<&Node>) -> Option<ClusterRole> {
        if raw.etcd.get_ref().is_empty() {
            self.invalid(
                raw.etcd.span(),
                Problem::BadValue("`cluster.etcd` lists no endpoint"),
            );
        }
        let etcd = self.all(raw.etcd.get_ref(), |ck, u| {
            ck.url(u, UrlUse::NoPath(Scheme::Http))
        });
        let prefix = match &raw.prefix {
            Some(p) => self.etcd_prefix(p),
            None => node.map(|n| ClusterRole::default_prefix(&n.name)),
        };
        let lease = self.bounded::<u64>(
            raw.lease_s.as_ref(),
            LEASE_S,
            "expected whole seconds from 2 to 60",
        );
        let advertise = raw.advertise.as_ref().map(|a| {
            UrlHost::parse_bare(a.get_ref())
                .map_err(|e| self.invalid(a.span(), Problem::BadValue(e)))
                .ok()
        });
        let ca = raw.ca.as_ref().map(|p| self.path(p));
        let auth = match (&raw.user, &raw.password_file) {
            (Some(user), Some(file)) => {
                let name_ok = !user.get_ref().is_empty()
                    && user.get_ref().bytes().all(|b| b.is_ascii_graphic());
                if !name_ok {
                    self.invalid(
                        user.span(),
                        Problem::BadValue("an etcd user has visible ASCII characters, no blanks"),
                    );
                }
                let file = self.path(file);
                Some(
                    name_ok
                        .then_some(())
                        .and(file)
                        .map(|password_file| EtcdAuth {
                            user: user.get_ref().clone(),
                            password_file,
                        }),
                )
            }
            (Some(user), None) => {
                self.required(user.span(), "password_file", "when `user` is set");
                Some(None)
            }
            (None, Some(file)) => {
                self.required(file.span(), "user", "when `password_file` is set");
                Some(None)
            }
            (None, None) => None,
        };
        Some(ClusterRole {
            etcd: etcd?,
            prefix: prefix?,
            lease: Duration::from_secs(lease?.unwrap_or(DEFAULT_LEASE_S)),
            advertise: advertise.map_or(Some(None), |v| v.map(Some))?,
            ca: ca.map_or(Some(None), |v| v.map(Some))?,
            auth: auth.map_or(Some(None), |v| v.map(Some))?,
        })
    }

    /// A key prefix: `/` first, no trailing `/`, visible ASCII (etcd keys are bytes, but
    /// a prefix an operator types into `etcdctl` should be plain).
    fn etcd_prefix(&mut self, raw: &S<String>) -> Option<String> {
        let p = raw.get_ref();
        let ok = p.len() > 1
            && p.len() <= 200
            && p.starts_with('/')
            && !p.ends_with('/')
            && !p.contains("//")
            && p.bytes().all(|b| b.is_ascii_graphic());
        if !ok {
            self.invalid(
                raw.span(),
                Problem::BadValue(
                    "a prefix starts with `/`, has no trailing `/` and no blanks, e.g. \"/cdnbroker/C\"",
                ),
            );
            return None;
        }
        Some(p.clone())
    }

    // ---- roles

    fn dns(&mut self, raw: &RawDns) -> Option<DnsRole> {
        let listen = self.listeners_of(raw.listen.get_ref(), "dns.listen");
        let control = self.listener(&raw.control, "dns.control");
        let ns = self.all(&raw.ns, Self::dns_name);
        let query_log = raw.query_log.as_ref().map(|p| self.path(p));
        let load = raw.load.as_ref().map(|p| self.path(p));
        let metrics = raw
            .metrics
            .as_ref()
            .map(|m| self.listener(m, "dns.metrics"));
        let dnssec = raw.dnssec.as_ref().map(|p| self.path(p));
        let signature_days = self.bounded::<u32>(
            raw.signature_days.as_ref(),
            SIGNATURE_DAYS,
            "expected whole days from 1 to 90",
        );
        if raw.listen.get_ref().is_empty() {
            self.invalid(
                raw.listen.span(),
                Problem::BadValue("`dns.listen` lists no address"),
            );
        }
        let limits = self.dns_limits(raw);
        Some(DnsRole {
            listen: listen?,
            control: control?,
            ns: ns?,
            ttl: raw.ttl.as_ref().map_or(DEFAULT_DNS_TTL, |t| *t.get_ref()),
            query_log: query_log.map_or(Some(None), |v| v.map(Some))?,
            load: load.map_or(Some(None), |v| v.map(Some))?,
            metrics: metrics.map_or(Some(None), |v| v.map(Some))?,
            dnssec: dnssec.map_or(Some(None), |v| v.map(Some))?,
            signature_days: signature_days?.unwrap_or(DEFAULT_SIGNATURE_DAYS),
            limits: limits?,
        })
    }

    fn control(&mut self, raw: &RawControl) -> Option<ControlRole> {
        let regions = self.path(&raw.regions);
        let cdns = self.path(&raw.cdns);
        let customers = self.path(&raw.customers);
        let engines = self.all(&raw.engines, Self::socket);
        let management = self.opt_listener(&raw.management, "control.management");
        let api = self.opt_listener(&raw.api, "control.api");
        let alerts = self.opt_listener(&raw.alerts, "control.alerts");
        let token = raw.token.as_ref().map(|t| self.token(t));
        let tls = raw.tls.as_ref().map(|t| self.tls(t));
        let poll_period = self.seconds(raw.poll_period_s.as_ref());
        let poll_timeout = self.seconds(raw.poll_timeout_s.as_ref());
        let max_connections = self.cap(raw.max_connections.as_ref());
        let engine_token = raw.engine_token.as_ref().map(|t| self.token(t));
        if raw.token.is_none() {
            for (opened, because) in [
                (&raw.management, "when `management` is set"),
                (&raw.api, "when `api` is set"),
                (&raw.alerts, "when `alerts` is set"),
            ] {
                if let Some(v) = opened {
                    self.required(v.span(), "token", because);
                }
            }
        }
        if let (Some(alerts), None) = (&raw.alerts, &raw.tls) {
            self.required(alerts.span(), "tls", "when `alerts` is set");
        }
        Some(ControlRole {
            regions: regions?,
            cdns: cdns?,
            customers: customers?,
            engines: engines?,
            management: management?,
            api: api?,
            token: token.map_or(Some(None), |v| v.map(Some))?,
            alerts: alerts?,
            tls: tls.map_or(Some(None), |v| v.map(Some))?,
            poll_period: poll_period?,
            poll_timeout: poll_timeout?,
            max_connections: max_connections?,
            engine_token: engine_token.map_or(Some(None), |v| v.map(Some))?,
        })
    }

    fn proxy(&mut self, raw: &RawProxy, partners: Option<&[&str]>) -> Option<ProxyRole> {
        let listen = self.listener(&raw.listen, "proxy.listen");
        let mut special_ports = Some(BTreeMap::new());
        for (k, v) in &raw.special_ports {
            let name = self.name(k);
            let addr = self.listener(v, &format!("proxy.special_ports.{}", k.get_ref()));
            let known = partners.is_none_or(|ps| ps.contains(&k.get_ref().as_str()));
            if name.is_some() && !known {
                self.invalid(k.span(), Problem::UnknownPartner(k.get_ref().clone()));
            }
            match (name, addr, special_ports.as_mut()) {
                (Some(n), Some(a), Some(map)) => {
                    map.insert(n, a);
                }
                _ => special_ports = None,
            }
        }
        let trusted = self.all(&raw.trusted_proxies, |ck, s| {
            let parsed = parse_trusted(s.get_ref());
            if parsed.is_none() {
                ck.invalid(
                    s.span(),
                    Problem::BadValue("expected an IP address or prefix, e.g. 10.0.0.0/8"),
                );
            }
            parsed
        });
        let metrics = self.opt_listener(&raw.metrics, "proxy.metrics");
        let https_listen = self.opt_listener(&raw.https_listen, "proxy.https_listen");
        if let (Some(at), true) = (&raw.https_listen, raw.tls.is_empty()) {
            self.required(at.span(), "tls", "when `https_listen` is set");
        }
        let tls: Vec<Option<SiteTls>> = raw.tls.iter().map(|t| self.site_tls(t)).collect();
        let tls: Option<Vec<SiteTls>> = tls.into_iter().collect();
        let origin_ca = raw.origin_ca.as_ref().map(|p| self.path(p));
        let limits = self.proxy_limits(raw);
        Some(ProxyRole {
            listen: listen?,
            special_ports: special_ports?,
            trusted_proxies: trusted?,
            metrics: metrics?,
            https_listen: https_listen?,
            tls: tls?,
            origin_ca: origin_ca.map_or(Some(None), |v| v.map(Some))?,
            limits: limits?,
        })
    }

    /// The `[proxy]` deadlines (whole seconds, 1 to a day) and request head limit.
    fn proxy_limits(&mut self, raw: &RawProxy) -> Option<ProxyLimits> {
        let origin_timeout = self.seconds(raw.origin_timeout_s.as_ref());
        let origin_idle_timeout = self.seconds(raw.origin_idle_timeout_s.as_ref());
        let client_header_timeout = self.seconds(raw.client_header_timeout_s.as_ref());
        let client_write_timeout = self.seconds(raw.client_write_timeout_s.as_ref());
        let max_header_bytes = self.bounded(
            raw.max_header_bytes.as_ref(),
            PROXY_HEADER_BYTES,
            "expected a byte count from 1024 to 16777216",
        );
        let rewrite_cache_mb = self.bounded(
            raw.rewrite_cache_mb.as_ref(),
            0..=MAX_REWRITE_CACHE_MB,
            "expected MiB from 0 (off) to 65536",
        );
        let max_connections = self.cap(raw.max_connections.as_ref());
        Some(ProxyLimits {
            origin_timeout: origin_timeout?,
            origin_idle_timeout: origin_idle_timeout?,
            client_header_timeout: client_header_timeout?,
            client_write_timeout: client_write_timeout?,
            max_header_bytes: max_header_bytes?,
            rewrite_cache_mb: rewrite_cache_mb?,
            max_connections: max_connections?,
        })
    }

    /// An optional integer within `range`, converted to `T` (which must hold the range);
    /// `Some(None)`: not set.
    fn bounded<T: TryFrom<u64>>(
        &mut self,
        raw: Option<&S<u64>>,
        range: std::ops::RangeInclusive<u64>,
        expected: &'static str,
    ) -> Option<Option<T>> {
        let Some(v) = raw else { return Some(None) };
        if range.contains(v.get_ref()) {
            return T::try_from(*v.get_ref()).ok().map(Some);
        }
        self.invalid(v.span(), Problem::BadValue(expected));
        None
    }

    /// An optional deadline in whole seconds; `Some(None)`: not set.
    fn seconds(&mut self, raw: Option<&S<u64>>) -> Option<Option<Duration>> {
        let Some(v) = raw else { return Some(None) };
        let secs = *v.get_ref();
        if (1..=MAX_PROXY_TIMEOUT_S).contains(&secs) {
            return Some(Some(Duration::from_secs(secs)));
        }
        self.invalid(
            v.span(),
            Problem::BadValue("expected whole seconds from 1 to 86400"),
        );
        None
    }

    /// One `[proxy] tls` entry: names (a host name, or `*.` and one), certificate, key.
    fn site_tls(&mut self, raw: &S<RawSiteTls>) -> Option<SiteTls> {
        let r = raw.get_ref();
        if r.names.is_empty() {
            self.invalid(raw.span(), Problem::BadValue("`names` lists no host name"));
        }
        let names = self.all(&r.names, |ck, n| {
            let text = n.get_ref();
            let bare = text.strip_prefix("*.").unwrap_or(text);
            match crate::name::DnsName::new(bare) {
                Ok(_) => Some(text.trim_end_matches('.').to_ascii_lowercase()),
                Err(e) => {
                    ck.invalid(n.span(), Problem::BadValue(e));
                    None
                }
            }
        });
        let cert = self.path(&r.cert);
        let key = self.path(&r.key);
        Some(SiteTls {
            names: names?,
            files: TlsFiles {
                cert: cert?,
                key: key?,
            },
        })
    }

    fn partners(&mut self, raws: &[RawPartner], node: Option<&Node>) -> Vec<Option<Partner>> {
        let mut seen: HashMap<String, ()> = HashMap::new();
        raws.iter()
            .map(|raw| {
                let name = self.name(&raw.name);
                if let Some(n) = &name {
                    if seen.insert(n.to_string(), ()).is_some() {
                        self.duplicate(raw.name.span(), "partner", n.as_str());
                    }
                    if node.is_some_and(|node| node.name == *n) {
                        self.invalid(raw.name.span(), Problem::SelfReference(n.to_string()));
                    }
                }
                let form = self.partner_form(raw);
                let host = raw.host.as_ref().map(|h| self.host_port(h));
                if let Some(t) = &raw.table {
                    self.distinct_values(t.get_ref(), "partner host");
                }
                let table = raw.table.as_ref().map(|t| {
                    self.map(t.get_ref(), "origin host", Self::host_port, Self::host_port)
                });
                let status = raw
                    .status
                    .as_ref()
                    .map(|u| self.url(u, UrlUse::NoPath(Scheme::Https)));
                let token = raw.token.as_ref().map(|t| self.token(t));
                let ca = raw.ca.as_ref().map(|p| self.path(p));
                Some(Partner {
                    name: name?,
                    form: form?,
                    host: host.map_or(Some(None), |v| v.map(Some))?,
                    table: table.unwrap_or(Some(BTreeMap::new()))?,
                    status: status.map_or(Some(None), |v| v.map(Some))?,
                    token: token.map_or(Some(None), |v| v.map(Some))?,
                    ca: ca.map_or(Some(None), |v| v.map(Some))?,
                })
            })
            .collect()
    }

    /// `form`, and the key that form needs.
    fn partner_form(&mut self, raw: &RawPartner) -> Option<UrlForm> {
        let form = match raw.form.get_ref().as_str() {
            "embedded" => UrlForm::Embedded,
            "semantic" => UrlForm::Semantic,
            "table" => UrlForm::Table,
            other => {
                self.invalid(raw.form.span(), Problem::UnknownForm(other.to_owned()));
                return None;
            }
        };
        match form {
            UrlForm::Embedded | UrlForm::Semantic if raw.host.is_none() => {
                let because = if form == UrlForm::Embedded {
                    "with form = \"embedded\""
                } else {
                    "with form = \"semantic\""
                };
                self.required(raw.form.span(), "host", because);
                return None;
            }
            UrlForm::Table if raw.table.as_ref().is_none_or(|t| t.get_ref().is_empty()) => {
                let at = raw.table.as_ref().map_or(raw.form.span(), Spanned::span);
                self.required(at, "table", "with form = \"table\" (one host at least)");
                return None;
            }
            _ => {}
        }
        Some(form)
    }

    fn customers(&mut self, raws: &[RawCustomer]) -> Option<Vec<Customer>> {
        let mut names: HashMap<String, ()> = HashMap::new();
        // Each host may belong to one customer per use.
        let mut owners: HashMap<(&'static str, String), String> = HashMap::new();
        let mut out = Some(Vec::new());
        for raw in raws {
            let name = self.name(&raw.name);
            if let Some(n) = &name
                && names.insert(n.to_string(), ()).is_some()
            {
                self.duplicate(raw.name.span(), "customer", n.as_str());
            }
            let owner = format!("customer `{}`", raw.name.get_ref());
            let site = self.hosts(&raw.site, "site host", &mut owners, &owner, Self::host_port);
            let offload = self.hosts(
                &raw.offload,
                "offload host",
                &mut owners,
                &owner,
                Self::host_port,
            );
            let dns = self.hosts(&raw.dns, "DNS name", &mut owners, &owner, Self::dns_name);
            let origin = self.map(&raw.origin, "origin host", Self::host_port, |ck, u| {
                ck.url(u, UrlUse::NoPath(Scheme::Http))
            });
            // Checked on the keys alone, so that a bad URL does not hide a missing host.
            let host_ports = parsed_keys(&raw.origin, HostPort::parse);
            for raw_host in &raw.site {
                if let Ok(host) = HostPort::parse(raw_host.get_ref())
                    && !host_ports.contains(&host)
                {
                    self.invalid(
                        raw_host.span(),
                        Problem::SiteWithoutOrigin(host.to_string()),
                    );
                }
            }
            let customer = (|| {
                Some(Customer {
                    name: name?,
                    site: site?,
                    offload: offload?,
                    dns: dns?,
                    origin: origin?,
                })
            })();
            match (customer, out.as_mut()) {
                (Some(c), Some(v)) => v.push(c),
                _ => out = None,
            }
        }
        out
    }

    fn edge(&mut self, raw: &RawEdge) -> Option<EdgeRole> {
        let listen = self.listener(&raw.listen, "edge.listen");
        let status = self.opt_listener(&raw.status, "edge.status");
        let tls = raw.tls.as_ref().map(|t| self.tls(t));
        if let (Some(status), None) = (&raw.status, &raw.tls) {
            self.required(status.span(), "tls", "when `status` is set");
        }
        let metrics = self.opt_listener(&raw.metrics, "edge.metrics");
        let max_connections = self.cap(raw.max_connections.as_ref());
        let mut names: HashMap<String, ()> = HashMap::new();
        let mut owners: HashMap<(&'static str, String), String> = HashMap::new();
        let mut offloaders = Some(Vec::new());
        for o in &raw.offloader {
            let parsed = self.offloader(o, &mut names, &mut owners);
            match (parsed, offloaders.as_mut()) {
                (Some(p), Some(v)) => v.push(p),
                _ => offloaders = None,
            }
        }
        Some(EdgeRole {
            listen: listen?,
            status: status?,
            tls: tls.map_or(Some(None), |v| v.map(Some))?,
            cache_mb: raw
                .cache_mb
                .as_ref()
                .map_or(DEFAULT_CACHE_MB, |c| *c.get_ref()),
            metrics: metrics?,
            max_connections: max_connections?,
            offloaders: offloaders?,
        })
    }

    fn offloader(
        &mut self,
        spanned: &S<RawOffloader>,
        names: &mut HashMap<String, ()>,
        owners: &mut HashMap<(&'static str, String), String>,
    ) -> Option<Offloader> {
        let raw = spanned.get_ref();
        let name = self.name(&raw.name);
        if let Some(n) = &name
            && names.insert(n.to_string(), ()).is_some()
        {
            self.duplicate(raw.name.span(), "offloader", n.as_str());
        }
        let token = self.token(&raw.token);
        if let Some(t) = &token {
            self.claim(
                owners,
                raw.token.span(),
                "token",
                t.expose(),
                raw.name.get_ref(),
                true,
            );
        }
        let owner = format!("offloader `{}`", raw.name.get_ref());
        let embedded = self.hosts(
            &raw.embedded_hosts,
            "partner host",
            owners,
            &owner,
            Self::host_port,
        );
        let suffix = raw.semantic_suffix.as_ref().and_then(|s| {
            let suffix = self.host_port(s)?;
            self.claim(
                owners,
                s.span(),
                "semantic suffix",
                &suffix.to_string(),
                &owner,
                false,
            );
            Some(suffix)
        });
        let table = self.map(&raw.table, "partner host", Self::host_port, Self::host_port);
        for raw_key in raw.table.keys() {
            if let Ok(host) = HostPort::parse(raw_key.get_ref()) {
                let host = host.to_string();
                self.claim(owners, raw_key.span(), "partner host", &host, &owner, false);
            }
        }
        let origins = self.map(&raw.origins, "origin host", Self::host_port, |ck, u| {
            ck.url(u, UrlUse::NoPath(Scheme::Http))
        });
        let allowed = parsed_keys(&raw.origins, HostPort::parse);
        for raw_origin in raw.table.values() {
            if let Ok(origin) = HostPort::parse(raw_origin.get_ref())
                && !allowed.contains(&origin)
            {
                self.invalid(
                    raw_origin.span(),
                    Problem::OriginNotAllowed(origin.to_string()),
                );
            }
        }
        if raw.embedded_hosts.is_empty() && raw.semantic_suffix.is_none() && raw.table.is_empty() {
            self.invalid(raw.name.span(), Problem::OffloaderWithoutForm);
        }
        let alert: Option<Vec<HttpUrl>> = raw.alert.as_ref().map_or(Some(Vec::new()), |list| {
            let items = list.get_ref().items(list.span());
            if items.is_empty() {
                self.invalid(
                    list.span(),
                    Problem::BadValue("`alert` lists no URL: leave the key out for no alerts"),
                );
            }
            // Every URL checked (each error reported), then all or none.
            let urls: Vec<Option<HttpUrl>> = items
                .iter()
                .map(|u| self.url(u, UrlUse::WithPath(Scheme::Https)))
                .collect();
            urls.into_iter().collect()
        });
        let ca = raw.ca.as_ref().map(|p| self.path(p));
        let suffix = match (&raw.semantic_suffix, suffix) {
            (Some(_), None) => return None,
            (_, s) => s,
        };
        Some(Offloader {
            name: name?,
            token: token?,
            capacity_kbps: raw.capacity_kbps.as_ref().map(|c| *c.get_ref()),
            embedded_hosts: embedded?,
            semantic_suffix: suffix,
            table: table?,
            origins: origins?,
            alert: alert?,
            ca: ca.map_or(Some(None), |v| v.map(Some))?,
        })
    }
}

/// Removes the entry whose key (or, with `by_value`, whose value) is written at byte
/// `offset`, wherever it is in `value`; returns its key.
fn remove_entry_at(value: &mut DeValue<'_>, offset: usize, by_value: bool) -> Option<String> {
    match value {
        DeValue::Table(t) => {
            let key = t
                .iter()
                .find(|(k, v)| k.span().start == offset || (by_value && v.span().start == offset))
                .map(|(k, _)| k.get_ref().to_string());
            match key {
                Some(key) => t.remove(key.as_str()).map(|_| key),
                None => t
                    .iter_mut()
                    .find_map(|(_, v)| remove_entry_at(v.get_mut(), offset, by_value)),
            }
        }
        DeValue::Array(a) => a
            .iter_mut()
            .find_map(|v| remove_entry_at(v.get_mut(), offset, by_value)),
        _ => None,
    }
}

/// The keys of `map` that parse, for checks that must not wait for the values.
fn parsed_keys<K, E>(map: &StrMap, parse: impl Fn(&str) -> Result<K, E>) -> Vec<K> {
    map.keys().filter_map(|k| parse(k.get_ref()).ok()).collect()
}

/// What a URL key allows: the least secure scheme, and whether a path means something.
#[derive(Clone, Copy)]
enum UrlUse {
    NoPath(Scheme),
    WithPath(Scheme),
}
