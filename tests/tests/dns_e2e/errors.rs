//! Error answers to EDNS queries carry an OPT record (RFC 6891 §7), as dig sees them:
//! NOTIMP (another opcode), FORMERR (a malformed Client Subnet option), REFUSED (a name
//! outside every bound domain) and SERVFAIL (a coverage without the client's region).
//! Without EDNS in the query, no OPT comes back.

use crate::support::{EXAMPLE, TestEngine, dig};

/// The status dig read, and whether the answer had an OPT pseudo-section.
fn status_and_opt(out: &str) -> (String, bool) {
    let status = out
        .split("status: ")
        .nth(1)
        .and_then(|s| s.split(',').next())
        .unwrap_or("none")
        .to_owned();
    (status, out.contains(";; OPT PSEUDOSECTION:"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn error_answers_to_edns_queries_carry_opt() {
    let e = TestEngine::start().await;
    let tx = EXAMPLE.replace(
        "END",
        "ADD CVG france-only { FRANCE, [1 = A:192.0.2.1;]; }!\nADD CST fr.example { france-only; }!\nEND",
    );
    assert_eq!(e.transact(&tx).await, "OK 1\n");
    let cases: [(&[&str], &str); 4] = [
        (&["+opcode=2", "img.xyz.com", "A"], "NOTIMP"),
        // ECS for a /24 with no address bytes: malformed (RFC 7871 §6).
        (&["+ednsopt=8:00011800", "img.xyz.com", "A"], "FORMERR"),
        (&["elsewhere.example", "A"], "REFUSED"),
        (&["fr.example", "A"], "SERVFAIL"),
    ];
    for (args, want) in cases {
        let out = dig(e.dns, args).await;
        assert_eq!(
            status_and_opt(&out),
            (want.to_owned(), true),
            "{args:?}\n{out}"
        );
        let mut plain = vec!["+noedns"];
        plain.extend_from_slice(args);
        if want == "FORMERR" {
            continue; // the malformed option is EDNS itself
        }
        let out = dig(e.dns, &plain).await;
        assert_eq!(
            status_and_opt(&out),
            (want.to_owned(), false),
            "{plain:?}\n{out}"
        );
    }
    e.stop().await;
}
