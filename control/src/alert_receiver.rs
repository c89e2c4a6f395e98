//! The alert receiver (spec §4): partners `POST /alert` over HTTPS with a body like
//! `G Load france=50000,8800` or `G Unavailable`, and the bearer token of their
//! `[[partner]]`. Answers: 204 once the event loop applied it (the new plan is then
//! published: the alert acts within one event), 401 without the named partner's token,
//! 400 when the body does not parse, 403 when the alert is about no known partner.

use std::sync::Arc;

use broker_config::Name;
use broker_config::deploy::{Partner, Token};
use broker_config::status::{Alert, MAX_STATUS_LEN};
use http::header::{HeaderValue, WWW_AUTHENTICATE};
use http::{Method, Request, Response, StatusCode};
use hyper::body::Incoming;
use tokio::sync::{mpsc, oneshot};

use crate::command::{AlertError, Command};
use crate::http_server::{Body, bearer, read_body, refuse, text};
use crate::metrics::Metrics;
use crate::tls::same_secret;

/// What the receiver checks alerts against.
pub(crate) struct AlertReceiver {
    partners: Vec<(Name, Option<Token>)>,
    commands: mpsc::Sender<Command>,
    metrics: Arc<Metrics>,
    body_deadline: std::time::Duration,
}

impl AlertReceiver {
    pub(crate) fn new(
        partners: &[Partner],
        commands: mpsc::Sender<Command>,
        metrics: Arc<Metrics>,
        body_deadline: std::time::Duration,
    ) -> Self {
        Self {
            partners: partners
                .iter()
                .map(|p| (p.name.clone(), p.token.clone()))
                .collect(),
            commands,
            metrics,
            body_deadline,
        }
    }

    fn token_matches(token: Option<&Token>, presented: Option<&str>) -> bool {
        match (token, presented) {
            (Some(t), Some(p)) => same_secret(t.expose().as_bytes(), p.as_bytes()),
            _ => false,
        }
    }

    pub(crate) async fn handle(self: Arc<Self>, req: Request<Incoming>) -> Response<Body> {
        if req.uri().path() != "/alert" {
            return text(StatusCode::NOT_FOUND, "only POST /alert\n");
        }
        if req.method() != Method::POST {
            return text(StatusCode::METHOD_NOT_ALLOWED, "only POST /alert\n");
        }
        let presented = bearer(&req).map(str::to_owned);
        // The token before the body (spec §11): a stranger makes us read nothing.
        let known_sender = self
            .partners
            .iter()
            .any(|(_, t)| Self::token_matches(t.as_ref(), presented.as_deref()));
        if !known_sender {
            self.metrics.alert("", "unauthenticated");
            return refuse(req, unauthorized()).await;
        }
        let body = match read_body(req, MAX_STATUS_LEN, self.body_deadline).await {
            Ok(b) => b,
            Err(resp) => return resp,
        };
        let alert = match Alert::parse(&body) {
            Ok(a) => a,
            Err(e) => {
                self.metrics.alert("", "unparsable");
                return text(StatusCode::BAD_REQUEST, format!("{e}\n"));
            }
        };
        let partner = alert.cdn.as_str().to_owned();
        let Some((_, token)) = self.partners.iter().find(|(n, _)| *n == alert.cdn) else {
            self.metrics.alert(&partner, "unknown");
            return text(
                StatusCode::FORBIDDEN,
                format!("{partner} is not a known partner\n"),
            );
        };
        if !Self::token_matches(token.as_ref(), presented.as_deref()) {
            self.metrics.alert(&partner, "unauthenticated");
            return unauthorized();
        }
        let (reply, answer) = oneshot::channel();
        if self
            .commands
            .send(Command::Alert { alert, reply })
            .await
            .is_err()
        {
            return text(StatusCode::SERVICE_UNAVAILABLE, "shutting down\n");
        }
        match answer.await {
            Ok(Ok(_generation)) => {
                self.metrics.alert(&partner, "accepted");
                text(StatusCode::NO_CONTENT, "")
            }
            Ok(Err(AlertError::Refused(why))) => {
                self.metrics.alert(&partner, "refused");
                text(StatusCode::FORBIDDEN, format!("{why}\n"))
            }
            Ok(Err(AlertError::NotKept(why))) => {
                self.metrics.alert(&partner, "not_kept");
                text(StatusCode::SERVICE_UNAVAILABLE, format!("{why}\n"))
            }
            Err(_) => text(StatusCode::SERVICE_UNAVAILABLE, "shutting down\n"),
        }
    }
}

fn unauthorized() -> Response<Body> {
    let mut resp = text(
        StatusCode::UNAUTHORIZED,
        "the partner's bearer token is required\n",
    );
    resp.headers_mut().insert(
        WWW_AUTHENTICATE,
        HeaderValue::from_static("Bearer realm=\"alerts\""),
    );
    resp
}
