//! A 1 GiB page streams through the front proxy, rewritten, while the proxy process's
//! resident memory stays under 64 MiB. The proxy runs as a child process (this test
//! binary run again with `--ignored --exact proxy_child`) so that its VmRSS is its own.
//! `FRONT_MEMORY_MB` changes the page size (default 1024).

#[path = "front/plan_front.rs"]
mod plan_front;

use std::convert::Infallible;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::pin::Pin;
use std::process::{Command, Stdio};
use std::task::{Context, Poll};

use broker_config::deploy::Deployment;
use broker_proxy::front::{FrontSettings, run};
use bytes::Bytes;
use http::{Request, Response};
use http_body_util::{BodyExt, Empty};
use hyper::body::{Body, Frame, Incoming};
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};

use crate::plan_front::PlanFiles;

const ORIGIN_ENV: &str = "FRONT_MEMORY_ORIGIN";
const LIMIT_KB: u64 = 64 * 1024;

/// One KiB of page with one offloaded image.
fn unit() -> Vec<u8> {
    let mut u = b"<p>filler text of a long page</p><img src=\"http://img.xyz.com/i.png\">".to_vec();
    u.resize(1023, b'x');
    u.push(b'\n');
    u
}

const GROWTH: usize = "g.example:8090/".len();

/// `units` KiB of page, 64 KiB per frame, made as it is sent.
struct Page {
    chunk: Bytes,
    left: usize,
}

impl Body for Page {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        if self.left == 0 {
            return Poll::Ready(None);
        }
        self.left -= 1;
        Poll::Ready(Some(Ok(Frame::data(self.chunk.clone()))))
    }
}

async fn origin(units: usize) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let chunk = Bytes::from(unit().repeat(64));
    tokio::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            let chunk = chunk.clone();
            tokio::spawn(async move {
                let service = service_fn(move |_req: Request<Incoming>| {
                    let page = Page {
                        chunk: chunk.clone(),
                        left: units / 64,
                    };
                    async move {
                        Ok::<_, Infallible>(
                            Response::builder()
                                .header("content-type", "text/html; charset=utf-8")
                                .body(page)
                                .unwrap(),
                        )
                    }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    addr
}

fn vm_rss_kb(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streams_a_gigabyte_page_in_bounded_memory() {
    let mb: usize = std::env::var("FRONT_MEMORY_MB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1024);
    let units = mb * 1024;
    let origin = origin(units).await;
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--ignored", "--exact", "proxy_child", "--nocapture"])
        .env(ORIGIN_ENV, origin.to_string())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let proxy: SocketAddr = loop {
        let line = lines
            .next()
            .expect("child ended before its address")
            .unwrap();
        if let Some(addr) = line.strip_prefix("proxy ") {
            break addr.parse().unwrap();
        }
    };
    let stream = TcpStream::connect(proxy).await.unwrap();
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .unwrap();
    tokio::spawn(conn);
    let req = Request::builder()
        .uri("/big.html")
        .header("host", "www.xyz.com")
        .header("x-forwarded-for", "10.1.0.9")
        .body(Empty::<Bytes>::new())
        .unwrap();
    let mut body = sender.send_request(req).await.unwrap().into_body();
    let mut received = 0usize;
    let mut next_sample = 0usize;
    let mut max_rss = 0u64;
    let mut tail = Vec::new();
    while let Some(frame) = body.frame().await {
        let data = frame.unwrap().into_data().unwrap();
        received += data.len();
        if received >= next_sample {
            max_rss = max_rss.max(vm_rss_kb(pid));
            next_sample += 16 << 20;
        }
        tail.extend_from_slice(&data);
        let keep = tail.len().saturating_sub(2048);
        tail.drain(..keep);
    }
    max_rss = max_rss.max(vm_rss_kb(pid));
    let _ = child.kill();
    let _ = child.wait();
    let want = units * (1024 + GROWTH);
    assert_eq!(received, want, "every unit arrived, every image rewritten");
    let tail = String::from_utf8_lossy(&tail);
    assert!(
        tail.contains("http://g.example:8090/img.xyz.com/i.png"),
        "{tail}"
    );
    eprintln!("{mb} MiB page: proxy VmRSS peak {max_rss} kB");
    assert!(max_rss < LIMIT_KB, "proxy VmRSS reached {max_rss} kB");
}

/// The proxy, when run by the test above (it does nothing otherwise).
#[test]
#[ignore = "the child process of streams_a_gigabyte_page_in_bounded_memory"]
fn proxy_child() {
    let Ok(origin) = std::env::var(ORIGIN_ENV) else {
        return;
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let text = format!(
            "[node]\nname = \"C\"\n[proxy]\nlisten = \"127.0.0.1:0\"\ntrusted_proxies = [\"127.0.0.1\"]\n\
             [[partner]]\nname = \"G\"\nform = \"embedded\"\nhost = \"g.example:8090\"\n\
             [[customer]]\nname = \"xyz\"\nsite = [\"www.xyz.com\"]\noffload = [\"img.xyz.com\"]\n\
             origin = {{ \"www.xyz.com\" = \"http://{origin}\" }}\n"
        );
        let d = Deployment::parse(&text, "c.toml".as_ref()).unwrap();
        let files = PlanFiles {
            regions: "ADD REG OFFLOAD { 10.1.0.0, 16; }!",
            cdns: "ADD CDN C:400000 {A:127.0.0.1} [ DEFAULT:90; ]! ADD CDN G:400000 {A:127.0.0.2} [ OFFLOAD:90; ]!",
            customers: "ADD CST img.xyz.com [ C; G; ]!",
        };
        let (front, listeners) = plan_front::bind(&d, &files, FrontSettings::default()).await;
        println!("proxy {}", listeners.http_addr());
        run(listeners, front, tokio_util::sync::CancellationToken::new()).await;
    });
}
