//! One value at a time: names, hosts, addresses, URLs, paths, each checked where it is
//! written, its error at its span.

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::path::PathBuf;

use super::{Checker, UrlUse};
use crate::deploy::error::Problem;
use crate::deploy::raw::{RawTls, S, StrMap};
use crate::deploy::values::{HostPort, HttpUrl, Scheme, TlsFiles, Token};
use crate::name::{DnsName, Name};

impl Checker<'_> {
    pub(super) fn all<T>(
        &mut self,
        items: &[S<String>],
        f: impl Fn(&mut Self, &S<String>) -> Option<T>,
    ) -> Option<Vec<T>> {
        let parsed: Vec<Option<T>> = items.iter().map(|s| f(self, s)).collect();
        parsed.into_iter().collect()
    }

    /// A list of hosts owned by one entry: no host twice, none owned by another entry.
    pub(super) fn hosts<T: ToString>(
        &mut self,
        items: &[S<String>],
        what: &'static str,
        owners: &mut HashMap<(&'static str, String), String>,
        owner: &str,
        f: impl Fn(&mut Self, &S<String>) -> Option<T>,
    ) -> Option<Vec<T>> {
        let mut seen: HashMap<String, ()> = HashMap::new();
        let mut out = Some(Vec::new());
        for raw in items {
            let Some(v) = f(self, raw) else {
                out = None;
                continue;
            };
            let key = v.to_string();
            if seen.insert(key.clone(), ()).is_some() {
                self.duplicate(raw.span(), what, &key);
            } else {
                self.claim(owners, raw.span(), what, &key, owner, false);
            }
            if let Some(out) = out.as_mut() {
                out.push(v);
            }
        }
        out
    }

    pub(super) fn map<K: Ord + ToString, V>(
        &mut self,
        raw: &StrMap,
        what: &'static str,
        key: impl Fn(&mut Self, &S<String>) -> Option<K>,
        value: impl Fn(&mut Self, &S<String>) -> Option<V>,
    ) -> Option<BTreeMap<K, V>> {
        let mut out = Some(BTreeMap::new());
        for (k, v) in raw {
            let (k2, v2) = (key(self, k), value(self, v));
            let (Some(k2), Some(v2)) = (k2, v2) else {
                out = None;
                continue;
            };
            if let Some(map) = out.as_mut() {
                let shown = k2.to_string();
                if map.insert(k2, v2).is_some() {
                    self.duplicate(k.span(), what, &shown);
                }
            }
        }
        out
    }

    /// Each value of `map` (a host) once: a partner host names one origin.
    pub(super) fn distinct_values(&mut self, map: &StrMap, what: &'static str) {
        let mut seen: HashMap<String, ()> = HashMap::new();
        let mut values: Vec<&S<String>> = map.values().collect();
        values.sort_by_key(|v| v.span().start);
        for v in values {
            if let Ok(host) = HostPort::parse(v.get_ref())
                && seen.insert(host.to_string(), ()).is_some()
            {
                self.duplicate(v.span(), what, &host.to_string());
            }
        }
    }

    pub(super) fn name(&mut self, s: &S<String>) -> Option<Name> {
        Name::new(s.get_ref())
            .map_err(|e| self.invalid(s.span(), Problem::BadValue(e)))
            .ok()
    }

    pub(super) fn dns_name(&mut self, s: &S<String>) -> Option<DnsName> {
        DnsName::new(s.get_ref())
            .map_err(|e| self.invalid(s.span(), Problem::BadValue(e)))
            .ok()
    }

    pub(super) fn host_port(&mut self, s: &S<String>) -> Option<HostPort> {
        HostPort::parse(s.get_ref())
            .map_err(|e| self.invalid(s.span(), Problem::BadValue(e)))
            .ok()
    }

    pub(super) fn token(&mut self, s: &S<String>) -> Option<Token> {
        Token::new(s.get_ref())
            .map_err(|e| self.invalid(s.span(), Problem::BadValue(e)))
            .ok()
    }

    pub(super) fn socket(&mut self, s: &S<String>) -> Option<SocketAddr> {
        s.get_ref()
            .parse()
            .map_err(|_| self.invalid(s.span(), Problem::BadSocketAddr))
            .ok()
    }

    pub(super) fn listener(&mut self, s: &S<String>, key: &str) -> Option<SocketAddr> {
        let addr = self.socket(s)?;
        self.listeners.push((addr, key.to_owned(), s.span().start));
        Some(addr)
    }

    pub(super) fn opt_listener(
        &mut self,
        s: &Option<S<String>>,
        key: &str,
    ) -> Option<Option<SocketAddr>> {
        s.as_ref()
            .map(|s| self.listener(s, key))
            .map_or(Some(None), |v| v.map(Some))
    }

    pub(super) fn listeners_of(
        &mut self,
        items: &[S<String>],
        key: &str,
    ) -> Option<Vec<SocketAddr>> {
        self.all(items, |ck, s| ck.listener(s, key))
    }

    pub(super) fn path(&mut self, s: &S<String>) -> Option<PathBuf> {
        if s.get_ref().is_empty() {
            self.invalid(s.span(), Problem::EmptyPath);
            return None;
        }
        Some(self.base.join(s.get_ref()))
    }

    pub(super) fn tls(&mut self, s: &S<RawTls>) -> Option<TlsFiles> {
        let cert = self.path(&s.get_ref().cert);
        let key = self.path(&s.get_ref().key);
        Some(TlsFiles {
            cert: cert?,
            key: key?,
        })
    }

    pub(super) fn url(&mut self, s: &S<String>, usage: UrlUse) -> Option<HttpUrl> {
        let mut url = HttpUrl::parse(s.get_ref())
            .map_err(|e| self.invalid(s.span(), Problem::BadValue(e)))
            .ok()?;
        let problem = match usage {
            UrlUse::NoPath(_) if url.path.len() > 1 => Some(Problem::UrlWithPath),
            UrlUse::NoPath(Scheme::Https) | UrlUse::WithPath(Scheme::Https)
                if url.scheme != Scheme::Https =>
            {
                Some(Problem::WrongScheme("https://"))
            }
            _ => None,
        };
        if let Some(problem) = problem {
            self.invalid(s.span(), problem);
            return None;
        }
        if matches!(usage, UrlUse::NoPath(_)) {
            url.path.clear(); // `http://a/` and `http://a` are one origin
        }
        Some(url)
    }
}
