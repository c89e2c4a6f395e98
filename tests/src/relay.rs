//! A TCP relay that a test can cut and heal: a partition where there is no link to cut.
//!
//! In [`crate::Mode::Loopback`] every host shares the loopback interface, so
//! [`crate::Host::cut`] has nothing to set down. A test then makes a host reach a service
//! through a [`Relay`] (listening on the host's address, forwarding to the service) and
//! cuts the relay: every connection through it is closed and new ones are refused (its
//! listening socket is closed) until [`Relay::heal`]. Plain std threads: one accepting,
//! two per connection.

use std::collections::HashMap;
use std::io;
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::Duration;

/// How long the relay tries to reach its target for one connection.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// Forwards every TCP connection made to [`Relay::addr`] to a target, until cut.
#[derive(Debug)]
pub struct Relay {
    addr: SocketAddr,
    target: SocketAddr,
    shared: Arc<Shared>,
    /// The accepting thread while healed; `None` while cut.
    acceptor: Mutex<Option<Acceptor>>,
}

#[derive(Debug, Default)]
struct Shared {
    /// Open connections: (client, target) clones, to shut down on a cut.
    conns: Mutex<Conns>,
    next_id: AtomicU64,
}

#[derive(Debug, Default)]
struct Conns {
    cut: bool,
    open: HashMap<u64, (TcpStream, TcpStream)>,
}

#[derive(Debug)]
struct Acceptor {
    stop: Arc<AtomicBool>,
    thread: JoinHandle<()>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Relay {
    /// Listens on `listen` (port 0: any free port, see [`Relay::addr`]) and forwards each
    /// connection to `target`.
    pub fn start(listen: SocketAddr, target: SocketAddr) -> io::Result<Self> {
        let listener = TcpListener::bind(listen)?;
        let addr = listener.local_addr()?;
        let relay = Self {
            addr,
            target,
            shared: Arc::default(),
            acceptor: Mutex::new(None),
        };
        *lock(&relay.acceptor) = Some(relay.accept(listener));
        Ok(relay)
    }

    /// The address clients connect to.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Where the relay forwards to.
    pub fn target(&self) -> SocketAddr {
        self.target
    }

    /// Whether the relay is cut.
    pub fn is_cut(&self) -> bool {
        lock(&self.acceptor).is_none()
    }

    /// Closes every connection through the relay and refuses new ones until
    /// [`Relay::heal`]. When it returns, a connect to [`Relay::addr`] is refused.
    pub fn cut(&self) {
        let mut acceptor = lock(&self.acceptor);
        // A connection accepted just before the cut must not register after the sweep.
        lock(&self.shared.conns).cut = true;
        if let Some(Acceptor { stop, thread }) = acceptor.take() {
            stop.store(true, Ordering::SeqCst);
            // Wake the blocked accept; the thread then drops the listener and ends.
            let _ = TcpStream::connect_timeout(&self.addr, CONNECT_TIMEOUT);
            let _ = thread.join();
        }
        for (_, (client, target)) in lock(&self.shared.conns).open.drain() {
            let _ = client.shutdown(Shutdown::Both);
            let _ = target.shutdown(Shutdown::Both);
        }
    }

    /// Listens again on the same address and forwards new connections.
    pub fn heal(&self) -> io::Result<()> {
        let mut acceptor = lock(&self.acceptor);
        if acceptor.is_none() {
            // std sets SO_REUSEADDR, so the port is free again despite TIME_WAIT.
            let listener = TcpListener::bind(self.addr)?;
            lock(&self.shared.conns).cut = false;
            *acceptor = Some(self.accept(listener));
        }
        Ok(())
    }

    fn accept(&self, listener: TcpListener) -> Acceptor {
        let stop = Arc::new(AtomicBool::new(false));
        let (shared, target, stopped) = (self.shared.clone(), self.target, stop.clone());
        let thread = thread::spawn(move || {
            // Ends when the relay is cut or dropped (`stop`, then a wake-up connection).
            for client in listener.incoming() {
                if stopped.load(Ordering::SeqCst) {
                    break;
                }
                if let Ok(client) = client {
                    let shared = shared.clone();
                    thread::spawn(move || forward(client, target, &shared));
                }
            }
        });
        Acceptor { stop, thread }
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.cut();
    }
}

/// Copies both ways between `client` and a new connection to `target` until either side
/// ends or the relay is cut.
fn forward(client: TcpStream, target: SocketAddr, shared: &Shared) {
    let Ok(upstream) = TcpStream::connect_timeout(&target, CONNECT_TIMEOUT) else {
        return;
    };
    let id = shared.next_id.fetch_add(1, Ordering::Relaxed);
    let (Ok(c), Ok(u)) = (client.try_clone(), upstream.try_clone()) else {
        return;
    };
    {
        let mut conns = lock(&shared.conns);
        if conns.cut {
            return;
        }
        conns.open.insert(id, (c, u));
    }
    let (Ok(mut client_r), Ok(mut upstream_w)) = (client.try_clone(), upstream.try_clone()) else {
        lock(&shared.conns).open.remove(&id);
        return;
    };
    let up = thread::spawn(move || {
        let _ = io::copy(&mut client_r, &mut upstream_w);
        let _ = upstream_w.shutdown(Shutdown::Write);
    });
    let (mut upstream_r, mut client_w) = (upstream, client);
    let _ = io::copy(&mut upstream_r, &mut client_w);
    let _ = client_w.shutdown(Shutdown::Write);
    let _ = up.join();
    lock(&shared.conns).open.remove(&id);
}
