//! The event loop's rules, driven through `Core::handle` without sockets.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use broker_config::deploy::{Partner, UrlForm};
use broker_config::status::Alert;
use broker_config::{Events, Name};
use broker_policy::model::Status;
use tokio::sync::oneshot;

use super::*;
use crate::config_agent::{ConfigPaths, read};

const REGIONS: &str = "ADD REG FRANCE { 198.54.234.0, 23; }!\n";
const CDNS: &str = "ADD CDN C:400000 {A:192.0.2.10} [ FRANCE:90; DEFAULT:50; ]!\nADD CDN G:100000 {A:192.0.2.20} [ FRANCE:60; ]!\n";
const CUSTOMERS: &str = "ADD CST img.xyz.com [ C; G; ]!\n";

fn n(s: &str) -> Name {
    Name::new(s).unwrap()
}

fn core(dir: &Path) -> Core {
    std::fs::write(dir.join("regions.txt"), REGIONS).unwrap();
    std::fs::write(dir.join("cdn.txt"), CDNS).unwrap();
    std::fs::write(dir.join("customer.txt"), CUSTOMERS).unwrap();
    let role = broker_config::deploy::ControlRole {
        regions: dir.join("regions.txt"),
        cdns: dir.join("cdn.txt"),
        customers: dir.join("customer.txt"),
        engines: Vec::new(),
        management: None,
        api: None,
        token: None,
        alerts: None,
        tls: None,
        poll_period: None,
        poll_timeout: None,
        max_connections: None,
        engine_token: None,
    };
    let paths = ConfigPaths::of(&role);
    let loaded = read(&paths).unwrap();
    let g = Partner {
        name: n("G"),
        form: UrlForm::Embedded,
        host: None,
        table: Default::default(),
        status: None,
        token: None,
        ca: None,
    };
    let routing = Arc::new(RoutingTables::of(n("C"), std::slice::from_ref(&g), &[]));
    Core::new(
        ControlSettings::default(),
        paths,
        loaded,
        routing,
        DnsNames::default(),
        Arc::new(Metrics::new()),
        Instant::now(),
    )
}

fn batch(core: &mut Core, text: &str) -> Result<u64, BatchError> {
    let (reply, mut answer) = oneshot::channel();
    let events = Events::parse(text).unwrap();
    core.handle(Command::Batch { events, reply });
    answer.try_recv().unwrap()
}

fn alert(core: &mut Core, text: &str) -> Result<u64, AlertError> {
    let (reply, mut answer) = oneshot::channel();
    let alert = Alert::parse(text.as_bytes()).unwrap();
    core.handle(Command::Alert { alert, reply });
    answer.try_recv().unwrap()
}

fn poll(core: &mut Core, started: Duration, remaining: u64) {
    core.handle(Command::Feedback {
        partner: n("G"),
        started,
        result: Ok(Feedback {
            load_kbps: 1000,
            region_loads: Vec::new(),
            remaining_kbps: Some(remaining),
        }),
    });
}

#[test]
fn a_batch_whose_reset_is_followed_by_an_error_keeps_the_old_files_and_model() {
    let dir = tempfile::tempdir().unwrap();
    let mut core = core(dir.path());
    let (model, regions, generation) = (
        core.model.clone(),
        Arc::clone(&core.regions),
        core.generation,
    );
    std::fs::write(
        dir.path().join("regions.txt"),
        "ADD REG FRANCE { 198.54.234.0, 23; }!\nADD REG SPAIN { 10.0.0.0, 8; }!\n",
    )
    .unwrap();
    let e = batch(&mut core, "RESET!\nLOAD X,FRANCE:1!").unwrap_err();
    assert_eq!(e.to_string(), "2:6 unknown cdn X");
    assert_eq!(core.model, model);
    assert!(Arc::ptr_eq(&core.regions, &regions));
    assert_eq!(core.generation, generation);
    // Without the error, the new region comes in and the plan is republished.
    let g = batch(&mut core, "RESET!").unwrap();
    assert!(g > generation);
    assert_eq!(core.regions.len(), 2);
    assert!(core.plan.regions().iter().any(|r| r.as_str() == "SPAIN"));
}

#[test]
fn a_reset_keeps_what_partners_said() {
    let dir = tempfile::tempdir().unwrap();
    let mut core = core(dir.path());
    poll(&mut core, Duration::ZERO, 500_000);
    let before = core.model.cdn("G").unwrap().clone();
    assert_eq!(before.capacity_kbps(), 501_000);
    alert(&mut core, "G Unavailable").unwrap();
    let said_at = core.model.cdn("G").unwrap().last_feedback();
    batch(&mut core, "RESET!").unwrap();
    let g = core.model.cdn("G").unwrap();
    assert_eq!(g.capacity_kbps(), 501_000);
    assert_eq!(g.last_feedback(), said_at);
    assert!(said_at >= before.last_feedback());
    assert_eq!(g.status(), Status::Unavailable);
}

#[test]
fn a_poll_begun_before_an_alert_does_not_undo_it() {
    let dir = tempfile::tempdir().unwrap();
    let mut core = core(dir.path());
    alert(&mut core, "G Unavailable").unwrap();
    assert!(core.plan.is_unavailable(&n("G")));
    poll(&mut core, Duration::ZERO, 500_000);
    assert_eq!(core.model.cdn("G").unwrap().status(), Status::Unavailable);
    // One begun after it is the partner's next report: G is back.
    let now = core.now();
    poll(&mut core, now, 500_000);
    assert_eq!(core.model.cdn("G").unwrap().status(), Status::Available);
    assert!(!core.plan.is_unavailable(&n("G")));
}

#[test]
fn an_alert_about_a_cdn_the_files_lack_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut core = core(dir.path());
    let generation = core.generation;
    let e = alert(&mut core, "Q Unavailable").unwrap_err();
    assert_eq!(e, AlertError::Refused("unknown cdn Q".into()));
    assert_eq!(core.generation, generation);
}

#[test]
fn figures_that_move_no_answer_publish_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut core = core(dir.path());
    let generation = core.generation;
    // A capacity far above any demand: the weights stay where they are.
    let g = batch(&mut core, "CAPACITY G,FRANCE:900000!").unwrap();
    assert_eq!(g, generation);
    assert_eq!(
        core.model.cdn("G").unwrap().region_capacity_kbps("FRANCE"),
        Some(900_000)
    );
    // G overloaded: every answer moves off it, under a new generation.
    let g = batch(&mut core, "LOAD G,CDNTOTAL:100000!").unwrap();
    assert_eq!(g, generation + 1);
    assert_eq!(core.shared.load().generation(), g);
}

#[test]
fn an_alert_publishes_over_the_same_region_table_and_a_new_region_rebuilds_it() {
    let dir = tempfile::tempdir().unwrap();
    let mut core = core(dir.path());
    let france: std::net::IpAddr = "198.54.234.9".parse().unwrap();
    let customer = broker_config::DnsName::new("img.xyz.com").unwrap();
    let first = core.shared.load_full();
    let g = alert(&mut core, "G Unavailable").unwrap();
    let after_alert = core.shared.load_full();
    assert_eq!(after_alert.generation(), g);
    assert!(g > first.generation());
    assert!(after_alert.shares_regions_with(&first));
    let pick = after_alert.pick(&customer, france);
    assert_eq!(pick.region.as_str(), "FRANCE");
    assert_eq!(pick.cdn.map(Name::as_str), Some("C"));
    // A reset with the same files keeps the table; one with a new region builds another.
    batch(&mut core, "RESET!").unwrap();
    assert!(core.shared.load().shares_regions_with(&first));
    std::fs::write(
        dir.path().join("regions.txt"),
        "ADD REG FRANCE { 198.54.234.0, 23; }!\nADD REG SPAIN { 10.0.0.0, 8; }!\n",
    )
    .unwrap();
    batch(&mut core, "RESET!").unwrap();
    let rebuilt = core.shared.load_full();
    assert!(!rebuilt.shares_regions_with(&first));
    let spain = rebuilt.pick(&customer, "10.1.2.3".parse().unwrap());
    assert_eq!(spain.region.as_str(), "SPAIN");
}
