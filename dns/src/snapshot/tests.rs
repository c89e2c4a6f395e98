//! A commit's snapshot, built on the previous one, answers as a snapshot built from
//! scratch, and shares the compiled regions exactly when no region changed.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use broker_config::Transaction;
use proptest::prelude::*;

use super::*;

const DRAWS: [u32; 6] = [0, 1 << 28, 1 << 30, 1 << 31, 3 << 30, u32::MAX];

/// Region `R<r>` holds `per_region` (at most 4096) /28s in `10.r.0.0/16` and one IPv6 /48.
fn large_tables(regions: u32, per_region: u32) -> Tables {
    let mut text = String::new();
    for r in 0..regions {
        text.push_str(&format!("ADD REG R{r} {{ 2001:db8:{r:x}::, 48;"));
        for i in 0..per_region {
            text.push_str(&format!(" 10.{r}.{}.{}, 28;", i / 16, i % 16 * 16));
        }
        text.push_str(" }!\n");
    }
    text.push_str("ADD CVG two { DEFAULT, [80 = A:192.0.2.10; 20 = A:192.0.2.20;];");
    for r in (0..regions).step_by(3) {
        text.push_str(&format!(
            " R{r}, [50 = A:192.0.2.10; 50 = N:(ns1.cdn-g.example 198.51.100.53); 1 = A:2001:db8::1;];"
        ));
    }
    text.push_str(" }!\nADD CVG one { R1, [1 = C:.cdn-g.example;]; }!\n");
    text.push_str("ADD CST img.xyz.com { two; }!\nADD CST www.xyz.com { one; }!\n");
    apply(&Tables::new(), &text).unwrap()
}

fn apply(tables: &Tables, text: &str) -> Result<Tables, String> {
    let tx = Transaction::parse(text).map_err(|e| e.to_string())?;
    let mut next = tables.clone();
    next.apply(&tx).map_err(|e| e.to_string())?;
    Ok(next)
}

fn probes(regions: u32, per_region: u32) -> Vec<IpAddr> {
    let mut out = vec![
        IpAddr::from([192, 0, 2, 1]),
        IpAddr::from(Ipv6Addr::LOCALHOST),
    ];
    for r in 0..regions + 1 {
        out.push(IpAddr::from(Ipv6Addr::new(
            0x2001, 0xdb8, r as u16, 7, 0, 0, 0, 1,
        )));
        for i in (0..per_region + 1).step_by(97) {
            out.push(IpAddr::from(Ipv4Addr::new(
                10,
                r as u8,
                (i / 16) as u8,
                (i % 16 * 16 + 9) as u8,
            )));
        }
    }
    out
}

/// Everything a query can read from `snap` for `tables`' customers and these addresses,
/// as text.
fn answers(snap: &Snapshot, tables: &Tables, addrs: &[IpAddr]) -> Vec<String> {
    let mut out = Vec::new();
    let mut regions = Vec::new();
    for &addr in addrs {
        let hit = snap.region_of(addr);
        out.push(format!("{addr} {hit:?} {}", snap.region_name(hit.region)));
        regions.push(hit.region);
    }
    regions.sort_unstable();
    regions.dedup();
    for domain in tables.customers().keys() {
        let wire = crate::wire::name_to_wire(domain.as_str());
        let (_, customer) = snap.customer_for(&wire).expect("bound");
        for &region in &regions {
            let Some(entry) = snap.entry(customer.coverage, region) else {
                out.push(format!("{domain} {region} none"));
                continue;
            };
            let picks = [
                ("a", entry.a.as_ref()),
                ("aaaa", entry.aaaa.as_ref()),
                ("other", Some(&entry.other)),
            ];
            for (kind, pick) in picks {
                let labels: Vec<&str> = match pick {
                    Some(p) => DRAWS
                        .iter()
                        .map(|&d| &*snap.choice(p.pick(d)).label)
                        .collect(),
                    None => Vec::new(),
                };
                out.push(format!("{domain} {region} {kind} {labels:?}"));
            }
        }
    }
    out
}

#[test]
fn a_coverage_only_commit_shares_the_regions_and_answers_as_a_full_build() {
    let settings = Settings::default();
    let before = large_tables(40, 2_000);
    let prev = Snapshot::build(1, &settings, &before).unwrap();
    assert_eq!(prev.prefix_count(), 40 * 2_001);
    // What the control sends on a partner's alert: the partner's weights to 0.
    let after = apply(
        &before,
        "UPDATE CVG two, DEFAULT : [100 = A:192.0.2.10; 0 = A:192.0.2.20;]!\n\
         UPDATE CVG two, R3 : [1 = A:192.0.2.10;]!\n\
         UPDATE CVG one, R7 : [1 = A:192.0.2.30;]!\n",
    )
    .unwrap();
    let next = prev.rebuild(&before, 2, &settings, &after).unwrap();
    assert!(
        Arc::ptr_eq(prev.regions(), next.regions()),
        "regions rebuilt"
    );
    let full = Snapshot::build(2, &settings, &after).unwrap();
    assert!(!Arc::ptr_eq(full.regions(), next.regions()));
    let addrs = probes(40, 2_000);
    let got = answers(&next, &after, &addrs);
    assert_eq!(got, answers(&full, &after, &addrs));
    assert_ne!(
        got,
        answers(&prev, &before, &addrs),
        "the commit changed nothing"
    );
    assert_eq!(next.generation(), 2);
}

#[test]
fn a_region_change_compiles_the_regions_anew() {
    let settings = Settings::default();
    let before = large_tables(5, 300);
    let prev = Snapshot::build(1, &settings, &before).unwrap();
    let after = apply(
        &before,
        "ADD REG R2 { 10.2.0.0, 16; }!\nADD REG NEW { 10.9.0.0, 16; }!",
    )
    .unwrap();
    let next = prev.rebuild(&before, 2, &settings, &after).unwrap();
    assert!(!Arc::ptr_eq(prev.regions(), next.regions()));
    let addrs = probes(10, 300);
    let full = Snapshot::build(2, &settings, &after).unwrap();
    assert_eq!(
        answers(&next, &after, &addrs),
        answers(&full, &after, &addrs)
    );
    assert_eq!(
        &**next.region_name(next.region_of([10, 9, 1, 1].into()).region),
        "NEW"
    );
}

/// One statement of a random commit; those the tables refuse are left out.
fn statement() -> impl Strategy<Value = String> {
    let region = prop_oneof![
        Just("DEFAULT".to_string()),
        (0u32..6).prop_map(|r| format!("R{r}"))
    ];
    let weights = prop::collection::vec(0u32..4, 1..4);
    prop_oneof![
        (region.clone(), weights).prop_map(|(r, w)| {
            let choices: String = w
                .iter()
                .enumerate()
                .map(|(i, w)| format!("{} = A:192.0.2.{i};", w + u32::from(i == 0)))
                .collect();
            format!("UPDATE CVG two, {r} : [{choices}]!")
        }),
        (0u32..8, prop::collection::vec((0u8..8, 16u8..25), 0..4)).prop_map(|(r, nets)| {
            let nets: String = nets
                .iter()
                .map(|(b, l)| format!(" 10.{b}.0.0, {l};"))
                .collect();
            format!("ADD REG R{r} {{{nets} }}!")
        }),
        (0u32..8).prop_map(|r| format!("DEL R{r} : REG!")),
        Just("ADD CVG one { DEFAULT, [1 = A:192.0.2.77;]; }!".to_string()),
    ]
}

proptest! {
    #[test]
    fn commits_built_on_the_previous_snapshot_answer_as_full_builds(
        commits in prop::collection::vec(prop::collection::vec(statement(), 1..4), 1..6)
    ) {
        let settings = Settings::default();
        let mut tables = large_tables(6, 40);
        let mut snap = Snapshot::build(1, &settings, &tables).unwrap();
        let addrs = probes(8, 40);
        for (n, commit) in commits.iter().enumerate() {
            let Ok(next_tables) = apply(&tables, &commit.join("\n")) else {
                continue;
            };
            let generation = n as u64 + 2;
            let next = snap.rebuild(&tables, generation, &settings, &next_tables).unwrap();
            let full = Snapshot::build(generation, &settings, &next_tables).unwrap();
            prop_assert_eq!(
                Arc::ptr_eq(snap.regions(), next.regions()),
                next_tables.regions() == tables.regions()
            );
            prop_assert_eq!(
                answers(&next, &next_tables, &addrs),
                answers(&full, &next_tables, &addrs)
            );
            (tables, snap) = (next_tables, next);
        }
    }
}
