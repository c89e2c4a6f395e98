use super::*;

fn net(s: &str) -> IpNet {
    s.parse().unwrap()
}

fn run(routes: &[&str], geo: &[(&str, u32)]) -> Clustering {
    let routes: Vec<IpNet> = routes.iter().map(|r| net(r)).collect();
    let geo: Vec<GeoEntry> = geo
        .iter()
        .map(|&(n, r)| GeoEntry {
            net: net(n),
            region: RegionIdx(r),
        })
        .collect();
    cluster(&routes, &geo, &mut NoProgress)
}

fn table(c: &Clustering) -> Vec<(String, u32)> {
    c.entries
        .iter()
        .map(|(n, r)| (n.to_string(), r.0))
        .collect()
}

fn t(rows: &[(&str, u32)]) -> Vec<(String, u32)> {
    rows.iter().map(|&(n, r)| (n.to_owned(), r)).collect()
}

#[test]
fn a_route_inside_a_larger_geo_prefix_gets_the_route_prefix() {
    let c = run(&["10.1.0.0/16"], &[("10.0.0.0/8", 0)]);
    assert_eq!(table(&c), t(&[("10.1.0.0/16", 0)]));
    assert_eq!(
        c.report.v4,
        Tally {
            routed: 65536,
            unmapped: 0,
            disjoint_entries: 1,
            entries: 1,
        }
    );
    assert!(c.report.straddling.is_empty());
}

#[test]
fn adjacent_routes_of_one_region_merge() {
    let c = run(
        &["10.0.0.0/25", "10.0.0.128/25", "10.0.1.0/24"],
        &[("10.0.0.0/23", 3)],
    );
    assert_eq!(table(&c), t(&[("10.0.0.0/23", 3)]));
}

#[test]
fn a_nested_geo_prefix_stays_a_more_specific_entry() {
    let c = run(&["10.0.0.0/16"], &[("10.0.0.0/16", 0), ("10.0.7.0/24", 1)]);
    assert_eq!(table(&c), t(&[("10.0.0.0/16", 0), ("10.0.7.0/24", 1)]));
    assert_eq!(c.report.straddling.len(), 1);
    assert_eq!(c.report.straddling[0].regions, [RegionIdx(0), RegionIdx(1)]);
    assert!(!c.report.straddling[0].partly_unmapped);
}

#[test]
fn a_majority_region_covers_the_block_and_the_minority_nests() {
    // Four /26 of a /24: A A B A. Two entries, not three.
    let c = run(
        &["10.0.0.0/24"],
        &[
            ("10.0.0.0/26", 0),
            ("10.0.0.64/26", 0),
            ("10.0.0.128/26", 1),
            ("10.0.0.192/26", 0),
        ],
    );
    assert_eq!(table(&c), t(&[("10.0.0.0/24", 0), ("10.0.0.128/26", 1)]));
    assert_eq!((c.report.v4.entries, c.report.v4.disjoint_entries), (2, 3));
}

#[test]
fn unmapped_routed_space_gets_no_entry_and_is_reported() {
    let c = run(&["10.0.0.0/23", "192.0.2.0/24"], &[("10.0.0.0/24", 0)]);
    assert_eq!(table(&c), t(&[("10.0.0.0/24", 0)]));
    let unmapped: Vec<String> = c.report.unmapped.iter().map(ToString::to_string).collect();
    assert_eq!(unmapped, ["10.0.1.0/24", "192.0.2.0/24"]);
    assert_eq!(
        c.report.v4,
        Tally {
            routed: 768,
            unmapped: 512,
            disjoint_entries: 1,
            entries: 1,
        }
    );
}

#[test]
fn a_region_cannot_cover_unrouted_space_between_its_parts() {
    // 10.0.0.0/24 and 10.0.2.0/24 are routed, 10.0.1.0/24 is not: no /22 may cover them.
    let c = run(&["10.0.0.0/24", "10.0.2.0/24"], &[("10.0.0.0/8", 0)]);
    assert_eq!(table(&c), t(&[("10.0.0.0/24", 0), ("10.0.2.0/24", 0)]));
}

#[test]
fn a_straddling_route_is_split_and_reported() {
    let c = run(
        &["10.0.0.0/22"],
        &[("10.0.0.0/24", 0), ("10.0.1.0/24", 1), ("10.0.2.0/24", 1)],
    );
    assert_eq!(
        table(&c),
        t(&[("10.0.0.0/24", 0), ("10.0.1.0/24", 1), ("10.0.2.0/24", 1)])
    );
    assert_eq!(
        c.report.straddling,
        [Straddle {
            route: net("10.0.0.0/22"),
            regions: vec![RegionIdx(0), RegionIdx(1)],
            partly_unmapped: true,
        }]
    );
}

#[test]
fn a_prefix_given_twice_keeps_its_first_region() {
    let c = run(&["10.0.0.0/24"], &[("10.0.0.0/24", 2), ("10.0.0.0/24", 5)]);
    assert_eq!(table(&c), t(&[("10.0.0.0/24", 2)]));
    assert_eq!(
        c.report.conflicts,
        [GeoConflict {
            net: net("10.0.0.0/24"),
            kept: RegionIdx(2),
            dropped: RegionIdx(5),
        }]
    );
}

#[test]
fn whole_address_spaces_and_their_last_address_work() {
    let c = run(
        &["0.0.0.0/0", "::/0"],
        &[
            ("0.0.0.0/0", 0),
            ("255.255.255.255/32", 1),
            ("::/0", 2),
            ("ffff::/16", 3),
        ],
    );
    assert_eq!(
        table(&c),
        t(&[
            ("0.0.0.0/0", 0),
            ("255.255.255.255/32", 1),
            ("::/0", 2),
            ("ffff::/16", 3)
        ])
    );
    assert_eq!(c.report.v4.routed, 1 << 32);
    assert_eq!(c.report.v6.routed, u128::MAX);
    assert_eq!(c.report.straddling.len(), 2);
}

#[test]
fn ipv6_routes_split_along_geo_boundaries() {
    let c = run(
        &["2001:db8::/32"],
        &[("2001:db8::/33", 0), ("2001:db8:8000::/34", 0)],
    );
    assert_eq!(
        table(&c),
        t(&[("2001:db8::/33", 0), ("2001:db8:8000::/34", 0)])
    );
    assert_eq!(c.report.unmapped, [net("2001:db8:c000::/34")]);
}

#[test]
fn blocks_are_the_fewest_aligned_pieces() {
    let mut got = Vec::new();
    blocks(1u32, 6, |a, len| got.push((a, len)));
    assert_eq!(got, [(1, 32), (2, 31), (4, 31), (6, 32)]);
    got.clear();
    blocks(0u32, u32::MAX, |a, len| got.push((a, len)));
    assert_eq!(got, [(0, 0)]);
    got.clear();
    blocks(u32::MAX, u32::MAX, |a, len| got.push((a, len)));
    assert_eq!(got, [(u32::MAX, 32)]);
}

#[test]
fn no_routes_give_an_empty_table() {
    let c = run(&[], &[("10.0.0.0/8", 0)]);
    assert!(c.entries.is_empty());
    assert_eq!(c.report, ClusterReport::default());
}

#[test]
fn ipv4_mapped_ipv6_prefixes_count_as_ipv4() {
    let c = run(
        &["::ffff:10.0.0.0/120", "10.0.1.0/24"],
        &[("::ffff:10.0.0.0/119", 0)],
    );
    assert_eq!(table(&c), t(&[("10.0.0.0/23", 0)]));
    assert_eq!(c.report.v6, Tally::default());
}
