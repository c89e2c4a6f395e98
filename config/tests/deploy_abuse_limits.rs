//! The keys of spec §11: `[dns] rrl`, `max_tcp`, `relay_in_flight`, `max_transaction_mb`,
//! `token`; `[proxy]`/`[edge] max_connections`; `[control] max_connections`,
//! `engine_token`. Their defaults, their errors at `LINE:COL`, the file printed back, and
//! `check`'s warning about an open control port without a token.

use std::path::Path;

use broker_config::check::{Disk, check_files};
use broker_config::deploy::{
    DEFAULT_MAX_TCP, DEFAULT_MAX_TRANSACTION_MB, DEFAULT_RELAY_IN_FLIGHT, Deployment, Rrl,
};

const DNS: &str = "[node]\nname = \"C\"\n[dns]\nlisten = [\"127.0.0.1:53\"]\ncontrol = \"127.0.0.1:54\"\nns = []\n";

fn errors(text: &str) -> Vec<String> {
    match Deployment::parse(text, Path::new("c.toml")) {
        Ok(_) => panic!("no error in:\n{text}"),
        Err(e) => e.errors.iter().map(ToString::to_string).collect(),
    }
}

#[test]
fn unset_caps_take_the_spec_defaults_and_are_not_printed() {
    let d = Deployment::parse(DNS, Path::new("c.toml")).unwrap();
    let l = &d.dns.as_ref().unwrap().limits;
    assert_eq!(l.rrl, None, "RRL is off when absent");
    assert_eq!(l.max_tcp(), DEFAULT_MAX_TCP);
    assert_eq!(l.relay_in_flight(), DEFAULT_RELAY_IN_FLIGHT);
    assert_eq!(
        l.max_transaction_bytes() as u64,
        DEFAULT_MAX_TRANSACTION_MB << 20
    );
    assert_eq!((DEFAULT_MAX_TCP, DEFAULT_RELAY_IN_FLIGHT), (1024, 4096));
    let printed = d.to_toml(Path::new("c.toml"));
    assert!(!printed.contains("max_tcp"), "{printed}");
}

#[test]
fn every_key_parses_and_prints_back() {
    let text = format!(
        "{DNS}rrl = {{ responses_per_s = 5, slip = 3 }}\nmax_tcp = 10\nrelay_in_flight = 20\n\
         max_transaction_mb = 2\ntoken = \"engine-secret-1\"\n\
         [proxy]\nlisten = \"127.0.0.1:80\"\nmax_connections = 30\n\
         [edge]\nlisten = \"127.0.0.1:81\"\nmax_connections = 40\n\
         [control]\nregions = \"r\"\ncdns = \"c\"\ncustomers = \"u\"\nengines = []\n\
         max_connections = 50\nengine_token = \"engine-secret-1\"\n"
    );
    let d = Deployment::parse(&text, Path::new("c.toml")).unwrap();
    let l = &d.dns.as_ref().unwrap().limits;
    assert_eq!(
        l.rrl,
        Some(Rrl {
            responses_per_s: 5,
            slip: 3,
            ..Rrl::default()
        })
    );
    assert_eq!((l.max_tcp, l.relay_in_flight), (Some(10), Some(20)));
    assert_eq!(l.max_transaction_bytes(), 2 << 20);
    assert_eq!(l.token.as_ref().unwrap().expose(), "engine-secret-1");
    assert_eq!(d.proxy.as_ref().unwrap().limits.max_connections, Some(30));
    assert_eq!(d.edge.as_ref().unwrap().max_connections, Some(40));
    let c = d.control.as_ref().unwrap();
    assert_eq!(c.max_connections, Some(50));
    assert_eq!(c.engine_token.as_ref().unwrap().expose(), "engine-secret-1");
    let printed = d.to_toml(Path::new("c.toml"));
    assert_eq!(Deployment::parse(&printed, Path::new("c.toml")).unwrap(), d);
}

#[test]
fn bad_caps_are_reported_at_their_place() {
    let bad = errors(&format!(
        "{DNS}max_tcp = 0\nrrl = {{ slip = 101, ipv4_prefix = 33 }}\nmax_transaction_mb = 0\n"
    ));
    assert_eq!(bad.len(), 4, "{bad:?}");
    assert!(bad[0].starts_with("7:11: "), "{bad:?}");
    assert!(
        bad[1].starts_with("8:16: ") && bad[1].contains("TC=1"),
        "{bad:?}"
    );
    assert!(
        bad[2].starts_with("8:35: ") && bad[2].contains("32"),
        "{bad:?}"
    );
    assert!(bad[3].starts_with("9:22: "), "{bad:?}");
    let unknown = errors(&format!("{DNS}rrl = {{ rate = 5 }}\n"));
    assert!(
        unknown[0].starts_with("7:") && unknown[0].contains("rate"),
        "{unknown:?}"
    );
}

#[test]
fn check_warns_about_an_open_control_port_without_a_token() {
    let open = DNS.replace("127.0.0.1:54", "0.0.0.0:54");
    let report = check_files(&[("c.toml".into(), open.clone().into_bytes())], &Disk);
    assert!(report.is_ok(), "{:?}", report.errors);
    assert_eq!(report.warnings.len(), 1, "{:?}", report.warnings);
    let w = report.warnings[0].to_string();
    assert!(w.starts_with("c.toml:5:11: warning: "), "{w}");
    for quiet in [
        DNS.to_owned(),
        format!("{open}token = \"engine-secret-1\"\n"),
    ] {
        let report = check_files(&[("c.toml".into(), quiet.into_bytes())], &Disk);
        assert!(report.warnings.is_empty(), "{:?}", report.warnings);
    }
}
