//! The keys `[proxy]` adds to spec §7 for HTTPS sites: `https_listen`, `tls` (a
//! certificate per set of site names) and `origin_ca`; their defaults and their errors at
//! `LINE:COL`.

use std::path::Path;

use broker_config::deploy::Deployment;

const HEAD: &str = "[node]\nname = \"C\"\n[proxy]\nlisten = \"127.0.0.1:8080\"\n";

fn errors(text: &str) -> Vec<String> {
    match Deployment::parse(text, Path::new("c.toml")) {
        Ok(_) => panic!("no error in:\n{text}"),
        Err(e) => e.errors.iter().map(ToString::to_string).collect(),
    }
}

#[test]
fn https_keys_parse_with_paths_relative_to_the_file() {
    let text = format!(
        "{HEAD}https_listen = \"127.0.0.1:8443\"\norigin_ca = \"ca.pem\"\n\
         tls = [{{ names = [\"WWW.xyz.com\", \"*.xyz.com\"], cert = \"x.pem\", key = \"x.key\" }}]\n"
    );
    let d = Deployment::parse(&text, Path::new("conf/c.toml")).unwrap();
    let proxy = d.proxy.as_ref().unwrap();
    assert_eq!(proxy.https_listen, Some("127.0.0.1:8443".parse().unwrap()));
    assert_eq!(proxy.tls[0].names, ["www.xyz.com", "*.xyz.com"]);
    assert_eq!(proxy.tls[0].files.cert, Path::new("conf/x.pem"));
    assert_eq!(proxy.origin_ca.as_deref(), Some(Path::new("conf/ca.pem")));
    let files: Vec<&str> = d.input_files().iter().map(|(k, _)| *k).collect();
    assert_eq!(
        files,
        ["proxy.tls.cert", "proxy.tls.key", "proxy.origin_ca"]
    );
    // Printed back, it parses to the same deployment.
    let again = Deployment::parse(
        &d.to_toml(Path::new("conf/c.toml")),
        Path::new("conf/c.toml"),
    );
    assert_eq!(again.unwrap(), d);
}

#[test]
fn https_keys_default_to_none() {
    let d = Deployment::parse(HEAD, Path::new("c.toml")).unwrap();
    let proxy = d.proxy.unwrap();
    assert_eq!(
        (proxy.https_listen, proxy.tls.len(), proxy.origin_ca),
        (None, 0, None)
    );
}

#[test]
fn https_mistakes_are_reported_at_their_place() {
    let missing = errors(&format!("{HEAD}https_listen = \"127.0.0.1:8443\"\n"));
    assert_eq!(missing.len(), 1, "{missing:?}");
    assert!(missing[0].starts_with("5:16: "), "{missing:?}");
    assert!(missing[0].contains("tls"), "{missing:?}");
    let bad = errors(&format!(
        "{HEAD}https_listen = \"127.0.0.1:8443\"\ntls = [{{ names = [\"bad name\"], cert = \"\", key = \"k\" }}]\n"
    ));
    assert_eq!(bad.len(), 2, "{bad:?}");
    assert!(bad[0].starts_with("6:19: "), "{bad:?}");
    assert!(bad[1].starts_with("6:39: "), "{bad:?}");
    let unknown = errors(&format!(
        "{HEAD}tls = [{{ names = [\"a.example\"], cert = \"c\", key = \"k\", pw = \"x\" }}]\n"
    ));
    assert!(unknown[0].starts_with("5:"), "{unknown:?}");
    assert!(unknown[0].contains("pw"), "{unknown:?}");
}
