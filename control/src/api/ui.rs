//! The operator page: static HTML, CSS and JavaScript embedded in the binary (no build
//! step), served without a token at `/` and `/ui/...`. The page asks for the `[control]
//! token`, keeps it in the tab's `sessionStorage` and sends it as `Authorization: Bearer`
//! on every API call; everything it shows or changes goes through the JSON API
//! (`/api/state`, `/api/events`, `/api/routing`) and `/metrics`, so the page can do
//! nothing a `curl` with the token could not.
//!
//! The API asks [`handle`] first for every request; it answers the paths it owns and
//! `None` for the rest.

use http::header::{CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, HeaderValue};
use http::{Method, Request, Response, StatusCode};

use crate::http_server::{Body, text};

const INDEX: &str = include_str!("ui/index.html");
const SCRIPT: &str = include_str!("ui/app.js");
const STYLE: &str = include_str!("ui/style.css");

/// The page's own files: no inline script or style, no other origin.
const POLICY: &str = "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'";

/// The page for `req`, if it is one of the UI's.
pub(crate) fn handle<B>(req: &Request<B>) -> Option<Response<Body>> {
    let (body, kind) = match req.uri().path() {
        "/" | "/index.html" => (INDEX, "text/html; charset=utf-8"),
        "/ui/app.js" => (SCRIPT, "text/javascript; charset=utf-8"),
        "/ui/style.css" => (STYLE, "text/css; charset=utf-8"),
        p if p.starts_with("/ui/") => {
            return Some(text(StatusCode::NOT_FOUND, "no such page\n"));
        }
        _ => return None,
    };
    if req.method() != Method::GET && req.method() != Method::HEAD {
        return Some(text(StatusCode::METHOD_NOT_ALLOWED, "only GET\n"));
    }
    let mut resp = text(StatusCode::OK, body);
    let headers = resp.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(kind));
    headers.insert(CONTENT_SECURITY_POLICY, HeaderValue::from_static(POLICY));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    Some(resp)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get(path: &str) -> Option<Response<Body>> {
        handle(&Request::get(path).body(()).unwrap())
    }

    #[test]
    fn serves_its_files_and_leaves_the_api_alone() {
        let page = get("/").unwrap();
        assert_eq!(page.status(), StatusCode::OK);
        assert!(
            page.headers()[CONTENT_TYPE]
                .to_str()
                .unwrap()
                .starts_with("text/html")
        );
        assert!(INDEX.contains("/ui/app.js") && INDEX.contains("/ui/style.css"));
        assert_eq!(get("/ui/app.js").unwrap().status(), StatusCode::OK);
        assert_eq!(get("/ui/nothing").unwrap().status(), StatusCode::NOT_FOUND);
        assert!(get("/api/state").is_none());
        assert!(get("/metrics").is_none());
    }
}
