//! The HTTP API on `[control] api`: JSON over the same operations as the management
//! interface (spec §3), the state, and `/metrics`. Every `/api/` route needs
//! `Authorization: Bearer <[control] token>` (401 otherwise).
//!
//! | route | answer |
//! |---|---|
//! | `GET /api/state` | the model, plan, partners and engines ([`crate::StateView`]) |
//! | `GET /api/engines` | the engines' status only |
//! | `POST /api/events` | a batch: §3 text (`text/plain`), or JSON operations (`application/json`, see `ops`); 200 `{"generation": N}`, or 400 `{"error": "LINE:COL message"}` and nothing changed |
//! | `POST /api/reset` | re-reads the agent files; 400 `{"error": "... FILE:LINE:COL: message"}` and nothing changed |
//! | `GET`/`PUT /api/routing` | the partners' URL forms and the customers' site/offload/origin tables as TOML; `PUT` replaces them all or nothing, 400 `{"error": "LINE:COL message"}` (see `routing`) |
//! | `GET /api/cluster` | `{"role": "alone" \| "leader" \| "follower", "epoch": N, "leader_api": URL}` (spec §8) |
//! | `GET /api/members` | the engines, proxies and edges registered in etcd, with the plan generation each serves |
//! | `GET /metrics` | Prometheus text, no token (it holds counters and names only) |
//!
//! On a follower of a replicated control (spec §8) every write (any method but `GET`)
//! is answered 307 with `Location` at the same path on the leader's API (503 while no
//! leader is known); reads are served by every replica.
//!
//! Routes live here; pages for people (the operator page) plug in at [`ui`], which is
//! asked first.

mod ops;
mod routing;
pub(crate) mod ui;

use std::sync::Arc;

use broker_config::Events;
use broker_config::deploy::Token;
use bytes::Bytes;
use http::header::{CONTENT_TYPE, HeaderValue, WWW_AUTHENTICATE};
use http::{Method, Request, Response, StatusCode};
use hyper::body::Incoming;
use serde_json::json;
use tokio::sync::{mpsc, oneshot, watch};

use broker_cluster::Members;

use crate::authority::Authority;
use crate::command::{BatchError, Command};
use crate::engine_driver::EngineStatus;
use crate::http_server::{Body, bearer, json, read_body, text};
use crate::metrics::Metrics;
use crate::routing::RoutingTables;
use crate::tls::same_secret;

/// The API's view of the component.
pub(crate) struct Api {
    pub(crate) token: Token,
    pub(crate) commands: mpsc::Sender<Command>,
    pub(crate) engines: Vec<watch::Receiver<EngineStatus>>,
    pub(crate) metrics: Arc<Metrics>,
    pub(crate) max_body: usize,
    /// How long a body may take to arrive.
    pub(crate) body_deadline: std::time::Duration,
    pub(crate) routing: Arc<RoutingTables>,
    /// This replica's standing (writes on a follower are redirected to the leader).
    pub(crate) authority: watch::Receiver<Authority>,
    /// Engines driven because they registered as members (spec §8).
    pub(crate) member_engines: MemberEngineStatus,
    /// The registered members, with `[cluster]`.
    pub(crate) members: Option<watch::Receiver<Members>>,
}

/// Each member engine's status, by control port.
pub(crate) type MemberEngineStatus = Arc<
    std::sync::Mutex<
        std::collections::BTreeMap<std::net::SocketAddr, watch::Receiver<EngineStatus>>,
    >,
>;

impl Api {
    pub(crate) async fn handle(self: Arc<Self>, req: Request<Incoming>) -> Response<Body> {
        let path = req.uri().path().to_owned();
        if path == "/metrics" {
            return if req.method() == Method::GET {
                let mut resp = text(StatusCode::OK, self.metrics.encode());
                resp.headers_mut().insert(
                    CONTENT_TYPE,
                    HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
                );
                resp
            } else {
                text(StatusCode::METHOD_NOT_ALLOWED, "only GET /metrics\n")
            };
        }
        if let Some(resp) = ui::handle(&req) {
            return resp;
        }
        if !path.starts_with("/api/") {
            return text(StatusCode::NOT_FOUND, "see /api/state\n");
        }
        let authorised =
            bearer(&req).is_some_and(|t| same_secret(t.as_bytes(), self.token.expose().as_bytes()));
        if !authorised {
            // Refused before its body is read (spec §11): an unauthenticated peer makes
            // us hold nothing. (HTTP/1 then closes the connection; HTTP/2 resets the
            // stream after the answer.)
            self.metrics.refused("api", "unauthenticated");
            let mut resp = json(
                StatusCode::UNAUTHORIZED,
                &json!({"error": "Authorization: Bearer <token> is required"}),
            );
            resp.headers_mut().insert(
                WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"control\""),
            );
            return resp;
        }
        let (parts, body) = req.into_parts();
        let body = match read_body(
            Request::from_parts(parts.clone(), body),
            self.max_body,
            self.body_deadline,
        )
        .await
        {
            Ok(b) => b,
            Err(resp) => {
                self.metrics.refused("api", resp.status().as_str());
                return resp;
            }
        };
        let req = Request::from_parts(parts, body);
        let authority = self.authority.borrow().clone();
        if req.method() != Method::GET && matches!(authority, Authority::Following(_)) {
            return self.to_leader(&authority, &req);
        }
        match (req.method().clone(), path.as_str()) {
            (Method::GET, "/api/cluster") => json(
                StatusCode::OK,
                &json!({
                    "role": authority.name(),
                    "epoch": authority.epoch(),
                    "leader_api": authority.leader_api(),
                }),
            ),
            (Method::GET, "/api/members") => self.members(),
            (Method::GET, "/api/state") => self.state().await,
            (Method::GET, "/api/engines") => json(StatusCode::OK, &self.engine_status()),
            (Method::POST, "/api/events") => self.events(req).await,
            (Method::POST, "/api/reset") => {
                let (reply, answer) = oneshot::channel();
                self.ask(Command::Reset { reply }, answer, None).await
            }
            (_, "/api/routing") => routing::handle(&self.routing, &self.commands, &req).await,
            (_, "/api/state" | "/api/engines" | "/api/events" | "/api/reset") => json(
                StatusCode::METHOD_NOT_ALLOWED,
                &json!({"error": "method not allowed"}),
            ),
            _ => json(StatusCode::NOT_FOUND, &json!({"error": "no such route"})),
        }
    }

    fn engine_status(&self) -> Vec<EngineStatus> {
        let mut all: Vec<EngineStatus> = self.engines.iter().map(|e| e.borrow().clone()).collect();
        if let Ok(members) = self.member_engines.lock() {
            all.extend(members.values().map(|e| e.borrow().clone()));
        }
        all
    }

    /// `GET /api/members`: every registered engine, proxy and edge with the plan
    /// generation it serves; `reachable: false` without `[cluster]`.
    fn members(&self) -> Response<Body> {
        let Some(members) = &self.members else {
            return json(StatusCode::OK, &json!({"members": [], "cluster": false}));
        };
        let list: Vec<_> = members.borrow().values().cloned().collect();
        json(StatusCode::OK, &json!({"members": list, "cluster": true}))
    }

    /// A write on a follower: 307 to the same path on the leader's API (spec §8), or 503
    /// while no leader is known.
    fn to_leader(&self, authority: &Authority, req: &Request<Bytes>) -> Response<Body> {
        let Some(api) = authority.leader_api() else {
            return json(
                StatusCode::SERVICE_UNAVAILABLE,
                &json!({"error": authority.refusal()}),
            );
        };
        let target = format!(
            "{api}{}",
            req.uri().path_and_query().map_or("/", |p| p.as_str())
        );
        let mut resp = json(
            StatusCode::TEMPORARY_REDIRECT,
            &json!({"error": authority.refusal(), "leader": api}),
        );
        if let Ok(v) = HeaderValue::from_str(&target) {
            resp.headers_mut().insert(http::header::LOCATION, v);
        }
        resp
    }

    async fn state(&self) -> Response<Body> {
        let (reply, answer) = oneshot::channel();
        if self.commands.send(Command::State { reply }).await.is_err() {
            return shutting_down();
        }
        match answer.await {
            Ok(mut view) => {
                view.engines = self.engine_status();
                json(StatusCode::OK, &view)
            }
            Err(_) => shutting_down(),
        }
    }

    async fn events(&self, req: Request<Bytes>) -> Response<Body> {
        let is_json = req
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/json"));
        let body = req.into_body();
        let (events, text_form) = if is_json {
            match ops::to_events(&body) {
                Ok(events) => (events, false),
                Err(e) => return json(StatusCode::BAD_REQUEST, &json!({"error": e})),
            }
        } else {
            match Events::parse(&String::from_utf8_lossy(&body)) {
                Ok(events) => (events, true),
                Err(e) => {
                    let error = format!("{} {}", e.pos, e.message);
                    return json(StatusCode::BAD_REQUEST, &json!({"error": error}));
                }
            }
        };
        let (reply, answer) = oneshot::channel();
        let ops = (!text_form).then_some(());
        self.ask(Command::Batch { events, reply }, answer, ops)
            .await
    }

    /// Sends `cmd` and answers with its outcome. With `ops`, errors name the JSON
    /// operation (its index) instead of a line of text.
    async fn ask(
        &self,
        cmd: Command,
        answer: oneshot::Receiver<Result<u64, BatchError>>,
        ops: Option<()>,
    ) -> Response<Body> {
        if self.commands.send(cmd).await.is_err() {
            return shutting_down();
        }
        match answer.await {
            Ok(Ok(generation)) => json(StatusCode::OK, &json!({"generation": generation})),
            Ok(Err(e)) => {
                let body = match ops {
                    Some(()) => json!({
                        "error": format!("ops[{}]: {}", e.pos.line.saturating_sub(1), e.message),
                        "op": e.pos.line.saturating_sub(1),
                    }),
                    None => json!({"error": e.to_string()}),
                };
                json(StatusCode::BAD_REQUEST, &body)
            }
            Err(_) => shutting_down(),
        }
    }
}

fn shutting_down() -> Response<Body> {
    json(
        StatusCode::SERVICE_UNAVAILABLE,
        &json!({"error": "shutting down"}),
    )
}
