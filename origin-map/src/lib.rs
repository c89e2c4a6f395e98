//! origin-map: the convoluted URLs of spec §5, both ways, and the open-proxy guard.
//!
//! A partner CDN G publishes the URL form its edge accepts for an offloading CDN C. The
//! offloading side ([`PartnerForm::encode`], run by C's page rewriter for every embedded
//! URL) turns an origin URL into G's form; the edge side ([`EdgeMap::decode`], run by G's
//! edge for every request) turns a request back into the offloader, the origin and the
//! back door to fetch it from on a miss. Pure library: no I/O, no clock; it sits under
//! `broker-proxy` and uses only `broker-config`'s name type.
//!
//! # The three forms
//!
//! | form | partner URL | origin |
//! |---|---|---|
//! | embedded | `http://foo.cdn-g.example/img.xyz.com/pic1.gif` | `http://img.xyz.com/pic1.gif` |
//! | table (`xyz.cdn-g.example -> img.xyz.com`) | `http://xyz.cdn-g.example/pic1.gif` | same |
//! | semantic (suffix `c.cdn-g.example`) | `http://img.xyz.com.c.cdn-g.example/pic1.gif` | same |
//!
//! The edge also serves a request whose `Host` is itself an allowed origin (a client sent
//! there by DNS outsourcing keeps the customer's `Host`). Rewriting keeps the scheme
//! (`//` stays `//`; `http` on an `https` page becomes `https`), the query, and the port in
//! the embedded form (`foo.cdn-g.example/img.xyz.com:8080/a`).
//!
//! # The guard
//!
//! The edge returns an origin only if that offloader's origin map lists it; everything
//! else is a [`Refusal`] and causes no outbound connection. Rules:
//!
//! - Hosts are compared only as canonical text ([`OriginKey`]): what the WHATWG parser
//!   (`url`) makes of them — lower-case, punycode, IPv4 in dotted decimal whatever the
//!   notation (`127.1`, `0x7f.0.0.1`, `2130706433`, octal), IPv6 compressed — minus one
//!   trailing dot, within DNS lengths. A spelling trick can only reach a listed origin.
//! - The port is part of an origin's identity; the scheme's default port is no port.
//! - Host text with `%` or `@` is refused outright; so is an empty or overlong host, and
//!   anything the URL parser refuses (`/`, `\`, spaces, bad IDN, bad IP literals).
//! - The embedded origin segment is cut off the raw path before any normalisation; the
//!   rest is normalised like a browser (`\` is `/`, `.`/`..`/`%2e` segments resolved and
//!   clamped at `/`), so `..` never climbs into the origin segment.
//! - Semantic names must hold a host name, not an IP literal.
//! - Origins and back doors may not be the edge itself ([`EdgeMap::new`] checks): not one
//!   of its names at any port, nor one of its IP addresses at a port it answers on there
//!   (so an origin on `127.0.0.1:8000` may sit beside an edge on `127.0.0.1:8090`); the
//!   edge never fetches from itself.
//! - Request targets longer than [`MAX_TARGET_LEN`] are refused.
//!
//! # Example
//!
//! ```
//! use origin_map::{EdgeMap, EdgeRequest, Form, OffloadHosts, OffloaderSpec, PartnerForm, Scheme};
//!
//! // Offloading side (C): rewrite an embedded URL of an https page into G's form.
//! let offload = OffloadHosts::new(["img.xyz.com"])?;
//! let g = PartnerForm::embedded("foo.cdn-g.example")?;
//! let url = g.encode("http://img.xyz.com/pic1.gif?v=2", Scheme::Https, &offload);
//! assert_eq!(url.as_deref(), Some("https://foo.cdn-g.example/img.xyz.com/pic1.gif?v=2"));
//! assert_eq!(g.encode("http://www.xyz.com/", Scheme::Https, &offload), None);
//!
//! // Edge side (G): decide the request that URL produces.
//! let edge = EdgeMap::new(
//!     [OffloaderSpec {
//!         name: "C".into(),
//!         embedded_hosts: vec!["foo.cdn-g.example".into()],
//!         origins: vec![("img.xyz.com".into(), "http://127.0.0.1:8000".into())],
//!         ..OffloaderSpec::default()
//!     }],
//!     &[],
//! )?;
//! let req = EdgeRequest {
//!     scheme: Scheme::Https,
//!     host: "foo.cdn-g.example",
//!     path: "/img.xyz.com/pic1.gif",
//!     query: Some("v=2"),
//! };
//! let hit = edge.decode(&req).expect("listed origin");
//! assert_eq!((hit.offloader.name().as_str(), hit.form), ("C", Form::Embedded));
//! assert_eq!(hit.back_door.to_string(), "http://127.0.0.1:8000");
//! assert_eq!(hit.origin_url(), "http://img.xyz.com/pic1.gif?v=2");
//!
//! // Anything else is refused, whatever the spelling.
//! let trick = EdgeRequest { path: "/img.xyz.com/..%2f..%2f127.0.0.1:22/", ..req };
//! assert!(edge.decode(&trick).is_ok_and(|d| d.origin.as_str() == "img.xyz.com"));
//! let evil = EdgeRequest { path: "/0x7f.1:22/", ..req };
//! assert_eq!(edge.decode(&evil).unwrap_err().status(), 403);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![warn(missing_docs)]

mod authority;
mod back_door;
mod decode;
mod edge_map;
mod encode;
mod host;
mod origin_key;
mod own_endpoint;
mod partner_form;
mod path;
mod scheme;

pub use back_door::{BackDoor, BackDoorError};
pub use decode::{Decoded, EdgeRequest, Form, Refusal};
pub use edge_map::{EdgeMap, EdgeMapError, EdgeMapErrors, Offloader, OffloaderSpec};
pub use host::{HostError, MAX_HOST_LEN, MAX_LABEL_LEN, canonical_host};
pub use origin_key::OriginKey;
pub use partner_form::{OffloadHosts, PartnerForm, PartnerFormError, PartnerHost};
pub use path::MAX_TARGET_LEN;
pub use scheme::Scheme;
