//! `check` on the shipped examples (every file parses, all resolve together) and on
//! in-memory files broken on purpose: each error at its file, line and column.

use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use broker_config::check::{Disk, FileSource, Format, Report, check_files};
use broker_config::deploy::{Deployment, UrlHost};

fn examples_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples")
}

/// Every file directly in `examples/` (not `cluster/`), named `examples/<file>` as `check` does.
fn examples() -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(examples_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            (format!("examples/{name}"), std::fs::read(&p).unwrap())
        })
        .collect();
    files.sort();
    files
}

/// Files held in memory; anything else is "not found".
struct Memory(HashMap<PathBuf, Vec<u8>>);

impl FileSource for Memory {
    fn read(&self, path: &Path) -> io::Result<Vec<u8>> {
        self.0
            .get(path)
            .cloned()
            .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "not found"))
    }
}

fn errors(report: &Report) -> Vec<String> {
    report.errors.iter().map(ToString::to_string).collect()
}

/// The examples with `file` replaced by `text`.
fn with(file: &str, text: &str) -> Vec<(String, Vec<u8>)> {
    let mut files = examples();
    let slot = files.iter_mut().find(|(name, _)| name == file).unwrap();
    slot.1 = text.as_bytes().to_vec();
    files
}

fn example_text(file: &str) -> String {
    std::fs::read_to_string(examples_dir().join(file)).unwrap()
}

#[test]
fn every_example_file_checks_out_together() {
    let files = examples();
    let report = check_files(&files, &Memory(HashMap::new()));
    assert_eq!(errors(&report), Vec::<String>::new());
    assert_eq!(report.files.len(), files.len(), "{:#?}", report.files);
    let format_of = |name: &str| {
        report
            .files
            .iter()
            .find(|f| f.file == name)
            .map(|f| f.format)
    };
    assert_eq!(format_of("examples/c.toml"), Some(Format::Deployment));
    assert_eq!(format_of("examples/g.toml"), Some(Format::Deployment));
    assert_eq!(format_of("examples/regions.txt"), Some(Format::Regions));
    assert_eq!(format_of("examples/cdn.txt"), Some(Format::Cdns));
    assert_eq!(format_of("examples/customer.txt"), Some(Format::Customers));
    assert_eq!(format_of("examples/tables.txt"), Some(Format::Transaction));
    assert_eq!(format_of("examples/c-alerts.key"), Some(Format::Pem));
    let c = report
        .files
        .iter()
        .find(|f| f.file == "examples/c.toml")
        .unwrap();
    assert_eq!(
        c.to_string(),
        "examples/c.toml: deployment (§7): node C, roles dns, control, proxy; \
         1 partner, 1 customer, 0 offloaders"
    );
}

#[test]
fn a_deployment_alone_reads_the_files_it_names_from_disk() {
    let path = examples_dir().join("c.toml");
    let report = check_files(
        &[(path.display().to_string(), std::fs::read(&path).unwrap())],
        &Disk,
    );
    assert_eq!(errors(&report), Vec::<String>::new());
    // c.toml, then regions, cdn, customer, tables and the three PEM files it names.
    assert_eq!(report.files.len(), 8, "{:#?}", report.files);
}

#[test]
fn a_missing_named_file_is_reported_at_its_key() {
    let c = example_text("c.toml");
    let report = check_files(
        &[("conf/c.toml".into(), c.into_bytes())],
        &Memory(HashMap::new()),
    );
    let e = errors(&report);
    assert!(
        e.contains(&"conf/c.toml:15:8: cannot read conf/tables.txt: not found".to_owned()),
        "{e:#?}"
    );
    assert!(
        e.iter()
            .any(|l| l.starts_with("conf/c.toml:26:16: cannot read conf/c-alerts.pem")),
        "{e:#?}"
    );
}

#[test]
fn names_resolve_across_agent_files_and_the_deployment() {
    let files = with(
        "examples/customer.txt",
        "# xyz uses C and a CDN nobody defined\nADD CST xyz [ C; H; ]!\nADD CST abc [ C; ]!\n",
    );
    let report = check_files(&files, &Memory(HashMap::new()));
    assert_eq!(
        errors(&report),
        ["examples/customer.txt:2:18: unknown CDN H (not in cdn.txt)"]
    );
    let files = with(
        "examples/cdn.txt",
        "ADD CDN C:400000 {A:127.0.0.1} [ SPAIN:90; ]!\n",
    );
    assert_eq!(
        errors(&check_files(&files, &Memory(HashMap::new()))),
        [
            "examples/c.toml:33:8: partner G is not an ADD CDN of examples/cdn.txt",
            "examples/cdn.txt:1:34: unknown region SPAIN (not in regions.txt)",
            "examples/customer.txt:2:18: unknown CDN G (not in cdn.txt)",
        ]
    );
}

#[test]
fn peering_deployments_must_agree() {
    let g = example_text("g.toml")
        .replace("token = \"example-c-to-g-token\"", "token = \"other\"")
        .replace(
            "embedded_hosts = [\"127.0.0.1:8090\"]",
            "embedded_hosts = [\"x.example\"]",
        );
    let report = check_files(&with("examples/g.toml", &g), &Memory(HashMap::new()));
    assert_eq!(
        errors(&report),
        [
            "examples/c.toml:35:8: examples/g.toml does not serve this embedded form for C",
            "examples/c.toml:38:9: token differs from the one examples/g.toml expects from C",
        ]
    );
}

#[test]
fn peers_agree_on_origins_and_addresses() {
    let g = example_text("g.toml")
        .replace("origins = { \"img.xyz.com\"", "origins = { \"cdn.xyz.com\"")
        .replace(
            "https://127.0.0.1:9443/alert",
            "https://127.0.0.1:9444/alert",
        )
        .replace("status = \"127.0.0.1:8443\"", "status = \"127.0.0.1:8444\"");
    let report = check_files(&with("examples/g.toml", &g), &Memory(HashMap::new()));
    assert_eq!(
        errors(&report),
        [
            "examples/c.toml:37:10: examples/g.toml serves status reports on 127.0.0.1:8444",
            "examples/c.toml:44:12: img.xyz.com is not among the origins examples/g.toml allows for C",
            "examples/g.toml:20:9: examples/c.toml receives alerts on 127.0.0.1:9443",
        ]
    );
}

#[test]
fn syntax_errors_of_each_format_carry_file_line_and_column() {
    let cases = [
        (
            "examples/regions.txt",
            "ADD REG FRANCE { 198.54.234.0, 33; }!\n",
            "examples/regions.txt:1:",
        ),
        (
            "examples/tables.txt",
            "ADD CST img.xyz.com { nowhere; }!\nEND\n",
            "examples/tables.txt:1:",
        ),
        (
            "examples/c.toml",
            "[node]\nname = \"C\"\n[proxy]\nlisten = \"127.0.0.1\"\n",
            "examples/c.toml:4:10: expected IP:PORT",
        ),
        (
            "examples/c-alerts.pem",
            "-----BEGIN CERTIFICATE-----\nQUJD\n",
            "examples/c-alerts.pem:1:1: CERTIFICATE section has no END line",
        ),
    ];
    for (file, text, prefix) in cases {
        let e = errors(&check_files(&with(file, text), &Memory(HashMap::new())));
        assert!(e.iter().any(|l| l.starts_with(prefix)), "{file}: {e:#?}");
    }
}

#[test]
fn the_extension_picks_the_parser_when_content_tells_nothing() {
    let report = check_files(
        &[("bad.toml".into(), b"= oops\n".to_vec())],
        &Memory(HashMap::new()),
    );
    let e = errors(&report);
    assert!(e[0].starts_with("bad.toml:1:"), "{e:#?}");
}

#[test]
fn unknown_and_binary_files_are_refused() {
    let report = check_files(
        &[
            ("notes.md".into(), b"hello world".to_vec()),
            ("blob".into(), b"ADD CST x [ C; ]!\n\xff".to_vec()),
        ],
        &Memory(HashMap::new()),
    );
    let e = errors(&report);
    assert!(e[0].starts_with("notes.md: unknown format"), "{e:#?}");
    assert_eq!(e[1], "blob:2:1: not UTF-8 text");
}

#[test]
fn events_name_known_cdns_and_regions() {
    let mut files = examples();
    files.push((
        "load.txt".into(),
        b"LOAD G,FRANCE:5000!\nCAPACITY H,CDNTOTAL:9!\nLOAD C,SPAIN:1!\nADD CST abc [ C; Z; ]!\n"
            .to_vec(),
    ));
    assert_eq!(
        errors(&check_files(&files, &Memory(HashMap::new()))),
        [
            "load.txt:2:10: unknown CDN H (not in examples/cdn.txt)",
            "load.txt:3:8: unknown region SPAIN (not in examples/regions.txt)",
            "load.txt:4:18: unknown CDN Z (not in examples/cdn.txt)",
        ]
    );
}

#[test]
fn a_clustering_output_serves_as_regions_for_cdn_txt() {
    let files = [
        (
            "clusters.txt".to_owned(),
            b"FRANCE {\n  198.54.234.0,23;\n}\nGERMANY {\n  196.8.0.0,16;\n}\n".to_vec(),
        ),
        (
            "cdn.txt".to_owned(),
            b"ADD CDN C:1 {A:192.0.2.1} [ FRANCE:90; ITALY:10; ]!\n".to_vec(),
        ),
    ];
    let report = check_files(&files, &Memory(HashMap::new()));
    assert_eq!(
        errors(&report),
        ["cdn.txt:1:40: unknown region ITALY (not in regions.txt)"]
    );
    let ok = check_files(&files[..1], &Memory(HashMap::new()));
    assert_eq!(
        ok.files[0].to_string(),
        "clusters.txt: region list (§6): 2 regions, 2 prefixes"
    );
}

/// Reads the paths `check` asks for relative to the repository, as `cdnbroker check`
/// run from its root does.
struct InRepo(PathBuf);

impl FileSource for InRepo {
    fn read(&self, path: &Path) -> io::Result<Vec<u8>> {
        std::fs::read(self.0.join(path))
    }
}

/// The many-host example of spec §8 (`examples/cluster/`): each deployment checks out
/// alone and all of them together, with the files they name in `examples/`; each joins
/// the same etcd cluster and prefix and listens only on the address it advertises.
#[test]
fn the_cluster_example_checks_out_alone_and_together() {
    let dir = examples_dir().join("cluster");
    let mut tomls: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            (
                format!("examples/cluster/{name}"),
                std::fs::read(&p).unwrap(),
            )
        })
        .collect();
    tomls.sort();
    let names: Vec<&str> = tomls.iter().map(|(n, _)| &n[17..]).collect();
    assert_eq!(
        names,
        [
            "control-a.toml",
            "control-b.toml",
            "dns-a.toml",
            "dns-b.toml",
            "proxy-a.toml",
            "proxy-b.toml"
        ]
    );
    let repo = InRepo(examples_dir().join(".."));
    for one in &tomls {
        let report = check_files(std::slice::from_ref(one), &repo);
        assert_eq!(errors(&report), Vec::<String>::new(), "{}", one.0);
        assert_eq!(report.files[0].format, Format::Deployment);
    }
    let report = check_files(&tomls, &repo);
    assert_eq!(errors(&report), Vec::<String>::new());
    // The six deployments, then the agent files and PEMs of examples/ they name.
    assert_eq!(report.files.len(), 12, "{:#?}", report.files);
    assert!(
        report
            .files
            .iter()
            .any(|f| f.file == "examples/cluster/../regions.txt" && f.format == Format::Regions)
    );

    let etcd = [
        "http://127.0.0.11:2379",
        "http://127.0.0.12:2379",
        "http://127.0.0.13:2379",
    ];
    for (label, bytes) in &tomls {
        let text = std::str::from_utf8(bytes).unwrap();
        let d = Deployment::parse(text, Path::new(label)).unwrap();
        let cluster = d.cluster.as_ref().unwrap_or_else(|| panic!("{label}"));
        let endpoints: Vec<String> = cluster
            .etcd
            .iter()
            .map(|u| u.to_string().trim_end_matches('/').to_owned())
            .collect();
        assert_eq!(endpoints, etcd, "{label}");
        assert_eq!(cluster.prefix, "/cdnbroker/C", "{label}");
        assert_eq!(cluster.lease, Duration::from_secs(3), "{label}");
        let Some(UrlHost::Ip(host)) = cluster.advertise else {
            panic!("{label}: advertise is not an address");
        };
        let mut listens: Vec<SocketAddr> = Vec::new();
        let role = if let Some(dns) = &d.dns {
            listens.extend(&dns.listen);
            listens.push(dns.control);
            "dns"
        } else if let Some(c) = &d.control {
            assert!(c.engines.is_empty(), "{label}: engines register themselves");
            listens.extend([c.management, c.api, c.alerts].into_iter().flatten());
            assert_eq!(listens.len(), 3, "{label}: management, api and alerts");
            "control"
        } else if let Some(p) = &d.proxy {
            listens.push(p.listen);
            listens.extend(p.special_ports.values());
            "proxy"
        } else {
            panic!("{label}: no role");
        };
        let one_role = [d.dns.is_some(), d.control.is_some(), d.proxy.is_some()];
        assert_eq!(one_role.iter().filter(|&&r| r).count(), 1, "{label}");
        assert!(label.contains(&format!("/{role}-")), "{label} plays {role}");
        assert!(
            listens.iter().all(|a| a.ip() == host),
            "{label}: listens on {listens:?}, advertises {host}"
        );
    }
}
