//! `genesis embed`: the pooled bottleneck of a trained network for each image or volume
//! (spec §4.2), written as NPY with the file list, plus each input's nearest neighbours.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use genesis_core::Volume;
use genesis_core::knn::Points;
use genesis_core::resize::{Filter, resize};
use genesis_io::Conventions;
use genesis_io::datasets::folder::FolderDataset;
use genesis_nn::burn::module::Module;
use genesis_nn::burn::tensor::{Device, Tensor};
use genesis_nn::weights::load_file;
use genesis_nn::{BnMode, GenesisModel, ModelTask};

use crate::import::ArchArgs;
use crate::pretrain::checkpoint::write_atomic;
use crate::pretrain::model::host_tensor;

/// Arguments of `genesis embed`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Images (2-D architectures) or volumes (3-D ones): files, or folders searched
    /// recursively.
    #[arg(required = true)]
    pub inputs: Vec<PathBuf>,
    #[command(flatten)]
    pub model: ArchArgs,
    /// Weights: a `.bpk` from `genesis pretrain` (checkpoints/best/model.bpk) or `genesis
    /// discover` (autoencoder.bpk), or imported `.pt`/`.safetensors`.
    #[arg(long)]
    pub weights: PathBuf,
    /// Inputs are resized to SIZE×SIZE (2-D) or SIZE×SIZE×SIZE/2 (3-D); it must be divisible
    /// by 2^(levels − 1).
    #[arg(long, default_value_t = 64)]
    pub size: usize,
    /// Batch-norm statistics: `running` (each input embedded alone) or `batch`.
    #[arg(long, default_value = "running", value_parser = parse_bn)]
    pub bn: BnMode,
    /// Output folder: embeddings.npy `[N, D]`, files.txt (one input per line, same order) and
    /// neighbours.csv.
    #[arg(long, default_value = "runs/embed")]
    pub out: PathBuf,
    /// Nearest neighbours listed per input.
    #[arg(long, default_value_t = 3)]
    pub neighbours: usize,
}

fn parse_bn(s: &str) -> Result<BnMode, String> {
    BnMode::parse(s).ok_or_else(|| format!("unknown batch-norm mode '{s}'; use batch or running"))
}

/// The files named by `inputs` (folders expanded, in sorted order).
fn files(inputs: &[PathBuf]) -> anyhow::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for input in inputs {
        if input.is_dir() {
            out.extend(FolderDataset::open(input, Conventions::default())?.files().iter().cloned());
        } else if input.is_file() {
            out.push(input.clone());
        } else {
            bail!("{}: no such file or folder", input.display());
        }
    }
    Ok(out)
}

struct Embed<'a> {
    files: &'a [PathBuf],
    size: usize,
    weights: &'a Path,
    device: Device,
}

impl Embed<'_> {
    /// Loads `file` and resizes it to the model's input shape (`rank` 4 = 2-D).
    fn load(&self, file: &Path, rank: usize) -> anyhow::Result<Volume> {
        let v = genesis_io::load_normalized(file)?;
        let shape = match (rank, v.is_2d()) {
            (4, true) => [self.size, self.size, 1],
            (5, false) => [self.size, self.size, (self.size / 2).max(1)],
            (4, false) => bail!("{}: a volume, but the architecture is 2-D", file.display()),
            _ => bail!("{}: a 2-D image, but the architecture is 3-D", file.display()),
        };
        Ok(resize(&v, shape, Filter::Area)?)
    }
}

impl ModelTask for Embed<'_> {
    type Output = anyhow::Result<(Vec<f32>, usize)>;
    fn run<M: Module + GenesisModel<D>, const D: usize>(self, model: M) -> Self::Output {
        let (model, report) = load_file(model, self.weights, false).with_context(|| {
            format!("{} does not fit this --arch/--base/--depth", self.weights.display())
        })?;
        println!("{report}");
        let mut vectors = Vec::new();
        for chunk in self.files.chunks(16) {
            let volumes =
                chunk.iter().map(|f| self.load(f, D)).collect::<anyhow::Result<Vec<_>>>()?;
            let shape = volumes[0].shape();
            let mut dims = vec![volumes.len(), 1];
            dims.extend_from_slice(&shape[..D - 2]);
            model.check_input(&dims)?;
            let data = volumes.iter().flat_map(|v| v.data().iter().copied()).collect::<Vec<_>>();
            let x: Tensor<D> = host_tensor(&data, volumes.len(), shape, &self.device);
            vectors.extend(
                model
                    .embed(x)
                    .into_data()
                    .convert::<f32>()
                    .try_into_vec::<f32>()
                    .map_err(|e| anyhow::anyhow!("reading embeddings: {e:?}"))?,
            );
        }
        let dim = vectors.len() / self.files.len().max(1);
        Ok((vectors, dim))
    }
}

/// Runs `genesis embed`.
pub fn run(args: Args) -> anyhow::Result<()> {
    let files = files(&args.inputs)?;
    let device = Device::flex();
    let task =
        Embed { files: &files, size: args.size, weights: &args.weights, device: device.clone() };
    let (vectors, dim) = args.model.spec(args.bn).with_model(&device, task)?;
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("cannot create {}", args.out.display()))?;
    write_atomic(
        &args.out.join("embeddings.npy"),
        &genesis_io::npy::encode(&[files.len(), dim], &vectors),
    )?;
    let names: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
    write_atomic(&args.out.join("files.txt"), (names.join("\n") + "\n").as_bytes())?;
    let points = Points::new(&vectors, dim)?;
    let mut csv = String::from("file,neighbour,rank,distance\n");
    for (i, name) in names.iter().enumerate() {
        let near = points.nearest(i, args.neighbours + 1)?;
        let shown: Vec<String> = near[1..]
            .iter()
            .map(|n| format!("{} ({:.4})", short(&names[n.index]), n.distance))
            .collect();
        println!("{:<28} → {}", short(name), shown.join(", "));
        for (rank, n) in near.iter().enumerate().skip(1) {
            csv += &format!("{name},{},{rank},{}\n", names[n.index], n.distance);
        }
    }
    write_atomic(&args.out.join("neighbours.csv"), csv.as_bytes())?;
    println!("wrote {}-d embeddings of {} inputs to {}", dim, files.len(), args.out.display());
    Ok(())
}

/// The file name of a path.
fn short(path: &str) -> &str {
    Path::new(path).file_name().and_then(|n| n.to_str()).unwrap_or(path)
}
