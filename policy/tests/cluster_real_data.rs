//! Clustering on real tables (`data/` of the repository, see its README for
//! sources and licences: RouteViews, DB-IP, NRO data, CC BY 4.0), or on generated tables
//! of the same shape when that folder is absent. The output's longest-prefix lookups are
//! compared with lookups over the inputs at the edges and middle of many prefixes.

use std::io::Read;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};

use broker_config::RegionsFile;
use broker_config::geo::{GeoEntry, GeoFormat, GeoTable, RegionIdx, parse_geo, parse_routes};
use broker_policy::cluster::{NoProgress, cluster};
use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use prefix_trie::PrefixMap;

/// The repository's test data; missing, the test fails naming it.
fn data_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../data");
    let routes = dir.join("prefix-asn.txt.gz");
    assert!(
        routes.exists(),
        "{} is missing (the repository's test data)",
        routes.display()
    );
    dir
}

fn gunzip(path: &Path) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(std::fs::File::open(path).unwrap())
        .read_to_end(&mut out)
        .unwrap();
    out
}

/// A small deterministic generator (xorshift), so the fallback needs no data and no seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// Routes and a geo table shaped like the real ones: geo blocks tile parts of the space,
/// with covering prefixes of another region above some of them; routes overlap both.
fn generated() -> (Vec<IpNet>, GeoTable) {
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    let mut geo = GeoTable::new();
    let regions: Vec<RegionIdx> = (0..50)
        .map(|i| geo.intern(&format!("R{i}")).unwrap())
        .collect();
    let v4 = |a: u64, len: u64| {
        IpNet::V4(
            Ipv4Net::new(Ipv4Addr::from(a as u32), len as u8)
                .unwrap()
                .trunc(),
        )
    };
    let v6 = |a: u64, len: u64| {
        IpNet::V6(
            Ipv6Net::new(Ipv6Addr::from(u128::from(a) << 64), len as u8)
                .unwrap()
                .trunc(),
        )
    };
    for _ in 0..40_000 {
        let (a, r) = (rng.next(), regions[(rng.next() % 50) as usize]);
        geo.push(v4(a, 12 + rng.next() % 13), r);
        geo.push(v6(a, 20 + rng.next() % 28), r);
    }
    let routes = (0..40_000)
        .flat_map(|_| {
            let a = rng.next();
            [v4(a, 8 + rng.next() % 17), v6(a, 16 + rng.next() % 33)]
        })
        .collect();
    (routes, geo)
}

fn lpm<T: Copy>(v4: &PrefixMap<Ipv4Net, T>, v6: &PrefixMap<Ipv6Net, T>, a: IpAddr) -> Option<T> {
    match a {
        IpAddr::V4(a) => v4.get_lpm(&Ipv4Net::from(a)).map(|(_, &t)| t),
        IpAddr::V6(a) => v6.get_lpm(&Ipv6Net::from(a)).map(|(_, &t)| t),
    }
}

/// Two prefix maps, one per family; the first value of a prefix is kept, as in clustering.
fn maps<T: Copy>(
    items: impl Iterator<Item = (IpNet, T)>,
) -> (PrefixMap<Ipv4Net, T>, PrefixMap<Ipv6Net, T>) {
    let (mut m4, mut m6) = (PrefixMap::new(), PrefixMap::new());
    for (net, t) in items {
        match net {
            IpNet::V4(n) if m4.get(&n).is_none() => {
                m4.insert(n, t);
            }
            IpNet::V6(n) if m6.get(&n).is_none() => {
                m6.insert(n, t);
            }
            _ => {}
        }
    }
    (m4, m6)
}

fn middle(n: IpNet) -> IpAddr {
    match n {
        IpNet::V4(n) => {
            let (s, e) = (u32::from(n.network()), u32::from(n.broadcast()));
            IpAddr::V4(Ipv4Addr::from(s + (e - s) / 2))
        }
        IpNet::V6(n) => {
            let (s, e) = (u128::from(n.network()), u128::from(n.broadcast()));
            IpAddr::V6(Ipv6Addr::from(s + (e - s) / 2))
        }
    }
}

/// Every `n`th line of `text`: debug builds parse about 8 µs a line, so the test takes a
/// third of each table unless `CLUSTER_FULL_DATA` is set (the bench runs it all).
fn sample(text: Vec<u8>, n: usize) -> Vec<u8> {
    if n == 1 {
        return text;
    }
    let mut out = Vec::with_capacity(text.len() / n + 1);
    for line in text.split(|&b| b == b'\n').step_by(n) {
        out.extend_from_slice(line);
        out.push(b'\n');
    }
    out
}

#[test]
fn real_tables_cluster_to_the_same_lookups() {
    let dir = data_dir();
    let n = if std::env::var_os("CLUSTER_FULL_DATA").is_some() {
        1
    } else {
        3
    };
    let routes = parse_routes(&sample(gunzip(&dir.join("prefix-asn.txt.gz")), n));
    let first = |e: &[broker_config::ParseError]| format!("{:?}", &e[..3.min(e.len())]);
    assert!(routes.errors.is_empty(), "{}", first(&routes.errors));
    let geo = sample(gunzip(&dir.join("regions-geowhois.txt.gz")), n);
    let geo = parse_geo(&geo, GeoFormat::Cidr);
    assert!(geo.errors.is_empty(), "{}", first(&geo.errors));
    assert!(routes.value.len() > 732_000 / n && geo.value.entries().len() > 1_010_000 / n);
    check(&routes.value, &geo.value, 7 / n);
}

#[test]
fn generated_tables_cluster_to_the_same_lookups() {
    let (routes, geo) = generated();
    check(&routes, &geo, 1);
}

/// Probes the edges and middle of every `step`th input and output prefix.
fn check(routes: &[IpNet], geo: &GeoTable, step: usize) {
    let c = cluster(routes, geo.entries(), &mut NoProgress);
    assert!(!c.entries.is_empty());

    let (r4, r6) = maps(routes.iter().map(|&n| (n, ())));
    let (g4, g6) = maps(
        geo.entries()
            .iter()
            .map(|&GeoEntry { net, region }| (net, region)),
    );
    let (o4, o6) = maps(c.entries.iter().copied());
    assert_eq!(
        o4.len() + o6.len(),
        c.entries.len(),
        "duplicate output prefixes"
    );

    let nets = routes
        .iter()
        .step_by(step)
        .chain(geo.entries().iter().map(|e| &e.net).step_by(step))
        .chain(c.entries.iter().map(|e| &e.0).step_by(step));
    let mut probes = 0;
    for &n in nets {
        for a in [n.network(), n.broadcast(), middle(n)] {
            let want = lpm(&r4, &r6, a).and_then(|()| lpm(&g4, &g6, a));
            assert_eq!(lpm(&o4, &o6, a), want, "at {a}");
            probes += 1;
        }
    }
    assert!(probes >= 3 * (routes.len() + geo.entries().len()) / step);
    // The §6 text reads back as a regions.txt with the same prefixes.
    let text = c.to_region_list(geo.regions()).to_string();
    let back = RegionsFile::parse(&text).unwrap();
    let mut read: Vec<(IpNet, &str)> = back
        .regions
        .iter()
        .flat_map(|r| r.value.prefixes.iter().map(|&n| (n, r.value.name.as_str())))
        .collect();
    let mut want: Vec<(IpNet, &str)> = c
        .entries
        .iter()
        .map(|&(n, r)| (n, geo.name(r).as_str()))
        .collect();
    read.sort_unstable();
    want.sort_unstable();
    assert!(read == want, "the region file reads back different");
    // Every routed address without a region is listed as unmapped, and only those.
    for &n in c.report.unmapped.iter().step_by(step) {
        let a = middle(n);
        assert_eq!(lpm(&r4, &r6, a), Some(()), "{n} is not routed");
        assert_eq!(lpm(&g4, &g6, a), None, "{n} has a region");
    }
}
