//! Properties of the clustering input parsers: no panics on any bytes, printed tables read
//! back the same, and delegated ranges are covered exactly by their CIDR blocks.

use std::net::{Ipv4Addr, Ipv6Addr};

use broker_config::geo::{GeoFormat, parse_geo, parse_routes};
use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use proptest::prelude::*;

fn any_net() -> impl Strategy<Value = IpNet> {
    prop_oneof![
        (any::<u32>(), 0u8..=32)
            .prop_map(|(a, l)| IpNet::V4(Ipv4Net::new(Ipv4Addr::from(a), l).unwrap().trunc())),
        (any::<u128>(), 0u8..=128)
            .prop_map(|(a, l)| IpNet::V6(Ipv6Net::new(Ipv6Addr::from(a), l).unwrap().trunc())),
    ]
}

proptest! {
    #[test]
    fn parsers_never_panic_and_report_line_col(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let lines = bytes.split(|&b| b == b'\n').count() as u32;
        let routes = parse_routes(&bytes);
        let cidr = parse_geo(&bytes, GeoFormat::Cidr);
        let delegated = parse_geo(&bytes, GeoFormat::Delegated);
        for e in routes.errors.iter().chain(&cidr.errors).chain(&delegated.errors) {
            prop_assert!(e.pos.line >= 1 && e.pos.line <= lines, "{e}");
            prop_assert!(e.pos.col >= 1, "{e}");
        }
    }

    #[test]
    fn printed_cidr_tables_read_back(
        rows in proptest::collection::vec((any_net(), "[A-Z]{2}", 0u32..70000), 0..50),
    ) {
        let text: String = rows.iter().map(|(n, r, asn)| format!("{n} {r}\n# c\n{n}\t{asn}\n")).collect();
        let geo = parse_geo(text.replace('\t', " ").as_bytes(), GeoFormat::Cidr);
        // Every second line is `CIDR ASN`, whose "region" is a valid name too.
        prop_assert!(geo.errors.is_empty(), "{:?}", geo.errors);
        prop_assert_eq!(geo.value.entries().len(), rows.len() * 2);
        for (i, (n, r, asn)) in rows.iter().enumerate() {
            let (a, b) = (geo.value.entries()[2 * i], geo.value.entries()[2 * i + 1]);
            prop_assert_eq!(a.net, *n);
            prop_assert_eq!(geo.value.name(a.region).as_str(), r.as_str());
            prop_assert_eq!(geo.value.name(b.region).as_str(), asn.to_string());
        }
        let routes = parse_routes(text.as_bytes());
        prop_assert!(routes.errors.is_empty());
        let want: Vec<IpNet> = rows.iter().flat_map(|r| [r.0, r.0]).collect();
        prop_assert_eq!(routes.value, want);
    }

    #[test]
    fn delegated_ipv4_ranges_become_exact_minimal_blocks(start in any::<u32>(), count in 1u64..100_000) {
        let count = count.min(u64::from(u32::MAX - start) + 1);
        let line = format!("ripencc|FR|ipv4|{}|{count}|20000101|allocated\n", Ipv4Addr::from(start));
        let geo = parse_geo(line.as_bytes(), GeoFormat::Delegated);
        prop_assert!(geo.errors.is_empty(), "{:?}", geo.errors);
        let mut next = u64::from(start);
        for e in geo.value.entries() {
            let IpNet::V4(n) = e.net else { panic!("not v4") };
            prop_assert_eq!(u64::from(u32::from(n.network())), next);
            // Minimal: no block could be doubled and stay inside the range.
            if let Some(sup) = n.supernet() {
                let inside = u64::from(u32::from(sup.network())) >= u64::from(start)
                    && u64::from(u32::from(sup.broadcast())) < u64::from(start) + count;
                prop_assert!(!inside, "{n} could be {sup}");
            }
            next += 1u64 << (32 - n.prefix_len());
        }
        prop_assert_eq!(next, u64::from(start) + count);
    }
}
