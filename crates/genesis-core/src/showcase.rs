//! Each transform alone, drawn with a preset's settings, for showing rather than training:
//! the page's gallery and the `genesis transform` grid both use it.

use crate::pipeline::{Applied, ModelsGenesis, Pipeline, Preset, Quirks, SemanticGenesis};
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

/// One image of a gallery: what it shows, a title, the drawn parameters and the image.
#[derive(Debug, Clone, PartialEq)]
pub struct Shown {
    /// `original`, `shuffle`, `bezier`, `inpaint`, `outpaint`, `elastic` or `pipeline`.
    pub kind: &'static str,
    /// A caption title.
    pub title: String,
    /// The drawn parameters, or the transforms a pipeline sample applied.
    pub params: String,
    /// The image.
    pub image: Volume,
}

/// The page's gallery: `original`, each of the four transforms alone (and the elastic warp for
/// Semantic Genesis) with its drawn parameters, then `samples` draws of `preset`'s pipeline.
pub fn gallery(
    original: &Volume,
    preset: Preset,
    seed: u64,
    samples: u64,
) -> Result<Vec<Shown>, TransformError> {
    let mut shown = vec![Shown {
        kind: "original",
        title: "Original".into(),
        params: String::new(),
        image: original.clone(),
    }];
    for step in transforms_alone(preset, seed, original.shape()) {
        let skipped = matches!(step, Applied::Flip(_))
            || (matches!(step, Applied::Elastic(_)) && preset == Preset::ModelsGenesis);
        if !skipped {
            let (kind, title) = (step.name(), title(step.name()).into());
            let image = apply_alone(original, &step)?;
            shown.push(Shown { kind, title, params: describe(&step), image });
        }
    }
    let pipeline = Pipeline::preset(preset, &Quirks::default());
    for index in 0..samples {
        let sample = pipeline.generate_seeded(seed, 0, index, original)?;
        let names: Vec<&str> = sample.applied.iter().map(Applied::name).collect();
        shown.push(Shown {
            kind: "pipeline",
            title: format!("{preset} sample {}", index + 1),
            params: if names.is_empty() { "identity".into() } else { names.join(" → ") },
            image: sample.input,
        });
    }
    Ok(shown)
}

/// The caption title of a transform.
fn title(name: &str) -> &'static str {
    match name {
        "bezier" => "Non-linear intensity (Bezier)",
        "shuffle" => "Local pixel shuffling",
        "inpaint" => "In-painting",
        "outpaint" => "Out-painting",
        "elastic" => "Elastic warp",
        _ => "Flip",
    }
}

/// The orthogonal plane of a 3-D volume through voxel `index` of `axis` (0 sagittal, 1 coronal,
/// 2 axial), as a 2-D image the way viewers show it: axial with x across and y down; coronal
/// and sagittal with the last axis up (so the head is at the top of a chest CT). `None` when
/// `axis` or `index` is out of range.
pub fn plane(volume: &Volume, axis: usize, index: usize) -> Option<Volume> {
    let shape = volume.shape();
    if axis > 2 || index >= shape[axis] {
        return None;
    }
    // (rows, columns) of the plane and the voxel at each (row, column).
    let (rows, cols) = match axis {
        0 => (shape[2], shape[1]),
        1 => (shape[2], shape[0]),
        _ => (shape[1], shape[0]),
    };
    let voxel = |r: usize, c: usize| match axis {
        0 => volume.get(index, c, rows - 1 - r),
        1 => volume.get(c, index, rows - 1 - r),
        _ => volume.get(c, r, index),
    };
    let pixels = (0..rows).flat_map(|r| (0..cols).map(move |c| (r, c))).map(|(r, c)| voxel(r, c));
    Volume::image(rows, cols, pixels.collect()).ok()
}

/// RGBA bytes (grey, opaque) of a 2-D volume for a canvas, values clamped to [0, 1], written
/// into one pre-sized buffer.
pub fn rgba(volume: &Volume) -> Vec<u8> {
    let mut bytes = vec![255u8; 4 * volume.data().len()];
    for (pixel, &v) in bytes.chunks_exact_mut(4).zip(volume.data()) {
        // Rounds half up like `round()` on these non-negative values, without the software
        // `roundf` call `round()` compiles to in wasm32.
        let g = (v.clamp(0.0, 1.0) * 255.0 + 0.5) as u8;
        pixel[..3].fill(g);
    }
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::test_pattern;

    #[test]
    fn planes_are_oriented_like_a_viewer_and_refuse_bad_indices() {
        // Voxel value = 100x + 10y + z, shape [3, 2, 4].
        let data = (0..3).flat_map(|x| (0..2).flat_map(move |y| (0..4).map(move |z| (x, y, z))));
        let data = data.map(|(x, y, z)| (100 * x + 10 * y + z) as f32).collect();
        let v = Volume::new([3, 2, 4], data).unwrap();
        let axial = plane(&v, 2, 1).unwrap();
        assert_eq!(axial.shape(), [2, 3, 1]);
        assert_eq!(axial.data(), &[1.0, 101.0, 201.0, 11.0, 111.0, 211.0]);
        let coronal = plane(&v, 1, 1).unwrap();
        assert_eq!(coronal.shape(), [4, 3, 1]);
        assert_eq!(&coronal.data()[..3], &[13.0, 113.0, 213.0]); // top row: the last z
        let sagittal = plane(&v, 0, 2).unwrap();
        assert_eq!(sagittal.shape(), [4, 2, 1]);
        assert_eq!(&sagittal.data()[6..], &[200.0, 210.0]); // bottom row: z = 0
        assert!(plane(&v, 2, 4).is_none() && plane(&v, 3, 0).is_none());
    }

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
