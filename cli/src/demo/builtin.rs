//! The demo's built-in configuration: C's and G's deployments (spec §7), the agent files
//! (spec §2), the DNS engine's start-up tables (spec §1), fresh certificates and the
//! `demo.toml` that ties them together, written into one folder with every port taken
//! from the layout. `cdnbroker demo` writes them to a temporary folder and reads them back
//! like any `--config`; `--write-config DIR` writes them for editing.

use std::path::{Path, PathBuf};

use anyhow::Context as _;

use super::certs;
use super::ports::{Layout, Port};

/// The name of the file `--config` takes.
pub(crate) const DEMO_FILE: &str = "demo.toml";

/// The bearer token C presents to G's status server (and G to C's alert receiver).
const C_TO_G_TOKEN: &str = "demo-c-to-g-token";
/// C's management and API credential.
const C_TOKEN: &str = "demo-management-token";

/// Writes every file of the demo world for `layout` into `dir`; returns `demo.toml`'s path.
pub(crate) fn write(dir: &Path, layout: Layout) -> anyhow::Result<PathBuf> {
    certs::write(dir)?;
    for (name, text) in files(layout) {
        let path = dir.join(name);
        std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(dir.join(DEMO_FILE))
}

/// The text files, by name.
fn files(l: Layout) -> [(&'static str, String); 7] {
    let a = |p| l.addr(p);
    let (origin, dns, control, management) = (
        a(Port::Origin),
        a(Port::Dns),
        a(Port::DnsControl),
        a(Port::Management),
    );
    let (proxy, proxy_g, edge, api, status, alerts) = (
        a(Port::Proxy),
        a(Port::ProxyForG),
        a(Port::Edge),
        a(Port::Api),
        a(Port::Status),
        a(Port::Alerts),
    );
    let (ca, (g_cert, g_key), (c_cert, c_key)) = (certs::CA, certs::G_STATUS, certs::C_ALERTS);
    let demo = format!(
        r#"# The cdnbroker demo world, run by `cdnbroker demo --config {DEMO_FILE}`: xyz's origin
# web site and the deployments `cdnbroker run` would start, all in one process.
# Paths are relative to this file.

[origin]
listen = "{origin}"           # serves www.xyz.com and img.xyz.com, told apart by Host

[[deployment]]                         # CDN C: DNS engine, control component, front proxy
config = "c.toml"

[[deployment]]                         # CDN G: the partner edge and its status reports
config = "g.toml"
edge_regions = "regions.txt"           # like `run --edge-regions`: G's load per region
"#
    );
    let c = format!(
        r#"# CDN C of the cdnbroker demo: the offloading side. It runs the brokering DNS engine,
# the control component and the front proxy for its customer xyz, and may offload xyz's
# pictures (img.xyz.com) to its partner CDN G (g.toml).

[node]
name = "C"

[dns]
listen = ["{dns}"]
control = "{control}"
ns = ["ns1.cdn-c.example"]
ttl = 20
load = "tables.txt"                    # spec §1 transaction applied at start

[control]
regions = "regions.txt"
cdns = "cdn.txt"
customers = "customer.txt"
engines = ["{control}"]
management = "{management}"
api = "{api}"                  # HTTP API and operator page
token = "{C_TOKEN}"
alerts = "{alerts}"               # G posts its alerts here (g.toml: alert)
tls = {{ cert = "{c_cert}", key = "{c_key}" }}

[proxy]
listen = "{proxy}"
special_ports = {{ G = "{proxy_g}" }}   # pages on this port send every offloadable URL to G
trusted_proxies = ["127.0.0.1/32"]     # demo only: curl may play a client elsewhere
                                       # with X-Forwarded-For (a browser here is LOCAL)

[[partner]]
name = "G"
form = "embedded"                      # http://foo.cdn-g.example/img.xyz.com/<path>
host = "foo.cdn-g.example"             # G's edge (g.toml: embedded_hosts)
status = "https://{status}"    # G's status reports (g.toml: edge.status)
token = "{C_TO_G_TOKEN}"
ca = "{ca}"

[[customer]]
name = "xyz"
site = ["www.xyz.com"]
offload = ["img.xyz.com"]
dns = ["img.xyz.com"]
origin = {{ "www.xyz.com" = "http://{origin}", "img.xyz.com" = "http://{origin}" }}
"#
    );
    let g = format!(
        r#"# CDN G of the cdnbroker demo: the granting side. Its edge serves the pictures C
# offloads to it, fetching misses from xyz's origin (never through C), and reports the
# load C puts on it.

[node]
name = "G"

[edge]
listen = "{edge}"
status = "{status}"            # spec §4 status reports, HTTPS
tls = {{ cert = "{g_cert}", key = "{g_key}" }}
cache_mb = 64

[[edge.offloader]]
name = "C"
token = "{C_TO_G_TOKEN}"               # what C presents (c.toml: partner.token)
capacity_kbps = 100000                 # reserved for C (cdn.txt: G's capacity)
embedded_hosts = ["foo.cdn-g.example"]
origins = {{ "img.xyz.com" = "http://{origin}" }}   # allowed origin and its back door
alert = "https://{alerts}/alert"  # C's alert receiver (c.toml: control.alerts)
ca = "{ca}"
"#
    );
    [
        (DEMO_FILE, demo),
        ("c.toml", c),
        ("g.toml", g),
        ("regions.txt", REGIONS.to_owned()),
        ("cdn.txt", CDNS.to_owned()),
        ("customer.txt", CUSTOMERS.to_owned()),
        ("tables.txt", TABLES.to_owned()),
    ]
}

const REGIONS: &str = "\
# Spec §2 regions.txt: where clients are. LOCAL holds this machine, so that a browser or
# dig on 127.0.0.1 is in a region; try the others with dig's +subnet.
ADD REG FRANCE { 198.54.234.0, 23; 209.88.72.0, 21; }!
ADD REG GERMANY { 196.8.0.0, 16; 2001:db8:de::, 48; }!
ADD REG LOCAL { 127.0.0.0, 8; ::1, 128; }!
";

const CDNS: &str = "\
# Spec §2 cdn.txt: the CDNs xyz's clients may be sent to, their capacity (kbps), how DNS
# sends a client to each, and the quality (0..100) of their coverage per region.
ADD CDN C:400000 {A:127.0.0.1} [ FRANCE:90; GERMANY:40; LOCAL:80; DEFAULT:50; ]!
ADD CDN G:100000 {C:.cdn-g.example} [ FRANCE:60; GERMANY:95; LOCAL:80; ]!
";

const CUSTOMERS: &str = "\
# Spec §2 customer.txt: the CDNs that may serve each customer, C first.
ADD CST xyz [ C; G; ]!
";

const TABLES: &str = "\
# Spec §1: the transaction C's DNS engine applies at start, before the control component
# sends its own. img.xyz.com: LOCAL and FRANCE 70% C, 30% G; GERMANY all G.
ADD REG FRANCE { 198.54.234.0, 23; 209.88.72.0, 21; }!
ADD REG GERMANY { 196.8.0.0, 16; 2001:db8:de::, 48; }!
ADD REG LOCAL { 127.0.0.0, 8; ::1, 128; }!
ADD CVG two-cdns {
  FRANCE,  [70 = A:127.0.0.1; 30 = C:.cdn-g.example;];
  GERMANY, [100 = C:.cdn-g.example;];
  LOCAL,   [70 = A:127.0.0.1; 30 = C:.cdn-g.example;];
  DEFAULT, [100 = A:127.0.0.1;];
}!
ADD CST img.xyz.com { two-cdns; }!
END
";

#[cfg(test)]
mod tests {
    use super::*;
    use broker_config::check::{Disk, check_files};

    /// The written deployments and agent files pass `cdnbroker check` together, with
    /// every port moved by the base.
    #[test]
    fn written_files_check_together_and_follow_the_base() {
        let dir = tempfile::tempdir().unwrap();
        let demo = write(dir.path(), Layout::new(20000).unwrap()).unwrap();
        assert!(demo.is_file());
        let names = [
            "c.toml",
            "g.toml",
            "regions.txt",
            "cdn.txt",
            "customer.txt",
            "tables.txt",
        ];
        let inputs: Vec<(String, Vec<u8>)> = names
            .iter()
            .map(|n| {
                let p = dir.path().join(n);
                (p.display().to_string(), std::fs::read(&p).unwrap())
            })
            .collect();
        let report = check_files(&inputs, &Disk);
        assert!(report.is_ok(), "{:?}", report.errors);
        let c = std::fs::read_to_string(dir.path().join("c.toml")).unwrap();
        assert!(c.contains("listen = \"127.0.0.1:20080\""), "{c}");
        assert!(!c.contains(":80\""), "{c}");
        for f in [
            certs::CA,
            certs::G_STATUS.0,
            certs::G_STATUS.1,
            certs::C_ALERTS.1,
        ] {
            assert!(dir.path().join(f).is_file(), "{f}");
        }
    }
}
