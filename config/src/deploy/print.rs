//! A [`Deployment`] back to canonical TOML, through the same raw structs the parser reads.

use std::collections::BTreeMap;
use std::fmt::Display;
use std::path::Path;

use toml::Spanned;

use super::raw::{
    OneOrMany, RawCluster, RawControl, RawCustomer, RawDns, RawDocument, RawEdge, RawNode,
    RawOffloader, RawPartner, RawProxy, RawRrl, RawSiteTls, RawTls, S, StrMap,
};
use super::values::TlsFiles;
use super::{
    ClusterRole, DEFAULT_CACHE_MB, DEFAULT_DNS_TTL, DEFAULT_LEASE_S, DEFAULT_SIGNATURE_DAYS,
    Deployment, Rrl,
};

/// A deadline in whole seconds (the file's unit).
fn secs(d: Option<std::time::Duration>) -> Option<S<u64>> {
    d.map(|d| Spanned::new(0..0, d.as_secs()))
}

/// A cap (connections, queries in flight) as the file writes it.
fn count(n: Option<usize>) -> Option<S<u64>> {
    n.map(|n| Spanned::new(0..0, u64::try_from(n).unwrap_or(u64::MAX)))
}

/// `[dns] rrl` with every key written out.
fn rrl(r: Rrl) -> RawRrl {
    let v = |n: u64| Some(Spanned::new(0..0, n));
    RawRrl {
        responses_per_s: v(u64::from(r.responses_per_s)),
        slip: v(u64::from(r.slip)),
        ipv4_prefix: v(u64::from(r.ipv4_prefix)),
        ipv6_prefix: v(u64::from(r.ipv6_prefix)),
    }
}

pub(super) fn to_toml(d: &Deployment, base: &Path) -> String {
    let p = Printer { base };
    let doc = RawDocument {
        node: RawNode {
            name: s(&d.node.name),
        },
        dns: d.dns.as_ref().map(|dns| RawDns {
            listen: Spanned::new(0..0, list(&dns.listen)),
            control: s(dns.control),
            ns: list(&dns.ns),
            ttl: (dns.ttl != DEFAULT_DNS_TTL).then(|| Spanned::new(0..0, dns.ttl)),
            query_log: dns.query_log.as_deref().map(|f| p.path(f)),
            load: dns.load.as_deref().map(|f| p.path(f)),
            metrics: dns.metrics.map(s),
            dnssec: dns.dnssec.as_deref().map(|f| p.path(f)),
            signature_days: (dns.signature_days != DEFAULT_SIGNATURE_DAYS)
                .then(|| Spanned::new(0..0, u64::from(dns.signature_days))),
            rrl: dns.limits.rrl.map(|r| Spanned::new(0..0, rrl(r))),
            max_tcp: count(dns.limits.max_tcp),
            relay_in_flight: count(dns.limits.relay_in_flight),
            max_transaction_mb: dns
                .limits
                .max_transaction_mb
                .map(|mb| Spanned::new(0..0, mb)),
            token: dns.limits.token.as_ref().map(|t| s(t.expose())),
        }),
        control: d.control.as_ref().map(|c| RawControl {
            regions: p.path(&c.regions),
            cdns: p.path(&c.cdns),
            customers: p.path(&c.customers),
            engines: list(&c.engines),
            management: c.management.map(s),
            api: c.api.map(s),
            token: c.token.as_ref().map(|t| s(t.expose())),
            alerts: c.alerts.map(s),
            tls: c.tls.as_ref().map(|t| p.tls(t)),
            poll_period_s: secs(c.poll_period),
            poll_timeout_s: secs(c.poll_timeout),
            max_connections: count(c.max_connections),
            engine_token: c.engine_token.as_ref().map(|t| s(t.expose())),
        }),
        proxy: d.proxy.as_ref().map(|proxy| RawProxy {
            listen: s(proxy.listen),
            special_ports: map(&proxy.special_ports),
            trusted_proxies: list(&proxy.trusted_proxies),
            metrics: proxy.metrics.map(s),
            https_listen: proxy.https_listen.map(s),
            tls: proxy
                .tls
                .iter()
                .map(|t| {
                    Spanned::new(
                        0..0,
                        RawSiteTls {
                            names: list(&t.names),
                            cert: p.path(&t.files.cert),
                            key: p.path(&t.files.key),
                        },
                    )
                })
                .collect(),
            origin_ca: proxy.origin_ca.as_deref().map(|f| p.path(f)),
            origin_timeout_s: secs(proxy.limits.origin_timeout),
            origin_idle_timeout_s: secs(proxy.limits.origin_idle_timeout),
            client_header_timeout_s: secs(proxy.limits.client_header_timeout),
            client_write_timeout_s: secs(proxy.limits.client_write_timeout),
            max_header_bytes: proxy
                .limits
                .max_header_bytes
                .map(|b| Spanned::new(0..0, u64::try_from(b).unwrap_or(u64::MAX))),
            rewrite_cache_mb: proxy
                .limits
                .rewrite_cache_mb
                .map(|mb| Spanned::new(0..0, u64::from(mb))),
            max_connections: count(proxy.limits.max_connections),
        }),
        partner: d
            .partners
            .iter()
            .map(|partner| RawPartner {
                name: s(&partner.name),
                form: s(partner.form.as_str()),
                host: partner.host.as_ref().map(s),
                table: (!partner.table.is_empty()).then(|| Spanned::new(0..0, map(&partner.table))),
                status: partner.status.as_ref().map(s),
                token: partner.token.as_ref().map(|t| s(t.expose())),
                ca: partner.ca.as_deref().map(|f| p.path(f)),
            })
            .collect(),
        customer: d
            .customers
            .iter()
            .map(|c| RawCustomer {
                name: s(&c.name),
                site: list(&c.site),
                offload: list(&c.offload),
                dns: list(&c.dns),
                origin: map(&c.origin),
            })
            .collect(),
        edge: d.edge.as_ref().map(|e| RawEdge {
            listen: s(e.listen),
            status: e.status.map(s),
            tls: e.tls.as_ref().map(|t| p.tls(t)),
            cache_mb: (e.cache_mb != DEFAULT_CACHE_MB).then(|| Spanned::new(0..0, e.cache_mb)),
            metrics: e.metrics.map(s),
            max_connections: count(e.max_connections),
            offloader: e
                .offloaders
                .iter()
                .map(|o| {
                    Spanned::new(
                        0..0,
                        RawOffloader {
                            name: s(&o.name),
                            token: s(o.token.expose()),
                            capacity_kbps: o.capacity_kbps.map(|c| Spanned::new(0..0, c)),
                            embedded_hosts: list(&o.embedded_hosts),
                            semantic_suffix: o.semantic_suffix.as_ref().map(s),
                            table: map(&o.table),
                            origins: map(&o.origins),
                            alert: match o.alert.as_slice() {
                                [] => None,
                                [one] => Some(Spanned::new(0..0, OneOrMany::One(one.to_string()))),
                                many => Some(Spanned::new(0..0, OneOrMany::Many(list(many)))),
                            },
                            ca: o.ca.as_deref().map(|f| p.path(f)),
                        },
                    )
                })
                .collect(),
        }),
        cluster: d.cluster.as_ref().map(|c| RawCluster {
            etcd: Spanned::new(0..0, list(&c.etcd)),
            prefix: (c.prefix != ClusterRole::default_prefix(&d.node.name)).then(|| s(&c.prefix)),
            lease_s: (c.lease.as_secs() != DEFAULT_LEASE_S)
                .then(|| Spanned::new(0..0, c.lease.as_secs())),
            advertise: c.advertise.as_ref().map(s),
            ca: c.ca.as_deref().map(|f| p.path(f)),
            user: c.auth.as_ref().map(|a| s(&a.user)),
            password_file: c.auth.as_ref().map(|a| p.path(&a.password_file)),
        }),
    };
    // Every field is a string, an integer, an array or a table of those: serializing
    // cannot fail.
    toml::to_string(&doc).unwrap_or_default()
}

struct Printer<'a> {
    base: &'a Path,
}

impl Printer<'_> {
    fn path(&self, p: &Path) -> S<String> {
        let shown = p.strip_prefix(self.base).unwrap_or(p);
        s(shown.display())
    }

    fn tls(&self, t: &TlsFiles) -> S<RawTls> {
        Spanned::new(
            0..0,
            RawTls {
                cert: self.path(&t.cert),
                key: self.path(&t.key),
            },
        )
    }
}

fn s(v: impl Display) -> S<String> {
    Spanned::new(0..0, v.to_string())
}

fn list<T: Display>(items: &[T]) -> Vec<S<String>> {
    items.iter().map(s).collect()
}

fn map<K: Display, V: Display>(m: &BTreeMap<K, V>) -> StrMap {
    m.iter().map(|(k, v)| (s(k), s(v))).collect()
}
