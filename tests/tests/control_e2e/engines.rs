//! Engine drivers against real DNS engines: retry until the engine is up, coalesce the
//! plans made meanwhile into one transaction, follow changes with diffs, and give a
//! restarted engine everything again.

use std::net::IpAddr;

use tokio_util::sync::CancellationToken;

use crate::support::{
    C_ADDR, CSetup, G_TOKEN, Resolver, TOKEN, TestEngine, api_get, folder, free_port, management,
    quick_settings, start_control, wait_engine,
};

fn ok_generation(reply: &str) -> u64 {
    reply
        .strip_prefix("OK ")
        .and_then(|g| g.trim().parse().ok())
        .unwrap_or_else(|| panic!("{reply}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_driver_retries_until_its_engine_is_up_and_converges_on_the_newest_plan() {
    let dir = folder();
    let control_port = free_port();
    let dns_port = free_port();
    let shutdown = CancellationToken::new();
    let setup = CSetup {
        engines: &[control_port],
        status: None,
        status_token: G_TOKEN,
        engine_token: None,
    };
    let (control, task) = start_control(dir.path(), &setup, quick_settings(), &shutdown).await;
    let mut status = control.engines().remove(0);
    let down = wait_engine(&mut status, "two failed attempts", |s| s.retries >= 2).await;
    assert!(!down.connected, "{down:?}");
    assert_eq!(down.plan_generation, None);
    assert!(
        down.last_error.as_deref().unwrap().contains("connect"),
        "{down:?}"
    );

    // Plans made while the engine is down...
    let mgmt = control.management_addr().unwrap();
    let mut latest = 0;
    for name in ["a.example", "b.example", "c.example"] {
        let reply = management(mgmt, &format!("AUTH {TOKEN}\nADD CST {name} [ C; ]!\n")).await;
        latest = ok_generation(&reply);
    }
    // ...reach it as one transaction once it is up.
    let engine = TestEngine::start(dns_port, control_port);
    let up = wait_engine(&mut status, "engine on the newest plan", |s| {
        s.plan_generation == Some(latest)
    })
    .await;
    assert!(up.connected && up.last_error.is_none(), "{up:?}");
    assert_eq!(up.engine_generation, Some(1), "one transaction: {up:?}");
    assert_eq!(engine.engine.generation(), 1);
    let mut dns = Resolver::new(engine.dns).await;
    let c: IpAddr = C_ADDR.parse().unwrap();
    assert_eq!(dns.a("www.b.example.").await, Some(c));
    assert!(dns.a("img.xyz.com.").await.is_some());

    // G loaded to its capacity: only weights move, sent as a diff.
    let reply = management(mgmt, &format!("AUTH {TOKEN}\nLOAD G,CDNTOTAL:100000!\n")).await;
    let overloaded = ok_generation(&reply);
    let s = wait_engine(&mut status, "engine on the overload plan", |s| {
        s.plan_generation == Some(overloaded)
    })
    .await;
    assert_eq!(s.engine_generation, Some(2));
    for _ in 0..200 {
        assert_eq!(dns.a("img.xyz.com.").await, Some(c));
    }
    let metrics = api_get(control.api_addr().unwrap(), "/metrics").await;
    let engine_label = format!("engine=\"{control_port}\"");
    let sent = |kind: &str| {
        metrics
            .lines()
            .find(|l| {
                l.starts_with("cdnbroker_control_transactions_total")
                    && l.contains(&engine_label)
                    && l.contains(&format!("kind=\"{kind}\""))
                    && l.contains("result=\"ok\"")
            })
            .map(|l| l.rsplit(' ').next().unwrap().to_owned())
    };
    assert_eq!(sent("full").as_deref(), Some("1"), "{metrics}");
    assert_eq!(sent("update").as_deref(), Some("1"), "{metrics}");

    // The engine restarts empty: the driver's probe notices, and it gets everything again.
    engine.stop().await;
    wait_engine(&mut status, "the engine seen gone", |s| {
        s.plan_generation.is_none()
    })
    .await;
    let engine = TestEngine::start(dns_port, control_port);
    let again = wait_engine(&mut status, "restarted engine on the plan", |s| {
        s.plan_generation == Some(overloaded)
    })
    .await;
    assert_eq!(again.engine_generation, Some(1), "{again:?}");
    let mut dns = Resolver::new(engine.dns).await;
    assert_eq!(dns.a("img.xyz.com.").await, Some(c));
    assert_eq!(dns.a("c.example.").await, Some(c));

    engine.stop().await;
    shutdown.cancel();
    task.await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_driver_sends_its_engine_token_as_auth() {
    let dir = folder();
    let shutdown = CancellationToken::new();
    let token = broker_config::deploy::Token::new("engine-secret").unwrap();
    let options = broker_dns::Options {
        control: broker_dns::control::ControlLimits {
            token: Some(token),
            ..Default::default()
        },
        ..Default::default()
    };
    let engine = TestEngine::start_with(
        "127.0.0.1:0".parse().unwrap(),
        "127.0.0.1:0".parse().unwrap(),
        options,
    );
    for (engine_token, on_plan) in [(Some("wrong"), false), (Some("engine-secret"), true)] {
        let setup = CSetup {
            engines: &[engine.control],
            status: None,
            status_token: G_TOKEN,
            engine_token,
        };
        let stop = shutdown.child_token();
        let (control, task) = start_control(dir.path(), &setup, quick_settings(), &stop).await;
        let mut status = control.engines().remove(0);
        if on_plan {
            let up = wait_engine(&mut status, "engine on plan", |s| {
                s.plan_generation.is_some()
            })
            .await;
            assert!(up.connected && up.last_error.is_none(), "{up:?}");
        } else {
            let refused = wait_engine(&mut status, "refused", |s| s.transactions_failed >= 1).await;
            assert!(
                refused.last_error.as_deref().unwrap().contains("AUTH"),
                "{refused:?}"
            );
        }
        stop.cancel();
        task.await.unwrap();
    }
    assert_eq!(engine.engine.generation(), 1);
    engine.stop().await;
}
