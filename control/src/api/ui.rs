//! The seam for pages meant for people (an operator page: static HTML/JS that logs in
//! with the token and calls the JSON API). The API asks [`handle`] first for every
//! request; it answers the paths it owns (e.g. `/`, `/ui/...`) and `None` for the rest.
//! Nothing is served here yet.

use http::{Request, Response};

use crate::http_server::Body;

/// The page for `req`, if it is one of the UI's.
pub(crate) fn handle<B>(_req: &Request<B>) -> Option<Response<Body>> {
    None
}
