//! Weighted pick: a cumulative weight table built once, read per query.
//!
//! The random draw is an argument (a uniform `u32`), so callers own the randomness and
//! tests use fixed draws. A draw maps to `draw * total / 2^32`, then to the first entry
//! whose cumulative weight exceeds it: each entry's share of the 2^32 draws is its weight
//! over the total, within 1 in 2^32; an entry of weight 0 is never picked.

/// Why a weight table cannot be built.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WeightError {
    /// The weights add up to 0 (or there are none).
    #[error("the weights add up to 0")]
    ZeroSum,
}

/// Cumulative weights of a list of choices; picks an index in O(log n).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WeightedTable {
    cumulative: Box<[u64]>,
}

impl WeightedTable {
    /// Builds the table of `weights`, in order; their sum must be > 0.
    pub fn new(weights: impl IntoIterator<Item = u32>) -> Result<Self, WeightError> {
        let mut sum = 0u64;
        let cumulative: Box<[u64]> = weights
            .into_iter()
            .map(|w| {
                sum += u64::from(w);
                sum
            })
            .collect();
        if sum == 0 {
            return Err(WeightError::ZeroSum);
        }
        Ok(Self { cumulative })
    }

    /// The index chosen by `draw` (uniform over all `u32` values).
    pub fn pick(&self, draw: u32) -> usize {
        let target = ((u128::from(draw) * u128::from(self.total())) >> 32) as u64;
        // First entry whose cumulative weight is above the target; zero weights never are.
        self.cumulative.partition_point(|&c| c <= target)
    }

    /// Sum of the weights.
    pub fn total(&self) -> u64 {
        self.cumulative.last().copied().unwrap_or(0)
    }

    /// Number of entries (including zero-weight ones).
    pub fn len(&self) -> usize {
        self.cumulative.len()
    }

    /// True when the table has no entry (never, for a built table).
    pub fn is_empty(&self) -> bool {
        self.cumulative.is_empty()
    }

    /// The probability of entry `i`, for reports and tests.
    pub fn probability(&self, i: usize) -> f64 {
        let before = if i == 0 { 0 } else { self.cumulative[i - 1] };
        (self.cumulative[i] - before) as f64 / self.total() as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn seventy_thirty_splits_the_draw_space_at_seventy_percent() {
        let t = WeightedTable::new([70, 30]).unwrap();
        assert_eq!(t.pick(0), 0);
        let edge = ((0.7 * 4294967296.0) as u64) as u32;
        assert_eq!(t.pick(edge - 1), 0);
        assert_eq!(t.pick(edge + 1), 1);
        assert_eq!(t.pick(u32::MAX), 1);
    }

    #[test]
    fn zero_weight_is_never_picked() {
        let t = WeightedTable::new([0, 5, 0, 5, 0]).unwrap();
        for d in [
            0,
            1,
            u32::MAX / 2 - 1,
            u32::MAX / 2,
            u32::MAX / 2 + 1,
            u32::MAX,
        ] {
            assert!(matches!(t.pick(d), 1 | 3), "draw {d}");
        }
    }

    #[test]
    fn zero_sum_is_refused() {
        assert_eq!(WeightedTable::new([0, 0]), Err(WeightError::ZeroSum));
        assert_eq!(WeightedTable::new([]), Err(WeightError::ZeroSum));
    }

    #[test]
    fn huge_weights_do_not_overflow() {
        let t = WeightedTable::new([u32::MAX, u32::MAX]).unwrap();
        assert_eq!(t.pick(0), 0);
        assert_eq!(t.pick(u32::MAX), 1);
    }

    fn linear(weights: &[u32], draw: u32) -> usize {
        let total: u64 = weights.iter().map(|&w| u64::from(w)).sum();
        let target = ((u128::from(draw) * u128::from(total)) >> 32) as u64;
        let mut acc = 0u64;
        for (i, &w) in weights.iter().enumerate() {
            acc += u64::from(w);
            if acc > target {
                return i;
            }
        }
        unreachable!("target < total")
    }

    proptest! {
        #[test]
        fn pick_agrees_with_linear_scan(
            weights in proptest::collection::vec(0u32..1000, 1..20),
            draws in proptest::collection::vec(any::<u32>(), 50),
        ) {
            prop_assume!(weights.iter().any(|&w| w > 0));
            let t = WeightedTable::new(weights.iter().copied()).unwrap();
            for d in draws {
                let i = t.pick(d);
                prop_assert_eq!(i, linear(&weights, d));
                prop_assert!(weights[i] > 0);
            }
        }

        #[test]
        fn probabilities_sum_to_one(weights in proptest::collection::vec(0u32..u32::MAX, 1..20)) {
            prop_assume!(weights.iter().any(|&w| w > 0));
            let t = WeightedTable::new(weights.iter().copied()).unwrap();
            let sum: f64 = (0..t.len()).map(|i| t.probability(i)).sum();
            prop_assert!((sum - 1.0).abs() < 1e-9);
        }

        #[test]
        fn evenly_spaced_draws_give_shares_near_the_weights(
            weights in proptest::collection::vec(0u32..100, 1..8),
        ) {
            prop_assume!(weights.iter().any(|&w| w > 0));
            let t = WeightedTable::new(weights.iter().copied()).unwrap();
            let n = 10_000u64;
            let mut counts = vec![0u64; weights.len()];
            for k in 0..n {
                counts[t.pick(((k << 32) / n) as u32)] += 1;
            }
            for (i, c) in counts.iter().enumerate() {
                let share = *c as f64 / n as f64;
                prop_assert!((share - t.probability(i)).abs() <= 1.0 / n as f64 + 1e-12);
            }
        }
    }
}
