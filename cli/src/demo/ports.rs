//! The demo's port layout: every address is 127.0.0.1 and `--port-base` plus a fixed
//! offset, so one flag moves the whole world (default base 8000: origin on 8000, C's front
//! proxy on 8080, G's edge on 8090, G's status reports on 8443...).

use std::net::{Ipv4Addr, SocketAddr};

/// The default `--port-base`.
pub(crate) const DEFAULT_BASE: u16 = 8000;

/// Offsets from the base, one per listening socket of the demo.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Port {
    /// xyz's origin web site (www.xyz.com and img.xyz.com).
    Origin = 0,
    /// C's DNS engine, UDP and TCP.
    Dns = 53,
    /// C's DNS engine control port (spec §1).
    DnsControl = 54,
    /// C's management port (spec §3).
    Management = 55,
    /// C's front proxy.
    Proxy = 80,
    /// C's front proxy, special port that sends every offloadable URL to G.
    ProxyForG = 81,
    /// G's edge (offloaded traffic).
    Edge = 90,
    /// C's control API and operator page.
    Api = 99,
    /// G's status reports (spec §4, HTTPS).
    Status = 443,
    /// C's receiver of partners' alerts (HTTPS).
    Alerts = 444,
}

/// The largest offset: a base above `u16::MAX - MAX_OFFSET` does not fit.
pub(crate) const MAX_OFFSET: u16 = Port::Alerts as u16;

/// A checked base.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Layout {
    base: u16,
}

impl Layout {
    /// The layout at `base`, if every port fits under 65536.
    pub(crate) fn new(base: u16) -> anyhow::Result<Self> {
        if base == 0 || base > u16::MAX - MAX_OFFSET {
            anyhow::bail!(
                "--port-base {base}: the demo uses ports base to base+{MAX_OFFSET}, \
                 so the base is 1 to {}",
                u16::MAX - MAX_OFFSET
            );
        }
        Ok(Self { base })
    }

    /// The address of `port`.
    pub(crate) fn addr(self, port: Port) -> SocketAddr {
        SocketAddr::from((Ipv4Addr::LOCALHOST, self.base + port as u16))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_port_is_base_plus_its_offset_and_fits() {
        let l = Layout::new(DEFAULT_BASE).unwrap();
        assert_eq!(l.addr(Port::Proxy).to_string(), "127.0.0.1:8080");
        assert_eq!(l.addr(Port::Status).to_string(), "127.0.0.1:8443");
        let top = Layout::new(u16::MAX - MAX_OFFSET).unwrap();
        assert_eq!(top.addr(Port::Alerts).port(), u16::MAX);
        assert!(Layout::new(u16::MAX - MAX_OFFSET + 1).is_err());
        assert!(Layout::new(0).is_err());
    }
}
