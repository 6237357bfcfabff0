//! The two self-restoration pipelines (spec §2.7) and their presets.
//!
//! - **Models Genesis**: flip (input and target together) → local shuffle (p 0.5) → Bezier
//!   (p 0.9) → with p 0.9 painting: in-painting with p 0.2, else out-painting. Marginals:
//!   shuffle 0.5, Bezier 0.9, in-paint 0.18, out-paint 0.72.
//! - **Semantic Genesis**: elastic warp of the input (the target stays un-warped), then
//!   exactly one of shuffle / Bezier / in-paint / out-paint with p 0.25 each. No flips.
//!
//! A pipeline first *plans* a sample (every random choice, as a list of [`Applied`]
//! parameters; no voxel is touched) and then *executes* the plan, so plans can be logged,
//! shown, replayed ([`execute`]) and their statistics tested cheaply.
//!
//! [`Quirks`] are the named switches for the known differences of the released code
//! (spec §12); their defaults and the reasons are documented on each field.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::rng::{GenesisRng, stream};
use crate::transforms::{
    Bezier, BezierParams, BoxCount, Elastic, ElasticParams, Fill, Flip, FlipAxes, FlipParams,
    InPaint, LocalShuffle, OutPaint, PaintMode, PaintParams, ShuffleParams, Span, Transform,
    TransformError, chance, check, draw,
};
use crate::volume::Volume;

/// A named pipeline preset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Preset {
    /// Models Genesis (MICCAI 2019 / MedIA 2021).
    ModelsGenesis,
    /// Semantic Genesis / TransVW (MICCAI 2020 / TMI 2021).
    SemanticGenesis,
}

impl Preset {
    /// Both presets.
    pub const ALL: [Preset; 2] = [Preset::ModelsGenesis, Preset::SemanticGenesis];

    /// The kebab-case name (`models-genesis`, `semantic-genesis`).
    pub fn name(self) -> &'static str {
        match self {
            Preset::ModelsGenesis => "models-genesis",
            Preset::SemanticGenesis => "semantic-genesis",
        }
    }
}

impl fmt::Display for Preset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Preset {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        Preset::ALL
            .into_iter()
            .find(|p| p.name() == s)
            .ok_or_else(|| format!("unknown preset {s:?}; use models-genesis or semantic-genesis"))
    }
}

/// Painting flavour of the Semantic Genesis preset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SgPaint {
    /// The released PyTorch code: noise fill, Models Genesis box sizes, one box (default: it
    /// scales with the input size, so it also works for 2D and non-64 cubes, and it matches
    /// the PyTorch models this project mirrors).
    #[default]
    Pytorch,
    /// The released Keras code: one constant fill, 10–20 voxel sides/cuts, one box.
    Keras,
}

/// Switches for the known quirks of the released code (spec §12). Defaults fix plain bugs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Quirks {
    /// Models Genesis flips pick (channel, X, Y) as released: a third are no-ops and Z never
    /// flips. Default off: a plain indexing bug, fixed in the authors' later code.
    pub released_flip_axes: bool,
    /// Semantic Genesis shuffles 5 boxes as released (≈0.1% of voxels, nearly an identity)
    /// instead of Models Genesis' 10,000. Default off: the papers describe the Models Genesis
    /// transform, and with 5 boxes a quarter of the samples are left as pure elastic warps.
    pub sg_five_block_shuffle: bool,
    /// Models Genesis painting counts as before Feb 2020 (geometric, mean ≈ 19 boxes; the code
    /// of the MICCAI 2019 weights). Default off: the current released code caps them at 5.
    pub pre_2020_box_counts: bool,
    /// Semantic Genesis painting flavour (default PyTorch).
    pub sg_paint: SgPaint,
}

/// The Models Genesis pipeline; its fields are its config.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ModelsGenesis {
    /// Flips (input and target).
    pub flip: Flip,
    /// Local shuffling.
    pub shuffle: LocalShuffle,
    /// Bezier intensity mapping.
    pub bezier: Bezier,
    /// In-painting.
    pub inpaint: InPaint,
    /// Out-painting.
    pub outpaint: OutPaint,
    /// Probability of local shuffling (`local_rate`, 0.5).
    pub local_rate: f64,
    /// Probability of the Bezier mapping (`nonlinear_rate`, 0.9).
    pub nonlinear_rate: f64,
    /// Probability of painting (`paint_rate`, 0.9).
    pub paint_rate: f64,
    /// Given painting, probability of in-painting (`inpaint_rate`, 0.2).
    pub inpaint_rate: f64,
}

impl Default for ModelsGenesis {
    fn default() -> Self {
        Self::new(&Quirks::default())
    }
}

impl ModelsGenesis {
    /// The preset with `quirks` applied.
    pub fn new(quirks: &Quirks) -> Self {
        let axes = if quirks.released_flip_axes { FlipAxes::Released } else { FlipAxes::Spatial };
        let mut inpaint = InPaint::default();
        let mut outpaint = OutPaint::default();
        if quirks.pre_2020_box_counts {
            inpaint.count = BoxCount::uncapped(0, inpaint.count.continue_prob);
            outpaint.count = BoxCount::uncapped(1, outpaint.count.continue_prob);
        }
        Self {
            flip: Flip { axes, ..Flip::default() },
            shuffle: LocalShuffle::default(),
            bezier: Bezier::default(),
            inpaint,
            outpaint,
            local_rate: 0.5,
            nonlinear_rate: 0.9,
            paint_rate: 0.9,
            inpaint_rate: 0.2,
        }
    }

    fn plan(&self, rng: &mut GenesisRng, shape: [usize; 3]) -> Vec<Applied> {
        let mut plan = Vec::with_capacity(4);
        let flip = self.flip.sample(rng, shape);
        if !flip.flips.is_empty() {
            plan.push(Applied::Flip(flip));
        }
        if chance(rng, self.local_rate) {
            plan.push(Applied::LocalShuffle(self.shuffle.sample(rng, shape)));
        }
        if chance(rng, self.nonlinear_rate) {
            plan.push(Applied::Bezier(self.bezier.sample(rng, shape)));
        }
        if chance(rng, self.paint_rate) {
            let paint = if chance(rng, self.inpaint_rate) {
                self.inpaint.sample(rng, shape)
            } else {
                self.outpaint.sample(rng, shape)
            };
            plan.push(Applied::Paint(paint));
        }
        plan
    }
}

/// The Semantic Genesis pipeline; its fields are its config.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SemanticGenesis {
    /// Elastic warp (input only, always).
    pub elastic: Elastic,
    /// Local shuffling.
    pub shuffle: LocalShuffle,
    /// Bezier intensity mapping.
    pub bezier: Bezier,
    /// In-painting.
    pub inpaint: InPaint,
    /// Out-painting.
    pub outpaint: OutPaint,
}

impl Default for SemanticGenesis {
    fn default() -> Self {
        Self::new(&Quirks::default())
    }
}

impl SemanticGenesis {
    /// The preset with `quirks` applied.
    pub fn new(quirks: &Quirks) -> Self {
        let blocks = if quirks.sg_five_block_shuffle { 5 } else { 10_000 };
        let (inpaint, outpaint) = match quirks.sg_paint {
            SgPaint::Pytorch => (
                InPaint { count: BoxCount::ONE, ..InPaint::default() },
                OutPaint { count: BoxCount::ONE, ..OutPaint::default() },
            ),
            SgPaint::Keras => (
                InPaint {
                    fill: Fill::Constant,
                    side: Span::voxels(10, 20),
                    count: BoxCount::ONE,
                    ..InPaint::default()
                },
                OutPaint {
                    fill: Fill::Constant,
                    cut: Span::voxels(10, 20),
                    count: BoxCount::ONE,
                    ..OutPaint::default()
                },
            ),
        };
        Self {
            elastic: Elastic::default(),
            shuffle: LocalShuffle { blocks, ..LocalShuffle::default() },
            bezier: Bezier::default(),
            inpaint,
            outpaint,
        }
    }

    fn plan(&self, rng: &mut GenesisRng, shape: [usize; 3]) -> Vec<Applied> {
        let elastic = Applied::Elastic(self.elastic.sample(rng, shape));
        let r = draw::unit_f64(rng);
        let one = if r <= 0.25 {
            Applied::LocalShuffle(self.shuffle.sample(rng, shape))
        } else if r <= 0.5 {
            Applied::Bezier(self.bezier.sample(rng, shape))
        } else if r <= 0.75 {
            Applied::Paint(self.inpaint.sample(rng, shape))
        } else {
            Applied::Paint(self.outpaint.sample(rng, shape))
        };
        vec![elastic, one]
    }
}

/// A configured pipeline.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "preset", rename_all = "kebab-case")]
pub enum Pipeline {
    /// Models Genesis.
    ModelsGenesis(ModelsGenesis),
    /// Semantic Genesis.
    SemanticGenesis(SemanticGenesis),
}

/// One transform as applied, with its drawn parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "transform", rename_all = "kebab-case")]
pub enum Applied {
    /// Flips of input and target.
    Flip(FlipParams),
    /// Local pixel shuffling.
    LocalShuffle(ShuffleParams),
    /// Bezier intensity mapping.
    Bezier(BezierParams),
    /// In- or out-painting.
    Paint(PaintParams),
    /// Elastic warp.
    Elastic(ElasticParams),
}

impl Applied {
    /// Short name: `flip`, `shuffle`, `bezier`, `inpaint`, `outpaint` or `elastic`.
    pub fn name(&self) -> &'static str {
        match self {
            Applied::Flip(_) => "flip",
            Applied::LocalShuffle(_) => "shuffle",
            Applied::Bezier(_) => "bezier",
            Applied::Paint(p) if p.mode == PaintMode::In => "inpaint",
            Applied::Paint(_) => "outpaint",
            Applied::Elastic(_) => "elastic",
        }
    }

    /// Shape the parameters were drawn for, when they depend on it.
    fn shape(&self) -> Option<[usize; 3]> {
        match self {
            Applied::Flip(_) | Applied::Bezier(_) => None,
            Applied::LocalShuffle(p) => Some(p.shape),
            Applied::Paint(p) => Some(p.shape),
            Applied::Elastic(p) => Some(p.shape),
        }
    }

    /// Applies this step alone to `volume` (flips included); fails on NaN/∞ voxels or a shape
    /// the draw was not made for.
    pub fn apply(&self, volume: &mut Volume) -> Result<(), TransformError> {
        check(volume, None)?;
        self.run_input(volume)
    }

    /// Fails when the parameters were drawn for another shape than `volume`'s.
    fn check_shape(&self, volume: &Volume) -> Result<(), TransformError> {
        match self.shape() {
            Some(expected) if expected != volume.shape() => {
                Err(TransformError::ShapeMismatch { expected, actual: volume.shape() })
            }
            _ => Ok(()),
        }
    }

    /// Applies to the network input of a pair whose voxels are already checked finite.
    fn run_input(&self, input: &mut Volume) -> Result<(), TransformError> {
        self.check_shape(input)?;
        self.run_checked(input)
    }

    /// [`Applied::run_input`] once the shape is checked.
    fn run_checked(&self, input: &mut Volume) -> Result<(), TransformError> {
        match self {
            Applied::Flip(p) => p.apply_valid(input),
            Applied::LocalShuffle(p) => p.apply_valid(input),
            Applied::Bezier(p) => p.apply_valid(input),
            Applied::Paint(p) => p.apply_valid(input)?,
            Applied::Elastic(p) => p.apply_valid(input)?,
        }
        Ok(())
    }

    /// Applies to an `input` that still equals `untouched`: the shuffle and the warp read
    /// `untouched` instead of copying the input first.
    fn run_from(&self, untouched: &Volume, input: &mut Volume) -> Result<(), TransformError> {
        self.check_shape(input)?;
        match self {
            Applied::LocalShuffle(p) => p.shuffle(untouched.data(), input.data_mut()),
            Applied::Elastic(p) => p.warp(untouched, input)?,
            _ => self.run_checked(input)?,
        }
        Ok(())
    }

    /// Applies to a pair whose voxels are already checked finite: flips move the target too.
    fn run(&self, input: &mut Volume, target: &mut Volume) -> Result<(), TransformError> {
        self.run_input(input)?;
        if let Applied::Flip(p) = self {
            p.apply_valid(target);
        }
        Ok(())
    }
}

/// A training pair: the transformed input, the restoration target and what was applied.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// The network input.
    pub input: Volume,
    /// The restoration target (the original, flipped like the input where flips apply).
    pub target: Volume,
    /// The transforms applied, in order.
    pub applied: Vec<Applied>,
}

/// Applies (or replays) `plan` to a copy of `original`.
pub fn execute(original: &Volume, plan: Vec<Applied>) -> Result<Sample, TransformError> {
    check(original, None)?;
    // Leading flips move input and target alike: flip the input, then copy it as the target.
    let lead = plan.iter().take_while(|step| matches!(step, Applied::Flip(_))).count();
    let mut input = original.clone();
    for step in &plan[..lead] {
        step.run_input(&mut input)?;
    }
    let mut target = input.clone();
    let mut rest = plan[lead..].iter();
    if let Some(step) = rest.next() {
        step.run_from(&target, &mut input)?;
    }
    for step in rest {
        step.run(&mut input, &mut target)?;
    }
    Ok(Sample { input, target, applied: plan })
}

impl Pipeline {
    /// The preset's pipeline with `quirks` applied.
    pub fn preset(preset: Preset, quirks: &Quirks) -> Self {
        match preset {
            Preset::ModelsGenesis => Pipeline::ModelsGenesis(ModelsGenesis::new(quirks)),
            Preset::SemanticGenesis => Pipeline::SemanticGenesis(SemanticGenesis::new(quirks)),
        }
    }

    /// Draws every random choice of one sample of `shape`.
    pub fn plan(&self, rng: &mut GenesisRng, shape: [usize; 3]) -> Vec<Applied> {
        match self {
            Pipeline::ModelsGenesis(p) => p.plan(rng, shape),
            Pipeline::SemanticGenesis(p) => p.plan(rng, shape),
        }
    }

    /// Draws and applies one sample.
    pub fn generate(
        &self,
        rng: &mut GenesisRng,
        original: &Volume,
    ) -> Result<Sample, TransformError> {
        execute(original, self.plan(rng, original.shape()))
    }

    /// Sample `index` of `epoch` of a run seeded with `seed`: the same bytes on any thread,
    /// in any order, on any platform.
    pub fn generate_seeded(
        &self,
        seed: u64,
        epoch: u64,
        index: u64,
        original: &Volume,
    ) -> Result<Sample, TransformError> {
        self.generate(&mut stream(seed, "pipeline", &[epoch, index]), original)
    }
}

impl Pipeline {
    /// Draw `seed` of this pipeline that visibly damages `original`: the rare draws that only
    /// flip (or do nothing) are redrawn (index 1, 2, … of the same seed), so a restorer always
    /// has something to restore. The page's restorer and `genesis restore` use it.
    pub fn generate_damaging(
        &self,
        seed: u64,
        original: &Volume,
    ) -> Result<Sample, TransformError> {
        let mut index = 0;
        loop {
            let sample = self.generate_seeded(seed, 0, index, original)?;
            if sample.applied.iter().any(|a| !matches!(a, Applied::Flip(_))) || index >= 64 {
                return Ok(sample);
            }
            index += 1;
        }
    }
}

/// FNV-1a over bytes (64-bit).
pub fn fnv1a(bytes: impl IntoIterator<Item = u8>) -> u64 {
    bytes
        .into_iter()
        .fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
}

/// A deterministic test volume of `shape` with values in [0, 1] (integer pattern, exactly
/// representable on every platform).
pub fn test_pattern(shape: [usize; 3]) -> Result<Volume, TransformError> {
    let [_, ny, nz] = shape;
    let n = crate::volume::voxel_count(shape)?;
    let data = (0..n)
        .map(|i| {
            let (x, y, z) = (i / (ny * nz), (i / nz) % ny, i % nz);
            ((x * 37 + y * 11 + z * 23 + x * y) % 101) as f32 / 100.0
        })
        .collect();
    Ok(Volume::new(shape, data)?)
}

/// Checksum of both presets' outputs (inputs and targets, little-endian `f32` bytes) for a
/// few samples of a 3D and a 2D test pattern under `seed`: compared between native and wasm32
/// to prove cross-platform determinism.
pub fn checksum(seed: u64) -> Result<u64, TransformError> {
    let mut bytes = Vec::new();
    for shape in [[32, 32, 16], [48, 40, 1]] {
        let original = test_pattern(shape)?;
        for preset in Preset::ALL {
            let pipeline = Pipeline::preset(preset, &Quirks::default());
            for index in 0..4 {
                let s = pipeline.generate_seeded(seed, 0, index, &original)?;
                for v in s.input.data().iter().chain(s.target.data()) {
                    bytes.extend_from_slice(&v.to_le_bytes());
                }
            }
        }
    }
    Ok(fnv1a(bytes))
}
