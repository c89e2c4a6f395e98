//! One request through the front proxy, in phases:
//!
//! ```text
//! loop check (our Via: 508) → site (Host or :authority: unknown 404, never an open proxy)
//! → client address (peer; X-Forwarded-For only from trusted proxies)
//! → origin (the site's back door, its own Host, body streamed: 502 down, 504 slow)
//! (a site with offload groups: the pick is made first, and If-None-Match keeps only the
//! client's tags of that pick, as the origin's; If-Modified-Since goes: `validator.rs`)
//! → 304 to a tag of the pick: relayed with our tag
//! → classify: Range, 206/304/204, not HTML/CSS, a coding we cannot undo: relay
//! → pick (one plan load; the special port's partner forces it) per offload group
//! → validators: ETag `W/"<origin's>.<pick id>"`, no Last-Modified; HEAD ends here
//! → body: decode → rewrite (origin-map §5 forms) → encode for Accept-Encoding; a page
//!   with a strong ETag seen before for the same pick replays its recorded plan (`plans.rs`)
//! → headers: private, Vary, no Content-Length/strong ETag, Via, no hop-by-hop
//! ```

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Instant;

use http::header::{CONTENT_TYPE, ETAG, HOST, HeaderValue, RANGE};
use http::uri::PathAndQuery;
use http::{Method, Request, Response, StatusCode, Uri, Version};
use hyper::body::Incoming;
use origin_map::Scheme;

use super::Front;
use super::body::{self, FrontBody, PlanSlot, Rewriting};
use super::client_addr::{client_ip, is_trusted};
use super::coding;
use super::headers::{self, X_FORWARDED_PROTO};
use super::mapper::FrontMapper;
use super::metrics::Outcome;
use super::origin::OriginError;
use super::pick::{self, Picks};
use super::plans::RewriteTally;
use super::sites::{CustomerRoute, PartnerRoute};
use super::validator::{self, PickTag};
use crate::rewrite::{ContentKind, ContentType, PageRewriter, RewriteOptions};

/// Where a request came in: the scheme of the listener and, on a special port, the
/// partner it forces.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Entry {
    pub(crate) scheme: Scheme,
    pub(crate) forced: Option<u16>,
}

/// Answers one client request that arrived at `entry` from `peer`.
pub(crate) async fn handle(
    front: Arc<Front>,
    entry: Entry,
    peer: SocketAddr,
    req: Request<Incoming>,
) -> Response<FrontBody> {
    let (resp, outcome) = answer(&front, entry, peer, req).await;
    front.metrics.count(outcome);
    resp
}

async fn answer(
    front: &Front,
    entry: Entry,
    peer: SocketAddr,
    req: Request<Incoming>,
) -> (Response<FrontBody>, Outcome) {
    if front.via.seen_in(req.headers()) {
        let why = "request loop: it already went through this proxy";
        return (refuse(StatusCode::LOOP_DETECTED, why), Outcome::Refused);
    }
    // An absolute-form target's authority overrides `Host` (RFC 9112 §3.2.2); HTTP/2
    // carries it as `:authority`, which hyper puts in the URI.
    let host = match req.uri().authority() {
        Some(a) => a.as_str(),
        None => match req.headers().get(HOST).map(|h| h.to_str()) {
            Some(Ok(h)) => h,
            _ => return (refuse(StatusCode::BAD_REQUEST, "no Host"), Outcome::Refused),
        },
    };
    let tables = front.tables.current(&front.metrics);
    let Some(site) = tables.sites.find(host).cloned() else {
        return (
            refuse(StatusCode::NOT_FOUND, "unknown site"),
            Outcome::Refused,
        );
    };
    let peer_ip = peer.ip().to_canonical();
    let peer_trusted = is_trusted(peer_ip, &front.trusted);
    let client = client_ip(peer_ip, req.headers(), &front.trusted);
    let forwarded_https = peer_trusted
        && req
            .headers()
            .get(&X_FORWARDED_PROTO)
            .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"https"));
    let page = if entry.scheme == Scheme::Https || forwarded_https {
        Scheme::Https
    } else {
        Scheme::Http
    };
    let head = req.method() == Method::HEAD;
    let ranged = req.headers().contains_key(RANGE);
    let client_coding = coding::for_client(req.headers());
    // Kept for the page's URL, which only a rewritten page needs (cheap clones).
    let asked_host = HeaderValue::from_str(host).ok();
    let target = req.uri().path_and_query().cloned();

    // The origin request: same method, target and body; the site's Host.
    let (mut parts, body) = req.into_parts();
    let uri = Uri::builder()
        .scheme(site.origin_scheme.clone())
        .authority(site.origin_authority.clone())
        .path_and_query(
            target
                .clone()
                .unwrap_or_else(|| PathAndQuery::from_static("/")),
        )
        .build();
    let Ok(uri) = uri else {
        return (
            refuse(StatusCode::BAD_REQUEST, "bad target"),
            Outcome::Refused,
        );
    };
    parts.uri = uri;
    parts.version = Version::HTTP_11;
    let pick_for = |picks: &Picks| {
        PickTag::new(
            &site.customer,
            &tables.partners,
            picks,
            page,
            tables.generation,
        )
    };
    // A site whose pages may be rewritten: the conditionals must name the pick the client
    // gets now, which is therefore made before the origin is asked (and kept for the page).
    let mut early: Option<(Picks, PickTag)> = None;
    let mut revalidating = false;
    if !site.customer.groups.is_empty() && validator::is_conditional(&parts.headers) {
        let picks = choose(front, &site.customer, &tables.partners, client, entry);
        let tag = pick_for(&picks);
        revalidating = validator::to_origin(&mut parts.headers, &tag);
        early = Some((picks, tag));
    }
    headers::to_origin(
        &mut parts.headers,
        &site.host,
        peer_ip,
        peer_trusted,
        page == Scheme::Https,
        &front.via,
    );
    let started = Instant::now();
    let resp = match front.origin.send(Request::from_parts(parts, body)).await {
        Ok(resp) => resp,
        Err(e) => {
            tracing::debug!(error = %e, "origin fetch failed");
            let (status, outcome) = match e {
                OriginError::Timeout => (StatusCode::GATEWAY_TIMEOUT, Outcome::OriginTimeout),
                OriginError::Unreachable(_) => (StatusCode::BAD_GATEWAY, Outcome::OriginFailed),
            };
            return (refuse(status, &e.to_string()), outcome);
        }
    };
    front.metrics.origin_time(started.elapsed());

    let (mut parts, origin_body) = resp.into_parts();
    headers::from_origin(&mut parts.headers, &front.via);
    let kind = parts
        .headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(ContentType::parse);
    let rewritable =
        kind.is_some_and(|k| k.kind != ContentKind::Other) && !site.customer.groups.is_empty();
    let idle = front.settings.origin_idle_timeout;
    if rewritable {
        // Its embedded URLs depend on who asks, whether or not they change this time.
        headers::make_private(&mut parts.headers);
    }
    if let (true, StatusCode::NOT_MODIFIED, Some((_, tag))) = (revalidating, parts.status, &early) {
        // The client's copy was rewritten for the pick it still gets: it stays valid.
        headers::make_private(&mut parts.headers);
        validator::for_client(&mut parts.headers, tag);
        let body = body::passthrough(origin_body, idle);
        return (Response::from_parts(parts, body), Outcome::Unchanged);
    }
    let no_body = matches!(
        parts.status,
        StatusCode::PARTIAL_CONTENT | StatusCode::NOT_MODIFIED | StatusCode::NO_CONTENT
    ) || parts.status.is_informational();
    let from = coding::of_response(&parts.headers);
    let (Some(kind), true, false, false, Some(from)) = (kind, rewritable, ranged, no_body, from)
    else {
        let outcome = if rewritable {
            Outcome::Unchanged
        } else {
            Outcome::Passed
        };
        let body = if head {
            body::empty()
        } else {
            body::passthrough(origin_body, idle)
        };
        return (Response::from_parts(parts, body), outcome);
    };

    // The page's body depends on the pick: so does its validator.
    let (picks, tag) = early.unwrap_or_else(|| {
        let picks = choose(front, &site.customer, &tables.partners, client, entry);
        let tag = pick_for(&picks);
        (picks, tag)
    });
    let origin_etag = parts
        .headers
        .get(ETAG)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    validator::for_client(&mut parts.headers, &tag);
    let first = picks.iter().flatten().next().copied();
    if head {
        // The headers the same GET would get.
        if first.is_some() {
            headers::for_new_body(&mut parts.headers, client_coding);
        }
        return (
            Response::from_parts(parts, body::empty()),
            Outcome::Unchanged,
        );
    }
    let Some(first) = first else {
        front.self_pages.inc();
        let body = body::passthrough(origin_body, idle);
        return (Response::from_parts(parts, body), Outcome::Unchanged);
    };
    if let Some(p) = tables.partners.get(usize::from(first)) {
        p.pages.inc();
    }
    let document_url = document_url(page, asked_host.as_ref(), target.as_ref());
    let content_type = parts
        .headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let key = document_url.as_ref().and_then(|url| {
        let coding = from.token().unwrap_or("identity");
        let etag = origin_etag.as_deref();
        front
            .plans
            .key(url.as_str(), etag, content_type, coding, &tag)
    });
    let recorded = key.as_ref().and_then(|k| front.plans.get(k));
    let rewriting = match (key, recorded) {
        (Some(key), Some(plan)) => Rewriting::Replay {
            plan,
            slot: PlanSlot {
                cache: front.plans.clone(),
                key,
            },
            tally: RewriteTally::new(tables.partners.clone()),
        },
        (key, _) => {
            let tally = Arc::new(RewriteTally::new(tables.partners.clone()));
            let mapper = FrontMapper {
                customer: site.customer.clone(),
                partners: tables.partners.clone(),
                picks,
                page,
                tally: Arc::clone(&tally),
            };
            let options = RewriteOptions {
                document_url,
                https_page: page == Scheme::Https,
                ..RewriteOptions::default()
            };
            Rewriting::Rewrite {
                rewriter: PageRewriter::for_content(kind, mapper, options),
                record: key.map(|key| PlanSlot {
                    cache: front.plans.clone(),
                    key,
                }),
                tally,
            }
        }
    };
    headers::for_new_body(&mut parts.headers, client_coding);
    let body = body::rewritten(origin_body, idle, from, rewriting, client_coding);
    (Response::from_parts(parts, body), Outcome::Rewritten)
}

/// The picks for `customer`'s offload groups: one plan load.
fn choose(
    front: &Front,
    customer: &CustomerRoute,
    partners: &[PartnerRoute],
    client: IpAddr,
    entry: Entry,
) -> Picks {
    let live = front.plan.load();
    pick::choose(&live, customer, client, &front.node, partners, entry.forced)
}

/// The page's own URL, against which a relative `<base href>` resolves.
fn document_url(
    page: Scheme,
    host: Option<&HeaderValue>,
    target: Option<&PathAndQuery>,
) -> Option<url::Url> {
    let host = host?.to_str().ok()?;
    let path = target.map_or("/", PathAndQuery::as_str);
    url::Url::parse(&format!("{page}://{host}{path}")).ok()
}

/// A short plain-text answer of our own.
pub(crate) fn refuse(status: StatusCode, reason: &str) -> Response<FrontBody> {
    let mut resp = Response::new(body::text(format!("{reason}\n")));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    resp
}
