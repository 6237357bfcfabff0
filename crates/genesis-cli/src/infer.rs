//! `genesis infer`: one forward pass on an NPY array, written as NPY, to compare outputs with
//! other implementations.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use genesis_nn::burn::tensor::{Device, Tensor, TensorData};
use genesis_nn::weights::load_file;
use genesis_nn::{BnMode, ModelTask, Network};

use crate::import::ArchArgs;

/// Arguments of `genesis infer`.
#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    pub model: ArchArgs,
    /// Weights (`.bpk`, `.pt`/`.pth` or `.safetensors`).
    #[arg(long)]
    pub weights: PathBuf,
    /// Input array, `(N, C, X, Y, Z)` for 3-D models or `(N, C, H, W)` for 2-D ones.
    #[arg(long)]
    pub input: PathBuf,
    /// Output array (the restoration, same shape as the input with the model's output channels).
    #[arg(long)]
    pub out: PathBuf,
    /// Batch-norm statistics: `batch` (like the released ContBatchNorm3d) or `running`.
    #[arg(long, default_value = "batch", value_parser = parse_bn)]
    pub bn: BnMode,
}

fn parse_bn(s: &str) -> Result<BnMode, String> {
    BnMode::parse(s).ok_or_else(|| format!("unknown batch-norm mode '{s}'; use batch or running"))
}

struct Infer<'a> {
    args: &'a Args,
    shape: Vec<usize>,
    data: Vec<f32>,
    device: Device,
}

impl ModelTask for Infer<'_> {
    type Output = anyhow::Result<(Vec<usize>, Vec<f32>)>;
    fn run<M: Network<D>, const D: usize>(self, model: M) -> Self::Output {
        model.check_input(&self.shape).with_context(|| format!("{}", self.args.input.display()))?;
        let (model, _) = load_file(model, &self.args.weights, false)?;
        let x: Tensor<D> = Tensor::from_data(TensorData::new(self.data, self.shape), &self.device);
        let y = model.forward(x);
        let shape = y.dims().to_vec();
        Ok((shape, genesis_nn::host::read(y)?))
    }
}

fn read_npy(path: &Path) -> anyhow::Result<genesis_io::npy::Array> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    Ok(genesis_io::npy::parse(path, &bytes)?)
}

/// Runs `genesis infer`.
pub fn run(args: Args) -> anyhow::Result<()> {
    let array = read_npy(&args.input)?;
    if array.shape.len() < 4 {
        bail!(
            "{}: expected an (N, C, spatial…) array, got shape {:?}",
            args.input.display(),
            array.shape
        );
    }
    let device = Device::flex();
    let task = Infer { args: &args, shape: array.shape, data: array.data, device: device.clone() };
    let (shape, values) = args.model.spec_for(&args.weights, args.bn)?.with_model(&device, task)?;
    genesis_io::fsutil::write_atomic(&args.out, &genesis_io::npy::encode(&shape, &values))?;
    println!("wrote {} {:?}", args.out.display(), shape);
    Ok(())
}
