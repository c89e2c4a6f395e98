//! The event loop: one task owns the model and handles every [`Command`] in turn. An
//! event that changes the model re-runs the balancer (with the plan in force, for
//! hysteresis); when the plan changed it is published at once: a new [`LivePlan`] swapped
//! into the [`SharedPlan`] the in-process proxies read, and a [`Published`] plan the
//! engine drivers turn into transactions. A timer re-plans while some feedback is stale,
//! so that a silent partner's share decays without any event.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use broker_cluster::{Cluster, Entry, Leadership, StoredState, inbox, state};
use broker_config::events::Event;
use broker_config::status::{Alert, StatusReport};
use broker_config::transaction::{Located, RegionDef};
use broker_config::{Events, Name, Pos, Scope};
use broker_policy::balance::{Demand, balance};
use broker_policy::live::{LivePlan, SharedPlan};
use broker_policy::model::{CdnSpec, Model, ModelError};
use broker_policy::plan::Plan;
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;

use crate::authority::Authority;
use crate::command::{AlertError, BatchError, Command};
use crate::config_agent::{self, ConfigPaths, LoadedConfig};
use crate::dns_names::DnsNames;
use crate::feedback;
use crate::load_agent::Feedback;
use crate::metrics::Metrics;
use crate::partner_record::PartnerRecord;
use crate::routing::{RoutingProblem, RoutingTables};
use crate::settings::ControlSettings;
use crate::state_view;

/// A plan as the engine drivers get it.
#[derive(Debug)]
pub(crate) struct Published {
    /// Grows by one per published plan.
    pub(crate) generation: u64,
    pub(crate) plan: Plan,
    /// The region definitions the plan's region names stand for.
    pub(crate) regions: Arc<Vec<RegionDef>>,
}

/// What the loop knows of a partner besides the model.
#[derive(Clone, Debug, Default)]
pub(crate) struct PartnerState {
    /// Its status reports are polled.
    pub(crate) polled: bool,
    /// The last successful poll and when it was made.
    pub(crate) last_ok: Option<(Duration, Feedback)>,
    /// The last failed poll, when and why.
    pub(crate) last_error: Option<(Duration, String)>,
    /// The last alert, when and what.
    pub(crate) last_alert: Option<(Duration, String)>,
    /// When it last said `Unavailable`.
    pub(crate) unavailable_at: Option<Duration>,
    /// Its last alert is kept in etcd (a replicated control), not yet cleared by a poll.
    pub(crate) alert_stored: bool,
    pub(crate) polls_ok: u64,
    pub(crate) polls_failed: u64,
    pub(crate) alerts: u64,
}

/// The state the event loop owns.
pub(crate) struct Core {
    pub(crate) settings: ControlSettings,
    paths: ConfigPaths,
    pub(crate) dns_names: DnsNames,
    pub(crate) model: Model,
    pub(crate) regions: Arc<Vec<RegionDef>>,
    pub(crate) reserved: BTreeMap<Name, CdnSpec>,
    pub(crate) plan: Plan,
    pub(crate) generation: u64,
    shared: SharedPlan,
    published: watch::Sender<Arc<Published>>,
    pub(crate) partners: BTreeMap<Name, PartnerState>,
    /// The partners' URL forms and the customers' tables, edited through the API.
    routing: Arc<RoutingTables>,
    started: Instant,
    metrics: Arc<Metrics>,
    /// Whether this replica may act (always, alone); the drivers read it too.
    authority: watch::Sender<Authority>,
    /// The etcd side, with `[cluster]`.
    cluster: Option<ClusterLink>,
}

/// A replica's link to the shared state (spec §8).
pub(crate) struct ClusterLink {
    pub(crate) cluster: Cluster,
    /// The sequence number of the next journal entry.
    pub(crate) next_seq: u64,
    /// The seed the model was built from, with every entry before `next_seq` applied
    /// (a new leader then reads only what came after).
    pub(crate) seed: Option<broker_cluster::Seed>,
}

/// A batch checked against a copy of the model, ready to commit.
pub(crate) struct BatchOutcome {
    model: Model,
    reloaded: Option<LoadedConfig>,
    reserved_totals: Vec<(Name, u64)>,
}

impl Core {
    /// The loop's state from the agent files read at start; plan generation 1.
    pub(crate) fn new(
        settings: ControlSettings,
        paths: ConfigPaths,
        loaded: LoadedConfig,
        routing: Arc<RoutingTables>,
        dns_names: DnsNames,
        metrics: Arc<Metrics>,
        started: Instant,
    ) -> Self {
        // The partners are the routing tables' (an edit keeps their names and polling).
        let partners: BTreeMap<Name, PartnerState> = routing
            .current()
            .partners()
            .iter()
            .map(|p| {
                let state = PartnerState {
                    polled: p.status.is_some(),
                    ..PartnerState::default()
                };
                (p.name.clone(), state)
            })
            .collect();
        let mut model = loaded.model;
        baseline(&mut model, &partners, &loaded.reserved);
        let plan = first_plan(&model, &settings);
        let regions = Arc::new(loaded.regions);
        let shared = LivePlan::new(1, plan.clone(), &regions).shared();
        let (published, _) = watch::channel(Arc::new(Published {
            generation: 1,
            plan: plan.clone(),
            regions: Arc::clone(&regions),
        }));
        metrics.plan_generation.set(1);
        Self {
            settings,
            paths,
            dns_names,
            model,
            regions,
            reserved: loaded.reserved,
            plan,
            generation: 1,
            shared,
            published,
            partners,
            routing,
            started,
            metrics,
            authority: watch::channel(Authority::Alone).0,
            cluster: None,
        }
    }

    /// Makes this core a replica of a clustered control: it follows (acts on nothing)
    /// until [`Command::Lead`], and its state is rebuilt from `stored`.
    pub(crate) fn join_cluster(&mut self, cluster: Cluster, stored: &StoredState) {
        self.cluster = Some(ClusterLink {
            cluster,
            next_seq: stored.next_seq(),
            seed: None,
        });
        self.authority.send_replace(Authority::Following(None));
        if let Err(e) = self.rebuild(stored) {
            tracing::warn!(error = %e, "state in etcd not usable; starting from the files");
        }
    }

    /// Who may act, for the drivers and the API.
    pub(crate) fn authority(&self) -> watch::Receiver<Authority> {
        self.authority.subscribe()
    }

    pub(crate) fn shared(&self) -> SharedPlan {
        Arc::clone(&self.shared)
    }

    pub(crate) fn subscribe(&self) -> watch::Receiver<Arc<Published>> {
        self.published.subscribe()
    }

    /// Control time: since the loop's state was made.
    pub(crate) fn now(&self) -> Duration {
        self.started.elapsed()
    }

    /// Handles commands until `shutdown` or until every sender is gone.
    pub(crate) async fn run(
        mut self,
        mut rx: mpsc::Receiver<Command>,
        shutdown: CancellationToken,
    ) {
        let mut tick = tokio::time::interval(self.settings.tick);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                () = shutdown.cancelled() => break,
                cmd = rx.recv() => match cmd {
                    Some(cmd) if self.cluster.is_some() => self.handle_clustered(cmd).await,
                    Some(cmd) => self.handle(cmd),
                    None => break,
                },
                _ = tick.tick() => self.on_tick(),
            }
        }
    }

    pub(crate) fn handle(&mut self, cmd: Command) {
        match cmd {
            Command::Batch { events, reply } => {
                let _ = reply.send(self.on_batch(&events));
            }
            Command::Reset { reply } => {
                self.metrics.event("reset");
                let result = self.reload(Pos::new(1, 1)).map(|(model, loaded)| {
                    self.commit_reload(model, loaded);
                    self.replan()
                });
                let _ = reply.send(result);
            }
            Command::Feedback {
                partner,
                started,
                result,
            } => self.on_feedback(&partner, started, result),
            Command::Alert { alert, reply } => {
                let _ = reply.send(self.on_alert(&alert).map_err(AlertError::Refused));
            }
            Command::Routing { text, reply } => {
                let _ = reply.send(self.routing.replace(&text));
            }
            Command::State { reply } => {
                let _ = reply.send(state_view::build(self));
            }
            // Cluster commands mean nothing alone.
            Command::Lead { reply, .. } => {
                let _ = reply.send(());
            }
            Command::Follow { .. } | Command::InboxAlert { .. } => {}
        }
    }

    /// A command of a clustered replica: writes go to etcd before they are answered,
    /// and only the leader takes them (spec §8).
    async fn handle_clustered(&mut self, cmd: Command) {
        let authority = self.authority.borrow().clone();
        match cmd {
            Command::Batch { events, reply } => {
                let _ = reply.send(self.clustered_batch(&events, &authority).await);
            }
            Command::Reset { reply } => {
                let events = Events {
                    events: vec![Located {
                        pos: Pos::new(1, 1),
                        value: Event::Reset,
                    }],
                };
                let _ = reply.send(self.clustered_batch(&events, &authority).await);
            }
            Command::Alert { alert, reply } => {
                let answer = match &authority {
                    Authority::Leading(leader) if leader.is_held() => {
                        self.leader_alert(leader, &alert).await
                    }
                    // Passed on through etcd: the leader applies it within a second.
                    _ => match &self.cluster {
                        Some(link) => inbox::post_alert(&link.cluster, &alert.to_string())
                            .await
                            .map(|()| self.generation)
                            .map_err(|e| {
                                AlertError::NotKept(format!(
                                    "not the leader, and etcd did not take it: {e}"
                                ))
                            }),
                        None => Err(AlertError::NotKept(authority.refusal())),
                    },
                };
                let _ = reply.send(answer);
            }
            Command::InboxAlert { key, alert } => {
                if let Authority::Leading(leader) = &authority
                    && leader.is_held()
                {
                    self.inbox_alert(leader, &key, &alert).await;
                }
            }
            Command::Routing { text, reply } => {
                let _ = reply.send(self.clustered_routing(&text, &authority).await);
            }
            // Only the leader acts on partners' reports.
            Command::Feedback { .. } if !authority.may_act() => {}
            Command::Feedback {
                partner,
                started,
                result,
            } => {
                self.on_feedback(&partner, started, result);
                if let Authority::Leading(leader) = &authority {
                    self.clear_stored_alert(leader, &partner).await;
                }
            }
            Command::Lead { leadership, reply } => {
                self.lead(leadership).await;
                let _ = reply.send(());
            }
            Command::Follow { leader } => {
                self.authority.send_replace(Authority::Following(leader));
            }
            other => self.handle(other),
        }
    }

    /// A batch on a clustered replica: refused on a follower; on the leader checked,
    /// written to etcd (a reset as a new seed), then committed.
    async fn clustered_batch(
        &mut self,
        events: &Events,
        authority: &Authority,
    ) -> Result<u64, BatchError> {
        let refusal = || BatchError {
            pos: Pos::new(1, 1),
            message: authority.refusal(),
        };
        let Authority::Leading(leader) = authority else {
            return Err(refusal());
        };
        if !leader.is_held() {
            return Err(refusal());
        }
        let outcome = self.prepare_batch(events)?;
        let last_reset = events
            .events
            .iter()
            .rposition(|e| matches!(e.value, Event::Reset));
        let Some(link) = self.cluster.as_mut() else {
            return Err(refusal());
        };
        let stored = |e: broker_cluster::ClusterError| BatchError {
            pos: Pos::new(1, 1),
            message: format!("not stored in etcd, nothing changed: {e}"),
        };
        if let Some(i) = last_reset {
            let texts = config_agent::read_texts(&self.paths).map_err(|e| BatchError {
                pos: events.events[i].pos,
                message: format!("reset refused: {e}"),
            })?;
            state::reseed(&link.cluster, leader, &texts)
                .await
                .map_err(stored)?;
            link.next_seq = 1;
            // The routing edits were journaled too: they outlive a reset, as alone.
            if !self.routing.as_started() {
                let toml = self.routing.text(&self.routing.current());
                state::append(&link.cluster, leader, 1, &Entry::Routing { toml })
                    .await
                    .map_err(stored)?;
                link.next_seq = 2;
            }
        }
        let rest = Events {
            events: events.events[last_reset.map_or(0, |i| i + 1)..].to_vec(),
        };
        if !rest.events.is_empty() {
            let entry = Entry::Batch {
                text: rest.to_string(),
            };
            state::append(&link.cluster, leader, link.next_seq, &entry)
                .await
                .map_err(stored)?;
            link.next_seq += 1;
        }
        self.apply_outcome(outcome);
        Ok(self.replan())
    }

    /// Takes the leadership: the state is read again from etcd (the old leader may have
    /// changed it since this replica started), the plan generation goes on from the one
    /// published, and a plan is published under the new epoch at once.
    async fn lead(&mut self, leadership: Arc<Leadership>) {
        let Some(link) = &self.cluster else { return };
        let cluster = link.cluster.clone();
        let known = link.seed.clone();
        match state::load_state_since(&cluster, known.as_ref()).await {
            Ok(stored) => {
                if let Err(e) = self.rebuild(&stored) {
                    tracing::warn!(error = %e, "state in etcd not usable; leading from own state");
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "state not read from etcd; leading from own state")
            }
        }
        match broker_cluster::current_plan(&cluster).await {
            Ok(Some(doc)) => {
                self.generation = self.generation.max(doc.generation);
                if let Ok(plan) = doc.plan.to_plan() {
                    self.plan = plan; // hysteresis goes on from the plan in force
                }
            }
            Ok(None) => {}
            Err(e) => tracing::warn!(error = %e, "published plan not read"),
        }
        tracing::info!(epoch = leadership.epoch(), "leading");
        // The plan of the rebuilt state goes out before the drivers may act, so that no
        // engine ever gets a plan of this replica's start-up files.
        self.replan(); // publishes nothing yet: still following
        self.publish_now();
        self.authority
            .send_replace(Authority::Leading(Arc::clone(&leadership)));
        // Alerts a follower left while no replica led.
        match inbox::pending(&cluster).await {
            Ok(pending) => {
                for (key, text) in pending {
                    match Alert::parse(text.as_bytes()) {
                        Ok(alert) => self.inbox_alert(&leadership, &key, &alert).await,
                        Err(e) => tracing::warn!(%key, error = %e, "inbox alert ignored"),
                    }
                }
            }
            Err(e) => tracing::warn!(error = %e, "inbox not read"),
        }
    }

    /// An alert taken by the leader: kept in etcd (so a new leader knows it), then applied.
    async fn leader_alert(
        &mut self,
        leader: &Leadership,
        alert: &Alert,
    ) -> Result<u64, AlertError> {
        // Checked first, on a copy: a refused alert is not stored.
        let mut model = self.model.clone();
        feedback::apply_alert(&mut model, &alert.cdn, &alert.report, self.now())
            .map_err(|e| AlertError::Refused(e.to_string()))?;
        if let Some(link) = &self.cluster {
            let record = PartnerRecord::alert(alert).to_bytes();
            state::put_partner(&link.cluster, leader, alert.cdn.as_str(), record)
                .await
                .map_err(|e| AlertError::NotKept(format!("not stored in etcd: {e}")))?;
        }
        if let Some(state) = self.partners.get_mut(&alert.cdn) {
            state.alert_stored = true;
        }
        self.on_alert(alert).map_err(AlertError::Refused)
    }

    /// An alert from the inbox: applied and kept as the leader's own, then removed.
    async fn inbox_alert(&mut self, leader: &Leadership, key: &str, alert: &Alert) {
        match self.leader_alert(leader, alert).await {
            Ok(_) => {}
            Err(AlertError::NotKept(e)) => {
                // Left in the inbox: applied when etcd takes it again.
                tracing::warn!(%key, error = %e, "alert from the inbox not kept; left there");
                return;
            }
            Err(AlertError::Refused(e)) => {
                tracing::warn!(%key, error = %e, "alert from the inbox refused");
            }
        }
        if let Some(link) = &self.cluster
            && let Err(e) = inbox::take(&link.cluster, leader, key).await
        {
            tracing::warn!(%key, error = %e, "inbox entry not removed");
        }
    }

    /// After a poll: once a stored alert is superseded by a successful poll begun after
    /// it, the record in etcd says so, so that a new leader does not apply it again.
    async fn clear_stored_alert(&mut self, leader: &Leadership, partner: &Name) {
        let Some(state) = self.partners.get(partner) else {
            return;
        };
        let superseded = match (&state.last_ok, &state.last_alert) {
            (Some((ok, _)), Some((alerted, _))) => ok > alerted,
            _ => false,
        };
        if !state.alert_stored || !superseded {
            return;
        }
        let Some(link) = &self.cluster else { return };
        let record = PartnerRecord::cleared().to_bytes();
        match state::put_partner(&link.cluster, leader, partner.as_str(), record).await {
            Ok(()) => {
                if let Some(state) = self.partners.get_mut(partner) {
                    state.alert_stored = false;
                }
            }
            Err(e) => tracing::warn!(%partner, error = %e, "cleared alert not stored; retried"),
        }
    }

    /// A routing edit on a clustered replica: refused on a follower; on the leader
    /// checked, journaled, then put in force.
    async fn clustered_routing(
        &mut self,
        text: &str,
        authority: &Authority,
    ) -> Result<u64, Vec<RoutingProblem>> {
        let refusal = |message: String| {
            vec![RoutingProblem {
                pos: Pos::new(1, 1),
                message,
            }]
        };
        let (Authority::Leading(leader), Some(link)) = (authority, self.cluster.as_mut()) else {
            return Err(refusal(authority.refusal()));
        };
        if !leader.is_held() {
            return Err(refusal(authority.refusal()));
        }
        let routing = self.routing.prepare(text)?;
        let entry = Entry::Routing {
            toml: text.to_owned(),
        };
        state::append(&link.cluster, leader, link.next_seq, &entry)
            .await
            .map_err(|e| refusal(format!("not stored in etcd, nothing changed: {e}")))?;
        link.next_seq += 1;
        let generation = routing.generation();
        self.routing.install(routing);
        Ok(generation)
    }

    /// The model from a stored state: the seed, then every journal entry in order. When
    /// the seed is the one the model was built from (`stored.seed` not read again), only
    /// the entries after those applied.
    pub(crate) fn rebuild(&mut self, stored: &StoredState) -> Result<(), String> {
        let built_from = self.cluster.as_ref().and_then(|l| l.seed.clone());
        let from = match (&stored.seed, &stored.seed_doc) {
            (None, Some(doc)) if built_from.as_ref() == Some(doc) => {
                self.cluster.as_ref().map_or(1, |l| l.next_seq)
            }
            (Some(seed), _) => {
                let loaded = config_agent::from_texts(
                    &self.paths,
                    &seed.regions,
                    &seed.cdns,
                    &seed.customers,
                )
                .map_err(|e| format!("seed: {e}"))?;
                let mut model = loaded.model.clone();
                baseline(&mut model, &self.partners, &loaded.reserved);
                self.commit_reload(model, loaded);
                1
            }
            _ => return Err("no seed stored".into()),
        };
        let mut routing = None;
        for (seq, entry) in stored.journal.iter().filter(|(seq, _)| *seq >= from) {
            let text = match entry {
                Entry::Batch { text } => text,
                Entry::Routing { toml } => {
                    routing = Some((seq, toml)); // each edit replaces the whole tables
                    continue;
                }
            };
            let applied = Events::parse(text)
                .map_err(|e| e.to_string())
                .and_then(|events| self.prepare_batch(&events).map_err(|e| e.to_string()));
            match applied {
                Ok(outcome) => self.apply_outcome(outcome),
                Err(e) => tracing::warn!(seq, error = %e, "journal entry not applied"),
            }
        }
        if let Some((seq, toml)) = routing
            && self.routing.text(&self.routing.current()) != *toml
            && let Err(e) = self.routing.replace(toml)
        {
            let e: Vec<String> = e.iter().map(ToString::to_string).collect();
            tracing::warn!(seq, error = %e.join("; "), "routing edit not applied");
        }
        self.restore_alerts(stored);
        if let Some(link) = self.cluster.as_mut() {
            link.next_seq = stored.next_seq();
            link.seed.clone_from(&stored.seed_doc);
        }
        Ok(())
    }

    /// The partners' alerts kept in etcd, applied at the time they came (control time
    /// now minus their age).
    fn restore_alerts(&mut self, stored: &StoredState) {
        for (name, bytes) in &stored.partners {
            let pending = PartnerRecord::parse(bytes).and_then(|r| r.pending_alert().transpose());
            let (alert, age) = match pending {
                Ok(Some(found)) => found,
                Ok(None) => continue,
                Err(e) => {
                    tracing::warn!(partner = %name, error = %e, "stored partner record ignored");
                    continue;
                }
            };
            let at = self.now().saturating_sub(age);
            if let Err(e) = feedback::apply_alert(&mut self.model, &alert.cdn, &alert.report, at) {
                tracing::warn!(partner = %name, error = %e, "stored alert not applied");
                continue;
            }
            if let Some(state) = self.partners.get_mut(&alert.cdn) {
                state.alert_stored = true;
                state.last_alert = Some((at, alert.to_string()));
                if alert.report == StatusReport::Unavailable {
                    state.unavailable_at = Some(at);
                }
            }
        }
    }

    fn on_tick(&mut self) {
        let now = self.now();
        let stale_after = self.settings.balance.stale_after;
        let any_stale = self
            .model
            .cdns()
            .any(|c| feedback::is_stale(&self.model, c.name().as_str(), now, stale_after));
        if any_stale {
            self.replan();
        }
    }

    /// A management batch or API operations: every event applies, or nothing changes.
    fn on_batch(&mut self, events: &Events) -> Result<u64, BatchError> {
        let outcome = self.prepare_batch(events)?;
        self.apply_outcome(outcome);
        Ok(self.replan())
    }

    /// Applies `events` to a copy of the model: the result to commit, or the first error.
    fn prepare_batch(&self, events: &Events) -> Result<BatchOutcome, BatchError> {
        let now = self.now();
        let mut model = self.model.clone();
        let mut reloaded: Option<LoadedConfig> = None;
        let mut reserved_totals: Vec<(Name, u64)> = Vec::new();
        for ev in &events.events {
            self.metrics.event(event_kind(&ev.value));
            match &ev.value {
                Event::Reset => {
                    let (m, loaded) = self.reload(ev.pos)?;
                    model = m;
                    reserved_totals.clear();
                    reloaded = Some(loaded);
                }
                other => {
                    model.apply_event(other, now).map_err(|e| BatchError {
                        pos: event_pos(ev, &e),
                        message: e.to_string(),
                    })?;
                    // The operator's total capacity is the new reservation.
                    if let Event::Capacity(f) = other
                        && f.scope.value == Scope::Total
                    {
                        reserved_totals.push((f.cdn.value.clone(), f.kbps));
                    }
                }
            }
        }
        Ok(BatchOutcome {
            model,
            reloaded,
            reserved_totals,
        })
    }

    /// Commits a checked batch (no re-plan).
    fn apply_outcome(&mut self, outcome: BatchOutcome) {
        match outcome.reloaded {
            Some(loaded) => self.commit_reload(outcome.model, loaded),
            None => self.model = outcome.model,
        }
        for (cdn, kbps) in outcome.reserved_totals {
            if let Some(spec) = self.reserved.get_mut(&cdn) {
                spec.capacity_kbps = kbps;
            }
        }
    }

    /// Reads the agent files into a new model carrying the partners' feedback over.
    fn reload(&self, at: Pos) -> Result<(Model, LoadedConfig), BatchError> {
        let loaded = config_agent::read(&self.paths).map_err(|e| BatchError {
            pos: at,
            message: format!("reset refused: {e}"),
        })?;
        let mut model = loaded.model.clone();
        baseline(&mut model, &self.partners, &loaded.reserved);
        Ok((model, loaded))
    }

    fn commit_reload(&mut self, model: Model, loaded: LoadedConfig) {
        self.model = model;
        self.reserved = loaded.reserved;
        if *self.regions != loaded.regions {
            self.regions = Arc::new(loaded.regions);
        }
    }

    fn on_feedback(&mut self, partner: &Name, started: Duration, result: Result<Feedback, String>) {
        let now = self.now();
        let Some(state) = self.partners.get_mut(partner) else {
            return;
        };
        // A poll begun before an alert must not undo it (an `Unavailable` edge answering
        // a late request).
        if state
            .last_alert
            .as_ref()
            .is_some_and(|(t, _)| *t >= started)
        {
            self.metrics.poll(partner.as_str(), "superseded");
            return;
        }
        match result {
            Ok(fb) => {
                let mut model = self.model.clone();
                match feedback::apply_poll(&mut model, partner, &fb, &self.reserved, now) {
                    Ok(()) => {
                        self.metrics.poll(partner.as_str(), "ok");
                        state.polls_ok += 1;
                        state.last_ok = Some((now, fb));
                        self.model = model;
                    }
                    Err(e) => {
                        self.metrics.poll(partner.as_str(), "refused");
                        state.polls_failed += 1;
                        state.last_error = Some((now, e.to_string()));
                    }
                }
            }
            Err(reason) => {
                self.metrics.poll(partner.as_str(), "failed");
                state.polls_failed += 1;
                state.last_error = Some((now, reason));
            }
        }
        self.metrics.event("poll");
        self.replan();
    }

    fn on_alert(&mut self, alert: &Alert) -> Result<u64, String> {
        let now = self.now();
        self.metrics.event("alert");
        tracing::info!(%alert, "alert received");
        let mut model = self.model.clone();
        feedback::apply_alert(&mut model, &alert.cdn, &alert.report, now)
            .map_err(|e| e.to_string())?;
        self.model = model;
        if let Some(state) = self.partners.get_mut(&alert.cdn) {
            state.alerts += 1;
            state.last_alert = Some((now, alert.to_string()));
            if alert.report == StatusReport::Unavailable {
                state.unavailable_at = Some(now);
            }
        }
        Ok(self.replan())
    }

    /// Re-runs the balancer; publishes when the plan or the regions changed. Returns the
    /// generation in force.
    pub(crate) fn replan(&mut self) -> u64 {
        let now = self.now();
        let cfg = &self.settings.balance;
        feedback::restore_stale(&mut self.model, &self.reserved, now, cfg.stale_after);
        let demand = Demand::from_loads(
            &self.model,
            self.settings.demand_margin,
            now,
            cfg.stale_after,
            Some(&self.plan),
        );
        let plan = off_the_runtime(|| balance(&self.model, &demand, cfg, now, Some(&self.plan)));
        let changed = {
            let published = self.published.borrow();
            !Arc::ptr_eq(&published.regions, &self.regions) || !same_answers(&published.plan, &plan)
        };
        // Kept whole for the next round's hysteresis and the API; published only when an
        // answer would change (a new demand figure alone is not worth a region table
        // rebuild and a wake-up of every driver).
        self.plan = plan;
        if changed {
            self.publish();
        }
        self.generation
    }

    /// Publishes `self.plan` under the next generation. A replica that may not act
    /// publishes nothing: its plan would not be the leader's.
    fn publish(&mut self) {
        if self.cluster.is_some() && !self.authority.borrow().may_act() {
            return;
        }
        self.publish_now();
    }

    /// [`Self::publish`] without asking whether this replica may act.
    fn publish_now(&mut self) {
        self.generation += 1;
        // Drivers first: their transactions are on the way while the proxies' plan is
        // made (which takes a while with a million prefixes when the regions changed).
        let previous = self.published.send_replace(Arc::new(Published {
            generation: self.generation,
            plan: self.plan.clone(),
            regions: Arc::clone(&self.regions),
        }));
        // The live plan in force was made for the previous published regions: while those
        // are unchanged (they change only on a config reset), its region table serves.
        let live = if Arc::ptr_eq(&previous.regions, &self.regions) {
            self.shared
                .load()
                .with_plan(self.generation, self.plan.clone())
        } else {
            off_the_runtime(|| LivePlan::new(self.generation, self.plan.clone(), &self.regions))
        };
        self.shared.store(Arc::new(live));
        self.metrics
            .plan_generation
            .set(i64::try_from(self.generation).unwrap_or(i64::MAX));
        self.metrics.plan_changes.inc();
        tracing::info!(generation = self.generation, "plan published");
    }
}

/// True when `a` and `b` give the same answers: regions, groups, lookups and every
/// cell's weights.
fn same_answers(a: &Plan, b: &Plan) -> bool {
    a.regions() == b.regions()
        && a.groups() == b.groups()
        && a.lookups() == b.lookups()
        && (0..a.groups().len()).all(|g| {
            a.regions()
                .iter()
                .all(|r| a.cell(g, r.as_str()) == b.cell(g, r.as_str()))
        })
}

/// Runs `f` (CPU-bound: the optimal mode's solver may take a second on a large world)
/// without stalling the other tasks of a multi-thread runtime.
fn off_the_runtime<T>(f: impl FnOnce() -> T) -> T {
    use tokio::runtime::{Handle, RuntimeFlavor};
    match Handle::try_current().map(|h| h.runtime_flavor()) {
        Ok(RuntimeFlavor::MultiThread) => tokio::task::block_in_place(f),
        _ => f(),
    }
}

fn first_plan(model: &Model, settings: &ControlSettings) -> Plan {
    let demand = Demand::from_loads(
        model,
        settings.demand_margin,
        Duration::ZERO,
        settings.balance.stale_after,
        None,
    );
    balance(model, &demand, &settings.balance, Duration::ZERO, None)
}

/// Puts what is known of the partners into a model fresh from the files: the last good
/// poll (at its time), an `Unavailable` said since, and for a polled partner never heard
/// from, a feedback time of control start, so that its silence goes stale like any other.
fn baseline(
    model: &mut Model,
    partners: &BTreeMap<Name, PartnerState>,
    reserved: &BTreeMap<Name, CdnSpec>,
) {
    for (name, state) in partners {
        let ok_at = match &state.last_ok {
            Some((at, fb)) => {
                let _ = feedback::apply_poll(model, name, fb, reserved, *at);
                Some(*at)
            }
            None if state.polled => {
                let _ = model.set_load(name, &Scope::Total, 0, Duration::ZERO);
                None
            }
            None => None,
        };
        if let Some(t) = state.unavailable_at
            && ok_at.is_none_or(|ok| t >= ok)
        {
            let _ = model.mark_unavailable(name, t);
        }
    }
}

fn event_kind(e: &Event) -> &'static str {
    match e {
        Event::Load(_) => "load",
        Event::Capacity(_) => "capacity",
        Event::AddCustomer(_) => "add_customer",
        Event::RemoveCustomer(_) => "del_customer",
        Event::Reset => "reset",
    }
}

/// The position of the token a model error is about, else the event's.
fn event_pos(ev: &Located<Event>, e: &ModelError) -> Pos {
    match (&ev.value, e) {
        (Event::Load(f) | Event::Capacity(f), ModelError::UnknownCdn(_)) => f.cdn.pos,
        (Event::Load(f) | Event::Capacity(f), ModelError::UnknownRegion(_)) => f.scope.pos,
        (Event::AddCustomer(def), ModelError::UnknownCdn(n)) => def
            .cdns
            .iter()
            .find(|c| c.value == *n)
            .map_or(ev.pos, |c| c.pos),
        (Event::AddCustomer(def), _) => def.name.pos,
        (Event::RemoveCustomer(name), _) => name.pos,
        _ => ev.pos,
    }
}

#[cfg(test)]
mod tests;
