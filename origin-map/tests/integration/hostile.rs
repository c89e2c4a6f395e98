//! Named hostile requests against the edge: each must be refused, or land on an origin
//! the offloader lists (a trick that only re-spells a listed origin is harmless).

use origin_map::{EdgeRequest, HostError, Refusal, Scheme};

use crate::fixture::{EDGE_NAMES, allowed, edge};

/// What a hostile request must come to.
#[derive(Debug, PartialEq, Eq)]
enum Outcome {
    Refused(Refusal),
    /// Served from this listed origin with this path and query.
    Served(&'static str, &'static str),
}

use Outcome::{Refused, Served};
use Refusal::{
    BadHost, BadOrigin, BadPath, NoOriginSegment, OriginNotAllowed, TooLong, UnknownHost,
};

const FOO: &str = "foo.cdn-g.example";

/// (name, Host header, path, query, outcome).
fn cases() -> Vec<(&'static str, String, String, Option<&'static str>, Outcome)> {
    let long_label = "a".repeat(64);
    let long_host = format!("{}.com", "abcdefghi.".repeat(26));
    let long_path = format!("/img.xyz.com/{}", "a".repeat(9000));
    let s = |x: &str| x.to_owned();
    let e = |path: &str, outcome| (s(FOO), s(path), None, outcome);
    let mut v: Vec<(&'static str, String, String, Option<&'static str>, Outcome)> = vec![];
    let mut add =
        |name, (host, path, query, outcome): (String, String, Option<&'static str>, Outcome)| {
            v.push((name, host, path, query, outcome));
        };
    // Origins outside the table, in the embedded segment.
    add("other_host", e("/evil.com/x", Refused(OriginNotAllowed)));
    add("localhost", e("/localhost/x", Refused(OriginNotAllowed)));
    add(
        "loopback_dotted",
        e("/127.0.0.1/x", Refused(OriginNotAllowed)),
    );
    add("loopback_short", e("/127.1/x", Refused(OriginNotAllowed)));
    add(
        "loopback_hex",
        e("/0x7f.0.0.1/x", Refused(OriginNotAllowed)),
    );
    add(
        "loopback_decimal",
        e("/2130706433/x", Refused(OriginNotAllowed)),
    );
    add(
        "loopback_octal",
        e("/0177.0.0.1/x", Refused(OriginNotAllowed)),
    );
    add(
        "loopback_v4_mapped_v6",
        e("/[::ffff:127.0.0.1]/x", Refused(OriginNotAllowed)),
    );
    add("loopback_v6", e("/[::1]/x", Refused(OriginNotAllowed)));
    add(
        "metadata_ip",
        e(
            "/169.254.169.254/latest/meta-data",
            Refused(OriginNotAllowed),
        ),
    );
    add(
        "metadata_decimal",
        e("/2852039166/latest", Refused(OriginNotAllowed)),
    );
    add(
        "back_door_other_port",
        e("/127.0.0.1:22/x", Refused(OriginNotAllowed)),
    );
    add(
        "listed_ip_other_notation",
        e("/0x7f.1:8000/x", Served("127.0.0.1:8000", "/x")),
    );
    // Percent-encoding.
    add(
        "pct_dot_in_host",
        e(
            "/evil%2ecom/x",
            Refused(BadOrigin(HostError::PercentEncoded)),
        ),
    );
    add(
        "pct_spelled_listed_host",
        e(
            "/img%2exyz.com/x",
            Refused(BadOrigin(HostError::PercentEncoded)),
        ),
    );
    add(
        "pct_slash_smuggle",
        e(
            "/img.xyz.com%2f..%2fevil.com/x",
            Refused(BadOrigin(HostError::PercentEncoded)),
        ),
    );
    add(
        "pct_at_smuggle",
        e(
            "/img.xyz.com%40evil.com/x",
            Refused(BadOrigin(HostError::PercentEncoded)),
        ),
    );
    add(
        "pct_slash_after_origin",
        e(
            "/img.xyz.com/..%2fevil.com",
            Served("img.xyz.com", "/..%2fevil.com"),
        ),
    );
    // User info.
    add(
        "userinfo_after",
        e(
            "/img.xyz.com@evil.com/x",
            Refused(BadOrigin(HostError::UserInfo)),
        ),
    );
    add(
        "userinfo_before",
        e(
            "/evil.com@img.xyz.com/x",
            Refused(BadOrigin(HostError::UserInfo)),
        ),
    );
    add(
        "userinfo_with_port",
        e(
            "/img.xyz.com:8080@evil.com/x",
            Refused(BadOrigin(HostError::BadPort)),
        ),
    );
    // Dot segments.
    add(
        "dotdot_climbs_out_of_origin",
        e(
            "/img.xyz.com/../evil.com/x",
            Served("img.xyz.com", "/evil.com/x"),
        ),
    );
    add(
        "dotdot_encoded",
        e(
            "/img.xyz.com/%2E%2e/evil.com/x",
            Served("img.xyz.com", "/evil.com/x"),
        ),
    );
    add(
        "dotdot_mixed",
        e(
            "/img.xyz.com/.%2e/.%2E/../evil.com",
            Served("img.xyz.com", "/evil.com"),
        ),
    );
    add(
        "dotdot_as_origin",
        e("/../evil.com/x", Refused(BadOrigin(HostError::EmptyLabel))),
    );
    add(
        "dot_as_origin",
        e("/./evil.com/x", Refused(BadOrigin(HostError::Empty))),
    );
    add(
        "pct_dotdot_as_origin",
        e(
            "/%2e%2e/evil.com/x",
            Refused(BadOrigin(HostError::PercentEncoded)),
        ),
    );
    // Backslashes and empty segments.
    add(
        "backslash_dotdot",
        e(
            "/img.xyz.com\\..\\evil.com",
            Served("img.xyz.com", "/evil.com"),
        ),
    );
    add(
        "backslash_splits_origin",
        e("/evil.com\\img.xyz.com/x", Refused(OriginNotAllowed)),
    );
    add("double_slash", e("//evil.com/x", Refused(NoOriginSegment)));
    add("root_only", e("/", Refused(NoOriginSegment)));
    add(
        "backslash_root",
        e("/\\evil.com/x", Refused(NoOriginSegment)),
    );
    // Ports.
    add(
        "port_not_listed",
        e("/img.xyz.com:8081/x", Refused(OriginNotAllowed)),
    );
    add(
        "port_zero",
        e("/img.xyz.com:0/x", Refused(BadOrigin(HostError::BadPort))),
    );
    add(
        "port_wraps_to_80",
        e(
            "/img.xyz.com:65616/x",
            Refused(BadOrigin(HostError::BadPort)),
        ),
    );
    add(
        "port_signed",
        e(
            "/img.xyz.com:+8080/x",
            Refused(BadOrigin(HostError::BadPort)),
        ),
    );
    add(
        "port_empty",
        e("/img.xyz.com:/x", Refused(BadOrigin(HostError::BadPort))),
    );
    add(
        "port_twice",
        e(
            "/img.xyz.com:8080:22/x",
            Refused(BadOrigin(HostError::BadPort)),
        ),
    );
    add(
        "port_leading_zero_listed",
        e("/img.xyz.com:08080/x", Served("img.xyz.com:8080", "/x")),
    );
    add(
        "v6_unclosed",
        e("/[::1/x", Refused(BadOrigin(HostError::Invalid))),
    );
    // Case, dots, IDN.
    add(
        "mixed_case_other",
        e("/EVIL.com/x", Refused(OriginNotAllowed)),
    );
    add(
        "mixed_case_listed",
        e("/IMG.XYZ.COM/x", Served("img.xyz.com", "/x")),
    );
    add(
        "trailing_dot_other",
        e("/evil.com./x", Refused(OriginNotAllowed)),
    );
    add(
        "trailing_dot_listed",
        e("/img.xyz.com./x", Served("img.xyz.com", "/x")),
    );
    add(
        "two_trailing_dots",
        e(
            "/img.xyz.com../x",
            Refused(BadOrigin(HostError::EmptyLabel)),
        ),
    );
    add(
        "idn_homograph",
        e("/іmg.xyz.com/x", Refused(OriginNotAllowed)),
    );
    add(
        "idn_fullwidth_listed",
        e("/ｉｍｇ.xyz.com/x", Served("img.xyz.com", "/x")),
    );
    add(
        "idn_unicode_listed",
        e("/BÜCHER.example/x", Served("xn--bcher-kva.example", "/x")),
    );
    add(
        "punycode_invalid",
        e("/xn--/x", Refused(BadOrigin(HostError::Invalid))),
    );
    // Control characters and spaces.
    add(
        "space_in_origin",
        e("/img xyz.com/x", Refused(BadOrigin(HostError::Invalid))),
    );
    add(
        "nul_in_origin",
        e(
            "/img.xyz.com\0evil/x",
            Refused(BadOrigin(HostError::Invalid)),
        ),
    );
    add(
        "tab_in_origin",
        e("/img.xyz\t.com/x", Refused(BadOrigin(HostError::Invalid))),
    );
    // Lengths.
    add(
        "overlong_label",
        e(
            &format!("/{long_label}.com/x"),
            Refused(BadOrigin(HostError::LabelTooLong)),
        ),
    );
    add(
        "overlong_host",
        e(
            &format!("/{long_host}/x"),
            Refused(BadOrigin(HostError::TooLong)),
        ),
    );
    add("overlong_path", e(&long_path, Refused(TooLong)));
    // The edge's own names and other offloaders' origins.
    add(
        "edge_name_as_origin",
        e("/foo.cdn-g.example/x", Refused(OriginNotAllowed)),
    );
    add(
        "status_name_as_origin",
        e("/status.cdn-g.example/x", Refused(OriginNotAllowed)),
    );
    add(
        "semantic_name_as_origin",
        e("/img.xyz.com.c.cdn-g.example/x", Refused(OriginNotAllowed)),
    );
    add(
        "other_offloaders_origin",
        e("/img.abc.com/x", Refused(OriginNotAllowed)),
    );
    add(
        "d_asks_for_c_origin",
        (
            s("d.cdn-g.example"),
            s("/img.xyz.com/x"),
            None,
            Refused(OriginNotAllowed),
        ),
    );
    // Host header tricks.
    add(
        "host_unknown",
        (s("evil.com"), s("/x"), None, Refused(UnknownHost)),
    );
    add(
        "host_userinfo",
        (
            s("evil.com@foo.cdn-g.example"),
            s("/img.xyz.com/"),
            None,
            Refused(BadHost(HostError::UserInfo)),
        ),
    );
    add(
        "host_empty",
        (
            s(""),
            s("/img.xyz.com/"),
            None,
            Refused(BadHost(HostError::Empty)),
        ),
    );
    add(
        "host_with_path",
        (
            s("foo.cdn-g.example/evil.com"),
            s("/x"),
            None,
            Refused(BadHost(HostError::Invalid)),
        ),
    );
    add(
        "host_pct",
        (
            s("foo%2ecdn-g.example"),
            s("/img.xyz.com/"),
            None,
            Refused(BadHost(HostError::PercentEncoded)),
        ),
    );
    add(
        "host_crlf",
        (
            s("foo.cdn-g.example\r\nX: y"),
            s("/img.xyz.com/"),
            None,
            Refused(BadHost(HostError::Invalid)),
        ),
    );
    add(
        "host_port_twice",
        (
            s("foo.cdn-g.example:80:80"),
            s("/img.xyz.com/"),
            None,
            Refused(BadHost(HostError::BadPort)),
        ),
    );
    add(
        "host_is_back_door",
        (
            s("127.0.0.1:8000"),
            s("/x"),
            None,
            Served("127.0.0.1:8000", "/x"),
        ),
    );
    add(
        "host_loopback_v6",
        (s("[::1]"), s("/x"), None, Refused(UnknownHost)),
    );
    add(
        "host_direct_other_port",
        (s("img.xyz.com:8081"), s("/x"), None, Refused(UnknownHost)),
    );
    add(
        "host_edge_canonicalised",
        (
            s("FOO.cdn-g.EXAMPLE."),
            s("/evil.com/x"),
            None,
            Refused(OriginNotAllowed),
        ),
    );
    // Semantic-form tricks.
    add(
        "semantic_other_host",
        (
            s("evil.com.c.cdn-g.example"),
            s("/x"),
            None,
            Refused(OriginNotAllowed),
        ),
    );
    add(
        "semantic_ip_prefix",
        (
            s("127.0.0.1.c.cdn-g.example"),
            s("/x"),
            None,
            Refused(BadOrigin(HostError::Invalid)),
        ),
    );
    add(
        "semantic_hex_prefix",
        (
            s("0x7f.1.c.cdn-g.example"),
            s("/x"),
            None,
            Refused(BadOrigin(HostError::Invalid)),
        ),
    );
    add(
        "semantic_nested_suffix",
        (
            s("img.xyz.com.c.cdn-g.example.c.cdn-g.example"),
            s("/x"),
            None,
            Refused(OriginNotAllowed),
        ),
    );
    add(
        "semantic_bare_suffix",
        (
            s("c.cdn-g.example"),
            s("/img.xyz.com/x"),
            None,
            Refused(UnknownHost),
        ),
    );
    add(
        "semantic_empty_prefix",
        (
            s(".c.cdn-g.example"),
            s("/x"),
            None,
            Refused(BadHost(HostError::EmptyLabel)),
        ),
    );
    add(
        "semantic_edge_name_prefix",
        (
            s("foo.cdn-g.example.c.cdn-g.example"),
            s("/x"),
            None,
            Refused(OriginNotAllowed),
        ),
    );
    // Request targets.
    add(
        "table_dotdot",
        (
            s("xyz.cdn-g.example"),
            s("/../../evil.com/x"),
            None,
            Served("img.xyz.com", "/evil.com/x"),
        ),
    );
    add(
        "absolute_form_target",
        e("http://evil.com/x", Refused(BadPath)),
    );
    add("asterisk_target", e("*", Refused(BadPath)));
    add("fragment_in_path", e("/img.xyz.com/x#y", Refused(BadPath)));
    v.push((
        "query_not_normalised",
        s(FOO),
        s("/img.xyz.com"),
        Some("u=/../evil.com"),
        Served("img.xyz.com", "/?u=/../evil.com"),
    ));
    v.push((
        "fragment_in_query",
        s(FOO),
        s("/img.xyz.com/"),
        Some("a#b"),
        Refused(BadPath),
    ));
    v
}

#[test]
fn hostile_requests_table() {
    let edge = edge();
    let cases = cases();
    assert!(cases.len() >= 50, "only {} cases", cases.len());
    let mut failures = Vec::new();
    for (name, host, path, query, want) in &cases {
        let req = EdgeRequest {
            scheme: Scheme::Http,
            host,
            path,
            query: *query,
        };
        let got = match edge.decode(&req) {
            Ok(d) => {
                let offloader = d.offloader.name().as_str();
                assert!(
                    allowed(offloader).contains(&d.origin.as_str()),
                    "{name}: {} not listed",
                    d.origin
                );
                assert!(
                    !EDGE_NAMES.contains(&d.origin.host()),
                    "{name}: edge name served"
                );
                Served(
                    allowed(offloader)
                        .iter()
                        .find(|k| **k == d.origin.as_str())
                        .copied()
                        .unwrap_or(""),
                    // Leak the path only for comparison in this test.
                    Box::leak(d.path_and_query.clone().into_boxed_str()),
                )
            }
            Err(refusal) => Refused(refusal),
        };
        if got != *want {
            failures.push(format!("{name}: got {got:?}, want {want:?}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} hostile cases differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn refusals_map_to_403_or_404() {
    let edge = edge();
    for (name, host, path, query, _) in cases() {
        let req = EdgeRequest {
            scheme: Scheme::Http,
            host: &host,
            path: &path,
            query,
        };
        if let Err(refusal) = edge.decode(&req) {
            assert!(matches!(refusal.status(), 403 | 404), "{name}");
        }
    }
}
