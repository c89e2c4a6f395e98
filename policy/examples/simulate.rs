//! Replays demand scenarios through the load-balancing plan with realistic feedback delay
//! and prints, per mode side by side: demand served within capacity, coverage-weighted
//! proximity, time to shed an overload, plan changes per hour.
//!
//! The world: regions EU, NA, AS, SA and DEFAULT; home CDN C (6 Gbit/s) and partners G1
//! (2 Gbit/s, strong in NA) and G2 (1.5 Gbit/s, strong in AS and SA); three customers
//! allowing {C,G1,G2}, {C,G1} and {C,G2}. Clients follow a new plan over one DNS TTL
//! (20 s, linearly); partners are polled every 30 s and report their load averaged over
//! the last 60 s; the DNS engines' resolution counts (30 s window) are local and fresh;
//! the control component replans every 10 s. Demand carries ±3% white noise per 5 s step.
//!
//! Scenarios (one hour each): steady; flash (AS demand ×3 from 15 to 35 min); unavailable
//! (G1 sends `Unavailable` at 15 min, the alert arrives 1 s later, it is back at 35 min);
//! stale (G2 stops answering polls at 15 min and silently loses 60% of its capacity, until
//! 40 min).
//!
//! Run: `cargo run --release -p broker-policy --example simulate` (or
//! `bench/policy/run.sh`). `SIM_SEED=<n>` changes the noise.

// The simulator walks parallel `[cdn][region]` tables: index loops read clearer there.
#![allow(clippy::needless_range_loop)]

use std::collections::VecDeque;
use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use broker_config::transaction::Lookup;
use broker_config::{DnsName, Name};
use broker_policy::balance::{BalanceConfig, Demand, ResolutionCount, balance};
use broker_policy::model::{CdnSpec, Model, Scope, Status};
use broker_policy::plan::{Mode, Plan};

const STEP: f64 = 5.0;
const HOUR: f64 = 3600.0;
const TTL: f64 = 20.0;
const POLL: f64 = 30.0;
const AVERAGING: f64 = 60.0;
const COUNT_WINDOW: f64 = 30.0;
const CONTROL: f64 = 10.0;
const ALERT_DELAY: f64 = 1.0;
/// kbit/s × s of traffic per resolution (a property of the content).
const KBIT_PER_RESOLUTION: f64 = 100.0;
const MARGIN: f64 = 1.1;

const REGIONS: [&str; 5] = ["AS", "DEFAULT", "EU", "NA", "SA"];
const BASE_DEMAND: [f64; 5] = [1.0e6, 0.2e6, 2.0e6, 2.0e6, 0.6e6];
const CDNS: [(&str, u64, [u8; 5]); 3] = [
    ("C", 6_000_000, [30, 50, 90, 70, 20]),
    ("G1", 2_000_000, [60, 40, 40, 95, 50]),
    ("G2", 1_500_000, [95, 40, 60, 30, 80]),
];
const CUSTOMERS: [(&str, &[&str]); 3] = [
    ("img.a.example", &["C", "G1", "G2"]),
    ("img.b.example", &["C", "G1"]),
    ("video.c.example", &["C", "G2"]),
];

#[derive(Clone, Copy, PartialEq, Eq)]
enum Scenario {
    Steady,
    Flash,
    Unavailable,
    Stale,
}

impl Scenario {
    fn name(self) -> &'static str {
        match self {
            Self::Steady => "steady",
            Self::Flash => "flash crowd",
            Self::Unavailable => "partner unavailable",
            Self::Stale => "stale feedback",
        }
    }
    fn demand_factor(self, t: f64, region: usize) -> f64 {
        let in_flash = (15.0 * 60.0..35.0 * 60.0).contains(&t);
        if self == Self::Flash && REGIONS[region] == "AS" && in_flash {
            3.0
        } else {
            1.0
        }
    }
    /// G1 is down (and says so) in the unavailable scenario.
    fn down(self, t: f64, cdn: usize) -> bool {
        self == Self::Unavailable && CDNS[cdn].0 == "G1" && (15.0 * 60.0..35.0 * 60.0).contains(&t)
    }
    /// G2 answers no polls, and has lost 60% of its capacity, in the stale scenario.
    fn silent(self, t: f64, cdn: usize) -> bool {
        self == Self::Stale && CDNS[cdn].0 == "G2" && (15.0 * 60.0..40.0 * 60.0).contains(&t)
    }
    fn true_capacity(self, t: f64, cdn: usize) -> f64 {
        let cap = CDNS[cdn].1 as f64;
        if self.down(t, cdn) {
            0.0
        } else if self.silent(t, cdn) {
            0.4 * cap
        } else {
            cap
        }
    }
}

/// xorshift64*: the simulator's own noise, seeded, the same for every mode.
struct Noise(u64);
impl Noise {
    fn unit(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 11) as f64 / (1u64 << 53) as f64
    }
}

fn n(s: &str) -> Name {
    Name::new(s).expect("simulator names are valid")
}

fn world() -> Model {
    let mut m = Model::new();
    for r in REGIONS {
        m.add_region(n(r));
    }
    for (i, (name, cap, cov)) in CDNS.iter().enumerate() {
        m.add_cdn(CdnSpec {
            name: n(name),
            lookup: Lookup::Address(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 10 + i as u8))),
            capacity_kbps: *cap,
            coverage: REGIONS.iter().zip(cov).map(|(r, c)| (n(r), *c)).collect(),
        })
        .expect("valid cdn");
    }
    for (c, cdns) in CUSTOMERS {
        m.add_customer(DnsName::new(c).expect("valid"), cdns.iter().map(|x| n(x)))
            .expect("valid customer");
    }
    m
}

#[derive(Default)]
struct Metrics {
    demand: f64,
    served: f64,
    coverage_served: f64,
    /// Per CDN: when its current overload began.
    overload_since: Vec<Option<f64>>,
    shed_times: Vec<f64>,
    plan_changes: u32,
    solve_time: Duration,
    solves: u32,
    fallbacks: u32,
}

struct Run {
    scenario: Scenario,
    cfg: BalanceConfig,
    model: Model,
    plan: Plan,
    /// `[group][region][cdn]` share of traffic that clients actually follow.
    followed: Vec<Vec<Vec<f64>>>,
    /// Recent steps' traffic `[cdn][region]`, newest last.
    history: VecDeque<Vec<Vec<f64>>>,
    demand_estimate: Option<Demand>,
    kbps_per_resolution: Option<f64>,
    metrics: Metrics,
}

fn group_of_cdn_names(plan: &Plan, g: usize) -> Vec<usize> {
    let names = &plan.groups()[g].cdns;
    (0..CDNS.len())
        .filter(|&c| names.contains(CDNS[c].0))
        .collect()
}

impl Run {
    fn new(scenario: Scenario, cfg: BalanceConfig) -> Self {
        let model = world();
        let mut initial = Demand::new();
        for (r, d) in REGIONS.iter().zip(BASE_DEMAND) {
            initial.set_region_kbps(n(r), d * MARGIN);
        }
        let plan = balance(&model, &initial, &cfg, Duration::ZERO, None);
        let followed = Self::weights_of(&plan);
        Self {
            scenario,
            cfg,
            model,
            plan,
            followed,
            history: VecDeque::new(),
            demand_estimate: Some(initial),
            kbps_per_resolution: None,
            metrics: Metrics {
                overload_since: vec![None; CDNS.len()],
                ..Metrics::default()
            },
        }
    }

    fn weights_of(plan: &Plan) -> Vec<Vec<Vec<f64>>> {
        (0..plan.groups().len())
            .map(|g| {
                REGIONS
                    .iter()
                    .map(|r| {
                        let cell = plan.cell(g, r).unwrap_or(&[]);
                        CDNS.iter()
                            .map(|(c, _, _)| {
                                cell.iter()
                                    .find(|s| s.cdn.as_str() == *c)
                                    .map_or(0.0, |s| s.weight)
                            })
                            .collect()
                    })
                    .collect()
            })
            .collect()
    }

    fn step(&mut self, t: f64, noise: &mut Noise) {
        // Clients move towards the plan in force over one TTL.
        let target = Self::weights_of(&self.plan);
        let max_move = STEP / TTL;
        for (frow, trow) in self.followed.iter_mut().zip(&target) {
            for (fcell, tcell) in frow.iter_mut().zip(trow) {
                for (f, t) in fcell.iter_mut().zip(tcell) {
                    *f += (t - *f).clamp(-max_move, max_move);
                }
            }
        }
        // Offered traffic per CDN and region.
        let groups = self.plan.groups().len();
        let mut x = vec![vec![0.0; REGIONS.len()]; CDNS.len()];
        let mut total_demand = 0.0;
        for r in 0..REGIONS.len() {
            let d = BASE_DEMAND[r]
                * self.scenario.demand_factor(t, r)
                * (1.0 + 0.06 * (noise.unit() - 0.5));
            total_demand += d;
            for g in 0..groups {
                let share = self.plan.groups()[g].customers.len() as f64 / CUSTOMERS.len() as f64;
                let members = group_of_cdn_names(&self.plan, g);
                let sum: f64 = members.iter().map(|&c| self.followed[g][r][c]).sum();
                if sum <= 0.0 {
                    continue; // no CDN answers: lost
                }
                for &c in &members {
                    x[c][r] += d * share * self.followed[g][r][c] / sum;
                }
            }
        }
        // What is served: up to each CDN's true capacity.
        let m = &mut self.metrics;
        m.demand += total_demand * STEP;
        for c in 0..CDNS.len() {
            let load: f64 = x[c].iter().sum();
            let cap = self.scenario.true_capacity(t, c);
            let served = load.min(cap);
            m.served += served * STEP;
            if load > 0.0 {
                let ratio = served / load;
                for r in 0..REGIONS.len() {
                    m.coverage_served += x[c][r] * ratio * f64::from(CDNS[c].2[r]) * STEP;
                }
            }
            let over = load > cap * 1.0001 && load > 0.0;
            if over && std::env::var_os("SIM_TRACE").is_some() {
                eprintln!(
                    "t={t:>6} {:?} OVER {} load {load:.0} cap {cap:.0}",
                    self.cfg.mode, CDNS[c].0
                );
            }
            match (over, m.overload_since[c]) {
                (true, None) => m.overload_since[c] = Some(t),
                (false, Some(since)) => {
                    m.shed_times.push(t - since);
                    m.overload_since[c] = None;
                }
                _ => {}
            }
        }
        self.history.push_back(x);
        while self.history.len() > (AVERAGING / STEP) as usize {
            self.history.pop_front();
        }
        self.feedback(t);
        if (t % CONTROL).abs() < 1e-9 {
            self.replan(t);
        }
    }

    /// Polls (every 30 s, staggered) and alerts.
    fn feedback(&mut self, t: f64) {
        let now = clock(t);
        for c in 0..CDNS.len() {
            let name = n(CDNS[c].0);
            // The alert reaches the load agent ALERT_DELAY after the partner goes down.
            let alerted = self.scenario.down(t - ALERT_DELAY, c);
            let known =
                self.model.cdn(name.as_str()).map(|x| x.status()) == Some(Status::Unavailable);
            if alerted && !known {
                self.model.mark_unavailable(&name, now).expect("known cdn");
            }
            let offset = 10.0 * c as f64;
            if ((t - offset) % POLL).abs() > 1e-9 || self.scenario.silent(t, c) {
                continue;
            }
            if self.scenario.down(t, c) {
                self.model.mark_unavailable(&name, now).expect("known cdn");
                continue;
            }
            let steps = self.history.len().max(1) as f64;
            let mut total = 0.0;
            for r in 0..REGIONS.len() {
                let avg: f64 = self.history.iter().map(|x| x[c][r]).sum::<f64>() / steps;
                total += avg;
                self.model
                    .set_load(&name, &Scope::Region(n(REGIONS[r])), avg as u64, now)
                    .expect("known cdn and region");
            }
            self.model
                .set_load(&name, &Scope::Total, total as u64, now)
                .expect("known cdn");
        }
    }

    fn replan(&mut self, t: f64) {
        let now = clock(t);
        let raw = match self.cfg.mode {
            Mode::Seed => Demand::from_loads(
                &self.model,
                MARGIN,
                now,
                self.cfg.stale_after,
                Some(&self.plan),
            ),
            Mode::Optimal => {
                let counts = self.resolution_counts();
                if let Some(k) = Demand::kbps_per_resolution(&self.model, &counts) {
                    // Bytes per resolution change slowly: a slow average rides out the
                    // lag between fresh counts and averaged load reports.
                    let prev = self.kbps_per_resolution.unwrap_or(k);
                    self.kbps_per_resolution = Some(prev + 0.05 * (k - prev));
                }
                let k = self
                    .kbps_per_resolution
                    .unwrap_or(KBIT_PER_RESOLUTION / COUNT_WINDOW);
                Demand::from_resolutions(&counts, k * MARGIN)
            }
        };
        let demand = match &self.demand_estimate {
            Some(prev) => raw.smoothed(prev, 0.3),
            None => raw,
        };
        let started = Instant::now();
        let next = balance(&self.model, &demand, &self.cfg, now, Some(&self.plan));
        self.metrics.solve_time += started.elapsed();
        self.metrics.solves += 1;
        if next.fallback().is_some() {
            self.metrics.fallbacks += 1;
        }
        if !next.same_tables(&self.plan) {
            self.metrics.plan_changes += 1;
            if std::env::var_os("SIM_TRACE").is_some() {
                eprintln!(
                    "t={t:>6} {:?} plan change; demand {:?}; planned {:?}; overloaded {:?}",
                    self.cfg.mode,
                    demand
                        .regions()
                        .map(|(r, d)| format!("{r}={d:.0}"))
                        .collect::<Vec<_>>(),
                    next.planned_kbps()
                        .values()
                        .map(|v| *v as u64)
                        .collect::<Vec<_>>(),
                    next.overloaded()
                );
                for (g, group) in next.groups().iter().enumerate() {
                    for r in REGIONS {
                        let (a, b) = (self.plan.cell(g, r), next.cell(g, r));
                        if a != b {
                            eprintln!("  {} {r}: {:?} -> {:?}", group.coverage, a, b);
                        }
                    }
                }
            }
        }
        self.plan = next;
        self.demand_estimate = Some(demand);
    }

    /// Resolutions per (region, CDN) over the last 30 s, as the DNS engines count them.
    fn resolution_counts(&self) -> Vec<ResolutionCount> {
        let window = (COUNT_WINDOW / STEP) as usize;
        let mut out = Vec::new();
        for c in 0..CDNS.len() {
            for r in 0..REGIONS.len() {
                let kbit: f64 = self
                    .history
                    .iter()
                    .rev()
                    .take(window)
                    .map(|x| x[c][r] * STEP)
                    .sum();
                out.push(ResolutionCount {
                    region: n(REGIONS[r]),
                    cdn: n(CDNS[c].0),
                    count: (kbit / KBIT_PER_RESOLUTION) as u64,
                });
            }
        }
        out
    }

    fn finish(mut self, end: f64) -> Metrics {
        for since in self.metrics.overload_since.iter().flatten() {
            self.metrics.shed_times.push(end - since);
        }
        self.metrics
    }
}

/// The control component's clock: seconds since the warm-up began.
fn clock(t: f64) -> Duration {
    Duration::from_secs_f64(t + WARM_UP)
}

/// Ten minutes of steady traffic before the measured hour, so that windows and
/// estimates are full.
const WARM_UP: f64 = 600.0;

fn simulate(scenario: Scenario, cfg: &BalanceConfig, seed: u64) -> Metrics {
    let mut noise = Noise(seed | 1);
    let mut run = Run::new(scenario, cfg.clone());
    let warm = (WARM_UP / STEP) as u32;
    for i in 1..=warm {
        run.step(f64::from(i) * STEP - WARM_UP, &mut noise);
    }
    run.metrics = Metrics {
        overload_since: vec![None; CDNS.len()],
        ..Metrics::default()
    };
    let steps = (HOUR / STEP) as u32;
    for i in 1..=steps {
        run.step(f64::from(i) * STEP, &mut noise);
    }
    run.finish(HOUR)
}

/// A table row: its label and how to print one variant's figure.
type Row<'a> = (&'a str, &'a dyn Fn(&Metrics) -> String);

fn main() {
    let seed = std::env::var("SIM_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(7);
    let variants: [(&str, Mode, f64); 4] = [
        ("seed", Mode::Seed, 0.05),
        ("optimal", Mode::Optimal, 0.05),
        ("seed h=0", Mode::Seed, 0.0),
        ("optimal h=0", Mode::Optimal, 0.0),
    ];
    println!(
        "policy simulator: 1 h per scenario, step {STEP} s, replan every {CONTROL} s, poll {POLL} s (avg {AVERAGING} s), TTL {TTL} s, seed {seed}"
    );
    println!("h = hysteresis threshold (default 0.05); h=0 shows the plan without it\n");
    print!("{:<20} {:<32}", "scenario", "metric");
    for (name, _, _) in &variants {
        print!(" {name:>12}");
    }
    println!();
    // SIM_ONLY=<scenario prefix> and SIM_VARIANT=<name> narrow a run (for SIM_TRACE).
    let only = std::env::var("SIM_ONLY").unwrap_or_default();
    let variant = std::env::var("SIM_VARIANT").ok();
    let scenarios = [
        Scenario::Steady,
        Scenario::Flash,
        Scenario::Unavailable,
        Scenario::Stale,
    ];
    for scenario in scenarios
        .into_iter()
        .filter(|s| s.name().starts_with(&only))
    {
        let results: Vec<Metrics> = variants
            .iter()
            .filter(|(name, _, _)| variant.as_deref().is_none_or(|v| v == *name))
            .map(|&(_, mode, h)| {
                let cfg = BalanceConfig {
                    mode,
                    hysteresis: h,
                    ..BalanceConfig::default()
                };
                simulate(scenario, &cfg, seed)
            })
            .collect();
        let rows: [Row<'_>; 5] = [
            ("served within capacity (%)", &|m| {
                format!("{:.2}", 100.0 * m.served / m.demand)
            }),
            ("proximity (avg coverage served)", &|m| {
                format!("{:.1}", m.coverage_served / m.served.max(1.0))
            }),
            ("time to shed overload (s, max)", &|m| {
                m.shed_times
                    .iter()
                    .copied()
                    .reduce(f64::max)
                    .map_or("none".into(), |s| format!("{s:.0}"))
            }),
            ("plan changes per hour", &|m| m.plan_changes.to_string()),
            ("plan time (ms, mean)", &|m| {
                format!(
                    "{:.2}",
                    m.solve_time.as_secs_f64() * 1e3 / f64::from(m.solves.max(1))
                )
            }),
        ];
        for (i, (label, f)) in rows.iter().enumerate() {
            let first = if i == 0 { scenario.name() } else { "" };
            print!("{first:<20} {label:<32}");
            for m in &results {
                print!(" {:>12}", f(m));
            }
            println!();
        }
        if results.iter().any(|m| m.fallbacks > 0) {
            let f: Vec<u32> = results.iter().map(|m| m.fallbacks).collect();
            println!("{:<20} {:<32} {f:?}", "", "lp fallbacks to seed");
        }
        println!();
    }
}
