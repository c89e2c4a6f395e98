//! How partner feedback (polled reports and alerts, spec §4) enters the model, and how a
//! CDN whose feedback went stale falls back to the capacity `cdn.txt` reserved.
//!
//! Spec §4's `Capacity` is what the partner "can still give": the model's total capacity
//! is therefore the load we put on it plus that remainder. Region figures are taken for
//! the regions the model knows (a partner's region ids may be its own); others are
//! ignored.

use std::collections::BTreeMap;
use std::time::Duration;

use broker_config::status::{Figures, StatusReport};
use broker_config::{Name, Scope};
use broker_policy::model::{CdnSpec, Model, ModelError};

use crate::load_agent::Feedback;

/// Applies one successful poll of `cdn`, made at `at`.
pub(crate) fn apply_poll(
    model: &mut Model,
    cdn: &Name,
    fb: &Feedback,
    reserved: &BTreeMap<Name, CdnSpec>,
    at: Duration,
) -> Result<(), ModelError> {
    model.set_load(cdn, &Scope::Total, fb.load_kbps, at)?;
    for (region, kbps) in &fb.region_loads {
        if let Some(r) = known_region(model, region) {
            model.set_load(cdn, &Scope::Region(r), *kbps, at)?;
        }
    }
    let capacity = match fb.remaining_kbps {
        Some(rest) => fb.load_kbps.saturating_add(rest),
        None => match reserved.get(cdn) {
            Some(spec) => spec.capacity_kbps,
            None => return Ok(()),
        },
    };
    model.set_capacity(cdn, &Scope::Total, capacity, at)
}

/// Applies an alert's report about `cdn` at `now`. `Unavailable` takes it out of every
/// answer until its next report.
pub(crate) fn apply_alert(
    model: &mut Model,
    cdn: &Name,
    report: &StatusReport,
    now: Duration,
) -> Result<(), ModelError> {
    match report {
        StatusReport::Unavailable => model.mark_unavailable(cdn, now),
        StatusReport::Load(Figures::Aggregate(load)) => {
            model.set_load(cdn, &Scope::Total, load.kbps, now)
        }
        StatusReport::Load(Figures::Regions(items)) => {
            touch(model, cdn)?;
            for (id, load) in items {
                if let Some(r) = known_region(model, id.as_str()) {
                    model.set_load(cdn, &Scope::Region(r), load.kbps, now)?;
                }
            }
            Ok(())
        }
        StatusReport::Capacity(Figures::Aggregate(rest)) => {
            let load = touch(model, cdn)?;
            model.set_capacity(cdn, &Scope::Total, load.saturating_add(*rest), now)
        }
        StatusReport::Capacity(Figures::Regions(items)) => {
            touch(model, cdn)?;
            for (id, rest) in items {
                if let Some(r) = known_region(model, id.as_str()) {
                    let load = model
                        .cdn(cdn.as_str())
                        .and_then(|c| c.region_load_kbps(r.as_str()))
                        .unwrap_or(0);
                    model.set_capacity(cdn, &Scope::Region(r), load.saturating_add(*rest), now)?;
                }
            }
            Ok(())
        }
    }
}

/// The CDN's total load, or `UnknownCdn`.
fn touch(model: &Model, cdn: &Name) -> Result<u64, ModelError> {
    model
        .cdn(cdn.as_str())
        .map(|c| c.load_kbps())
        .ok_or_else(|| ModelError::UnknownCdn(cdn.clone()))
}

fn known_region(model: &Model, id: &str) -> Option<Name> {
    model.regions().get(id).cloned()
}

/// True when `cdn`'s last feedback is older than `stale_after` at `now`.
pub(crate) fn is_stale(model: &Model, cdn: &str, now: Duration, stale_after: Duration) -> bool {
    model
        .cdn(cdn)
        .and_then(|c| c.last_feedback())
        .is_some_and(|t| now.saturating_sub(t) > stale_after)
}

/// Puts every stale CDN back on the capacity `cdn.txt` reserved (keeping its feedback
/// time, so that the balancer's decay goes on from there): what a silent partner said
/// last is not believed, the reservation is, and less and less of it. True if any
/// changed.
pub(crate) fn restore_stale(
    model: &mut Model,
    reserved: &BTreeMap<Name, CdnSpec>,
    now: Duration,
    stale_after: Duration,
) -> bool {
    let mut changed = false;
    for (name, spec) in reserved {
        let differs = model
            .cdn(name.as_str())
            .is_some_and(|c| c.capacity_kbps() != spec.capacity_kbps);
        if differs && is_stale(model, name.as_str(), now, stale_after) {
            changed |= model.update_cdn(spec.clone()).is_ok();
        }
    }
    changed
}

#[cfg(test)]
mod tests {
    use super::*;
    use broker_config::AgentFiles;
    use broker_policy::model::Status;

    fn n(s: &str) -> Name {
        Name::new(s).unwrap()
    }

    fn world() -> (Model, BTreeMap<Name, CdnSpec>) {
        let files = AgentFiles::parse(
            "ADD REG FRANCE { 198.54.234.0, 23; }!",
            "ADD CDN C:400000 {A:192.0.2.10} [ FRANCE:90; ]!\nADD CDN G:100000 {A:192.0.2.20} [ FRANCE:60; ]!",
            "ADD CST img.xyz.com [ C; G; ]!",
        )
        .unwrap();
        let reserved = files
            .cdns
            .cdns
            .iter()
            .map(|c| (c.name.value.clone(), CdnSpec::from(c)))
            .collect();
        (Model::from_agent_files(&files).unwrap(), reserved)
    }

    #[test]
    fn a_poll_sets_loads_and_capacity_as_load_plus_remainder() {
        let (mut m, reserved) = world();
        let fb = Feedback {
            load_kbps: 30_000,
            region_loads: vec![("FRANCE".into(), 20_000), ("MARS".into(), 5)],
            remaining_kbps: Some(50_000),
        };
        apply_poll(&mut m, &n("G"), &fb, &reserved, Duration::from_secs(3)).unwrap();
        let g = m.cdn("G").unwrap();
        assert_eq!(
            (
                g.load_kbps(),
                g.capacity_kbps(),
                g.region_load_kbps("FRANCE")
            ),
            (30_000, 80_000, Some(20_000))
        );
        assert_eq!(g.last_feedback(), Some(Duration::from_secs(3)));
    }

    #[test]
    fn stale_cdns_go_back_to_the_reserved_capacity_keeping_their_age() {
        let (mut m, reserved) = world();
        let fb = Feedback {
            load_kbps: 0,
            region_loads: Vec::new(),
            remaining_kbps: Some(900_000),
        };
        apply_poll(&mut m, &n("G"), &fb, &reserved, Duration::from_secs(1)).unwrap();
        let stale_after = Duration::from_secs(10);
        assert!(!restore_stale(
            &mut m,
            &reserved,
            Duration::from_secs(5),
            stale_after
        ));
        assert_eq!(m.cdn("G").unwrap().capacity_kbps(), 900_000);
        assert!(restore_stale(
            &mut m,
            &reserved,
            Duration::from_secs(12),
            stale_after
        ));
        let g = m.cdn("G").unwrap();
        assert_eq!(g.capacity_kbps(), 100_000);
        assert_eq!(g.last_feedback(), Some(Duration::from_secs(1)));
    }

    #[test]
    fn an_unavailable_alert_marks_the_cdn_and_a_load_alert_of_unknown_cdn_fails() {
        let (mut m, _) = world();
        apply_alert(&mut m, &n("G"), &StatusReport::Unavailable, Duration::ZERO).unwrap();
        assert_eq!(m.cdn("G").unwrap().status(), Status::Unavailable);
        let report = StatusReport::parse(b"Capacity aggregate=5").unwrap();
        assert!(apply_alert(&mut m, &n("Q"), &report, Duration::ZERO).is_err());
    }
}
