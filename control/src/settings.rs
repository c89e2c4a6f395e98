//! Tuning of the control component that the deployment file (spec §7) does not carry:
//! periods, timeouts, back-off and the balancing algorithm. [`Default`] gives the values
//! a deployment runs with; tests shorten the periods.

use std::time::Duration;

use broker_policy::balance::BalanceConfig;

/// Periods, timeouts and the algorithm's tuning.
#[derive(Clone, Debug)]
pub struct ControlSettings {
    /// How often the load agent polls each partner's status reports.
    pub poll_period: Duration,
    /// How long one poll (its three requests together) may take.
    pub poll_timeout: Duration,
    /// The averaging period asked of partners (`&<seconds>` of spec §4).
    pub poll_average_secs: u32,
    /// The balancing algorithm (staleness, hysteresis, mode).
    pub balance: BalanceConfig,
    /// Growth room on the demand estimate from loads (1.1: 10 %).
    pub demand_margin: f64,
    /// How often the event loop re-plans when feedback is stale, so that the decay of a
    /// silent partner's share shows without any event.
    pub tick: Duration,
    /// How long one transaction to a DNS engine may take (connect, send, answer).
    pub engine_timeout: Duration,
    /// First wait before retrying a DNS engine that failed; doubles per failure.
    pub retry_min: Duration,
    /// Longest wait between retries.
    pub retry_max: Duration,
    /// How often an idle engine driver checks that its engine is still up (a connection
    /// it aborts, which the engine applies nothing for); a restarted engine gets the full
    /// tables again.
    pub engine_probe: Duration,
    /// A management connection that sends nothing this long is dropped.
    pub management_idle: Duration,
    /// Largest management batch or API body, bytes.
    pub max_batch_bytes: usize,
    /// A management batch, API body or alert not read whole within this is refused
    /// (spec §11: a body trickled in holds nothing for long).
    pub body_deadline: Duration,
}

impl Default for ControlSettings {
    fn default() -> Self {
        Self {
            poll_period: Duration::from_secs(10),
            poll_timeout: Duration::from_secs(5),
            poll_average_secs: 60,
            balance: BalanceConfig::default(),
            demand_margin: 1.1,
            tick: Duration::from_secs(1),
            engine_timeout: Duration::from_secs(30),
            retry_min: Duration::from_millis(100),
            retry_max: Duration::from_secs(10),
            engine_probe: Duration::from_secs(10),
            management_idle: Duration::from_secs(30),
            max_batch_bytes: 4 << 20,
            body_deadline: Duration::from_secs(30),
        }
    }
}
