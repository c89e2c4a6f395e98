//! A real etcd cluster for tests, one member per test host.
//!
//! Spec §8 keeps a CDN's shared state in etcd, and what the roles must survive is etcd's
//! own behaviour: a leader that dies and is re-elected, a member that comes back from its
//! data dir, a host cut off from the quorum. A fake would not show those, so
//! [`EtcdCluster::start`] runs Debian's `etcd` (3.4), one member on each given host (client
//! port 2379, peer port 2380, on the host's own address), with short heartbeat and
//! election settings so that a re-election takes about a second. Data dirs and logs live
//! in the caller's folder; a failure to start says where the logs are and shows their
//! ends, and so does a drop while a test panics. Every member is SIGKILLed on drop.

use std::ffi::OsStr;
use std::fs::{self, OpenOptions};
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use crate::hosts::Host;
use crate::output_within;

/// The members' client port, on each host's own address.
pub const CLIENT_PORT: u16 = 2379;
/// The members' peer port.
pub const PEER_PORT: u16 = 2380;
/// How long [`EtcdCluster::start`] and [`EtcdCluster::restart`] wait for health.
pub const READY_TIMEOUT: Duration = Duration::from_secs(20);
/// The hard limit on one etcdctl run (its own timeouts are shorter).
pub const ETCDCTL_LIMIT: Duration = Duration::from_secs(20);

/// Running etcd members, `m0`, `m1`, ... on the hosts given to [`EtcdCluster::start`].
#[derive(Debug)]
pub struct EtcdCluster {
    members: Vec<Member>,
    initial_cluster: String,
    token: String,
}

#[derive(Debug)]
struct Member {
    host: Host,
    name: String,
    data_dir: PathBuf,
    log: PathBuf,
    child: Option<Child>,
}

impl EtcdCluster {
    /// Starts one member on each of `hosts` (three for a cluster that survives one loss)
    /// with data dirs and logs in `dir`, and waits until every member reports healthy
    /// (within [`READY_TIMEOUT`]).
    pub fn start(hosts: &[Host], dir: &Path) -> io::Result<Self> {
        if hosts.is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "an etcd cluster needs at least one host",
            ));
        }
        let members: Vec<Member> = hosts
            .iter()
            .enumerate()
            .map(|(i, host)| Member {
                host: host.clone(),
                name: format!("m{i}"),
                data_dir: dir.join(format!("m{i}.etcd")),
                log: dir.join(format!("m{i}.log")),
                child: None,
            })
            .collect();
        let initial_cluster = members
            .iter()
            .map(|m| format!("{}=http://{}:{PEER_PORT}", m.name, m.host.ip()))
            .collect::<Vec<_>>()
            .join(",");
        let token = format!("cdnb-{}-{}", std::process::id(), hosts[0].ip());
        // From here on, Drop kills whatever was started, also when a step fails.
        let mut cluster = Self {
            members,
            initial_cluster,
            token,
        };
        for i in 0..cluster.members.len() {
            cluster.spawn(i, "new")?;
        }
        let all: Vec<usize> = (0..cluster.members.len()).collect();
        cluster.wait_healthy(&all, READY_TIMEOUT)?;
        Ok(cluster)
    }

    /// The client URLs, `http://<ip>:2379`, one per member.
    pub fn endpoints(&self) -> Vec<String> {
        (0..self.members.len()).map(|i| self.endpoint(i)).collect()
    }

    /// Member `i`'s client URL.
    pub fn endpoint(&self, i: usize) -> String {
        format!("http://{}", self.client_addr(i))
    }

    /// Member `i`'s client address (e.g. a [`crate::Relay`]'s target).
    pub fn client_addr(&self, i: usize) -> SocketAddr {
        SocketAddr::from((self.members[i].host.ip(), CLIENT_PORT))
    }

    /// Each member's log file (stdout and stderr, appended across restarts).
    pub fn log_paths(&self) -> Vec<PathBuf> {
        self.members.iter().map(|m| m.log.clone()).collect()
    }

    /// Kills member `i` with SIGKILL and reaps it; its data dir stays.
    pub fn kill(&mut self, i: usize) -> io::Result<()> {
        if let Some(mut child) = self.members[i].child.take() {
            child.kill()?;
            child.wait()?;
        }
        Ok(())
    }

    /// Starts member `i` again from its data dir (`--initial-cluster-state existing`),
    /// killing it first if it runs, and waits until it reports healthy.
    pub fn restart(&mut self, i: usize) -> io::Result<()> {
        self.kill(i)?;
        self.spawn(i, "existing")?;
        self.wait_healthy(&[i], READY_TIMEOUT)
    }

    /// Whether member `i` answers `GET /health` with `"health":"true"` (it runs, sees a
    /// leader and has no alarm); asks once, within about a second.
    pub fn is_healthy(&self, i: usize) -> bool {
        health(self.client_addr(i))
    }

    /// Runs `etcdctl` from the test process against every member (see [`etcdctl`]).
    pub fn etcdctl<I, S>(&self, args: I) -> io::Result<String>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        etcdctl(Command::new("etcdctl"), &self.endpoints(), args)
    }

    fn spawn(&mut self, i: usize, state: &str) -> io::Result<()> {
        let m = &self.members[i];
        let client = format!("http://{}:{CLIENT_PORT}", m.host.ip());
        let peer = format!("http://{}:{PEER_PORT}", m.host.ip());
        let log = OpenOptions::new().create(true).append(true).open(&m.log)?;
        writeln!(&log, "--- cdnbroker tests: starting {} ({state})", m.name)?;
        let mut cmd = m.host.command("etcd");
        without_etcd_env(&mut cmd);
        cmd.args(["--name", &m.name])
            .arg("--data-dir")
            .arg(&m.data_dir)
            .args(["--listen-client-urls", &client])
            .args(["--advertise-client-urls", &client])
            .args(["--listen-peer-urls", &peer])
            .args(["--initial-advertise-peer-urls", &peer])
            .args(["--initial-cluster", &self.initial_cluster])
            .args(["--initial-cluster-token", &self.token])
            .args(["--initial-cluster-state", state])
            .args(["--heartbeat-interval", "100", "--election-timeout", "1000"])
            .args(["--logger", "zap", "--log-outputs", "stderr"])
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log);
        let child = cmd.spawn().map_err(|e| {
            io::Error::new(
                e.kind(),
                format!("cannot start etcd ({e}): run scripts/setup"),
            )
        })?;
        self.members[i].child = Some(child);
        Ok(())
    }

    /// Polls `/health` of `members` until all are healthy; fails early if one exits.
    fn wait_healthy(&mut self, members: &[usize], limit: Duration) -> io::Result<()> {
        let deadline = Instant::now() + limit;
        let mut waiting = members.to_vec();
        loop {
            for &i in &waiting {
                let m = &mut self.members[i];
                if let Some(child) = m.child.as_mut()
                    && let Some(status) = child.try_wait()?
                {
                    m.child = None;
                    let name = m.name.clone();
                    return Err(io::Error::other(format!(
                        "etcd member {name} exited during start-up ({status})\n{}",
                        self.logs_report()
                    )));
                }
            }
            waiting.retain(|&i| !self.is_healthy(i));
            if waiting.is_empty() {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!(
                        "etcd members {waiting:?} not healthy within {limit:?}\n{}",
                        self.logs_report()
                    ),
                ));
            }
            thread::sleep(Duration::from_millis(50));
        }
    }

    /// Where the logs are, and the last lines of each.
    fn logs_report(&self) -> String {
        let mut report = String::new();
        for m in &self.members {
            let text = fs::read_to_string(&m.log).unwrap_or_default();
            let lines: Vec<&str> = text.lines().collect();
            let tail = &lines[lines.len().saturating_sub(15)..];
            report += &format!(
                "etcd member {} log: {}\n  {}\n",
                m.name,
                m.log.display(),
                tail.join("\n  ")
            );
        }
        report
    }
}

impl Drop for EtcdCluster {
    fn drop(&mut self) {
        for i in 0..self.members.len() {
            let _ = self.kill(i);
        }
        if thread::panicking() {
            eprintln!("{}", self.logs_report());
        }
    }
}

/// Runs `cmd` (`etcdctl`, e.g. `Command::new("etcdctl")` or `host.command("etcdctl")`) with
/// `ETCDCTL_API=3`, `--endpoints` (comma-joined), `--dial-timeout=2s
/// --command-timeout=5s`, then `args` (which may override those timeouts: the last flag
/// wins); killed after [`ETCDCTL_LIMIT`]. Returns its stdout, or an error with its stderr.
pub fn etcdctl<I, S>(mut cmd: Command, endpoints: &[String], args: I) -> io::Result<String>
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    without_etcd_env(&mut cmd);
    cmd.env("ETCDCTL_API", "3")
        .arg(format!("--endpoints={}", endpoints.join(",")))
        .args(["--dial-timeout=2s", "--command-timeout=5s"])
        .args(args);
    let out = output_within(&mut cmd, ETCDCTL_LIMIT)?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(io::Error::other(format!(
            "{cmd:?} failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        )))
    }
}

/// Removes `ETCD_*` and `ETCDCTL_*` variables (etcd reads its flags from them) and proxy
/// variables from `cmd`'s environment.
fn without_etcd_env(cmd: &mut Command) {
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("ETCD") {
            cmd.env_remove(key);
        }
    }
    for var in crate::PROXY_ENV {
        cmd.env_remove(var);
    }
}

/// `GET /health` of the member at `addr`, within about a second.
fn health(addr: SocketAddr) -> bool {
    let ask = || -> io::Result<String> {
        let mut stream = TcpStream::connect_timeout(&addr, Duration::from_millis(300))?;
        stream.set_read_timeout(Some(Duration::from_secs(1)))?;
        stream.set_write_timeout(Some(Duration::from_secs(1)))?;
        write!(stream, "GET /health HTTP/1.0\r\nHost: {addr}\r\n\r\n")?;
        let mut answer = String::new();
        stream.read_to_string(&mut answer)?;
        Ok(answer)
    };
    ask().is_ok_and(|a| {
        a.lines()
            .next()
            .is_some_and(|status| status.contains(" 200 "))
            && a.contains(r#""health":"true""#)
    })
}

/// `[cluster]` of a role joining `endpoints` under `prefix`, with `extra` keys (TOML lines,
/// e.g. `lease_s = 3`), checked exactly as a deployment file's table is.
pub fn cluster_role(
    endpoints: &[String],
    prefix: &str,
    extra: &str,
) -> Result<broker_config::deploy::ClusterRole, String> {
    let list: Vec<String> = endpoints.iter().map(|e| format!("\"{e}\"")).collect();
    let text = format!(
        "[node]\nname = \"C\"\n[cluster]\netcd = [{}]\nprefix = \"{prefix}\"\n{extra}",
        list.join(", ")
    );
    broker_config::deploy::Deployment::parse(&text, std::path::Path::new("cluster.toml"))
        .map_err(|e| e.to_string())?
        .cluster
        .ok_or_else(|| "no [cluster]".to_owned())
}
