//! Spec §7 printer: generated valid deployments print to TOML that parses back to the
//! same deployment, and no text makes the loader panic.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use broker_config::deploy::{
    ClusterRole, ControlRole, Customer, Deployment, DnsLimits, DnsRole, EdgeRole, EtcdAuth,
    HostPort, HttpUrl, Node, Offloader, Partner, ProxyLimits, ProxyRole, Rrl, Scheme, SiteTls,
    TlsFiles, Token, UrlForm, UrlHost,
};
use broker_config::{DnsName, Name};
use proptest::collection::{btree_map, vec};
use proptest::option::of;
use proptest::prelude::*;

const FILE: &str = "deploy/conf/c.toml";

fn name() -> impl Strategy<Value = String> {
    "[A-Za-z0-9][A-Za-z0-9._-]{0,6}"
}

fn dns_name() -> impl Strategy<Value = DnsName> {
    "[a-z0-9][a-z0-9-]{0,5}(\\.[a-z0-9_]{1,6}){0,3}".prop_map(|s| DnsName::new(&s).unwrap())
}

fn host_port() -> impl Strategy<Value = HostPort> {
    (dns_name(), of(1..=u16::MAX)).prop_map(|(host, port)| HostPort { host, port })
}

fn ip() -> impl Strategy<Value = IpAddr> {
    prop_oneof![
        any::<u32>().prop_map(|n| IpAddr::V4(Ipv4Addr::from(n))),
        any::<u128>().prop_map(|n| IpAddr::V6(Ipv6Addr::from(n))),
    ]
}

fn socket() -> impl Strategy<Value = SocketAddr> {
    (ip(), any::<u16>()).prop_map(|(ip, port)| SocketAddr::new(ip, port))
}

fn token() -> impl Strategy<Value = Token> {
    // Quotes and backslashes test the printer's TOML escaping.
    "[!-~]{1,24}".prop_map(|s| Token::new(&s).unwrap())
}

fn path() -> impl Strategy<Value = PathBuf> {
    prop_oneof![
        "[a-z]{1,6}(/[a-z0-9]{1,6}){0,2}\\.(pem|txt|key)"
            .prop_map(|p| Path::new(FILE).parent().unwrap().join(p)),
        "/[a-z]{1,6}/[a-z]{1,6}\\.pem".prop_map(PathBuf::from),
        "\\.\\./[a-z]{1,6}\\.pem".prop_map(|p| Path::new(FILE).parent().unwrap().join(p)),
    ]
}

fn url(https_only: bool, with_path: bool) -> impl Strategy<Value = HttpUrl> {
    let host = prop_oneof![
        dns_name().prop_map(UrlHost::Name),
        ip().prop_map(UrlHost::Ip)
    ];
    let url_path = if with_path {
        "(/[a-z0-9._~-]{0,8}){0,3}".boxed()
    } else {
        Just(String::new()).boxed()
    };
    (any::<bool>(), host, of(1..=u16::MAX), url_path).prop_map(move |(tls, host, port, path)| {
        let scheme = if tls || https_only {
            Scheme::Https
        } else {
            Scheme::Http
        };
        HttpUrl {
            scheme,
            host,
            port,
            path,
        }
    })
}

fn tls() -> impl Strategy<Value = TlsFiles> {
    (path(), path()).prop_map(|(cert, key)| TlsFiles { cert, key })
}

fn dns_role() -> impl Strategy<Value = DnsRole> {
    (
        vec(socket(), 1..3),
        socket(),
        vec(dns_name(), 0..3),
        any::<u32>(),
        (of(path()), of(path()), of(socket())),
        (of(path()), 1u32..=90),
        dns_limits(),
    )
        .prop_map(
            |(
                listen,
                control,
                ns,
                ttl,
                (query_log, load, metrics),
                (dnssec, signature_days),
                limits,
            )| DnsRole {
                listen,
                control,
                ns,
                ttl,
                query_log,
                load,
                metrics,
                dnssec,
                signature_days,
                limits,
            },
        )
}

/// Spec §11's `[dns]` caps, each set or not.
fn dns_limits() -> impl Strategy<Value = DnsLimits> {
    let rrl = (1u32..=1_000_000, 0u32..=100, 0u8..=32, 0u8..=128).prop_map(|(r, s, v4, v6)| Rrl {
        responses_per_s: r,
        slip: s,
        ipv4_prefix: v4,
        ipv6_prefix: v6,
    });
    (
        of(rrl),
        of(1usize..=1_000_000),
        of(1usize..=1_000_000),
        of(1u64..=65_536),
        of(token()),
    )
        .prop_map(
            |(rrl, max_tcp, relay_in_flight, max_transaction_mb, token)| DnsLimits {
                rrl,
                max_tcp,
                relay_in_flight,
                max_transaction_mb,
                token,
            },
        )
}

fn control_role() -> impl Strategy<Value = ControlRole> {
    (
        (path(), path(), path()),
        vec(socket(), 0..3),
        (of(socket()), of(socket()), of(socket())),
        token(),
        tls(),
        (of(1u64..=86_400), of(1u64..=86_400)),
        (of(1usize..=1_000_000), of(token())),
    )
        .prop_map(
            |(
                (regions, cdns, customers),
                engines,
                (management, api, alerts),
                token,
                tls,
                (period, timeout),
                (max_connections, engine_token),
            )| {
                // `token` and `tls` may always be given; they are required only with the ports.
                ControlRole {
                    regions,
                    cdns,
                    customers,
                    engines,
                    management,
                    api,
                    token: Some(token),
                    alerts,
                    tls: Some(tls),
                    poll_period: period.map(Duration::from_secs),
                    poll_timeout: timeout.map(Duration::from_secs),
                    max_connections,
                    engine_token,
                }
            },
        )
}

fn partner() -> impl Strategy<Value = Partner> {
    let form = prop_oneof![
        Just(UrlForm::Embedded),
        Just(UrlForm::Table),
        Just(UrlForm::Semantic)
    ];
    (
        name(),
        form,
        of(host_port()),
        btree_map(host_port(), host_port(), 0..3),
        of(url(true, false)),
        of(token()),
        of(path()),
    )
        .prop_map(|(name, form, host, mut table, status, token, ca)| {
            let host = match form {
                UrlForm::Table => host,
                _ => Some(host.unwrap_or_else(|| HostPort::parse("p.example").unwrap())),
            };
            // A partner host names one origin.
            let mut seen = Vec::new();
            table.retain(|_, partner_host| {
                let fresh = !seen.contains(partner_host);
                seen.push(partner_host.clone());
                fresh
            });
            if form == UrlForm::Table && table.is_empty() {
                table.insert(
                    HostPort::parse("img.xyz.com").unwrap(),
                    HostPort::parse("x.p").unwrap(),
                );
            }
            Partner {
                name: Name::new(&name).unwrap(),
                form,
                host,
                table,
                status,
                token,
                ca,
            }
        })
}

fn customer() -> impl Strategy<Value = Customer> {
    (
        name(),
        btree_map(host_port(), url(false, false), 0..4),
        vec(host_port(), 0..3),
        vec(dns_name(), 0..3),
        any::<usize>(),
    )
        .prop_map(|(name, origin, offload, dns, sites)| {
            // Sites are some of the origin hosts, as the validator requires.
            let site: Vec<HostPort> = origin
                .keys()
                .take(sites % (origin.len() + 1))
                .cloned()
                .collect();
            Customer {
                name: Name::new(&name).unwrap(),
                site,
                offload: dedup(offload),
                dns: dedup(dns),
                origin,
            }
        })
}

fn offloader() -> impl Strategy<Value = Offloader> {
    (
        (name(), token(), of(any::<u64>())),
        vec(host_port(), 0..3),
        of(host_port()),
        btree_map(host_port(), url(false, false), 1..4),
        vec((host_port(), any::<usize>()), 0..3),
        (vec(url(true, true), 0..3), of(path())),
    )
        .prop_map(
            |((name, token, capacity_kbps), embedded, suffix, origins, table, (alert, ca))| {
                let keys: Vec<&HostPort> = origins.keys().collect();
                let mut table: BTreeMap<HostPort, HostPort> = table
                    .into_iter()
                    .map(|(host, i)| (host, keys[i % keys.len()].clone()))
                    .collect();
                if embedded.is_empty() && suffix.is_none() && table.is_empty() {
                    table.insert(HostPort::parse("t.example").unwrap(), keys[0].clone());
                }
                Offloader {
                    name: Name::new(&name).unwrap(),
                    token,
                    capacity_kbps,
                    embedded_hosts: dedup(embedded),
                    semantic_suffix: suffix,
                    table,
                    origins,
                    alert,
                    ca,
                }
            },
        )
}

fn edge_role() -> impl Strategy<Value = EdgeRole> {
    (
        socket(),
        of(socket()),
        tls(),
        any::<u64>(),
        of(socket()),
        vec(offloader(), 0..3),
        of(1usize..=1_000_000),
    )
        .prop_map(
            |(listen, status, tls, cache_mb, metrics, offloaders, max_connections)| EdgeRole {
                listen,
                status,
                tls: Some(tls),
                cache_mb,
                metrics,
                max_connections,
                offloaders,
            },
        )
}

fn proxy_role() -> impl Strategy<Value = ProxyRole> {
    (
        socket(),
        vec(socket(), 0..3),
        vec((ip(), 0u8..=128), 0..3),
        of(socket()),
        of(socket()),
        vec((vec(dns_name(), 1..3), tls()), 1..3),
        of(path()),
        (
            vec(of(1u64..=86_400), 4),
            of(1024usize..=16 << 20),
            of(0u32..=65_536),
            of(1usize..=1_000_000),
        ),
    )
        .prop_map(
            |(
                listen,
                ports,
                trusted,
                metrics,
                https,
                tls,
                origin_ca,
                (secs, head, plans, conns),
            )| {
                ProxyRole {
                    listen,
                    // Names filled in by `deployment` once the partners are known.
                    special_ports: ports
                        .into_iter()
                        .enumerate()
                        .map(|(i, a)| (Name::new(&format!("port{i}")).unwrap(), a))
                        .collect(),
                    trusted_proxies: trusted
                        .into_iter()
                        .map(|(ip, len)| {
                            let max = if ip.is_ipv4() { 32 } else { 128 };
                            ipnet::IpNet::new(ip, len.min(max)).unwrap().trunc()
                        })
                        .collect(),
                    metrics,
                    // `tls` is required with `https_listen` only.
                    tls: match https {
                        Some(_) => tls
                            .into_iter()
                            .map(|(names, files)| SiteTls {
                                names: names.iter().map(|n| n.to_string()).collect(),
                                files,
                            })
                            .collect(),
                        None => Vec::new(),
                    },
                    https_listen: https,
                    origin_ca,
                    limits: ProxyLimits {
                        origin_timeout: secs[0].map(Duration::from_secs),
                        origin_idle_timeout: secs[1].map(Duration::from_secs),
                        client_header_timeout: secs[2].map(Duration::from_secs),
                        client_write_timeout: secs[3].map(Duration::from_secs),
                        max_header_bytes: head,
                        rewrite_cache_mb: plans,
                        max_connections: conns,
                    },
                }
            },
        )
}

fn dedup<T: PartialEq>(items: Vec<T>) -> Vec<T> {
    let mut out = Vec::new();
    for item in items {
        if !out.contains(&item) {
            out.push(item);
        }
    }
    out
}

/// Makes names and hosts unique where the validator wants them unique, and listening
/// ports distinct.
fn make_valid(mut d: Deployment) -> Deployment {
    for (i, p) in d.partners.iter_mut().enumerate() {
        p.name = Name::new(&format!("{}-p{i}", p.name)).unwrap();
    }
    let partner_names: Vec<Name> = d.partners.iter().map(|p| p.name.clone()).collect();
    if let Some(proxy) = &mut d.proxy {
        let ports: Vec<SocketAddr> = proxy.special_ports.values().copied().collect();
        proxy.special_ports = partner_names.iter().cloned().zip(ports).collect();
    }
    for (i, c) in d.customers.iter_mut().enumerate() {
        c.name = Name::new(&format!("{}-c{i}", c.name)).unwrap();
        let tag = |h: &HostPort| HostPort {
            host: DnsName::new(&format!("c{i}.{}", h.host)).unwrap(),
            port: h.port,
        };
        c.site = c.site.iter().map(tag).collect();
        c.offload = c.offload.iter().map(tag).collect();
        c.origin = c.origin.iter().map(|(h, u)| (tag(h), u.clone())).collect();
        c.dns = c
            .dns
            .iter()
            .map(|n| DnsName::new(&format!("c{i}.{n}")).unwrap())
            .collect();
    }
    if let Some(edge) = &mut d.edge {
        for (i, o) in edge.offloaders.iter_mut().enumerate() {
            o.name = Name::new(&format!("{}-o{i}", o.name)).unwrap();
            o.token = Token::new(&format!("{}-o{i}", o.token.expose())).unwrap();
            let tag = |h: &HostPort| HostPort {
                host: DnsName::new(&format!("o{i}.{}", h.host)).unwrap(),
                port: h.port,
            };
            o.embedded_hosts = o.embedded_hosts.iter().map(tag).collect();
            o.semantic_suffix = o.semantic_suffix.as_ref().map(tag);
            o.table = o.table.iter().map(|(k, v)| (tag(k), v.clone())).collect();
        }
    }
    // Every listening address gets its own port.
    let mut port = 1000u16;
    let mut next = |a: &mut SocketAddr| {
        port += 1;
        a.set_port(port);
    };
    if let Some(dns) = &mut d.dns {
        dns.listen.iter_mut().for_each(&mut next);
        next(&mut dns.control);
        dns.metrics.iter_mut().for_each(&mut next);
    }
    if let Some(c) = &mut d.control {
        for a in [&mut c.management, &mut c.api, &mut c.alerts]
            .into_iter()
            .flatten()
        {
            next(a);
        }
    }
    if let Some(p) = &mut d.proxy {
        next(&mut p.listen);
        p.special_ports.values_mut().for_each(&mut next);
        p.metrics.iter_mut().for_each(&mut next);
        p.https_listen.iter_mut().for_each(&mut next);
    }
    if let Some(e) = &mut d.edge {
        next(&mut e.listen);
        e.status.iter_mut().for_each(&mut next);
        e.metrics.iter_mut().for_each(&mut next);
    }
    d
}

fn cluster_role() -> impl Strategy<Value = ClusterRole> {
    (
        vec(url(false, false), 1..4),
        of("(/[a-z0-9._-]{1,12}){1,3}"),
        2u64..=60,
        of(ip()),
        of(path()),
        of(("[a-z][a-z0-9_]{0,10}", path())),
    )
        .prop_map(|(etcd, prefix, lease, advertise, ca, auth)| ClusterRole {
            etcd,
            prefix: prefix.unwrap_or_else(|| "/cdnbroker/x".into()),
            lease: Duration::from_secs(lease),
            advertise: advertise.map(UrlHost::Ip),
            ca,
            auth: auth.map(|(user, password_file)| EtcdAuth {
                user,
                password_file,
            }),
        })
}

fn deployment() -> impl Strategy<Value = Deployment> {
    (
        name(),
        of(dns_role()),
        of(control_role()),
        of(proxy_role()),
        vec(partner(), 0..3),
        vec(customer(), 0..3),
        of(edge_role()),
        of(cluster_role()),
    )
        .prop_map(
            |(name, dns, control, proxy, partners, customers, edge, cluster)| {
                make_valid(Deployment {
                    node: Node {
                        name: Name::new(&name).unwrap(),
                    },
                    dns,
                    control,
                    proxy,
                    partners,
                    customers,
                    edge,
                    cluster,
                })
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn printed_deployments_parse_back(d in deployment()) {
        let text = d.to_toml(Path::new(FILE));
        match Deployment::parse(&text, Path::new(FILE)) {
            Ok(back) => prop_assert_eq!(back, d, "printed:\n{}", text),
            Err(e) => prop_assert!(false, "{}\nprinted:\n{}", e, text),
        }
    }

    #[test]
    fn loader_never_panics(text in "(\\[node\\]|\\[\\[edge.offloader\\]\\]|name|=|\"[a-z:.0-9]*\"|\\{|\\}|\\[|\\]|,|\n| ){0,40}") {
        if let Err(e) = Deployment::parse(&text, Path::new(FILE)) {
            prop_assert!(e.errors.iter().all(|e| e.pos().line >= 1 && e.pos().col >= 1));
        }
    }
}
