//! `genesis phantom`: writes synthetic chest phantoms (the built-in data) to a folder — PA
//! radiographs as 8-bit PNG or axial CT volumes in Hounsfield units as NIfTI — with a
//! `phantoms.json` listing each file's body type and nodule count.

use std::path::PathBuf;

use anyhow::Context;
use genesis_core::phantom::{PhantomConfig, chest_ct, chest_xray};

/// Which phantom to render.
#[derive(Clone, Copy, clap::ValueEnum)]
pub enum Dim {
    /// Chest radiographs (PNG, values in [0, 1]).
    #[value(name = "2d")]
    Two,
    /// Chest CT volumes (NIfTI `.nii.gz`, Hounsfield units).
    #[value(name = "3d")]
    Three,
}

/// Arguments of `genesis phantom`.
#[derive(clap::Args)]
pub struct Args {
    /// 2d (radiograph PNGs) or 3d (CT NIfTI volumes).
    #[arg(long)]
    pub dim: Dim,
    /// Number of patients.
    #[arg(long, default_value_t = 8)]
    pub count: u64,
    /// Output folder (created if missing).
    #[arg(long)]
    pub out: PathBuf,
    /// Seed: the same seed gives the same patients.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Radiograph side in pixels (2d).
    #[arg(long, default_value_t = 256)]
    pub size: usize,
}

/// Renders and writes the phantoms.
pub fn run(args: Args) -> anyhow::Result<()> {
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;
    let config = PhantomConfig { size_2d: args.size, ..PhantomConfig::default() };
    let mut listing = Vec::new();
    for index in 0..args.count {
        let (phantom, name) = match args.dim {
            Dim::Two => (chest_xray(args.seed, index, &config)?, format!("phantom_{index:04}.png")),
            Dim::Three => {
                (chest_ct(args.seed, index, &config)?, format!("phantom_{index:04}.nii.gz"))
            }
        };
        let path = args.out.join(&name);
        match args.dim {
            Dim::Two => genesis_io::raster::write_png(&path, &phantom.volume, false)?,
            Dim::Three => genesis_io::nifti::write(&path, &phantom.volume)?,
        }
        listing.push(format!(
            "  {{\"file\": \"{name}\", \"body\": \"{:?}\", \"nodules\": {}}}",
            phantom.anatomy.body,
            phantom.anatomy.nodules.len()
        ));
        println!("{}", path.display());
    }
    let json = format!("[\n{}\n]\n", listing.join(",\n"));
    let list = args.out.join("phantoms.json");
    std::fs::write(&list, json).with_context(|| format!("writing {}", list.display()))
}
