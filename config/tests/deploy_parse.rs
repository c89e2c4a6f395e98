//! Spec §7 deployment files: the spec's own sample parses to the expected model, every
//! documented default applies, and each kind of mistake is reported at its `LINE:COL`,
//! all of them at once.

use std::path::Path;

use broker_config::deploy::{Deployment, Scheme, UrlForm};

/// The sample of spec §7, verbatim.
const SPEC_SAMPLE: &str = include_str!("data/spec_sample.toml");

fn parse(text: &str) -> Deployment {
    match Deployment::parse(text, Path::new("conf/c.toml")) {
        Ok(d) => d,
        Err(e) => panic!("{e}"),
    }
}

/// The errors of `text`, one `LINE:COL: message` string each.
fn errors(text: &str) -> Vec<String> {
    match Deployment::parse(text, Path::new("c.toml")) {
        Ok(_) => panic!("no error in:\n{text}"),
        Err(e) => e.errors.iter().map(ToString::to_string).collect(),
    }
}

#[test]
fn spec_sample_parses_to_the_model() {
    let d = parse(SPEC_SAMPLE);
    assert_eq!(d.node.name.as_str(), "C");
    let dns = d.dns.as_ref().unwrap();
    assert_eq!(dns.listen, ["127.0.0.1:5353".parse().unwrap()]);
    assert_eq!(dns.ttl, 20);
    assert_eq!(dns.load.as_deref(), Some(Path::new("conf/tables.txt")));
    let control = d.control.as_ref().unwrap();
    assert_eq!(control.regions, Path::new("conf/regions.txt"));
    assert_eq!(control.token.as_ref().unwrap().expose(), "change-me");
    assert_eq!(
        control.tls.as_ref().unwrap().key,
        Path::new("conf/control.key")
    );
    let proxy = d.proxy.as_ref().unwrap();
    assert_eq!(proxy.special_ports.len(), 1);
    assert_eq!(d.partners.len(), 1);
    assert_eq!(d.partners[0].form, UrlForm::Embedded);
    assert_eq!(d.partners[0].table.len(), 1);
    let status = d.partners[0].status.as_ref().unwrap();
    assert_eq!(
        (status.scheme, status.port_or_default()),
        (Scheme::Https, 8443)
    );
    let xyz = &d.customers[0];
    assert_eq!(xyz.origin.len(), 2);
    let edge = d.edge.as_ref().unwrap();
    assert_eq!(edge.cache_mb, 256);
    assert_eq!(edge.offloaders[0].capacity_kbps, Some(100_000));
    assert_eq!(edge.offloaders[0].table.len(), 1);
}

#[test]
fn defaults_apply_when_keys_are_absent() {
    let d = parse(
        r#"
[node]
name = "G"
[dns]
listen = ["127.0.0.1:5353", "[::1]:5353"]
control = "127.0.0.1:5354"
ns = ["NS1.cdn-g.example."]
[proxy]
listen = "127.0.0.1:8080"
[[customer]]
name = "xyz"
[edge]
listen = "0.0.0.0:8090"
[[edge.offloader]]
name = "C"
token = "t"
semantic_suffix = "c.cdn-g.example"
origins = {}
"#,
    );
    let dns = d.dns.unwrap();
    assert_eq!((dns.ttl, dns.query_log, dns.metrics), (20, None, None));
    assert_eq!(dns.ns[0].as_str(), "ns1.cdn-g.example");
    let proxy = d.proxy.unwrap();
    assert!(proxy.special_ports.is_empty() && proxy.trusted_proxies.is_empty());
    let xyz = &d.customers[0];
    assert!(xyz.site.is_empty() && xyz.offload.is_empty() && xyz.origin.is_empty());
    let edge = d.edge.unwrap();
    assert_eq!((edge.cache_mb, edge.status.is_none()), (256, true));
    let c = &edge.offloaders[0];
    assert_eq!(
        (c.capacity_kbps, c.alert.is_empty(), c.ca.is_none()),
        (None, true, true)
    );
    assert!(d.control.is_none());
}

#[test]
fn unknown_keys_are_reported_with_line_and_column_in_every_table() {
    let e = errors(
        r#"[node]
name = "C"
colour = "blue"
[proxy]
listen = "127.0.0.1:8080"
listn = "x"
[[partner]]
name = "G"
form = "embedded"
host = "foo.cdn-g.example"
tokn = "x"
[extra]
"#,
    );
    assert_eq!(e.len(), 4, "{e:#?}");
    assert!(e[0].starts_with("3:1: unknown field `colour`"), "{}", e[0]);
    assert!(e[1].starts_with("6:1: unknown field `listn`"), "{}", e[1]);
    assert!(e[2].starts_with("11:1: unknown field `tokn`"), "{}", e[2]);
    assert!(e[3].starts_with("12:2: unknown key `extra`"), "{}", e[3]);
}

#[test]
fn every_unknown_key_of_one_table_is_reported_and_the_rest_still_checked() {
    let e = errors(
        r#"[node]
name = "C"
[control]
regions = "regions.txt"
cdns = "cdn.txt"
customers = "customer.txt"
engines = ["127.0.0.1:5354"]
managment = "127.0.0.1:5355"
tls = { cert = "a.pem", key = "a.key", chain = "b.pem" }
alerts = "127.0.0.1"
"#,
    );
    assert_eq!(e.len(), 4, "{e:#?}");
    assert!(e[0].starts_with("8:1: unknown field `managment`"), "{e:#?}");
    assert!(e[1].starts_with("9:40: unknown field `chain`"), "{e:#?}");
    assert_eq!(e[2], "10:10: expected IP:PORT, e.g. 127.0.0.1:8080");
    assert_eq!(e[3], "10:10: `token` is required when `alerts` is set");
}

#[test]
fn every_wrong_type_of_one_table_is_reported() {
    let e = errors(
        r#"[node]
name = "C"
[dns]
listen = ["127.0.0.1:53"]
control = 5354
ns = "ns1.example"
ttl = "twenty"
bogus = 1
"#,
    );
    assert_eq!(e.len(), 4, "{e:#?}");
    assert!(e[0].starts_with("5:11: invalid type: integer"), "{e:#?}");
    assert!(e[1].starts_with("6:6: invalid type: string"), "{e:#?}");
    assert!(e[2].starts_with("7:7: invalid type: string"), "{e:#?}");
    assert!(e[3].starts_with("8:1: unknown field `bogus`"), "{e:#?}");
}

#[test]
fn toml_syntax_errors_carry_positions() {
    let e = errors("[node]\nname = \"C\nx = 1\n");
    assert!(e[0].starts_with("2:"), "{e:?}");
    let e = errors("[node]\nname = 5\n");
    assert!(e[0].starts_with("2:8: invalid type: integer"), "{e:?}");
    let e = errors("[dns]\nlisten = []\nns = []\n");
    assert_eq!(e.len(), 1, "{e:?}");
    assert!(e[0].contains("missing field `control`"), "{e:?}");
}

#[test]
fn missing_node_is_an_error() {
    assert_eq!(errors(""), ["1:1: missing table `[node]`"]);
}

#[test]
fn semantic_errors_are_all_reported_at_their_values() {
    let text = r#"[node]
name = "C"
[dns]
listen = ["localhost:53"]
control = "127.0.0.1:5354"
ns = ["ns1..example"]
[control]
regions = "regions.txt"
cdns = "cdn.txt"
customers = "customer.txt"
engines = ["127.0.0.1:5354"]
management = "127.0.0.1:5355"
alerts = "127.0.0.1:9443"
[proxy]
listen = "127.0.0.1:5354"
special_ports = { H = "127.0.0.1:8081" }
[[partner]]
name = "G"
form = "embedded"
status = "http://127.0.0.1:8443"
[[partner]]
name = "G"
form = "table"
[[customer]]
name = "xyz"
site = ["www.xyz.com"]
origin = { "img.xyz.com" = "ftp://127.0.0.1" }
[[customer]]
name = "abc"
site = ["WWW.xyz.com"]
origin = { "www.xyz.com" = "http://127.0.0.1:8000/path" }
[edge]
listen = "127.0.0.1:8090"
status = "127.0.0.1:8443"
[[edge.offloader]]
name = "C"
token = "t"
origins = {}
[[edge.offloader]]
name = "D"
token = "t"
table = { "x.cdn-g.example" = "img.xyz.com" }
origins = {}
"#;
    let e = errors(text);
    let want = [
        "4:11: expected IP:PORT, e.g. 127.0.0.1:8080",
        "6:7: a DNS label has 1 to 63 characters",
        "12:14: `token` is required when `management` is set",
        "13:10: `token` is required when `alerts` is set",
        "13:10: `tls` is required when `alerts` is set",
        "15:10: address 127.0.0.1:5354 is also used by `dns.control`",
        "16:19: `H` is not a [[partner]] of this file",
        "19:8: `host` is required with form = \"embedded\"",
        "20:10: expected an https:// URL",
        "22:8: partner `G` is defined twice",
        "23:8: `table` is required with form = \"table\" (one host at least)",
        "26:9: site host `www.xyz.com` has no `origin` entry: the front proxy fetches pages from there",
        "27:28: expected an http:// or https:// URL",
        "30:9: site host `www.xyz.com` already belongs to customer `xyz`",
        "31:28: this URL has no path",
        "34:10: `tls` is required when `status` is set",
        "36:8: an offloader needs `embedded_hosts`, `semantic_suffix` or `table`",
        "41:9: token `...` already belongs to C",
        "42:31: origin host `img.xyz.com` is not in this offloader's `origins`",
    ];
    assert_eq!(e, want);
}

#[test]
fn partner_hosts_may_carry_ports_but_name_one_origin_each() {
    let ok = parse(
        r#"[node]
name = "C"
[[partner]]
name = "G"
form = "embedded"
host = "127.0.0.1:8090"
"#,
    );
    assert_eq!(ok.partners[0].host.as_ref().unwrap().port, Some(8090));
    let e = errors(
        r#"[node]
name = "C"
[[partner]]
name = "G"
form = "table"
table = { "a.xyz.com" = "x.cdn-g.example", "b.xyz.com" = "X.cdn-g.example" }
"#,
    );
    assert_eq!(e, ["6:58: partner host `x.cdn-g.example` is defined twice"]);
}

#[test]
fn an_empty_dns_listen_is_pointed_at() {
    let e =
        errors("[node]\nname = \"C\"\n[dns]\nlisten = []\ncontrol = \"127.0.0.1:1\"\nns = []\n");
    assert_eq!(e, ["4:10: `dns.listen` lists no address"]);
}

#[test]
fn read_loads_the_example_and_names_the_file_in_errors() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples");
    let c = Deployment::read(&dir.join("c.toml")).unwrap();
    assert_eq!(c.control.unwrap().regions, dir.join("regions.txt"));
    let missing = dir.join("nope.toml");
    let e = Deployment::read(&missing).unwrap_err().to_string();
    assert!(e.starts_with(&format!("{}: ", missing.display())), "{e}");
}

#[test]
fn input_files_lists_what_is_read_at_start() {
    let d = parse(SPEC_SAMPLE);
    let keys: Vec<&str> = d.input_files().iter().map(|(k, _)| *k).collect();
    assert_eq!(
        keys,
        [
            "dns.load",
            "control.regions",
            "control.cdns",
            "control.customers",
            "control.tls.cert",
            "control.tls.key",
            "partner.ca",
            "edge.tls.cert",
            "edge.tls.key",
            "edge.offloader.ca",
        ]
    );
}

#[test]
fn cluster_table_parses_with_defaults() {
    let d = parse(
        "[node]\nname = \"C\"\n[cluster]\netcd = [\"http://127.0.0.1:2379\", \"https://etcd2.example:2379\"]\n",
    );
    let c = d.cluster.unwrap();
    assert_eq!(c.etcd.len(), 2);
    assert_eq!(c.etcd[1].scheme, Scheme::Https);
    assert_eq!(c.prefix, "/cdnbroker/C");
    assert_eq!(c.lease.as_secs(), 5);
    assert!(c.advertise.is_none() && c.ca.is_none() && c.auth.is_none());
}

#[test]
fn cluster_table_takes_every_key_of_the_spec() {
    let d = parse(concat!(
        "[node]\nname = \"C\"\n[cluster]\n",
        "etcd = [\"http://127.0.0.1:2379\"]\nprefix = \"/cdn/C\"\nlease_s = 9\n",
        "advertise = \"127.0.0.7\"\nca = \"etcd-ca.pem\"\nuser = \"cdnbroker\"\n",
        "password_file = \"etcd.pass\"\n",
    ));
    let c = d.cluster.unwrap();
    assert_eq!(c.prefix, "/cdn/C");
    assert_eq!(c.lease.as_secs(), 9);
    assert_eq!(c.advertise.unwrap().to_string(), "127.0.0.7");
    assert_eq!(c.ca.as_deref(), Some(Path::new("conf/etcd-ca.pem")));
    let auth = c.auth.unwrap();
    assert_eq!(auth.user, "cdnbroker");
    assert_eq!(auth.password_file, Path::new("conf/etcd.pass"));
}

#[test]
fn cluster_mistakes_are_reported_at_their_place() {
    let text = concat!(
        "[node]\nname = \"C\"\n[cluster]\n",
        "etcd = [\"etcd:2379\", \"http://a:2379/v3\"]\n",
        "prefix = \"cdn/\"\nlease_s = 1\nuser = \"u\"\nwhat = 1\n",
    );
    let errs = errors(text);
    let at = |prefix: &str| errs.iter().any(|e| e.starts_with(prefix));
    assert!(at("8:1:"), "unknown key: {errs:?}");
    assert!(at("4:9:"), "scheme: {errs:?}");
    assert!(at("4:22:"), "path: {errs:?}");
    assert!(at("5:10:"), "prefix: {errs:?}");
    assert!(at("6:11:"), "lease: {errs:?}");
    assert!(at("7:8:"), "user without password_file: {errs:?}");
}

#[test]
fn cluster_without_endpoints_is_an_error() {
    let errs = errors("[node]\nname = \"C\"\n[cluster]\netcd = []\n");
    assert!(errs[0].starts_with("4:8:"), "{errs:?}");
}

/// An edge whose offloader `C` has the given `alert = ...` value.
fn edge_with_alert(alert: &str) -> String {
    format!(
        "[node]\nname = \"G\"\n[edge]\nlisten = \"127.0.0.1:8090\"\n[[edge.offloader]]\n\
         name = \"C\"\ntoken = \"t\"\ncapacity_kbps = 1000\nembedded_hosts = [\"g.example\"]\n\
         origins = {{ \"img.xyz.com\" = \"http://127.0.0.1:8000\" }}\nalert = {alert}\n"
    )
}

#[test]
fn an_offloaders_alert_is_one_url_or_a_list_tried_in_order() {
    let one = parse(&edge_with_alert("\"https://127.0.0.1:9443/alert\""));
    let urls = |d: &Deployment| -> Vec<String> {
        d.edge.as_ref().unwrap().offloaders[0]
            .alert
            .iter()
            .map(ToString::to_string)
            .collect()
    };
    assert_eq!(urls(&one), ["https://127.0.0.1:9443/alert"]);
    let two = parse(&edge_with_alert(
        "[\"https://127.0.0.1:9443/alert\", \"https://127.0.0.2:9443/alert\"]",
    ));
    assert_eq!(
        urls(&two),
        [
            "https://127.0.0.1:9443/alert",
            "https://127.0.0.2:9443/alert"
        ]
    );
    // Printed back as written: a string for one, a list for more.
    for d in [one, two] {
        let printed = d.to_toml(Path::new("g.toml"));
        assert_eq!(parse(&printed), d, "{printed}");
    }
}

#[test]
fn alert_mistakes_are_reported_at_the_url() {
    let errs = errors(&edge_with_alert(
        "[\"https://127.0.0.1:9443/alert\", \"http://127.0.0.2:9443/alert\"]",
    ));
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert!(errs[0].starts_with("11:42:"), "{errs:?}");
    let errs = errors(&edge_with_alert("[]"));
    assert!(errs[0].starts_with("11:9:"), "{errs:?}");
    let errs = errors(&edge_with_alert("3"));
    assert!(errs[0].starts_with("11:9:"), "{errs:?}");
}

#[test]
fn dnssec_keys_parse_with_their_default_and_range() {
    let dns = "[node]\nname = \"C\"\n[dns]\nlisten = [\"127.0.0.1:53\"]\ncontrol = \"127.0.0.1:5354\"\nns = [\"ns1.c.example\"]\n";
    let d = parse(&format!("{dns}dnssec = \"keys/\"\n"));
    let role = d.dns.unwrap();
    assert_eq!(role.dnssec.as_deref(), Some(Path::new("conf/keys/")));
    assert_eq!(role.signature_days, 7);
    assert_eq!(parse(dns).dns.unwrap().dnssec, None);
    let d = parse(&format!("{dns}signature_days = 90\n"));
    assert_eq!(d.dns.unwrap().signature_days, 90);
    for bad in ["0", "91"] {
        let errs = errors(&format!("{dns}signature_days = {bad}\n"));
        assert_eq!(errs, ["7:18: expected whole days from 1 to 90"], "{bad}");
    }
}
