//! The keys `[control]` adds to spec §7 for the load agent: `poll_period_s` and
//! `poll_timeout_s` (whole seconds, 1 to a day; unset: the component's defaults), their
//! errors at `LINE:COL`, and the file printed back.

use std::path::Path;
use std::time::Duration;

use broker_config::deploy::Deployment;

const HEAD: &str = "[node]\nname = \"C\"\n[control]\nregions = \"r.txt\"\ncdns = \"c.txt\"\n\
                    customers = \"u.txt\"\nengines = []\n";

#[test]
fn poll_keys_parse_and_print_back() {
    let text = format!("{HEAD}poll_period_s = 2\npoll_timeout_s = 1\n");
    let d = Deployment::parse(&text, Path::new("c.toml")).unwrap();
    let control = d.control.as_ref().unwrap();
    assert_eq!(control.poll_period, Some(Duration::from_secs(2)));
    assert_eq!(control.poll_timeout, Some(Duration::from_secs(1)));
    let printed = d.to_toml(Path::new("c.toml"));
    assert!(printed.contains("poll_period_s = 2\n"), "{printed}");
    assert_eq!(Deployment::parse(&printed, Path::new("c.toml")).unwrap(), d);

    let unset = Deployment::parse(HEAD, Path::new("c.toml")).unwrap();
    assert_eq!(unset.control.as_ref().unwrap().poll_period, None);
    assert!(!unset.to_toml(Path::new("c.toml")).contains("poll_"));
}

#[test]
fn bad_poll_keys_are_reported_at_their_place() {
    let text = format!("{HEAD}poll_period_s = 0\npoll_timeout_s = 86401\n");
    let errors: Vec<String> = match Deployment::parse(&text, Path::new("c.toml")) {
        Ok(_) => panic!("accepted: {text}"),
        Err(e) => e.errors.iter().map(ToString::to_string).collect(),
    };
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert!(
        errors[0].starts_with("8:17: ") && errors[0].contains("seconds"),
        "{errors:?}"
    );
    assert!(errors[1].starts_with("9:18: "), "{errors:?}");
}
