//! Embeddings of files: the pooled bottleneck of a trained network for each image or volume
//! (spec §4.2), written as NPY with the file list, plus each input's nearest neighbours.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use genesis_core::Volume;
use genesis_core::knn::Points;
use genesis_core::resize::{Filter, resize};
use genesis_io::Preprocess;
use genesis_io::datasets::folder::{FolderDataset, Item};
use genesis_io::fsutil::write_atomic;
use genesis_nn::burn::tensor::Device;
use genesis_nn::host::{read, upload_volumes};
use genesis_nn::weights::load_file;
use genesis_nn::{ArchSpec, ModelTask, Network};

use crate::observer::Observer;

/// What to embed, with which network, and where to write.
#[derive(Debug, Clone)]
pub struct EmbedJob {
    /// Files, or folders searched recursively.
    pub inputs: Vec<PathBuf>,
    /// The network.
    pub spec: ArchSpec,
    /// Its weights (`.bpk`, `.pt`, `.safetensors`).
    pub weights: PathBuf,
    /// Inputs are resized to size × size (2-D) or size × size × size/2 (3-D).
    pub size: usize,
    /// Output folder: `embeddings.npy`, `files.txt`, `neighbours.csv`.
    pub out: PathBuf,
    /// Nearest neighbours listed per input.
    pub neighbours: usize,
}

/// The embeddings written, and each input's nearest neighbours.
pub struct Embeddings {
    /// Input files, in row order.
    pub files: Vec<String>,
    /// Length of one vector.
    pub dim: usize,
    /// Per input: `(index of the neighbour, distance)`, nearest first.
    pub neighbours: Vec<Vec<(usize, f64)>>,
}

/// Embeds every input of `job` on the CPU and writes the outputs.
pub fn run(job: &EmbedJob, obs: &mut dyn Observer) -> anyhow::Result<Embeddings> {
    let files = files(&job.inputs)?;
    let device = Device::flex();
    let task = Embed { files: &files, job, device: device.clone(), obs };
    let (vectors, dim) = job.spec.with_model(&device, task)?;
    std::fs::create_dir_all(&job.out)
        .with_context(|| format!("cannot create {}", job.out.display()))?;
    write_atomic(
        &job.out.join("embeddings.npy"),
        &genesis_io::npy::encode(&[files.len(), dim], &vectors),
    )?;
    let names: Vec<String> = files.iter().map(|f| f.name(Path::new(""))).collect();
    write_atomic(&job.out.join("files.txt"), (names.join("\n") + "\n").as_bytes())?;
    let points = Points::new(&vectors, dim)?;
    let mut csv = String::from("file,neighbour,rank,distance\n");
    let mut neighbours = Vec::with_capacity(names.len());
    for (i, name) in names.iter().enumerate() {
        let near = points.nearest(i, job.neighbours + 1)?;
        for (rank, n) in near.iter().enumerate().skip(1) {
            csv += &format!("{name},{},{rank},{}\n", names[n.index], n.distance);
        }
        neighbours.push(near[1..].iter().map(|n| (n.index, n.distance)).collect());
    }
    write_atomic(&job.out.join("neighbours.csv"), csv.as_bytes())?;
    Ok(Embeddings { files: names, dim, neighbours })
}

/// The items named by `inputs` (folders expanded, in sorted order: files, and one item per
/// series of a folder of DICOM slices).
fn files(inputs: &[PathBuf]) -> anyhow::Result<Vec<Item>> {
    let mut out = Vec::new();
    for input in inputs {
        if input.is_dir() {
            out.extend(FolderDataset::open(input, Preprocess::default())?.items().iter().cloned());
        } else if input.is_file() {
            out.push(Item { path: input.clone(), series: None, mixed: false });
        } else {
            bail!("{}: no such file or folder", input.display());
        }
    }
    Ok(out)
}

/// What [`run`] hands to the model dispatch.
struct Embed<'a> {
    files: &'a [Item],
    job: &'a EmbedJob,
    device: Device,
    obs: &'a mut dyn Observer,
}

impl Embed<'_> {
    /// Loads `item` and resizes it to the model's input shape (`rank` 4 = 2-D).
    fn load(&self, item: &Item, rank: usize) -> anyhow::Result<Volume> {
        let v = item.load(&Preprocess::default())?.volume;
        let file = &item.path;
        let size = self.job.size;
        let shape = match (rank, v.is_2d()) {
            (4, true) => [size, size, 1],
            (5, false) => [size, size, (size / 2).max(1)],
            (4, false) => bail!("{}: a volume, but the architecture is 2-D", file.display()),
            _ => bail!("{}: a 2-D image, but the architecture is 3-D", file.display()),
        };
        Ok(resize(&v, shape, Filter::Area)?)
    }
}

impl ModelTask for Embed<'_> {
    type Output = anyhow::Result<(Vec<f32>, usize)>;

    fn run<M: Network<D>, const D: usize>(self, model: M) -> Self::Output {
        let weights = &self.job.weights;
        let (model, report) = load_file(model, weights, false).with_context(|| {
            format!("{} does not fit this --arch/--base/--depth", weights.display())
        })?;
        self.obs.note(&report.to_string());
        let mut vectors = Vec::new();
        for chunk in self.files.chunks(16) {
            let volumes =
                chunk.iter().map(|f| self.load(f, D)).collect::<anyhow::Result<Vec<_>>>()?;
            let mut dims = vec![volumes.len(), 1];
            dims.extend_from_slice(&volumes[0].shape()[..D - 2]);
            model.check_input(&dims)?;
            let refs: Vec<&Volume> = volumes.iter().collect();
            vectors.extend(read(model.embed(upload_volumes::<D>(&refs, &self.device)))?);
        }
        let dim = vectors.len() / self.files.len().max(1);
        Ok((vectors, dim))
    }
}
