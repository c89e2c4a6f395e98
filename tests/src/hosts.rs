//! Test hosts, each with its own address and its own failure.
//!
//! Spec §8 runs a CDN's roles on many hosts with etcd between them, and what a test of it
//! must show is what happens when *one* host dies or is cut off while the others go on. In
//! one process on 127.0.0.1 every role shares one address and one fate, so a partition
//! cannot even be expressed. [`Hosts::new`] therefore makes `n` hosts that differ the way
//! real ones do:
//!
//! - [`Mode::Namespaces`] (preferred, needs root): a Linux network namespace per host,
//!   named `cdnb<pid>k<slot>h<i>`, joined by a veth pair to a bridge `cdnbk<slot>` in the
//!   root namespace. Addresses are in 198.18.0.0/15 (RFC 2544's benchmarking range, which
//!   no real network uses): the `slot`-th /24 of it (0..512), with `.254` on the bridge and
//!   `.<i+1>` on host `i`, so the test process reaches every host and the hosts reach each
//!   other. [`Host::command`] runs a program inside the
//!   namespace; [`Host::cut`] sets the root side of the host's veth down, which partitions
//!   that host from everyone, and [`Host::heal`] sets it up again.
//! - [`Mode::Loopback`] (fallback when namespaces cannot be made): host `i` is
//!   `127.0.<k>.<i+1>`, all on the loopback interface; programs run directly. There is no
//!   link to cut, so a test puts a [`crate::Relay`] between a host and a service and cuts
//!   that instead.
//!
//! `CDNB_HOSTS=loopback` forces the fallback, `CDNB_HOSTS=netns` forces namespaces (and
//! fails if they cannot be made). The address block (`slot`, `k`) is claimed by binding an
//! abstract Unix socket named after it, so concurrent test binaries and concurrent tests
//! in one binary never share addresses; the kernel releases the claim when the process
//! dies, and the next [`Hosts::new`] in namespace mode removes whatever a killed process
//! left behind (namespaces, the processes in them, links). On drop, every process still
//! inside a host's namespace is killed and the namespaces, veths and bridge are deleted;
//! [`leftover_namespaces`] lets a test check that. (In loopback mode there is nothing to
//! delete; the processes a test starts are its own to stop, as [`crate::EtcdCluster`] does.)

use std::ffi::OsStr;
use std::io;
use std::net::Ipv4Addr;
use std::ops::Deref;
use std::os::linux::net::SocketAddrExt;
use std::os::unix::net::{SocketAddr as UnixAddr, UnixListener};
use std::process::Command;
use std::time::Duration;

use crate::{PROXY_ENV, output_within};

/// The environment variable that chooses the mode: `netns` or `loopback` (unset: try
/// namespaces, fall back to loopback).
pub const MODE_ENV: &str = "CDNB_HOSTS";

/// The most hosts one [`Hosts`] makes (one /24, minus the bridge's address).
pub const MAX_HOSTS: usize = 253;

/// How every `ip` command of the harness is bounded.
const IP_TIMEOUT: Duration = Duration::from_secs(10);

/// How the hosts are made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// One network namespace per host, on a bridge; [`Host::cut`] works.
    Namespaces,
    /// Distinct 127.0.k.x addresses on loopback; partitions need a [`crate::Relay`].
    Loopback,
}

/// `n` test hosts; derefs to `[Host]`. Dropping it removes everything it made.
#[derive(Debug)]
pub struct Hosts {
    mode: Mode,
    hosts: Vec<Host>,
    /// The claimed address block: 0..512 in namespace mode, 1..=254 in loopback mode.
    slot: usize,
    /// Held for the lifetime of the hosts: the claim on `slot`.
    _claim: UnixListener,
}

/// One test host: an address, and in namespace mode a namespace and a link to cut.
#[derive(Debug, Clone)]
pub struct Host {
    index: usize,
    ip: Ipv4Addr,
    netns: Option<Netns>,
}

#[derive(Debug, Clone)]
struct Netns {
    /// The namespace, `cdnb<pid>k<slot>h<i>`.
    name: String,
    /// The root-namespace end of the veth pair, `cdnbk<slot>h<i>`, on the bridge.
    veth: String,
}

impl Hosts {
    /// Makes `n` hosts (1..=253), in the mode [`MODE_ENV`] asks for, else in network
    /// namespaces if they can be made, else on loopback addresses (saying why on stderr).
    pub fn new(n: usize) -> io::Result<Self> {
        if !(1..=MAX_HOSTS).contains(&n) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("Hosts::new({n}): between 1 and {MAX_HOSTS} hosts"),
            ));
        }
        match std::env::var(MODE_ENV).unwrap_or_default().as_str() {
            "netns" => Self::namespaces(n),
            "loopback" => Self::loopback(n),
            "" => Self::namespaces(n).or_else(|e| {
                eprintln!(
                    "hosts: no network namespaces ({e}); using 127.0.k.x addresses, \
                     partitions only through a Relay"
                );
                Self::loopback(n)
            }),
            other => Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{MODE_ENV}={other}: expected `netns` or `loopback`"),
            )),
        }
    }

    /// Which mode the hosts are in: a test that cuts links chooses by it.
    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// The prefix of this set's namespace names, `cdnb<pid>k<slot>h` (namespace mode).
    pub fn namespace_prefix(&self) -> String {
        format!("cdnb{}k{}h", std::process::id(), self.slot)
    }

    fn loopback(n: usize) -> io::Result<Self> {
        // 127.0.0.x is left alone: other tests and services live there.
        let (slot, claim) = claim("lo", 254)?;
        let k = (slot + 1) as u8;
        let hosts = (0..n)
            .map(|i| Host {
                index: i,
                ip: Ipv4Addr::new(127, 0, k, (i + 1) as u8),
                netns: None,
            })
            .collect();
        Ok(Self {
            mode: Mode::Loopback,
            hosts,
            slot: slot + 1,
            _claim: claim,
        })
    }

    fn namespaces(n: usize) -> io::Result<Self> {
        // 198.18.0.0/15 holds 512 /24s.
        reap_stale();
        let (slot, claim) = claim("netns", 512)?;
        let (b, c) = (18 + (slot / 256) as u8, (slot % 256) as u8);
        // From here on, Drop removes whatever was made, also when a step fails.
        let mut hosts = Self {
            mode: Mode::Namespaces,
            hosts: Vec::with_capacity(n),
            slot,
            _claim: claim,
        };
        let bridge = bridge_name(slot);
        ip(["link", "add", &bridge, "type", "bridge"])?;
        ip([
            "addr",
            "add",
            &format!("198.{b}.{c}.254/24"),
            "dev",
            &bridge,
        ])?;
        ip(["link", "set", &bridge, "up"])?;
        let pid = std::process::id();
        for i in 0..n {
            let name = format!("cdnb{pid}k{slot}h{i}");
            let veth = format!("{bridge}h{i}");
            let addr = Ipv4Addr::new(198, b, c, (i + 1) as u8);
            ip(["netns", "add", &name])?;
            hosts.hosts.push(Host {
                index: i,
                ip: addr,
                netns: Some(Netns {
                    name: name.clone(),
                    veth: veth.clone(),
                }),
            });
            ip([
                "link", "add", &veth, "type", "veth", "peer", "name", "eth0", "netns", &name,
            ])?;
            ip(["link", "set", &veth, "master", &bridge, "up"])?;
            ip([
                "-n",
                &name,
                "addr",
                "add",
                &format!("{addr}/24"),
                "dev",
                "eth0",
            ])?;
            ip(["-n", &name, "link", "set", "eth0", "up"])?;
            ip(["-n", &name, "link", "set", "lo", "up"])?;
        }
        Ok(hosts)
    }
}

impl Deref for Hosts {
    type Target = [Host];
    fn deref(&self) -> &[Host] {
        &self.hosts
    }
}

impl Drop for Hosts {
    fn drop(&mut self) {
        if self.mode != Mode::Namespaces {
            return;
        }
        for host in &self.hosts {
            if let Some(ns) = &host.netns {
                kill_all_in(&ns.name);
                // Deleting the veth first is synchronous; a namespace's own links go
                // away asynchronously after `netns del`.
                let _ = ip(["link", "del", &ns.veth]);
                let _ = ip(["netns", "del", &ns.name]);
            }
        }
        let _ = ip(["link", "del", &bridge_name(self.slot)]);
        match leftover_namespaces_with(&self.namespace_prefix()) {
            Ok(left) if left.is_empty() => {}
            Ok(left) => eprintln!("hosts: namespaces left after cleanup: {left:?}"),
            Err(e) => eprintln!("hosts: cannot list namespaces after cleanup: {e}"),
        }
    }
}

impl Host {
    /// The host's position in its [`Hosts`].
    pub fn index(&self) -> usize {
        self.index
    }

    /// The address every other host and the test process reach this host at.
    pub fn ip(&self) -> Ipv4Addr {
        self.ip
    }

    /// The host's network namespace (namespace mode).
    pub fn netns(&self) -> Option<&str> {
        self.netns.as_ref().map(|ns| ns.name.as_str())
    }

    /// A command that runs `program` on this host: inside its namespace
    /// (`ip netns exec NAME program`, which execs, so the child's pid is the program's), or
    /// directly in loopback mode. Proxy variables are removed from its environment: test
    /// traffic goes to the test's own hosts only.
    pub fn command(&self, program: impl AsRef<OsStr>) -> Command {
        let mut cmd = match &self.netns {
            Some(ns) => {
                let mut cmd = Command::new("ip");
                cmd.args(["netns", "exec", &ns.name]).arg(program);
                cmd
            }
            None => Command::new(program),
        };
        for var in PROXY_ENV {
            cmd.env_remove(var);
        }
        cmd
    }

    /// Partitions this host from everyone (the test process and every other host) by
    /// setting the root side of its veth down. Loopback mode: `Unsupported` (use a Relay).
    pub fn cut(&self) -> io::Result<()> {
        self.set_link("down")
    }

    /// Undoes [`Host::cut`].
    pub fn heal(&self) -> io::Result<()> {
        self.set_link("up")
    }

    fn set_link(&self, state: &str) -> io::Result<()> {
        match &self.netns {
            Some(ns) => ip(["link", "set", &ns.veth, state]),
            None => Err(io::Error::new(
                io::ErrorKind::Unsupported,
                format!(
                    "host {} ({}) is on loopback: it has no link to set {state}; put a Relay \
                     in front of the service instead",
                    self.index, self.ip
                ),
            )),
        }
    }
}

/// The network namespaces whose names start with `cdnb<pid>k`, i.e. made by the
/// [`Hosts`] of process `pid`: empty once they are all dropped.
pub fn leftover_namespaces(pid: u32) -> io::Result<Vec<String>> {
    leftover_namespaces_with(&format!("cdnb{pid}k"))
}

fn leftover_namespaces_with(prefix: &str) -> io::Result<Vec<String>> {
    Ok(namespaces()?
        .into_iter()
        .filter(|name| name.starts_with(prefix))
        .collect())
}

fn bridge_name(slot: usize) -> String {
    format!("cdnbk{slot}")
}

/// Claims one of `count` address blocks of `kind`, starting from one derived from the pid,
/// by binding the abstract Unix socket `cdnbroker-hosts-<kind>-<slot>`: at most one
/// process holds it, and the kernel releases it when that process dies.
fn claim(kind: &str, count: usize) -> io::Result<(usize, UnixListener)> {
    let start = std::process::id() as usize;
    for probe in 0..count {
        let slot = (start + probe) % count;
        match claim_slot(kind, slot) {
            Ok(listener) => return Ok((slot, listener)),
            Err(e) if e.kind() == io::ErrorKind::AddrInUse => continue,
            Err(e) => return Err(e),
        }
    }
    Err(io::Error::new(
        io::ErrorKind::AddrInUse,
        format!("all {count} {kind} address blocks of the test hosts are in use"),
    ))
}

fn claim_slot(kind: &str, slot: usize) -> io::Result<UnixListener> {
    UnixListener::bind_addr(&UnixAddr::from_abstract_name(format!(
        "cdnbroker-hosts-{kind}-{slot}"
    ))?)
}

/// Removes what killed test processes left behind: the namespaces `cdnb<pid>k<slot>h<i>`
/// and links `cdnbk<slot>...` of every slot whose claim nobody holds (the kernel released
/// it when its holder died), claiming each such slot while removing its objects.
fn reap_stale() {
    let namespaces = namespaces().unwrap_or_default();
    let links = links().unwrap_or_default();
    let mut slots: Vec<usize> = namespaces
        .iter()
        .filter_map(|name| parse_namespace(name).map(|(_, slot, _)| slot))
        .chain(links.iter().filter_map(|link| parse_link(link)))
        .collect();
    slots.sort_unstable();
    slots.dedup();
    for slot in slots {
        let Ok(_claim) = claim_slot("netns", slot) else {
            continue;
        };
        for name in &namespaces {
            if parse_namespace(name).is_some_and(|(_, s, _)| s == slot) {
                eprintln!("hosts: removing stale namespace {name}");
                kill_all_in(name);
                let _ = ip(["netns", "del", name]);
            }
        }
        for link in &links {
            if parse_link(link) == Some(slot) {
                eprintln!("hosts: removing stale link {link}");
                let _ = ip(["link", "del", link]);
            }
        }
    }
}

/// `cdnb<pid>k<slot>h<i>` → (pid, slot, i).
fn parse_namespace(name: &str) -> Option<(u32, usize, usize)> {
    let (pid, rest) = name.strip_prefix("cdnb")?.split_once('k')?;
    let (slot, i) = rest.split_once('h')?;
    Some((pid.parse().ok()?, slot.parse().ok()?, i.parse().ok()?))
}

/// `cdnbk<slot>` (bridge) or `cdnbk<slot>h<i>` (veth) → slot.
fn parse_link(name: &str) -> Option<usize> {
    let rest = name.strip_prefix("cdnbk")?;
    let (slot, i) = rest.split_once('h').unwrap_or((rest, "0"));
    i.parse::<usize>().ok()?;
    slot.parse().ok()
}

/// SIGKILLs every process inside namespace `name` (a namespace outlives its name while a
/// process is in it).
fn kill_all_in(name: &str) {
    let Ok(out) = output_within(Command::new("ip").args(["netns", "pids", name]), IP_TIMEOUT)
    else {
        return;
    };
    let pids: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .map(str::to_owned)
        .collect();
    if !pids.is_empty() {
        let _ = output_within(Command::new("kill").arg("-KILL").args(&pids), IP_TIMEOUT);
    }
}

/// The names of the network namespaces (`ip netns list` prints `NAME (id: N)` or `NAME`).
fn namespaces() -> io::Result<Vec<String>> {
    let out = ip_output(["netns", "list"])?;
    Ok(out
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .map(str::to_owned)
        .collect())
}

/// The names of the root namespace's links (`ip -o link` prints `N: NAME[@PEER]: ...`).
fn links() -> io::Result<Vec<String>> {
    let out = ip_output(["-o", "link", "show"])?;
    Ok(out
        .lines()
        .filter_map(|l| l.split(": ").nth(1))
        .map(|name| name.split('@').next().unwrap_or(name).to_owned())
        .collect())
}

fn ip<const N: usize>(args: [&str; N]) -> io::Result<()> {
    ip_output(args).map(drop)
}

fn ip_output<const N: usize>(args: [&str; N]) -> io::Result<String> {
    let out = output_within(Command::new("ip").args(args), IP_TIMEOUT)?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(io::Error::other(format!(
            "`ip {}` failed ({}): {}",
            args.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        )))
    }
}
