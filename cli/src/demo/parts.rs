//! The demo's running parts: the origin, then each deployment in the order `demo.toml`
//! lists them, each with its own stop signal. They stop in reverse order, so that G's edge,
//! stopping, still reaches C's alert receiver with its last `Unavailable` alert, and C's
//! roles still reach the origin while they finish.

use std::future::Future;

use tokio::task::{Id, JoinError, JoinSet};
use tokio_util::sync::CancellationToken;

/// What a part returns.
type Outcome = anyhow::Result<()>;

/// Every part, running.
pub(crate) struct Parts {
    set: JoinSet<Outcome>,
    /// Per part in start order: its stop signal, its task, whether it ended.
    parts: Vec<Part>,
}

struct Part {
    stop: CancellationToken,
    task: Id,
    ended: bool,
}

impl Parts {
    pub(crate) fn new() -> Self {
        Self {
            set: JoinSet::new(),
            parts: Vec::new(),
        }
    }

    /// Starts `part` with a stop signal of its own.
    pub(crate) fn spawn<F>(&mut self, part: impl FnOnce(CancellationToken) -> F)
    where
        F: Future<Output = Outcome> + Send + 'static,
    {
        let stop = CancellationToken::new();
        let task = self.set.spawn(part(stop.clone())).id();
        self.parts.push(Part {
            stop,
            task,
            ended: false,
        });
    }

    /// Waits until some part ends (by itself: nothing was told to stop), and says how.
    pub(crate) async fn first_end(&mut self) -> Outcome {
        match self.join_next().await {
            Some(Err(e)) => Err(e),
            Some(Ok(())) => Err(anyhow::anyhow!("a part of the demo stopped by itself")),
            None => Ok(()),
        }
    }

    /// Stops every part, last started first, each finishing before the next is told;
    /// the first failure (in the order they happened) is the result.
    pub(crate) async fn stop(mut self, first: Outcome) -> Outcome {
        let mut result = first;
        for i in (0..self.parts.len()).rev() {
            self.parts[i].stop.cancel();
            while !self.parts[i].ended {
                let Some(outcome) = self.join_next().await else {
                    break;
                };
                if let Err(e) = outcome
                    && result.is_ok()
                {
                    result = Err(e);
                }
            }
        }
        result
    }

    /// The next part to end, recorded as ended; `None` when none runs.
    async fn join_next(&mut self) -> Option<Outcome> {
        let (id, outcome) = match self.set.join_next_with_id().await? {
            Ok((id, outcome)) => (id, outcome),
            Err(e) => (e.id(), Err(panicked(e))),
        };
        if let Some(part) = self.parts.iter_mut().find(|p| p.task == id) {
            part.ended = true;
        }
        Some(outcome)
    }
}

fn panicked(e: JoinError) -> anyhow::Error {
    anyhow::anyhow!("a part of the demo failed: {e}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    /// Parts stop last first, each after the one started after it has finished.
    #[tokio::test]
    async fn parts_stop_in_reverse_order_and_report_the_first_failure() {
        let log = Arc::new(Mutex::new(Vec::new()));
        let mut parts = Parts::new();
        for name in ["origin", "c", "g"] {
            let log = Arc::clone(&log);
            parts.spawn(move |stop| async move {
                stop.cancelled().await;
                log.lock().unwrap().push(name);
                if name == "c" {
                    anyhow::bail!("c failed while stopping");
                }
                Ok(())
            });
        }
        let result = parts.stop(Ok(())).await;
        assert_eq!(*log.lock().unwrap(), ["g", "c", "origin"]);
        assert_eq!(result.unwrap_err().to_string(), "c failed while stopping");
    }

    #[tokio::test]
    async fn a_part_that_ends_by_itself_is_the_first_end() {
        let mut parts = Parts::new();
        parts.spawn(|stop| async move {
            stop.cancelled().await;
            Ok(())
        });
        parts.spawn(|_| async { anyhow::bail!("port in use") });
        let first = parts.first_end().await;
        assert_eq!(first.as_ref().unwrap_err().to_string(), "port in use");
        assert!(parts.stop(first).await.is_err());
    }
}
