//! 3-D scans for the page: dropped volumes (one file, a `.mhd` with its data file, or the
//! slices of a DICOM series) read by genesis-io as the CLI reads them, the built-in CT
//! phantom, orthogonal slices for canvases and the cube the 3-D transforms run on.

use genesis_core::patches::crop_around;
use genesis_core::phantom::{PhantomConfig, chest_ct};
use genesis_core::showcase::{plane, rgba};
use genesis_core::{Modality, Volume};
use genesis_io::{Conventions, LoadOptions};
use wasm_bindgen::prelude::*;

/// The cube the page's 3-D transforms and restorer use, `[x, y, z]` (the papers' input).
pub const CUBE: [usize; 3] = [64, 64, 32];
/// The page renders the CT phantom at half the CLI's resolution (a quarter of a second in wasm).
const PHANTOM_SHAPE: [usize; 3] = [192, 192, 56];

/// A volume with intensities in [0, 1] (CT through the HU window [−1000, 1000], MR min–max, as
/// `genesis pretrain` normalizes them) and what the page tells the visitor about it.
#[wasm_bindgen]
pub struct Scan {
    volume: Volume,
    notice: String,
}

impl Scan {
    fn normalized(mut volume: Volume, notice: String) -> Self {
        Conventions::default().normalize(&mut volume);
        Self { volume, notice }
    }

    /// The volume, intensities in [0, 1].
    pub fn volume(&self) -> &Volume {
        &self.volume
    }
}

#[wasm_bindgen]
impl Scan {
    /// Decodes dropped files as one volume: `bytes` holds the files one after the other,
    /// `sizes[i]` bytes for `names[i]`.
    pub fn decode(names: Vec<String>, sizes: Vec<usize>, bytes: &[u8]) -> Result<Scan, JsError> {
        if names.len() != sizes.len() || sizes.iter().sum::<usize>() != bytes.len() {
            return Err(JsError::new("names, sizes and bytes do not describe the same files"));
        }
        let mut files = Vec::with_capacity(names.len());
        let mut start = 0;
        for (name, size) in names.into_iter().zip(sizes) {
            files.push((name, &bytes[start..start + size]));
            start += size;
        }
        let loaded = genesis_io::from_files(&files, &LoadOptions::default())?;
        let modality = loaded.volume.meta.modality;
        let norm = Conventions::default().for_modality(modality);
        let name = match modality {
            Modality::Ct => "CT",
            Modality::Mr => "MR",
            Modality::Xray => "X-ray",
            Modality::Other => "unknown modality",
        };
        let mut parts = vec![format!("{name}, intensities to [0, 1] by {norm}")];
        parts.extend(loaded.notice());
        parts.extend(loaded.series.as_ref().map(|s| format!("DICOM series {s}")));
        let notice = parts.join("; ");
        Ok(Scan::normalized(loaded.volume, notice))
    }

    /// Synthetic chest CT number `index` (deterministic).
    pub fn phantom(index: u64) -> Result<Scan, JsError> {
        let config = PhantomConfig {
            shape_3d: PHANTOM_SHAPE,
            spacing_3d: [1.6, 1.6, 5.0],
            ..PhantomConfig::default()
        };
        let volume = chest_ct(0, index, &config)?.volume;
        Ok(Scan::normalized(
            volume,
            "synthetic chest CT, intensities to [0, 1] by window -1000…1000".into(),
        ))
    }

    /// The 64×64×32 cube centred on voxel (`x`, `y`, `z`), kept inside the scan (zero outside a
    /// smaller scan).
    pub fn cube(&self, x: usize, y: usize, z: usize) -> Result<Scan, JsError> {
        let (volume, start) = crop_around(&self.volume, [x, y, z], CUBE)?;
        let notice = format!("cube from voxel ({}, {}, {})", start[0], start[1], start[2]);
        Ok(Scan { volume, notice })
    }

    /// A volume from voxels in [0, 1] (`[x, y, z]`, z fastest), e.g. a cube sent to a worker.
    #[wasm_bindgen(js_name = fromVoxels)]
    pub fn from_voxels(shape: Vec<usize>, voxels: Vec<f32>) -> Result<Scan, JsError> {
        let shape: [usize; 3] =
            shape.try_into().map_err(|_| JsError::new("a volume's shape has three sides"))?;
        let volume = Volume::new(shape, voxels)?;
        volume.check_finite()?;
        Ok(Scan { volume, notice: String::new() })
    }

    /// The voxels, `[x, y, z]` with z fastest.
    pub fn voxels(&self) -> Vec<f32> {
        self.volume.data().to_vec()
    }

    /// `[x, y, z]` in voxels.
    pub fn shape(&self) -> Vec<usize> {
        self.volume.shape().to_vec()
    }

    /// Voxel spacing in mm, `[x, y, z]`.
    pub fn spacing(&self) -> Vec<f64> {
        self.volume.meta.spacing.to_vec()
    }

    /// What was read and how it was windowed.
    #[wasm_bindgen(getter)]
    pub fn notice(&self) -> String {
        self.notice.clone()
    }

    /// `[width, height]` of the planes of `axis` (0 sagittal, 1 coronal, 2 axial).
    #[wasm_bindgen(js_name = planeSize)]
    pub fn plane_size(&self, axis: usize) -> Vec<usize> {
        plane_size(&self.volume, axis)
    }

    /// RGBA bytes of plane `index` of `axis` (empty when out of range).
    #[wasm_bindgen(js_name = planeRgba)]
    pub fn plane_rgba(&self, axis: usize, index: usize) -> Vec<u8> {
        plane_rgba(&self.volume, axis, index)
    }
}

/// `[width, height]` of the planes of `axis` of `volume` (see [`plane`]).
pub fn plane_size(volume: &Volume, axis: usize) -> Vec<usize> {
    let [x, y, z] = volume.shape();
    match axis {
        0 => vec![y, z],
        1 => vec![x, z],
        _ => vec![x, y],
    }
}

/// RGBA bytes of plane `index` of `axis` of `volume` (empty when out of range).
pub fn plane_rgba(volume: &Volume, axis: usize, index: usize) -> Vec<u8> {
    plane(volume, axis, index).map(|p| rgba(&p)).unwrap_or_default()
}
