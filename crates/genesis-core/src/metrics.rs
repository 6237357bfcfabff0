//! Evaluation metrics of the downstream tasks (spec §7.1): ROC AUC and accuracy for
//! classification, Dice and IoU of binarised masks for segmentation.
//!
//! Conventions:
//! - **AUC** is the Mann–Whitney statistic: the fraction of (positive, negative) pairs the
//!   scores order correctly, a tie counting ½ — equal to the area under the ROC curve with
//!   ties drawn as diagonal segments (what `sklearn.metrics.roc_auc_score` returns). It is
//!   undefined (`None`) without at least one positive and one negative.
//! - **Dice / IoU** binarise the prediction at a threshold (`> threshold` is foreground) and
//!   the truth at 0.5, and pool the counts over everything added (a whole test set, like the
//!   original downstream code); when neither prediction nor truth has any foreground, both
//!   are defined as 1 (a perfect "nothing here").
//! - **PSNR** of restorations: `10 log10(1 / MSE)` for intensities in [0, 1] (peak 1).

/// ROC AUC of `scores` for binary `labels` (true = positive), ties counting ½; `None` when a
/// class is absent or the lengths differ.
pub fn auc(scores: &[f64], labels: &[bool]) -> Option<f64> {
    if scores.len() != labels.len() {
        return None;
    }
    let positives = labels.iter().filter(|&&l| l).count();
    let negatives = labels.len() - positives;
    if positives == 0 || negatives == 0 {
        return None;
    }
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[a].total_cmp(&scores[b]));
    // Sum of the positives' mid-ranks (1-based), ties sharing the mean of their ranks.
    let mut rank_sum = 0.0;
    let mut start = 0;
    while start < order.len() {
        let mut end = start + 1;
        while end < order.len() && scores[order[end]] == scores[order[start]] {
            end += 1;
        }
        let mid_rank = (start + 1 + end) as f64 / 2.0;
        rank_sum += mid_rank * order[start..end].iter().filter(|&&i| labels[i]).count() as f64;
        start = end;
    }
    let (p, n) = (positives as f64, negatives as f64);
    Some((rank_sum - p * (p + 1.0) / 2.0) / (p * n))
}

/// Mean one-vs-rest AUC over the classes of `labels` that have both positives and negatives;
/// `probabilities` holds `classes` scores per sample, row after row. Binary tasks give the
/// AUC of class 1. `None` when no class can be scored.
pub fn macro_auc(probabilities: &[f64], labels: &[usize], classes: usize) -> Option<f64> {
    if classes < 2 || probabilities.len() != labels.len() * classes {
        return None;
    }
    let of_class = |k: usize| {
        let scores: Vec<f64> = probabilities.chunks_exact(classes).map(|row| row[k]).collect();
        let truth: Vec<bool> = labels.iter().map(|&l| l == k).collect();
        auc(&scores, &truth)
    };
    if classes == 2 {
        return of_class(1);
    }
    let aucs: Vec<f64> = (0..classes).filter_map(of_class).collect();
    (!aucs.is_empty()).then(|| aucs.iter().sum::<f64>() / aucs.len() as f64)
}

/// Index of the largest score of each row of `classes` scores (the first on ties).
pub fn argmax_rows(scores: &[f64], classes: usize) -> Vec<usize> {
    scores
        .chunks_exact(classes.max(1))
        .map(|row| {
            row.iter().enumerate().fold(0, |best, (k, v)| if *v > row[best] { k } else { best })
        })
        .collect()
}

/// Fraction of `predicted` equal to `labels` (0 for empty input).
pub fn accuracy(predicted: &[usize], labels: &[usize]) -> f64 {
    let right = predicted.iter().zip(labels).filter(|(p, l)| p == l).count();
    right as f64 / labels.len().max(1) as f64
}

/// Foreground counts of binarised predictions against binary truths, pooled over every
/// [`add`](Overlap::add)ed mask.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Overlap {
    /// Voxels foreground in both.
    pub intersection: u64,
    /// Voxels foreground in the prediction.
    pub predicted: u64,
    /// Voxels foreground in the truth.
    pub truth: u64,
}

impl Overlap {
    /// Adds one prediction (probabilities, foreground where `> threshold`) and its truth
    /// (foreground where `> 0.5`), voxel for voxel.
    pub fn add(&mut self, prediction: &[f32], truth: &[f32], threshold: f32) {
        for (&p, &t) in prediction.iter().zip(truth) {
            let (p, t) = (p > threshold, t > 0.5);
            self.intersection += u64::from(p && t);
            self.predicted += u64::from(p);
            self.truth += u64::from(t);
        }
    }

    /// Dice `2|X∩Y| / (|X| + |Y|)`; 1 when both are empty.
    pub fn dice(&self) -> f64 {
        match self.predicted + self.truth {
            0 => 1.0,
            total => 2.0 * self.intersection as f64 / total as f64,
        }
    }

    /// IoU `|X∩Y| / |X∪Y|`; 1 when both are empty.
    pub fn iou(&self) -> f64 {
        match self.predicted + self.truth - self.intersection {
            0 => 1.0,
            union => self.intersection as f64 / union as f64,
        }
    }
}

/// Mean squared error of `a` against `b` (equal lengths; 0 for empty slices).
pub fn mse(a: &[f32], b: &[f32]) -> f64 {
    let sum: f64 = a.iter().zip(b).map(|(x, y)| f64::from(x - y).powi(2)).sum();
    sum / a.len().max(1) as f64
}

/// Peak signal-to-noise ratio in dB of `a` against `b` for intensities in [0, 1]; infinite
/// when they are equal.
pub fn psnr(a: &[f32], b: &[f32]) -> f64 {
    -10.0 * mse(a, b).log10()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn psnr_of_a_uniform_error() {
        // Differences of 0.25, exact in f32: MSE 1/16, PSNR 10·log10(16) dB.
        let (a, b) = ([0.5f32; 4], [0.75f32; 4]);
        assert_eq!(mse(&a, &b), 0.0625);
        assert!((psnr(&a, &b) - 10.0 * 16f64.log10()).abs() < 1e-12);
        assert!(psnr(&a, &a).is_infinite());
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-12
    }

    #[test]
    fn auc_counts_ordered_pairs_and_half_ties() {
        assert_eq!(auc(&[0.1, 0.4, 0.35, 0.8], &[false, false, true, true]), Some(0.75));
        assert_eq!(auc(&[0.9, 0.8, 0.2, 0.1], &[false, false, true, true]), Some(0.0));
        assert_eq!(auc(&[1.0, 2.0], &[false, true]), Some(1.0));
        // All tied: every pair counts ½.
        assert_eq!(auc(&[0.5; 4], &[true, false, true, false]), Some(0.5));
        // Pairs (p, n): p=0.5 vs n=0.2 right, vs n=0.5 tie (½); p=0.9 right twice → 3.5 / 4.
        let a = auc(&[0.2, 0.5, 0.5, 0.9], &[false, false, true, true]).unwrap();
        assert!(close(a, 0.875), "{a}");
        assert_eq!(auc(&[0.1, 0.2], &[true, true]), None);
        assert_eq!(auc(&[0.1], &[true, false]), None);
    }

    #[test]
    fn macro_auc_is_class_one_for_two_classes_and_a_mean_otherwise() {
        // Class-1 scores 0.1, 0.7, 0.3, 0.5 for labels 0, 1, 1, 0: 3 of 4 pairs ordered.
        let probs = [0.9, 0.1, 0.3, 0.7, 0.7, 0.3, 0.5, 0.5];
        assert_eq!(macro_auc(&probs, &[0, 1, 1, 0], 2), Some(0.75));
        // Three classes, each perfectly ranked one-vs-rest.
        let probs = [0.8, 0.1, 0.1, 0.1, 0.8, 0.1, 0.1, 0.1, 0.8];
        assert_eq!(macro_auc(&probs, &[0, 1, 2], 3), Some(1.0));
        assert_eq!(macro_auc(&[0.5, 0.5], &[0], 2), None);
    }

    #[test]
    fn accuracy_of_argmax() {
        let predicted = argmax_rows(&[0.2, 0.8, 0.6, 0.4, 0.5, 0.5], 2);
        assert_eq!(predicted, vec![1, 0, 0]);
        assert!(close(accuracy(&predicted, &[1, 1, 0]), 2.0 / 3.0));
        assert_eq!(accuracy(&[], &[]), 0.0);
    }

    #[test]
    fn dice_and_iou_by_hand() {
        let mut o = Overlap::default();
        // Prediction {0, 1, 2} (0.5 is not above the threshold), truth {1, 2, 3}.
        o.add(&[0.9, 0.6, 0.7, 0.5, 0.1], &[0.0, 1.0, 1.0, 1.0, 0.0], 0.5);
        assert_eq!((o.intersection, o.predicted, o.truth), (2, 3, 3));
        assert!(close(o.dice(), 4.0 / 6.0));
        assert!(close(o.iou(), 2.0 / 4.0));
        // Counts pool over masks: an empty pair adds nothing.
        o.add(&[0.0, 0.0], &[0.0, 0.0], 0.5);
        assert!(close(o.dice(), 4.0 / 6.0));
    }

    #[test]
    fn empty_masks() {
        let mut both = Overlap::default();
        both.add(&[0.1, 0.2], &[0.0, 0.0], 0.5);
        assert_eq!((both.dice(), both.iou()), (1.0, 1.0));
        let mut missed = Overlap::default();
        missed.add(&[0.1, 0.2], &[1.0, 0.0], 0.5);
        assert_eq!((missed.dice(), missed.iou()), (0.0, 0.0));
        let mut spurious = Overlap::default();
        spurious.add(&[0.9, 0.2], &[0.0, 0.0], 0.5);
        assert_eq!((spurious.dice(), spurious.iou()), (0.0, 0.0));
    }
}
