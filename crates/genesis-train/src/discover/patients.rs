//! The whole images or volumes discovery works on: rendered phantoms held in memory, or the
//! files of a folder read again whenever a crop needs them (memory stays bounded by one
//! patient).

use std::path::Path;

use anyhow::{Context, bail};
use genesis_core::Volume;
use genesis_core::phantom::PhantomConfig;
use genesis_io::Preprocess;
use genesis_io::datasets::folder::FolderDataset;

use crate::phantoms::render_phantoms;
use crate::recipe::Dim;

/// The patients of a discovery run.
pub enum Patients {
    /// Rendered phantoms, named `phantom-<index>-<body type>`.
    Phantoms {
        /// Names, by index.
        names: Vec<String>,
        /// Volumes in [0, 1].
        volumes: Vec<Volume>,
    },
    /// Every readable file of a folder, sorted; named by path relative to the folder.
    Folder {
        /// The folder.
        dataset: FolderDataset,
        /// Names, by index.
        names: Vec<String>,
        /// 2-D or 3-D (checked on every load).
        dim: Dim,
    },
}

impl Patients {
    /// Renders `count` phantom radiographs (2-D) or normalized CTs (3-D) on `workers` threads.
    pub fn phantoms(
        seed: u64,
        count: usize,
        dim: Dim,
        cfg: PhantomConfig,
        workers: usize,
    ) -> anyhow::Result<Self> {
        let rendered = render_phantoms(seed, count, dim, cfg, workers)?;
        let (names, volumes) = rendered
            .into_iter()
            .enumerate()
            .map(|(i, (body, v))| (format!("phantom-{i:04}-{body}"), v))
            .unzip();
        Ok(Self::Phantoms { names, volumes })
    }

    /// The readable files of `dir`.
    pub fn folder(dir: &Path, dim: Dim) -> anyhow::Result<Self> {
        let dataset = FolderDataset::open(dir, Preprocess::default())?;
        let names = dataset.items().iter().map(|i| i.name(dir)).collect();
        Ok(Self::Folder { dataset, names, dim })
    }

    /// Number of patients.
    pub fn len(&self) -> usize {
        self.names().len()
    }

    /// Patient names, by index.
    pub fn names(&self) -> &[String] {
        match self {
            Self::Phantoms { names, .. } | Self::Folder { names, .. } => names,
        }
    }

    /// Patient `index`, normalized to [0, 1].
    pub fn load(&self, index: usize) -> anyhow::Result<Volume> {
        match self {
            Self::Phantoms { volumes, .. } => {
                volumes.get(index).cloned().context("patient index out of range")
            }
            Self::Folder { dataset, names, dim } => {
                let v = dataset.get(index)?;
                match (dim, v.is_2d()) {
                    (Dim::D2, false) => bail!(
                        "{}: a volume of shape {:?} in a 2d discovery; use --dim 3d or a folder of 2-D images",
                        names[index],
                        v.shape()
                    ),
                    (Dim::D3, true) => bail!(
                        "{}: a 2-D image in a 3d discovery; use --dim 2d or a folder of volumes",
                        names[index]
                    ),
                    _ => Ok(v),
                }
            }
        }
    }
}
