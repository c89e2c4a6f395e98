//! Spec §11 on the control's ports: credentials before bodies on the management port and
//! the API, a body trickled in cut at its deadline. Loopback only, bounded.

use std::time::{Duration, Instant};

use broker_control::ControlSettings;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_util::sync::CancellationToken;

use crate::support::{CSetup, G_TOKEN, TOKEN, folder, quick_settings, start_control};

async fn started(
    settings: ControlSettings,
) -> (
    broker_control::Control,
    CancellationToken,
    tempfile::TempDir,
) {
    let dir = folder();
    let shutdown = CancellationToken::new();
    let setup = CSetup {
        engines: &[],
        status: None,
        status_token: G_TOKEN,
        engine_token: None,
    };
    let (control, _task) = start_control(dir.path(), &setup, settings, &shutdown).await;
    (control, shutdown, dir)
}

/// Writes `head`, then reads the answer without sending anything more.
async fn answer_to_head(addr: std::net::SocketAddr, head: &str) -> String {
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(head.as_bytes()).await.unwrap();
    let mut reply = String::new();
    tokio::time::timeout(Duration::from_secs(10), s.read_to_string(&mut reply))
        .await
        .expect("answered without the body")
        .unwrap();
    reply
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unauthenticated_megabyte_is_refused_before_it_is_read() {
    let (control, shutdown, _dir) = started(quick_settings()).await;
    // Management: a first line that is not AUTH is answered at once; the megabyte that
    // would follow is never waited for.
    let mgmt = control.management_addr().unwrap();
    let reply = answer_to_head(mgmt, "ADD CST a.example [ C; ]!\n").await;
    assert!(reply.starts_with("ERR 1:1 expected AUTH"), "{reply}");
    // A first line of a megabyte without a newline: refused after its first KiB.
    let mut s = TcpStream::connect(mgmt).await.unwrap();
    let (mut r, mut w) = s.split();
    let big = vec![b'x'; 1 << 20];
    let writer = async {
        let _ = w.write_all(&big).await;
    };
    let mut reply = String::new();
    let (_, read) = tokio::join!(writer, r.read_to_string(&mut reply));
    let _ = read;
    assert!(reply.starts_with("ERR 1:1 expected AUTH"), "{reply}");
    // API: a request head announcing a megabyte without a token gets 401 before any of
    // the body is sent.
    let api = control.api_addr().unwrap();
    let head = "POST /api/events HTTP/1.1\r\nHost: control\r\nContent-Length: 1048576\r\n\r\n";
    let reply = answer_to_head(api, head).await;
    assert!(reply.starts_with("HTTP/1.1 401"), "{reply}");
    let metrics = crate::support::api_get(api, "/metrics").await;
    assert!(
        metrics
            .contains(r#"cdnbroker_control_refused_total{port="api",reason="unauthenticated"} 1"#),
        "{metrics}"
    );
    assert!(
        metrics.contains(
            r#"cdnbroker_control_refused_total{port="management",reason="unauthenticated"} 2"#
        ),
        "{metrics}"
    );
    shutdown.cancel();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_body_is_cut_at_its_deadline() {
    let settings = ControlSettings {
        body_deadline: Duration::from_secs(1),
        ..quick_settings()
    };
    let (control, shutdown, _dir) = started(settings).await;
    let api = control.api_addr().unwrap();
    let mut s = TcpStream::connect(api).await.unwrap();
    let head = format!(
        "POST /api/events HTTP/1.1\r\nHost: control\r\nAuthorization: Bearer {TOKEN}\r\nContent-Length: 100\r\n\r\n"
    );
    s.write_all(head.as_bytes()).await.unwrap();
    let started = Instant::now();
    // One byte every 200 ms: never idle, never done.
    let (mut r, mut w) = s.split();
    let trickle = async {
        for _ in 0..50 {
            if w.write_all(b"A").await.is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    };
    let mut reply = [0u8; 12];
    let read = async { r.read_exact(&mut reply).await };
    let answered = tokio::select! {
        r = read => r.is_ok(),
        () = trickle => false,
    };
    assert!(answered, "answered while the body trickled");
    assert_eq!(&reply, b"HTTP/1.1 408");
    assert!(started.elapsed() < Duration::from_secs(5));
    // The management port's batch deadline is the same setting.
    let mgmt = control.management_addr().unwrap();
    let mut m = TcpStream::connect(mgmt).await.unwrap();
    m.write_all(format!("AUTH {TOKEN}\nADD CST a.example").as_bytes())
        .await
        .unwrap();
    let mut reply = String::new();
    tokio::time::timeout(Duration::from_secs(5), m.read_to_string(&mut reply))
        .await
        .expect("cut at the 1 s deadline")
        .unwrap();
    assert!(reply.contains("not complete within"), "{reply}");
    shutdown.cancel();
}
