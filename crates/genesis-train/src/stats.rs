//! Small-sample statistics of the experiments: the mean with its Student-t 95% interval, and
//! the paired t-test of a difference between two sets of runs matched by seed.

use serde::{Deserialize, Serialize};
use statrs::distribution::{ContinuousCDF, StudentsT};

/// Confidence level of every interval.
pub const LEVEL: f64 = 0.95;

/// A mean over runs with its spread and 95% interval (`low = high = mean` for one value).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Interval {
    /// Runs.
    pub n: usize,
    /// Mean.
    pub mean: f64,
    /// Sample standard deviation (0 for one value).
    pub std: f64,
    /// Lower end of the 95% interval of the mean.
    pub low: f64,
    /// Upper end.
    pub high: f64,
}

/// The Student-t quantile `t(1 − (1 − LEVEL)/2, df)`.
fn t_quantile(df: f64) -> f64 {
    StudentsT::new(0.0, 1.0, df).map_or(f64::NAN, |t| t.inverse_cdf(1.0 - (1.0 - LEVEL) / 2.0))
}

/// Mean, sample standard deviation and the t-based 95% interval of the mean of `values`.
pub fn mean_interval(values: &[f64]) -> Interval {
    let n = values.len();
    let mean = values.iter().sum::<f64>() / n.max(1) as f64;
    if n < 2 {
        return Interval { n, mean, std: 0.0, low: mean, high: mean };
    }
    let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
    let std = var.sqrt();
    let half = t_quantile((n - 1) as f64) * std / (n as f64).sqrt();
    Interval { n, mean, std, low: mean - half, high: mean + half }
}

/// The differences `a[i] − b[i]` (paired by position) as an interval, and the two-sided
/// p-value of the paired t-test that their mean is 0 (1 when undefined: fewer than two pairs,
/// or no spread and a zero mean).
pub fn paired_difference(a: &[f64], b: &[f64]) -> (Interval, f64) {
    let d: Vec<f64> = a.iter().zip(b).map(|(x, y)| x - y).collect();
    let interval = mean_interval(&d);
    let p = if interval.n < 2 {
        1.0
    } else if interval.std == 0.0 {
        if interval.mean == 0.0 { 1.0 } else { 0.0 }
    } else {
        let t = interval.mean / (interval.std / (interval.n as f64).sqrt());
        StudentsT::new(0.0, 1.0, (interval.n - 1) as f64)
            .map_or(f64::NAN, |dist| 2.0 * (1.0 - dist.cdf(t.abs())))
    };
    (interval, p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals_and_paired_tests_match_textbook_values() {
        // Five values 1..5: mean 3, std √2.5, t(0.975, 4) = 2.776445.
        let i = mean_interval(&[1.0, 2.0, 3.0, 4.0, 5.0]);
        assert!((i.mean - 3.0).abs() < 1e-12 && (i.std - 2.5f64.sqrt()).abs() < 1e-12);
        let half = 2.776445 * 2.5f64.sqrt() / 5f64.sqrt();
        assert!((i.high - 3.0 - half).abs() < 1e-5, "{i:?}");
        // Differences 1, 2, 3, 4, 5 − 0: t = 3 / (√2.5/√5) = 4.2426, df 4 → p = 0.01324
        // (scipy.stats.ttest_rel).
        let (d, p) = paired_difference(&[1.0, 2.0, 3.0, 4.0, 5.0], &[0.0; 5]);
        assert_eq!(d.mean, 3.0);
        assert!((p - 0.013241).abs() < 1e-5, "{p}");
        assert_eq!(paired_difference(&[1.0], &[0.0]).1, 1.0);
        assert_eq!(paired_difference(&[1.0, 1.0], &[1.0, 1.0]).1, 1.0);
        assert_eq!(mean_interval(&[0.5]).low, 0.5);
    }
}
