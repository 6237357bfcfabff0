//! In-painting and out-painting (spec §2.3–2.4).
//!
//! In-painting replaces a few boxes with noise (or one constant); out-painting replaces
//! everything *except* a few windows. Box sizes are drawn per axis from a [`Span`] (in-paint:
//! the box side; out-paint: how much is cut off the axis, window = extent − cut) and corners
//! keep a 3-voxel margin where the axis leaves room.
//!
//! Variants (see `pipeline::Quirks` for the switches):
//! - Models Genesis: noise fill, sides `[d/6, d/3]`, up to 5 boxes (each further one with
//!   p = 0.95); out-paint cuts `[3d/7, 4d/7]`, 1 + up to 4 windows. [`InPaint::default`],
//!   [`OutPaint::default`].
//! - Pre-2020 Models Genesis: the count loops had no cap (geometric, mean ≈ 19 boxes):
//!   [`BoxCount::uncapped`] (bounded by [`MAX_BOXES`] so a config can never loop forever).
//! - Semantic Genesis PyTorch: Models Genesis sizes and noise, one box.
//! - Semantic Genesis Keras: one constant U[0,1) fill, sides (in-paint) or cuts (out-paint) of
//!   10–20 voxels whatever the extent.

use serde::{Deserialize, Serialize};

use super::region::{Region, Span, draw_corner};
use super::{Apply, Transform, TransformError, chance, check, draw};
use crate::rng::{GenesisRng, Rng, stream};
use crate::scratch;
use crate::volume::Volume;

/// Upper bound on the boxes of one draw, whatever the config says.
pub const MAX_BOXES: u32 = 10_000;

/// What painted voxels are filled with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Fill {
    /// I.i.d. U[0,1) noise, one value per voxel (Models Genesis, Semantic Genesis PyTorch).
    #[default]
    Noise,
    /// One U[0,1) constant for the whole fill (Semantic Genesis Keras).
    Constant,
}

/// How many boxes a draw has: `min`, then one more with probability `continue_prob` each
/// time, up to `max`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BoxCount {
    /// Boxes always drawn.
    pub min: u32,
    /// Most boxes (capped at [`MAX_BOXES`]).
    pub max: u32,
    /// Probability of each further box.
    pub continue_prob: f64,
}

impl BoxCount {
    /// Exactly one box.
    pub const ONE: Self = Self { min: 1, max: 1, continue_prob: 0.0 };

    /// The pre-2020 loops: `min` boxes, then geometric with `continue_prob` and no cap.
    pub const fn uncapped(min: u32, continue_prob: f64) -> Self {
        Self { min, max: MAX_BOXES, continue_prob }
    }

    fn draw(&self, rng: &mut GenesisRng) -> u32 {
        let max = self.max.min(MAX_BOXES);
        let mut n = self.min.min(max);
        while n < max && chance(rng, self.continue_prob) {
            n += 1;
        }
        n
    }
}

/// In-painting; its fields are its config.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct InPaint {
    /// Fill of the boxes.
    pub fill: Fill,
    /// Box side per axis.
    pub side: Span,
    /// Margin kept from each face where possible (3).
    pub margin: usize,
    /// Number of boxes.
    pub count: BoxCount,
}

impl Default for InPaint {
    fn default() -> Self {
        Self {
            fill: Fill::Noise,
            side: Span::fractions((1, 6), (1, 3)),
            margin: 3,
            count: BoxCount { min: 0, max: 5, continue_prob: 0.95 },
        }
    }
}

/// Out-painting; its fields are its config.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct OutPaint {
    /// Fill outside the windows.
    pub fill: Fill,
    /// How much of each axis a window leaves out (window side = extent − cut).
    pub cut: Span,
    /// Margin kept from each face where possible (3).
    pub margin: usize,
    /// Number of windows.
    pub count: BoxCount,
}

impl Default for OutPaint {
    fn default() -> Self {
        Self {
            fill: Fill::Noise,
            cut: Span::fractions((3, 7), (4, 7)),
            margin: 3,
            count: BoxCount { min: 1, max: 5, continue_prob: 0.95 },
        }
    }
}

/// Whether the regions are painted over or kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PaintMode {
    /// Fill the regions.
    In,
    /// Fill everything but the regions.
    Out,
}

/// The drawn fill.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FillParams {
    /// Per-voxel noise from this sub-seed.
    Noise {
        /// Sub-seed of the noise stream.
        seed: u64,
    },
    /// One value.
    Constant {
        /// The fill value, in [0, 1).
        value: f32,
    },
}

/// One drawn in- or out-painting.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PaintParams {
    /// In- or out-painting.
    pub mode: PaintMode,
    /// Shape the draw is for.
    pub shape: [usize; 3],
    /// The fill.
    pub fill: FillParams,
    /// Boxes painted (in) or windows kept (out).
    pub regions: Vec<Region>,
}

/// Draws the fill and `count` regions whose side on an axis of extent `d` is `side(rng, d)`.
fn sample_paint(
    rng: &mut GenesisRng,
    shape: [usize; 3],
    mode: PaintMode,
    fill: Fill,
    count: BoxCount,
    margin: usize,
    side: impl Fn(&mut GenesisRng, usize) -> usize,
) -> PaintParams {
    let n = count.draw(rng);
    let regions = (0..n)
        .map(|_| {
            let size = shape.map(|d| side(rng, d));
            Region { corner: draw_corner(rng, shape, size, margin), size }
        })
        .collect();
    let fill = match fill {
        Fill::Noise => FillParams::Noise { seed: rng.next_u64() },
        Fill::Constant => FillParams::Constant { value: draw::unit_f32(rng) },
    };
    PaintParams { mode, shape, fill, regions }
}

impl Transform for InPaint {
    type Params = PaintParams;

    fn sample(&self, rng: &mut GenesisRng, shape: [usize; 3]) -> PaintParams {
        let side = self.side;
        sample_paint(rng, shape, PaintMode::In, self.fill, self.count, self.margin, |rng, d| {
            let (lo, hi) = side.clamped(d, 1, d);
            draw::inclusive(rng, lo, hi)
        })
    }
}

impl Transform for OutPaint {
    type Params = PaintParams;

    fn sample(&self, rng: &mut GenesisRng, shape: [usize; 3]) -> PaintParams {
        let cut = self.cut;
        sample_paint(rng, shape, PaintMode::Out, self.fill, self.count, self.margin, |rng, d| {
            let (lo, hi) = cut.clamped(d, 0, d - 1);
            d - draw::inclusive(rng, lo, hi)
        })
    }
}

/// Writes the fill into `out`, continuing the noise stream `noise`.
fn fill_slice(fill: FillParams, noise: &mut draw::Noise, out: &mut [f32]) {
    match fill {
        FillParams::Noise { .. } => noise.fill_unit(out),
        FillParams::Constant { value } => out.fill(value.clamp(0.0, 1.0)),
    }
}

impl PaintParams {
    /// Paints checked voxels; fails if a region does not fit the shape.
    pub(crate) fn apply_valid(&self, volume: &mut Volume) -> Result<(), TransformError> {
        if let Some(r) = self.regions.iter().find(|r| !r.fits(self.shape)) {
            return Err(TransformError::Config(format!(
                "paint region {r:?} does not fit shape {:?}",
                self.shape
            )));
        }
        let seed = match self.fill {
            FillParams::Noise { seed } => seed,
            FillParams::Constant { .. } => 0,
        };
        let mut noise = draw::Noise::new(&mut stream(seed, "paint/noise", &[]));
        match self.mode {
            PaintMode::In => {
                let data = volume.data_mut();
                for r in &self.regions {
                    r.for_each_run(self.shape, |start, len| {
                        fill_slice(self.fill, &mut noise, &mut data[start..start + len]);
                    });
                }
            }
            PaintMode::Out => {
                let orig = scratch::copy(volume.data());
                let data = volume.data_mut();
                fill_slice(self.fill, &mut noise, data);
                for r in &self.regions {
                    r.for_each_run(self.shape, |start, len| {
                        data[start..start + len].copy_from_slice(&orig[start..start + len]);
                    });
                }
                scratch::recycle(orig);
            }
        }
        Ok(())
    }
}

impl Apply for PaintParams {
    fn apply(&self, volume: &mut Volume) -> Result<(), TransformError> {
        check(volume, Some(self.shape))?;
        self.apply_valid(volume)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transforms::region::coverage;

    const CUBE: [usize; 3] = [64, 64, 32];

    /// Mean region count and mean covered fraction over `n` draws.
    fn stats(t: &impl Transform<Params = PaintParams>, n: usize) -> (f64, f64) {
        let mut rng = stream(41, "paint-test", &[]);
        let (mut count, mut frac) = (0.0, 0.0);
        for _ in 0..n {
            let p = t.sample(&mut rng, CUBE);
            count += p.regions.len() as f64;
            frac += coverage(CUBE, p.regions.iter().copied());
        }
        (count / n as f64, frac / n as f64)
    }

    #[test]
    fn models_genesis_inpaint_matches_reference() {
        let (count, frac) = stats(&InPaint::default(), 4000);
        // E[K] = 4.30 (sd of the mean ≈ 0.02), masked fraction 0.055.
        assert!((count - 4.29).abs() < 0.08, "box count {count}");
        assert!((frac - 0.055).abs() < 0.004, "masked fraction {frac}");
    }

    #[test]
    fn models_genesis_outpaint_matches_reference() {
        let (count, kept) = stats(&OutPaint::default(), 4000);
        assert!((count - 4.55).abs() < 0.08, "window count {count}");
        assert!((kept - 0.319).abs() < 0.01, "kept fraction {kept}");
    }

    #[test]
    fn keras_variants_match_their_analytic_fractions() {
        let keras_in = InPaint {
            fill: Fill::Constant,
            side: Span::voxels(10, 20),
            count: BoxCount::ONE,
            ..InPaint::default()
        };
        let (count, frac) = stats(&keras_in, 4000);
        assert_eq!(count, 1.0);
        assert!((frac - 15f64.powi(3) / 131072.0).abs() < 0.002, "{frac}");
        let keras_out = OutPaint {
            fill: Fill::Constant,
            cut: Span::voxels(10, 20),
            count: BoxCount::ONE,
            ..OutPaint::default()
        };
        let (_, kept) = stats(&keras_out, 4000);
        assert!((kept - 49.0 * 49.0 * 17.0 / 131072.0).abs() < 0.01, "{kept}");
    }

    #[test]
    fn pre_2020_counts_are_geometric_with_mean_about_19() {
        let t = InPaint { count: BoxCount::uncapped(0, 0.95), ..InPaint::default() };
        let (count, _) = stats(&t, 2000);
        assert!((count - 19.0).abs() < 1.5, "{count}");
    }

    #[test]
    fn painting_fills_only_where_it_should() {
        let mut rng = stream(42, "paint-test", &[]);
        let v = Volume::filled(CUBE, 2.0).unwrap();
        let p = InPaint { count: BoxCount::ONE, ..InPaint::default() }.sample(&mut rng, CUBE);
        let mut w = v.clone();
        p.apply(&mut w).unwrap();
        let painted = w.data().iter().filter(|&&x| x != 2.0).count();
        assert_eq!(painted, p.regions[0].voxels());
        assert!(w.data().iter().all(|&x| x == 2.0 || (0.0..1.0).contains(&x)));
        let q = OutPaint::default().sample(&mut rng, CUBE);
        let mut w = v.clone();
        q.apply(&mut w).unwrap();
        let kept = w.data().iter().filter(|&&x| x == 2.0).count() as f64 / w.data().len() as f64;
        assert!((kept - coverage(CUBE, q.regions.iter().copied())).abs() < 1e-12);
        assert!(matches!(
            q.apply(&mut Volume::filled([8, 8, 8], 0.5).unwrap()),
            Err(TransformError::ShapeMismatch { .. })
        ));
    }
}
