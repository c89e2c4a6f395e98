//! `/api/routing`: the routing tables an operator edits while everything runs (see
//! [`crate::routing`]).
//!
//! - `GET`: `{"generation": N, "toml": "...", "partners": [...], "customers": [...]}`,
//!   the tables in force as the editable TOML text and as JSON.
//! - `PUT` (or `POST`) with the whole TOML text: 200 `{"generation": N}`, or 400
//!   `{"error": "LINE:COL message", "errors": [...]}` (every problem, first first) and
//!   nothing changed.

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use serde_json::{Value, json};
use tokio::sync::{mpsc, oneshot};

use crate::command::Command;
use crate::http_server::{Body, json};
use crate::routing::RoutingTables;

pub(super) async fn handle(
    tables: &RoutingTables,
    commands: &mpsc::Sender<Command>,
    req: &Request<Bytes>,
) -> Response<Body> {
    match *req.method() {
        Method::GET => json(StatusCode::OK, &view(tables)),
        Method::PUT | Method::POST => {
            let Ok(text) = std::str::from_utf8(req.body()) else {
                return json(
                    StatusCode::BAD_REQUEST,
                    &json!({"error": "1:1 the text is not UTF-8"}),
                );
            };
            // Through the event loop: a replicated control journals the edit first.
            let (reply, answer) = oneshot::channel();
            let edit = Command::Routing {
                text: text.to_owned(),
                reply,
            };
            if commands.send(edit).await.is_err() {
                return json(
                    StatusCode::SERVICE_UNAVAILABLE,
                    &json!({"error": "shutting down"}),
                );
            }
            match answer.await {
                Ok(Ok(generation)) => json(StatusCode::OK, &json!({"generation": generation})),
                Ok(Err(problems)) => {
                    let errors: Vec<String> = problems.iter().map(ToString::to_string).collect();
                    json(
                        StatusCode::BAD_REQUEST,
                        &json!({"error": errors.first(), "errors": errors}),
                    )
                }
                Err(_) => json(
                    StatusCode::SERVICE_UNAVAILABLE,
                    &json!({"error": "shutting down"}),
                ),
            }
        }
        _ => json(
            StatusCode::METHOD_NOT_ALLOWED,
            &json!({"error": "GET or PUT /api/routing"}),
        ),
    }
}

fn view(tables: &RoutingTables) -> Value {
    let routing = tables.current();
    let strings = |items: &mut dyn Iterator<Item = String>| items.collect::<Vec<_>>();
    let partners: Vec<Value> = routing
        .partners()
        .iter()
        .map(|p| {
            json!({
                "name": p.name.as_str(),
                "form": p.form.as_str(),
                "host": p.host.as_ref().map(ToString::to_string),
                "table": p.table.iter().map(|(k, v)| (k.to_string(), Value::from(v.to_string()))).collect::<serde_json::Map<_, _>>(),
            })
        })
        .collect();
    let customers: Vec<Value> = routing
        .customers()
        .iter()
        .map(|c| {
            json!({
                "name": c.name.as_str(),
                "site": strings(&mut c.site.iter().map(ToString::to_string)),
                "offload": strings(&mut c.offload.iter().map(ToString::to_string)),
                "dns": strings(&mut c.dns.iter().map(ToString::to_string)),
                "origin": c.origin.iter().map(|(k, v)| (k.to_string(), Value::from(v.to_string()))).collect::<serde_json::Map<_, _>>(),
            })
        })
        .collect();
    json!({
        "generation": routing.generation(),
        "toml": tables.text(&routing),
        "partners": partners,
        "customers": customers,
    })
}
