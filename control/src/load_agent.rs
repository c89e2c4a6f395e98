//! The load agent: polls each partner's status reports (spec §4) over HTTPS with its
//! bearer token, every `poll_period`, each round bounded by `poll_timeout`:
//! `GET /load?aggregate`, `/load?region=all` and `/capacity?aggregate`. A round that
//! fails (error, timeout, non-200, a body that does not parse, `Unavailable` for the
//! aggregate load) is reported as such and changes no figure: the model's feedback time
//! then ages, and the balancer's staleness decay takes over from the reserved capacity.

use std::time::{Duration, Instant};

use broker_config::Name;
use broker_config::deploy::Partner;
use broker_config::status::{Figures, MAX_STATUS_LEN, StatusReport};
use bytes::Bytes;
use http::header::{AUTHORIZATION, HeaderValue};
use http::{Request, Uri};
use http_body_util::{BodyExt as _, Empty, Limited};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;

use crate::authority::Authority;
use crate::command::Command;
use crate::error::TlsError;
use crate::settings::ControlSettings;
use crate::tls;

/// What one successful poll says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Feedback {
    /// Our total load on the partner, kbit/s.
    pub(crate) load_kbps: u64,
    /// Our load per region id of the partner's report.
    pub(crate) region_loads: Vec<(String, u64)>,
    /// What it can still give us, when it says.
    pub(crate) remaining_kbps: Option<u64>,
}

type StatusClient = Client<HttpsConnector<HttpConnector>, Empty<Bytes>>;

/// One partner's poller.
pub(crate) struct Poller {
    name: Name,
    base: String,
    token: Option<HeaderValue>,
    client: StatusClient,
    average_secs: u32,
    period: Duration,
    timeout: Duration,
}

/// A poller for every partner with a `status` URL.
pub(crate) fn pollers(
    partners: &[Partner],
    settings: &ControlSettings,
) -> Result<Vec<Poller>, TlsError> {
    let mut out = Vec::new();
    for p in partners {
        let Some(status) = &p.status else { continue };
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls::client_config(p.ca.as_deref())?)
            .https_or_http()
            .enable_http1()
            .build();
        let token = p
            .token
            .as_ref()
            .and_then(|t| HeaderValue::from_str(&format!("Bearer {}", t.expose())).ok());
        out.push(Poller {
            name: p.name.clone(),
            base: status.to_string().trim_end_matches('/').to_owned(),
            token,
            client: Client::builder(TokioExecutor::new()).build(https),
            average_secs: settings.poll_average_secs.max(1),
            period: settings.poll_period,
            timeout: settings.poll_timeout,
        });
    }
    Ok(out)
}

impl Poller {
    /// Polls every period until `shutdown`, sending each result to the event loop;
    /// `clock` is the loop's time origin. A replica that stands by polls nothing (spec
    /// §8: only the leader polls partners).
    pub(crate) async fn run(
        self,
        commands: mpsc::Sender<Command>,
        clock: Instant,
        authority: watch::Receiver<Authority>,
        shutdown: CancellationToken,
    ) {
        let mut tick = tokio::time::interval(self.period);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                () = shutdown.cancelled() => return,
                _ = tick.tick() => {}
            }
            if !authority.borrow().may_act() {
                continue;
            }
            let started = clock.elapsed();
            let result = tokio::select! {
                () = shutdown.cancelled() => return,
                r = tokio::time::timeout(self.timeout, self.poll()) => match r {
                    Ok(r) => r,
                    Err(_) => Err(format!("no answer within {:?}", self.timeout)),
                },
            };
            if let Err(e) = &result {
                tracing::warn!(partner = %self.name, error = %e, "status poll failed");
            }
            let cmd = Command::Feedback {
                partner: self.name.clone(),
                started,
                result,
            };
            if commands.send(cmd).await.is_err() {
                return;
            }
        }
    }

    async fn poll(&self) -> Result<Feedback, String> {
        let avg = self.average_secs;
        let targets = [
            format!("/load?aggregate&{avg}"),
            format!("/load?region=all&{avg}"),
            format!("/capacity?aggregate&{avg}"),
        ];
        let (load, regions, capacity) = tokio::join!(
            self.get(&targets[0]),
            self.get(&targets[1]),
            self.get(&targets[2]),
        );
        let load_kbps = match load? {
            StatusReport::Load(Figures::Aggregate(l)) => l.kbps,
            StatusReport::Unavailable => return Err("load: Unavailable".to_owned()),
            other => return Err(format!("load: unexpected report {other}")),
        };
        let region_loads = match regions? {
            StatusReport::Load(Figures::Regions(items)) => items
                .into_iter()
                .map(|(id, l)| (id.as_str().to_owned(), l.kbps))
                .collect(),
            _ => Vec::new(),
        };
        let remaining_kbps = match capacity? {
            StatusReport::Capacity(Figures::Aggregate(c)) => Some(c),
            _ => None,
        };
        Ok(Feedback {
            load_kbps,
            region_loads,
            remaining_kbps,
        })
    }

    async fn get(&self, target: &str) -> Result<StatusReport, String> {
        let uri: Uri = format!("{}{target}", self.base)
            .parse()
            .map_err(|e| format!("{target}: {e}"))?;
        let mut req = Request::get(uri);
        if let Some(token) = &self.token {
            req = req.header(AUTHORIZATION, token.clone());
        }
        let req = req
            .body(Empty::new())
            .map_err(|e| format!("{target}: {e}"))?;
        let resp = self
            .client
            .request(req)
            .await
            .map_err(|e| format!("{target}: {}", chain(&e)))?;
        let status = resp.status();
        let body = Limited::new(resp.into_body(), MAX_STATUS_LEN)
            .collect()
            .await
            .map_err(|e| format!("{target}: {e}"))?
            .to_bytes();
        if !status.is_success() {
            let text = String::from_utf8_lossy(&body);
            return Err(format!("{target}: HTTP {status}: {}", text.trim()));
        }
        StatusReport::parse(&body).map_err(|e| format!("{target}: {e}"))
    }
}

/// An error with its causes, `a: b: c`.
fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut cur = e.source();
    while let Some(s) = cur {
        out.push_str(": ");
        out.push_str(&s.to_string());
        cur = s.source();
    }
    out
}
