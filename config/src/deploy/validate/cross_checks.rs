//! Checks across entries of one deployment file: names and hosts claimed twice,
//! listening addresses used twice, keys another key requires.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::ops::Range;

use super::Checker;
use crate::deploy::error::Problem;

impl Checker<'_> {
    pub(super) fn check_listeners(&mut self) {
        let mut first: HashMap<SocketAddr, String> = HashMap::new();
        let listeners = std::mem::take(&mut self.listeners);
        for (addr, key, at) in listeners {
            if addr.port() == 0 {
                continue; // each bind of port 0 gets its own port
            }
            match first.get(&addr) {
                Some(other) => self.invalid(
                    at..at,
                    Problem::AddressReused {
                        addr,
                        other: other.clone(),
                    },
                ),
                None => {
                    first.insert(addr, key);
                }
            }
        }
    }

    /// Records that `owner` uses `name` as a `what`; a second owner is an error. With
    /// `hide` the name (a secret) is not repeated in the message.
    pub(super) fn claim(
        &mut self,
        owners: &mut HashMap<(&'static str, String), String>,
        span: Range<usize>,
        what: &'static str,
        name: &str,
        owner: &str,
        hide: bool,
    ) {
        match owners.get(&(what, name.to_owned())) {
            Some(first) if first != owner => {
                let name = if hide { "..." } else { name }.to_owned();
                self.invalid(
                    span,
                    Problem::Claimed {
                        what,
                        name,
                        owner: first.clone(),
                    },
                );
            }
            Some(_) => {}
            None => {
                owners.insert((what, name.to_owned()), owner.to_owned());
            }
        }
    }

    pub(super) fn required(
        &mut self,
        span: Range<usize>,
        key: &'static str,
        because: &'static str,
    ) {
        self.invalid(span, Problem::Required { key, because });
    }

    pub(super) fn duplicate(&mut self, span: Range<usize>, what: &'static str, name: &str) {
        self.invalid(
            span,
            Problem::Duplicate {
                what,
                name: name.to_owned(),
            },
        );
    }
}
