//! The management interface (spec §3) over TCP.

use crate::support::{TOKEN, World, management};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_without_the_token_is_refused_and_changes_nothing() {
    let w = World::start().await;
    let before = w.state().await;
    let no_auth = management(w.management(), "LOAD G,FRANCE:5000!\nEND\n").await;
    assert!(no_auth.starts_with("ERR 1:1 "), "{no_auth}");
    let wrong = management(
        w.management(),
        "AUTH not-the-token\nLOAD G,FRANCE:5000!\nEND\n",
    )
    .await;
    assert_eq!(wrong, "ERR 1:1 authentication failed\n");
    // A wrong token learns nothing about its batch, not even a syntax error.
    let wrong_bad = management(w.management(), "AUTH nope\nLOAD G;;\n").await;
    assert_eq!(wrong_bad, "ERR 1:1 authentication failed\n");
    let after = w.state().await;
    assert_eq!(after.generation(), before.generation());
    assert!(after.cdn("G")["region_loads_kbps"]["FRANCE"].is_null());
    w.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_with_an_error_changes_nothing_and_says_where() {
    let w = World::start().await;
    let before = w.state().await;
    let text = format!(
        "AUTH {TOKEN}\nLOAD G,FRANCE:5000!\nADD CST new.example [ C; ]!\nLOAD X,FRANCE:5!\nEND\n"
    );
    assert_eq!(
        management(w.management(), &text).await,
        "ERR 4:6 unknown cdn X\n"
    );
    let syntax = management(w.management(), &format!("AUTH {TOKEN}\nLOAD G FRANCE:5!\n")).await;
    assert!(syntax.starts_with("ERR 2:8 "), "{syntax}");
    let after = w.state().await;
    assert_eq!(after.generation(), before.generation());
    assert!(after.cdn("G")["region_loads_kbps"]["FRANCE"].is_null());
    assert_eq!(after.customers(), ["img.xyz.com"]);
    w.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_good_batch_changes_the_model_and_the_plan() {
    let w = World::start().await;
    let before = w.state().await;
    let plan = w.control.plan();
    let g0 = plan.load().generation();
    let text = format!(
        "AUTH {TOKEN}\nADD CST only-c.example [ C; ]!\nLOAD G,LOCAL:95000!\nLOAD G,CDNTOTAL:100000!\nEND\n"
    );
    let reply = management(w.management(), &text).await;
    let generation: u64 = reply
        .strip_prefix("OK ")
        .and_then(|g| g.trim().parse().ok())
        .unwrap_or_else(|| panic!("{reply}"));
    assert!(generation > before.generation(), "{reply}");
    let after = w.state().await;
    assert_eq!(after.generation(), generation);
    assert_eq!(after.customers(), ["img.xyz.com", "only-c.example"]);
    assert_eq!(after.cdn("G")["region_loads_kbps"]["LOCAL"], 95000);
    // The new customer's group has C alone; G, loaded to its whole capacity, is
    // dropped from img.xyz.com's answers, where it had a share before.
    assert_eq!(after.weight("only-c.example", "LOCAL", "C"), 1.0);
    assert!(before.weight("img.xyz.com", "LOCAL", "G") > 0.0);
    assert_eq!(
        after.weight("img.xyz.com", "LOCAL", "G"),
        0.0,
        "{}",
        after.0["plan"]
    );
    // The in-process plan moved with it.
    assert_eq!(plan.load().generation(), generation);
    assert!(generation > g0);
    let customer = broker_config::DnsName::new("only-c.example").unwrap();
    let live = plan.load();
    let pick = live.pick(&customer, "127.0.0.1".parse().unwrap());
    assert_eq!(pick.cdn.map(|c| c.as_str()), Some("C"));
    w.stop().await;
}
