//! dig against an in-process engine: answer kinds, flags, EDNS, ECS, TC and TCP.

use crate::support::{EXAMPLE, TestEngine, dig, section};

async fn engine() -> TestEngine {
    let e = TestEngine::start().await;
    assert_eq!(e.transact(EXAMPLE).await, "OK 1\n");
    e
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ecs_client_gets_its_region_answer_with_aa_scope_and_case_kept() {
    let e = engine().await;
    // GERMANY by its IPv4 prefix: 100% the suffix CNAME.
    let out = dig(
        e.dns,
        &["+norec", "+subnet=196.8.77.0/24", "PiC.ImG.xyz.com", "A"],
    )
    .await;
    assert!(out.contains("status: NOERROR"), "{out}");
    assert!(out.contains("flags: qr aa;"), "{out}");
    assert!(
        out.contains("CLIENT-SUBNET: 196.8.77.0/24/16"),
        "scope = matched /16: {out}"
    );
    assert_eq!(
        section(&out, "ANSWER"),
        [(
            "PiC.ImG.xyz.com.".into(),
            "CNAME".into(),
            "PiC.ImG.xyz.com.cdn-g.example.".into()
        )]
    );
    // GERMANY by its IPv6 prefix.
    let out = dig(e.dns, &["+subnet=2001:db8:de:1::/64", "img.xyz.com", "A"]).await;
    assert!(
        out.contains("CLIENT-SUBNET: 2001:db8:de:1::/64/48"),
        "{out}"
    );
    assert_eq!(section(&out, "ANSWER")[0].1, "CNAME");
    e.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn default_region_answers_by_family_and_most_specific_binding_wins() {
    let e = engine().await;
    let a = dig(e.dns, &["img.xyz.com", "A"]).await;
    assert_eq!(
        section(&a, "ANSWER"),
        [("img.xyz.com.".into(), "A".into(), "192.0.2.10".into())]
    );
    let aaaa = dig(e.dns, &["img.xyz.com", "AAAA"]).await;
    assert_eq!(section(&aaaa, "ANSWER")[0].2, "2001:db8::10");
    let fixed = dig(e.dns, &["deep.a.img.xyz.com", "A"]).await;
    assert_eq!(section(&fixed, "ANSWER")[0].2, "target.example.");
    e.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn referral_carries_ns_and_glue_without_aa() {
    let e = TestEngine::start().await;
    let tx = "ADD CVG g { DEFAULT, [1 = N:(ns1.cdn-g.example 198.51.100.53), (ns2.cdn-g.example 2001:db8::53);]; }!\nADD CST img.xyz.com { g; }!\nEND\n";
    assert_eq!(e.transact(tx).await, "OK 1\n");
    let out = dig(e.dns, &["+norec", "img.xyz.com", "A"]).await;
    assert!(out.contains("flags: qr;"), "{out}");
    assert!(section(&out, "ANSWER").is_empty());
    let ns: Vec<_> = section(&out, "AUTHORITY")
        .into_iter()
        .map(|r| (r.0, r.1, r.2))
        .collect();
    assert_eq!(
        ns,
        [
            (
                "img.xyz.com.".into(),
                "NS".into(),
                "ns1.cdn-g.example.".into()
            ),
            (
                "img.xyz.com.".into(),
                "NS".into(),
                "ns2.cdn-g.example.".into()
            ),
        ]
    );
    let glue = section(&out, "ADDITIONAL");
    assert!(
        glue.contains(&(
            "ns1.cdn-g.example.".into(),
            "A".into(),
            "198.51.100.53".into()
        )),
        "{out}"
    );
    assert!(
        glue.contains(&(
            "ns2.cdn-g.example.".into(),
            "AAAA".into(),
            "2001:db8::53".into()
        )),
        "{out}"
    );
    e.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn soa_ns_nodata_refused_notimp_and_minimal_any() {
    let e = engine().await;
    let soa = dig(e.dns, &["img.xyz.com", "SOA"]).await;
    let soa = section(&soa, "ANSWER");
    assert!(
        soa[0]
            .2
            .starts_with("ns1.broker.example. hostmaster.img.xyz.com. 1 "),
        "{soa:?}"
    );
    let ns = dig(e.dns, &["img.xyz.com", "NS"]).await;
    assert_eq!(section(&ns, "ANSWER")[0].2, "ns1.broker.example.");
    let mx = dig(e.dns, &["img.xyz.com", "MX"]).await;
    assert!(
        mx.contains("status: NOERROR") && mx.contains("flags: qr aa rd;"),
        "{mx}"
    );
    assert!(section(&mx, "ANSWER").is_empty());
    assert_eq!(section(&mx, "AUTHORITY")[0].1, "SOA");
    let other = dig(e.dns, &["www.example.org", "A"]).await;
    assert!(other.contains("status: REFUSED"), "{other}");
    let status = dig(e.dns, &["+opcode=status", "img.xyz.com"]).await;
    assert!(status.contains("status: NOTIMP"), "{status}");
    let any = dig(e.dns, &["img.xyz.com", "ANY"]).await;
    assert_eq!(section(&any, "ANSWER").len(), 1, "{any}");
    e.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn big_answer_sets_tc_over_udp_and_dig_retries_over_tcp() {
    let e = TestEngine::start().await;
    let servers: Vec<String> = (0..30)
        .map(|i| format!("(ns{i}.some-partner-with-a-long-name.example 198.51.100.{i})"))
        .collect();
    let tx = format!(
        "ADD CVG big {{ DEFAULT, [1 = N:{};]; }}!\nADD CST big.example {{ big; }}!\nEND\n",
        servers.join(", ")
    );
    assert_eq!(e.transact(&tx).await, "OK 1\n");
    let udp = dig(e.dns, &["+ignore", "+noedns", "big.example", "A"]).await;
    assert!(udp.contains("flags: qr tc"), "{udp}");
    let retried = dig(e.dns, &["+noedns", "big.example", "A"]).await;
    assert_eq!(section(&retried, "AUTHORITY").len(), 30, "{retried}");
    let tcp = dig(e.dns, &["+tcp", "big.example", "A"]).await;
    assert!(tcp.contains("(TCP)"), "{tcp}");
    assert_eq!(section(&tcp, "ADDITIONAL").len(), 30, "{tcp}");
    e.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn query_log_and_metrics_record_each_resolution() {
    let e = TestEngine::start_with(crate::support::Setup {
        query_log: true,
        ..Default::default()
    })
    .await;
    assert_eq!(e.transact(EXAMPLE).await, "OK 1\n");
    dig(e.dns, &["+subnet=196.8.0.0/16", "img.xyz.com", "A"]).await;
    dig(e.dns, &["img.xyz.com", "AAAA"]).await;
    dig(e.dns, &["nowhere.example", "A"]).await;
    let metrics = http_get(e.metrics, "/metrics").await;
    assert!(
        metrics.contains(r#"cdnbroker_dns_resolutions_total{cdn=".cdn-g.example",region="GERMANY",kind="cname"} 1"#),
        "{metrics}"
    );
    assert!(
        metrics.contains(r#"cdnbroker_dns_resolutions_total{cdn="2001:db8::10",region="DEFAULT",kind="address"} 1"#),
        "{metrics}"
    );
    assert!(
        metrics.contains(r#"cdnbroker_dns_answers_total{rcode="refused"} 1"#),
        "{metrics}"
    );
    let log = e.stop().await;
    let lines: Vec<&str> = log.lines().collect();
    assert_eq!(lines.len(), 3, "{log}");
    let f: Vec<&str> = lines[0].split(' ').collect();
    assert_eq!(
        &f[2..],
        [
            "udp",
            "196.8.0.0/16",
            "img.xyz.com.",
            "A",
            "GERMANY",
            ".cdn-g.example",
            "cname",
            "noerror"
        ]
    );
    assert!(
        lines[2].ends_with("nowhere.example. A - - - refused"),
        "{log}"
    );
}

pub(crate) async fn http_get(addr: std::net::SocketAddr, path: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    s.write_all(format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).await.unwrap();
    out
}
