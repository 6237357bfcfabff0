//! `genesis transform`: shows what the Genesis transforms and pipelines do to an image or a
//! volume, as a labelled PNG grid: the original, each transform alone, and several samples of
//! each pipeline (for volumes: a few axial slices of each).

use std::path::PathBuf;

use anyhow::Context;
use genesis_core::Volume;
use genesis_core::pipeline::{Applied, Pipeline, Preset, Quirks};
use genesis_core::resize::{Filter, resize};
use genesis_core::showcase;

use crate::render::grid::{self, Row, Section, Tile};

/// Arguments of `genesis transform`.
#[derive(clap::Args)]
pub struct Args {
    /// Image or volume to transform (PNG, JPEG, DICOM, NIfTI, MetaImage or NPY).
    pub input: PathBuf,
    /// Where to write the PNG grid.
    #[arg(long)]
    pub out: PathBuf,
    /// Seed of every random draw (the same seed gives the same grid).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Pipeline to sample: models-genesis or semantic-genesis (default: both).
    #[arg(long)]
    pub preset: Option<Preset>,
    /// Pipeline samples shown per preset.
    #[arg(long, default_value_t = 4)]
    pub samples: usize,
    /// Working size: 2D images are resized so that the longer side has SIZE pixels (default
    /// 224); volumes are resampled to SIZE×SIZE×SIZE/2 (default 64×64×32, the Models Genesis
    /// cube).
    #[arg(long)]
    pub size: Option<usize>,
    /// Also print every drawn parameter set as one JSON line on stdout.
    #[arg(long)]
    pub print_params: bool,
    /// How the scan is read (volume, series, HU window, spacing).
    #[command(flatten)]
    pub scan: crate::flags::Scan,
}

/// Longer side of a tile on screen.
const TILE_SIDE: usize = 224;

/// The working volume: `original` resampled to the size the transforms are defined for.
fn working_volume(original: &Volume, size: Option<usize>) -> anyhow::Result<Volume> {
    let [x, y, z] = original.shape();
    let shape = if original.is_2d() {
        let side = size.unwrap_or(224).max(1);
        let scale = side as f64 / x.max(y) as f64;
        let fit = |d: usize| ((d as f64 * scale).round() as usize).max(1);
        [fit(x), fit(y), 1]
    } else {
        let side = size.unwrap_or(64).max(2);
        [side, side, (side / 2).min(z.max(1)).max(1)]
    };
    Ok(resize(original, shape, Filter::Area)?)
}

/// Axial slices shown for a volume (one for 2D images).
fn slices(shape: [usize; 3]) -> Vec<usize> {
    let z = shape[2];
    let mut picks: Vec<usize> = [z / 4, z / 2, 3 * z / 4].into_iter().collect();
    picks.dedup();
    picks
}

/// Slice `z` of `volume` as a tile scaled to fit [`TILE_SIDE`], with `caption`.
fn tile(volume: &Volume, z: usize, caption: Vec<String>) -> anyhow::Result<Tile> {
    let [nx, ny, _] = volume.shape();
    let plane: Vec<f32> = (0..nx)
        .flat_map(|x| (0..ny).map(move |y| (x, y)))
        .map(|(x, y)| volume.get(x, y, z))
        .collect();
    let scale = TILE_SIDE as f64 / nx.max(ny) as f64;
    let fit = |d: usize| ((d as f64 * scale).round() as usize).max(1);
    let shown = resize(&Volume::new([nx, ny, 1], plane)?, [fit(nx), fit(ny), 1], Filter::Area)?;
    Ok(Tile { width: fit(ny), height: fit(nx), gray: shown.into_data(), caption })
}

/// A column: one volume shown as a tile per slice.
struct Column {
    volume: Volume,
    caption: Vec<String>,
}

/// Each transform alone, drawn with the settings of `preset`'s pipeline, after the original.
fn transforms_alone(original: &Volume, preset: Preset, seed: u64) -> anyhow::Result<Vec<Column>> {
    let mut columns = vec![Column {
        volume: original.clone(),
        caption: vec!["original".into(), format!("{:?}", original.shape())],
    }];
    for step in showcase::transforms_alone(preset, seed, original.shape()) {
        columns.push(Column {
            volume: showcase::apply_alone(original, &step)?,
            caption: vec![step.name().to_owned(), showcase::describe(&step)],
        });
    }
    Ok(columns)
}

/// `count` samples of `preset`'s pipeline.
fn pipeline_samples(
    original: &Volume,
    preset: Preset,
    seed: u64,
    count: usize,
    print: bool,
) -> anyhow::Result<Vec<Column>> {
    let pipeline = Pipeline::preset(preset, &Quirks::default());
    (0..count as u64)
        .map(|i| {
            let sample = pipeline.generate_seeded(seed, 0, i, original)?;
            if print {
                println!(
                    "{}",
                    serde_json::json!({"preset": preset, "index": i, "applied": sample.applied})
                );
            }
            let names: Vec<&str> = sample.applied.iter().map(Applied::name).collect();
            let label = if names.is_empty() { "identity".to_owned() } else { names.join("+") };
            Ok(Column { volume: sample.input, caption: vec![format!("sample {}", i + 1), label] })
        })
        .collect()
}

/// Lays `columns` out as one section: a row per slice.
fn section(title: String, columns: &[Column]) -> anyhow::Result<Section> {
    let shape = columns.first().map(|c| c.volume.shape()).unwrap_or([1, 1, 1]);
    let zs = slices(shape);
    let rows = zs
        .iter()
        .enumerate()
        .map(|(r, &z)| {
            let tiles = columns
                .iter()
                .map(|c| {
                    tile(&c.volume, z, if r + 1 == zs.len() { c.caption.clone() } else { vec![] })
                })
                .collect::<anyhow::Result<Vec<_>>>()?;
            let label = if shape[2] == 1 { String::new() } else { format!("z={z}") };
            Ok(Row { label, tiles })
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    Ok(Section { title, rows })
}

/// Runs `genesis transform`.
pub fn run(args: Args) -> anyhow::Result<()> {
    let pre = args.scan.over(genesis_io::Preprocess::default())?;
    let loaded = genesis_io::load_preprocessed(&args.input, &pre)
        .with_context(|| format!("cannot read {}", args.input.display()))?;
    if let Some(notice) = loaded.notice() {
        eprintln!("{}: {notice} (choose another with --volume K)", args.input.display());
    }
    let original = loaded.volume;
    let volume = working_volume(&original, args.size)?;
    let presets: Vec<Preset> = match args.preset {
        Some(p) => vec![p],
        None => Preset::ALL.to_vec(),
    };
    let mut sections = vec![section(
        format!("each transform alone ({}, seed {})", presets[0], args.seed),
        &transforms_alone(&volume, presets[0], args.seed)?,
    )?];
    for preset in presets {
        let columns =
            pipeline_samples(&volume, preset, args.seed, args.samples, args.print_params)?;
        sections.push(section(format!("{preset} pipeline: inputs"), &columns)?);
    }
    grid::save(&sections, &args.out)?;
    eprintln!(
        "wrote {} ({:?} resampled to {:?})",
        args.out.display(),
        original.shape(),
        volume.shape()
    );
    Ok(())
}
