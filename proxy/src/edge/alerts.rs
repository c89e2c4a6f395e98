//! Grantor-initiated alerts (spec §4): when an offloader's load passes the capacity
//! reserved for it, the edge POSTs `<node> Load aggregate=<kbps>,<hits>` to its `alert`
//! URL, at most once per interval while the condition lasts. When the edge stops (it can
//! no longer serve), it POSTs `<node> Unavailable` to every offloader with an alert URL,
//! so that they take it out of their answers at once.

use std::sync::Arc;
use std::time::{Duration, Instant};

use broker_config::status::{Alert, Figures, Load, StatusReport};
use bytes::Bytes;
use http::header::{AUTHORIZATION, CONTENT_TYPE, HeaderValue};
use http::{Method, Request, Uri};
use http_body_util::Full;
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use tokio_util::sync::CancellationToken;

use super::Edge;
use super::tls::{TlsError, client_config, roots_from};

/// Load is averaged over this many seconds before it is compared with the capacity.
pub const ALERT_WINDOW_SECS: u64 = 10;

type AlertClient = Client<HttpsConnector<HttpConnector>, Full<Bytes>>;

/// One offloader's alert channel.
struct Channel {
    offloader: usize,
    capacity_kbps: u64,
    /// The offloader's alert URLs, tried in order (its control replicas, spec §8).
    uris: Arc<[Uri]>,
    token: HeaderValue,
    client: AlertClient,
    last_sent: Option<Instant>,
}

/// Builds the alert channels of every offloader with a capacity and an alert URL.
fn channels(edge: &Edge) -> Result<Vec<Channel>, TlsError> {
    let mut out = Vec::new();
    for (i, o) in edge.snapshot.offloaders.iter().enumerate() {
        let Some(capacity_kbps) = o.capacity_kbps else {
            continue;
        };
        let uris: Vec<Uri> = o
            .alert
            .iter()
            .filter_map(|url| match url.to_string().parse::<Uri>() {
                Ok(uri) => Some(uri),
                Err(_) => {
                    tracing::warn!(offloader = %o.name, %url, "alert URL is not a URI; skipped");
                    None
                }
            })
            .collect();
        if uris.is_empty() {
            continue;
        }
        let Ok(token) = HeaderValue::from_str(&format!("Bearer {}", o.token.expose())) else {
            continue;
        };
        let roots = o.ca.as_deref().map(roots_from).transpose()?;
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(client_config(roots)?)
            .https_or_http()
            .enable_http1()
            .build();
        out.push(Channel {
            offloader: i,
            capacity_kbps,
            uris: uris.into(),
            token,
            client: Client::builder(TokioExecutor::new()).build(https),
            last_sent: None,
        });
    }
    Ok(out)
}

/// Checks every offloader's load once a second (or each interval, if shorter) until
/// `shutdown`, sending alerts as due. Each completed round bumps `edge`'s alert-check
/// counter, so that tests can wait for rounds instead of sleeping.
pub(crate) async fn run(edge: Arc<Edge>, shutdown: CancellationToken) -> Result<(), TlsError> {
    let mut channels = channels(&edge)?;
    if channels.is_empty() {
        return Ok(());
    }
    let interval = edge.alert_interval;
    let mut tick = tokio::time::interval(interval.min(Duration::from_secs(1)));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = shutdown.cancelled() => break,
            _ = tick.tick() => {}
        }
        let now = edge.meter.now();
        for ch in &mut channels {
            let rate = edge.meter.rate(ch.offloader, None, now, ALERT_WINDOW_SECS);
            let due = ch.last_sent.is_none_or(|t| t.elapsed() >= interval);
            if rate.kbps > ch.capacity_kbps && due {
                ch.last_sent = Some(Instant::now());
                let alert = Alert {
                    cdn: edge.node.clone(),
                    report: StatusReport::Load(Figures::Aggregate(Load {
                        kbps: rate.kbps,
                        hits_per_s: Some(rate.hits_per_s),
                    })),
                };
                // Sent in the background: a slow receiver never delays the checks.
                tokio::spawn(send(
                    ch.client.clone(),
                    Arc::clone(&ch.uris),
                    ch.token.clone(),
                    alert,
                ));
            }
        }
        edge.alert_rounds.send_modify(|n| *n += 1);
    }
    let unavailable = channels.iter().map(|ch| {
        let alert = Alert {
            cdn: edge.node.clone(),
            report: StatusReport::Unavailable,
        };
        send(
            ch.client.clone(),
            Arc::clone(&ch.uris),
            ch.token.clone(),
            alert,
        )
    });
    // Bounded: a dead receiver must not hold the shutdown up.
    let _ = tokio::time::timeout(UNAVAILABLE_WAIT, join_all(unavailable)).await;
    Ok(())
}

/// How long a stopping edge waits for its `Unavailable` alerts to be delivered.
const UNAVAILABLE_WAIT: Duration = Duration::from_secs(5);

/// How long one alert URL may take before the next is tried: a paused replica accepts
/// connections and never answers.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(2);

/// Runs every future to completion, concurrently.
async fn join_all(futures: impl Iterator<Item = impl Future<Output = ()> + Send + 'static>) {
    let mut set = tokio::task::JoinSet::new();
    for f in futures {
        set.spawn(f);
    }
    while set.join_next().await.is_some() {}
}

/// Posts `alert` to each URL in turn until one takes it (2xx); the whole list again, a
/// few times, while none does (a control's replicas answer 503 while etcd elects its
/// leader). The shutdown's `Unavailable` is bounded by [`UNAVAILABLE_WAIT`] besides.
async fn send(client: AlertClient, uris: Arc<[Uri]>, token: HeaderValue, alert: Alert) {
    let body = Bytes::from(alert.to_string());
    for round in 0..ALERT_ROUNDS {
        if round > 0 {
            tokio::time::sleep(ROUND_PAUSE).await;
        }
        for uri in uris.iter() {
            let req = Request::builder()
                .method(Method::POST)
                .uri(uri.clone())
                .header(AUTHORIZATION, token.clone())
                .header(CONTENT_TYPE, "text/plain; charset=utf-8")
                .body(Full::new(body.clone()));
            let Ok(req) = req else { continue };
            match tokio::time::timeout(ATTEMPT_TIMEOUT, client.request(req)).await {
                Ok(Ok(resp)) if resp.status().is_success() => {
                    tracing::info!(%uri, %alert, "alert accepted");
                    return;
                }
                Ok(Ok(resp)) => tracing::warn!(%uri, status = %resp.status(), "alert refused"),
                Ok(Err(e)) => tracing::warn!(%uri, error = %e, "alert not sent"),
                Err(_) => tracing::warn!(%uri, "alert timed out"),
            }
        }
    }
}

/// How many times the list of alert URLs is tried.
const ALERT_ROUNDS: u32 = 5;
/// The pause between two rounds.
const ROUND_PAUSE: Duration = Duration::from_millis(300);
