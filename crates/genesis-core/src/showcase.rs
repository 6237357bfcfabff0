//! Each transform alone, drawn with a preset's settings, for showing rather than training:
//! the page's gallery and the `genesis transform` grid both use it.

use crate::pipeline::{Applied, ModelsGenesis, Preset, Quirks, SemanticGenesis};
use crate::rng::stream;
use crate::transforms::{FillParams, Flip, PaintParams, Transform, TransformError};
use crate::volume::Volume;

/// One draw of every transform alone (flip, shuffle, Bezier, in-paint, out-paint, elastic)
/// for a volume of `shape`, with `preset`'s settings and no probability gates.
pub fn transforms_alone(preset: Preset, seed: u64, shape: [usize; 3]) -> Vec<Applied> {
    let quirks = Quirks::default();
    let (mg, sg) = (ModelsGenesis::new(&quirks), SemanticGenesis::new(&quirks));
    let (shuffle, bezier, mut inpaint, outpaint) = match preset {
        Preset::ModelsGenesis => (mg.shuffle, mg.bezier, mg.inpaint, mg.outpaint),
        Preset::SemanticGenesis => (sg.shuffle, sg.bezier, sg.inpaint, sg.outpaint),
    };
    // Show at least one box even where the pipeline may draw none.
    inpaint.count.min = inpaint.count.min.max(1);
    let rng = |k: u64| stream(seed, "transform-showcase", &[k]);
    let flip = Flip { prob: 1.0, max_flips: 1, ..mg.flip };
    vec![
        Applied::Flip(flip.sample(&mut rng(0), shape)),
        Applied::LocalShuffle(shuffle.sample(&mut rng(1), shape)),
        Applied::Bezier(bezier.sample(&mut rng(2), shape)),
        Applied::Paint(inpaint.sample(&mut rng(3), shape)),
        Applied::Paint(outpaint.sample(&mut rng(4), shape)),
        Applied::Elastic(sg.elastic.sample(&mut rng(5), shape)),
    ]
}

/// `step` applied alone to a copy of `original`.
pub fn apply_alone(original: &Volume, step: &Applied) -> Result<Volume, TransformError> {
    let mut volume = original.clone();
    step.apply(&mut volume)?;
    Ok(volume)
}

/// A short, human-readable summary of a draw's parameters (for captions).
pub fn describe(step: &Applied) -> String {
    let fill = |p: &PaintParams| match p.fill {
        FillParams::Noise { .. } => "noise".to_owned(),
        FillParams::Constant { value } => format!("fill {value:.2}"),
    };
    match step {
        Applied::Flip(p) => {
            let axes: Vec<String> = p.flips.iter().map(|a| format!("{a:?}")).collect();
            format!("axes {}", axes.join(","))
        }
        Applied::LocalShuffle(p) => format!("{} blocks", p.blocks),
        Applied::Bezier(p) => format!(
            "p1 ({:.2},{:.2}) p2 ({:.2},{:.2}){}",
            p.p1[0],
            p.p1[1],
            p.p2[0],
            p.p2[1],
            if p.inverted { " inv" } else { "" }
        ),
        Applied::Paint(p) => format!("{} boxes, {}", p.regions.len(), fill(p)),
        Applied::Elastic(p) => format!("alpha {:.0} sigma {:.0}", p.alpha, p.sigma),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::test_pattern;

    #[test]
    fn every_transform_changes_the_image_and_is_deterministic() {
        let original = test_pattern([64, 64, 1]).unwrap();
        for preset in Preset::ALL {
            let steps = transforms_alone(preset, 3, original.shape());
            assert_eq!(steps, transforms_alone(preset, 3, original.shape()));
            for step in &steps {
                let out = apply_alone(&original, step).unwrap();
                assert_ne!(out, original, "{} left the image unchanged", step.name());
                assert!(!describe(step).is_empty());
            }
        }
    }
}
