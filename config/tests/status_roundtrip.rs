//! Spec §4 codecs: generated queries, reports and alerts print and parse back to
//! themselves, and no byte string makes a parser panic.

use broker_config::Name;
use broker_config::status::{
    Alert, Figures, Load, Metric, RegionId, Scope, StatusQuery, StatusReport,
};
use proptest::collection::vec;
use proptest::prelude::*;

fn region_id() -> impl Strategy<Value = RegionId> {
    "[A-Za-z0-9.]{1,12}".prop_filter_map("keyword", |s| RegionId::new(&s).ok())
}

/// Region lists without repeated ids (the parser refuses repeats).
fn distinct<T>(items: Vec<(RegionId, T)>) -> Vec<(RegionId, T)> {
    let mut out: Vec<(RegionId, T)> = Vec::new();
    for (id, v) in items {
        if !out.iter().any(|(seen, _)| *seen == id) {
            out.push((id, v));
        }
    }
    out
}

fn figures<T: std::fmt::Debug + Clone + 'static>(
    value: impl Strategy<Value = T> + Clone + 'static,
) -> impl Strategy<Value = Figures<T>> {
    prop_oneof![
        value.clone().prop_map(Figures::Aggregate),
        vec((region_id(), value), 1..5).prop_map(|v| Figures::Regions(distinct(v))),
    ]
}

fn load() -> impl Strategy<Value = Load> + Clone {
    (any::<u64>(), proptest::option::of(any::<u64>()))
        .prop_map(|(kbps, hits_per_s)| Load { kbps, hits_per_s })
}

fn report() -> impl Strategy<Value = StatusReport> {
    prop_oneof![
        figures(load()).prop_map(StatusReport::Load),
        figures(any::<u64>()).prop_map(StatusReport::Capacity),
        Just(StatusReport::Unavailable),
    ]
}

fn query() -> impl Strategy<Value = StatusQuery> {
    let scope = prop_oneof![
        Just(Scope::Aggregate),
        Just(Scope::AllRegions),
        vec(region_id(), 1..5).prop_map(Scope::Regions),
    ];
    let metric = prop_oneof![Just(Metric::Load), Just(Metric::Capacity)];
    (metric, scope, 1..=u32::MAX).prop_map(|(metric, scope, period_secs)| StatusQuery {
        metric,
        scope,
        period_secs,
    })
}

proptest! {
    #[test]
    fn query_round_trips(q in query()) {
        let text = q.to_string();
        prop_assert_eq!(StatusQuery::parse(text.as_bytes()).unwrap(), q);
    }

    #[test]
    fn report_round_trips(r in report()) {
        let text = r.to_string();
        prop_assert_eq!(StatusReport::parse(text.as_bytes()).unwrap(), r);
    }

    #[test]
    fn alert_round_trips(cdn in "[A-Za-z0-9._-]{1,20}", report in report()) {
        let alert = Alert { cdn: Name::new(&cdn).unwrap(), report };
        let text = alert.to_string();
        prop_assert_eq!(Alert::parse(text.as_bytes()).unwrap(), alert);
    }

    #[test]
    fn parsers_never_panic_on_bytes(bytes in vec(any::<u8>(), 0..64)) {
        let _ = StatusQuery::parse(&bytes);
        let _ = StatusReport::parse(&bytes);
        let _ = Alert::parse(&bytes);
    }

    #[test]
    fn parsers_never_panic_on_near_misses(s in "[LoadCapcityUvbgrel ,=()&?/0-9a.]{0,40}") {
        for r in [StatusQuery::parse(s.as_bytes()).err(), StatusReport::parse(s.as_bytes()).err()]
            .into_iter()
            .flatten()
        {
            prop_assert!(r.pos.line >= 1 && r.pos.col >= 1);
        }
    }
}
