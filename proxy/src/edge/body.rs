//! The one response body type of the edge: a cached `Bytes`, or an origin body streamed on.

use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Empty, Full};

/// Every response the edge writes has this body: boxed so that cached bytes, streamed
/// origin bodies and short error texts share one type.
pub type EdgeBody = BoxBody<Bytes, hyper::Error>;

/// A body of these bytes.
pub(crate) fn full(bytes: impl Into<Bytes>) -> EdgeBody {
    Full::new(bytes.into())
        .map_err(|never| match never {})
        .boxed()
}

/// No body (HEAD, 304).
pub(crate) fn empty() -> EdgeBody {
    Empty::new().map_err(|never| match never {}).boxed()
}
