//! The keys `[proxy]` adds to spec §7 for the front proxy's deadlines and request head
//! limit: `origin_timeout_s`, `origin_idle_timeout_s`, `client_header_timeout_s`,
//! `client_write_timeout_s`, `max_header_bytes`, `rewrite_cache_mb`; their defaults (unset: the proxy's own),
//! their errors at `LINE:COL`, and the file printed back.

use std::path::Path;
use std::time::Duration;

use broker_config::deploy::{Deployment, ProxyLimits};

const HEAD: &str = "[node]\nname = \"C\"\n[proxy]\nlisten = \"127.0.0.1:8080\"\n";

fn errors(text: &str) -> Vec<String> {
    match Deployment::parse(text, Path::new("c.toml")) {
        Ok(_) => panic!("no error in:\n{text}"),
        Err(e) => e.errors.iter().map(ToString::to_string).collect(),
    }
}

#[test]
fn limits_parse_and_print_back() {
    let text = format!(
        "{HEAD}origin_timeout_s = 5\norigin_idle_timeout_s = 7\nclient_header_timeout_s = 3\n\
         client_write_timeout_s = 86400\nmax_header_bytes = 1024\nrewrite_cache_mb = 0\n"
    );
    let d = Deployment::parse(&text, Path::new("c.toml")).unwrap();
    let limits = d.proxy.as_ref().unwrap().limits;
    assert_eq!(
        limits,
        ProxyLimits {
            origin_timeout: Some(Duration::from_secs(5)),
            origin_idle_timeout: Some(Duration::from_secs(7)),
            client_header_timeout: Some(Duration::from_secs(3)),
            client_write_timeout: Some(Duration::from_secs(86400)),
            max_header_bytes: Some(1024),
            rewrite_cache_mb: Some(0),
            max_connections: None,
        }
    );
    let printed = d.to_toml(Path::new("c.toml"));
    assert!(printed.contains("origin_idle_timeout_s = 7\n"), "{printed}");
    assert_eq!(Deployment::parse(&printed, Path::new("c.toml")).unwrap(), d);
}

#[test]
fn unset_limits_are_none_and_not_printed() {
    let d = Deployment::parse(HEAD, Path::new("c.toml")).unwrap();
    assert_eq!(d.proxy.as_ref().unwrap().limits, ProxyLimits::default());
    assert!(!d.to_toml(Path::new("c.toml")).contains("_s ="));
}

#[test]
fn bad_limits_are_reported_at_their_place_all_together() {
    let bad = errors(&format!(
        "{HEAD}origin_timeout_s = 0\nclient_write_timeout_s = 86401\nmax_header_bytes = 1023\n"
    ));
    assert_eq!(bad.len(), 3, "{bad:?}");
    assert!(
        bad[0].starts_with("5:20: ") && bad[0].contains("seconds"),
        "{bad:?}"
    );
    assert!(
        bad[1].starts_with("6:26: ") && bad[1].contains("86400"),
        "{bad:?}"
    );
    assert!(
        bad[2].starts_with("7:20: ") && bad[2].contains("1024"),
        "{bad:?}"
    );
    // Wrong types and signs are the TOML reader's errors, placed all the same.
    let typed = errors(&format!("{HEAD}origin_idle_timeout_s = \"30s\"\n"));
    assert!(typed[0].starts_with("5:"), "{typed:?}");
    let negative = errors(&format!("{HEAD}max_header_bytes = -1\n"));
    assert!(negative[0].starts_with("5:"), "{negative:?}");
    let cache = errors(&format!("{HEAD}rewrite_cache_mb = 65537\n"));
    assert!(
        cache[0].starts_with("5:20: ") && cache[0].contains("65536"),
        "{cache:?}"
    );
}
