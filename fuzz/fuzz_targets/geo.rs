#![no_main]
//! The clustering input parsers (`broker_config::geo`) on any bytes: errors lie inside
//! the input, and what was kept, printed back, parses to the same thing with no error.

use broker_config::geo::{GeoFormat, parse_geo, parse_routes};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let lines = data.split(|&b| b == b'\n').count();
    let inside = |e: &broker_config::ParseError| {
        assert!(
            e.pos.line >= 1 && e.pos.line as usize <= lines && e.pos.col >= 1,
            "error outside the input: {e}"
        );
    };

    let routes = parse_routes(data);
    routes.errors.iter().for_each(inside);
    let printed: String = routes.value.iter().map(|n| format!("{n}\n")).collect();
    let again = parse_routes(printed.as_bytes());
    assert!(again.errors.is_empty(), "{:?}", again.errors);
    assert_eq!(again.value, routes.value);

    for format in [GeoFormat::Cidr, GeoFormat::Delegated] {
        let geo = parse_geo(data, format);
        geo.errors.iter().for_each(inside);
        let t = &geo.value;
        let printed: String = t
            .entries()
            .iter()
            .map(|e| format!("{} {}\n", e.net, t.name(e.region)))
            .collect();
        let again = parse_geo(printed.as_bytes(), GeoFormat::Cidr);
        assert!(again.errors.is_empty(), "{:?}", again.errors);
        assert_eq!(again.value.entries().len(), t.entries().len());
        for (a, b) in again.value.entries().iter().zip(t.entries()) {
            assert_eq!(a.net, b.net);
            assert_eq!(again.value.name(a.region), t.name(b.region));
        }
    }
});
