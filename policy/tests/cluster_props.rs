//! The clustering output checked against brute force: its longest-prefix lookups equal a
//! linear lookup over the inputs, and its size equals a plain dynamic program over every
//! inherited region (the reference for minimality).

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use broker_config::geo::{GeoEntry, RegionIdx};
use broker_policy::cluster::{NoProgress, cluster};
use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use proptest::prelude::*;

/// The address `base + offset` of the family of `base`.
fn addr(base: IpAddr, offset: u32) -> IpAddr {
    match base {
        IpAddr::V4(a) => IpAddr::V4(Ipv4Addr::from(u32::from(a) + offset)),
        IpAddr::V6(a) => IpAddr::V6(Ipv6Addr::from(u128::from(a) + u128::from(offset))),
    }
}

fn prefix(a: IpAddr, len: u8) -> IpNet {
    match a {
        IpAddr::V4(a) => IpNet::V4(Ipv4Net::new(a, len).unwrap().trunc()),
        IpAddr::V6(a) => IpNet::V6(Ipv6Net::new(a, len).unwrap().trunc()),
    }
}

fn host_len(a: IpAddr) -> u8 {
    if a.is_ipv4() { 32 } else { 128 }
}

/// What the inputs say for `a`: the region of the longest geo entry (the first of equal
/// ones) when a route covers `a`.
fn brute_force(routes: &[IpNet], geo: &[GeoEntry], a: IpAddr) -> Option<RegionIdx> {
    if !routes.iter().any(|r| r.contains(&a)) {
        return None;
    }
    let mut best: Option<&GeoEntry> = None;
    for g in geo.iter().filter(|g| g.net.contains(&a)) {
        if best.is_none_or(|b| g.net.prefix_len() > b.net.prefix_len()) {
            best = Some(g);
        }
    }
    best.map(|g| g.region)
}

fn lookup(table: &[(IpNet, RegionIdx)], a: IpAddr) -> Option<RegionIdx> {
    table
        .iter()
        .filter(|(n, _)| n.contains(&a))
        .max_by_key(|(n, _)| n.prefix_len())
        .map(|&(_, r)| r)
}

/// Prefixes of length `window_len - 2..=host` at offsets inside a window at `base`, so
/// nesting, adjacency and overhang past the window all occur.
fn nets_in(base: IpAddr, window_bits: u32) -> impl Strategy<Value = IpNet> {
    let host = host_len(base);
    let window_len = host - window_bits as u8;
    (0u32..(1 << window_bits), (window_len - 2)..=host)
        .prop_map(move |(off, len)| prefix(addr(base, off), len))
}

fn inputs(base: IpAddr, window_bits: u32) -> impl Strategy<Value = (Vec<IpNet>, Vec<GeoEntry>)> {
    (
        proptest::collection::vec(nets_in(base, window_bits), 0..12),
        proptest::collection::vec((nets_in(base, window_bits), 0u32..4), 0..24),
    )
        .prop_map(|(routes, geo)| {
            let geo = geo
                .into_iter()
                .map(|(net, r)| GeoEntry {
                    net,
                    region: RegionIdx(r),
                })
                .collect();
            (routes, geo)
        })
}

type Memo = HashMap<(usize, usize, Option<u32>), Option<usize>>;

/// Fewest entries for `target[lo..lo + size]` (an aligned block) given the inherited
/// label, trying no entry and every region at every node; None where no table exists.
fn reference_dp(
    target: &[Option<u32>],
    lo: usize,
    size: usize,
    inherited: Option<u32>,
    regions: u32,
    memo: &mut Memo,
) -> Option<usize> {
    if let Some(&v) = memo.get(&(lo, size, inherited)) {
        return v;
    }
    let half = size / 2;
    // The cost below this node when it passes `label` down.
    let below = |label: Option<u32>, memo: &mut Memo| {
        if target[lo..lo + size].iter().all(|&t| t == label) {
            Some(0)
        } else if size > 1 {
            let l = reference_dp(target, lo, half, label, regions, memo);
            let r = reference_dp(target, lo + half, half, label, regions, memo);
            l.zip(r).map(|(l, r)| l + r)
        } else {
            None
        }
    };
    let mut best = below(inherited, memo);
    for region in 0..regions {
        if let Some(c) = below(Some(region), memo) {
            best = Some(best.map_or(c + 1, |b| b.min(c + 1)));
        }
    }
    memo.insert((lo, size, inherited), best);
    best
}

fn check_window(base: IpAddr, window_bits: u32, routes: &[IpNet], geo: &[GeoEntry]) {
    let c = cluster(routes, geo, &mut NoProgress);
    // The shortest input prefixes span four windows and the base is aligned to that, so
    // all inputs lie in [base, base + 4 windows): check every address of that block and
    // of one window on each side.
    let span = 1u32 << window_bits;
    let start = match base {
        IpAddr::V4(a) => IpAddr::V4(Ipv4Addr::from(u32::from(a) - span)),
        IpAddr::V6(a) => IpAddr::V6(Ipv6Addr::from(u128::from(a) - u128::from(span))),
    };
    let mut target = Vec::new();
    for off in 0..6 * span {
        let a = addr(start, off);
        let want = brute_force(routes, geo, a);
        assert_eq!(lookup(&c.entries, a), want, "at {a}: {c:#?}");
        target.push(want.map(|r| r.0));
    }
    // Minimality: the reference DP over the block, "none" inherited from above (nothing
    // outside the block has a region, so no larger prefix can carry an entry).
    let block = &target[span as usize..5 * span as usize];
    let want = reference_dp(block, 0, block.len(), None, 4, &mut Memo::new());
    assert_eq!(Some(c.entries.len()), want, "not minimal: {:#?}", c.entries);
    let (v4, v6) = (c.report.v4, c.report.v6);
    assert_eq!((v4.entries + v6.entries) as usize, c.entries.len());
    // A table of disjoint blocks is valid too, so it is never smaller.
    assert!(v4.entries <= v4.disjoint_entries && v6.entries <= v6.disjoint_entries);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn ipv4_lookups_match_the_inputs_and_the_table_is_minimal(
        (routes, geo) in inputs(IpAddr::V4(Ipv4Addr::new(10, 0, 4, 0)), 6),
    ) {
        check_window(IpAddr::V4(Ipv4Addr::new(10, 0, 4, 0)), 6, &routes, &geo);
    }

    #[test]
    fn ipv6_lookups_match_the_inputs_and_the_table_is_minimal(
        (routes, geo) in inputs("2001:db8::100".parse().unwrap(), 6),
    ) {
        check_window("2001:db8::100".parse().unwrap(), 6, &routes, &geo);
    }

    #[test]
    fn random_far_addresses_match_the_inputs(
        routes in proptest::collection::vec((any::<u32>(), 0u8..=24), 0..20),
        geo in proptest::collection::vec((any::<u32>(), 0u8..=24, 0u32..6), 0..40),
        probes in proptest::collection::vec(any::<u32>(), 200),
    ) {
        let routes: Vec<IpNet> =
            routes.iter().map(|&(a, l)| prefix(IpAddr::V4(a.into()), l)).collect();
        let geo: Vec<GeoEntry> = geo
            .iter()
            .map(|&(a, l, r)| GeoEntry {
                net: prefix(IpAddr::V4(a.into()), l),
                region: RegionIdx(r),
            })
            .collect();
        let c = cluster(&routes, &geo, &mut NoProgress);
        // Probe random addresses and the edges of every input and output prefix.
        let mut probes: Vec<IpAddr> = probes.iter().map(|&a| IpAddr::V4(a.into())).collect();
        let nets = routes.iter().chain(geo.iter().map(|g| &g.net)).chain(c.entries.iter().map(|e| &e.0));
        for n in nets {
            probes.extend([n.network(), n.broadcast()]);
        }
        for a in probes {
            prop_assert_eq!(lookup(&c.entries, a), brute_force(&routes, &geo, a), "at {}", a);
        }
    }
}

/// Every target over an 8-address universe with two regions: the output has exactly as
/// many entries as the smallest of all tables (found by trying them all).
#[test]
fn minimal_on_every_target_of_eight_addresses() {
    // All 15 prefixes of a 3-bit universe, shortest first, as (first address, size).
    let prefixes: Vec<(usize, usize)> = (0..=3)
        .flat_map(|bits| {
            let size = 8 >> bits;
            (0..(1 << bits)).map(move |i| (i * size, size))
        })
        .collect();
    fn code(paint: &[u8; 8]) -> usize {
        paint.iter().fold(0, |c, &p| c * 3 + p as usize)
    }
    // Painting shortest prefixes first leaves each address with its longest match.
    fn search(prefixes: &[(usize, usize)], paint: [u8; 8], used: usize, fewest: &mut [usize]) {
        let f = code(&paint);
        fewest[f] = fewest[f].min(used);
        if used == 8 {
            return;
        }
        for (i, &(start, size)) in prefixes.iter().enumerate() {
            for label in 1..=2u8 {
                let mut next = paint;
                next[start..start + size].fill(label);
                search(&prefixes[i + 1..], next, used + 1, fewest);
            }
        }
    }
    // fewest[f]: fewest entries of a table whose lookups give target f (0 = none).
    let mut fewest = vec![usize::MAX; 3usize.pow(8)];
    search(&prefixes, [0; 8], 0, &mut fewest);
    assert!(
        fewest.iter().all(|&f| f < usize::MAX),
        "some target unreached"
    );

    let base = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 8));
    for (f, &want) in fewest.iter().enumerate() {
        let mut routes = Vec::new();
        let mut geo = Vec::new();
        for i in 0..8u32 {
            let label = (f / 3usize.pow(7 - i)) % 3;
            let net = prefix(addr(base, i), 32);
            if label > 0 {
                routes.push(net);
                geo.push(GeoEntry {
                    net,
                    region: RegionIdx(label as u32 - 1),
                });
            }
        }
        let c = cluster(&routes, &geo, &mut NoProgress);
        assert_eq!(c.entries.len(), want, "target {f}: {:?}", c.entries);
    }
}
