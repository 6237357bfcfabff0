//! Weight files on disk (native only): format detection, PyTorch import, atomic saves.

use std::fs;
use std::path::Path;

use burn::module::Module;
use burn::store::{BurnpackStore, ModuleStore, PytorchStore, SafetensorsStore};
use burn::tensor::Bytes;

use super::{
    LoadReport, WeightsError, from_burnpack, from_safetensors, layout, load, plan, shapes,
    to_burnpack, to_safetensors,
};

/// A weight file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WeightFormat {
    /// burn's Burnpack (`.bpk`).
    Burnpack,
    /// A PyTorch checkpoint (`.pt`, `.pth`; zip or legacy pickle).
    Pytorch,
    /// Safetensors with PyTorch names (`.safetensors`).
    Safetensors,
}

impl WeightFormat {
    /// Picks the format from the file extension.
    pub fn from_path(path: &Path) -> Option<Self> {
        match path.extension()?.to_str()?.to_ascii_lowercase().as_str() {
            "bpk" | "burnpack" => Some(Self::Burnpack),
            "pt" | "pth" | "tar" | "ckpt" => Some(Self::Pytorch),
            "safetensors" => Some(Self::Safetensors),
            _ => None,
        }
    }
}

fn io(path: &Path, source: std::io::Error) -> WeightsError {
    WeightsError::Io { path: path.display().to_string(), source }
}

fn read(path: &Path) -> Result<Vec<u8>, WeightsError> {
    fs::read(path).map_err(|e| io(path, e))
}

/// A store over `path`'s state dict (under `state_dict` when the file has one, else the bare
/// dict), `module.` prefixes stripped.
fn pytorch_store(path: &Path) -> PytorchStore {
    let store = |key: Option<&str>| {
        let store = PytorchStore::from_file(path)
            .with_key_remapping(r"^module\.", "")
            .validate(false)
            .allow_partial(true);
        match key {
            Some(key) => store.with_top_level_key(key),
            None => store,
        }
    };
    let mut nested = store(Some("state_dict"));
    match nested.keys() {
        Ok(keys) if !keys.is_empty() => nested,
        _ => store(None),
    }
}

/// Imports a PyTorch checkpoint: a dict whose `state_dict` holds the weights (the released
/// Models Genesis and Semantic Genesis layout) or a bare state dict; `module.` prefixes are
/// stripped. A YNet3D checkpoint (U-Net at the top level, head under `clc_out.`) loads into a
/// Semantic Genesis model with its modules renamed (listed in [`LoadReport::remapped`]); tensors
/// no parameter takes (`projection_head.*`, `prototypes.*`, `num_batches_tracked`) are listed
/// in [`LoadReport::unused`] and dropped.
pub fn import_pytorch<M: Module>(
    model: M,
    path: &Path,
    partial: bool,
) -> Result<(M, LoadReport), WeightsError> {
    let name = path.display().to_string();
    let mut store = pytorch_store(path);
    let layout = plan(&model, &mut store, &name).map_err(|e| unreadable(path, e))?;
    for (from, to) in &layout.renames {
        store = store.with_key_remapping(layout::module_pattern(from), format!("{to}."));
    }
    let (model, mut report) = load(model, &mut store, &name, partial)?;
    report.remapped = layout.renames;
    Ok((model, report))
}

/// A read failure of a PyTorch file, said plainly.
fn unreadable(path: &Path, err: WeightsError) -> WeightsError {
    match err {
        WeightsError::Format { message, .. } => WeightsError::Format {
            source_name: path.display().to_string(),
            message: format!(
                "not a readable PyTorch checkpoint ({message}); is the file complete and saved by torch.save?"
            ),
        },
        other => other,
    }
}

/// Classes of the classification head that a weight file carries: the rows of the YNet3D
/// `clc_out` linear layer, or of `head.fc.weight` in genesis's own names; `None` when the file
/// has no head.
pub fn head_classes(path: &Path) -> Result<Option<usize>, WeightsError> {
    let name = path.display().to_string();
    let (file, burn_layout) = match WeightFormat::from_path(path) {
        Some(WeightFormat::Pytorch) => {
            (shapes(&mut pytorch_store(path), &name).map_err(|e| unreadable(path, e))?, false)
        }
        Some(WeightFormat::Safetensors) => {
            let mut store = SafetensorsStore::from_bytes(Some(read(path)?))
                .with_key_remapping(r"^module\.", "");
            (shapes(&mut store, &name)?, false)
        }
        Some(WeightFormat::Burnpack) => {
            let bytes = Bytes::from_bytes_vec(read(path)?);
            (shapes(&mut BurnpackStore::from_bytes(Some(bytes)), &name)?, true)
        }
        None => return Ok(None),
    };
    if let Some(classes) = layout::ynet_head_classes(&file) {
        return Ok(Some(classes));
    }
    // burn keeps Linear weights as [in, out]; PyTorch names as [out, in].
    let fc = file.iter().find(|(n, s)| n == "head.fc.weight" && s.len() == 2);
    Ok(fc.map(|(_, s)| if burn_layout { s[1] } else { s[0] }))
}

/// Loads any supported weight file into `model`, by extension.
pub fn load_file<M: Module>(
    model: M,
    path: &Path,
    partial: bool,
) -> Result<(M, LoadReport), WeightsError> {
    let unknown = || WeightsError::Format {
        source_name: path.display().to_string(),
        message: "unknown weight format; use .bpk, .pt/.pth or .safetensors".into(),
    };
    let named = |r: Result<(M, LoadReport), WeightsError>| {
        r.map_err(|e| match e {
            WeightsError::Format { message, .. } => {
                WeightsError::Format { source_name: path.display().to_string(), message }
            }
            WeightsError::Shape { mismatches, .. } => {
                WeightsError::Shape { source_name: path.display().to_string(), mismatches }
            }
            WeightsError::Missing { missing, .. } => {
                WeightsError::Missing { source_name: path.display().to_string(), missing }
            }
            other => other,
        })
    };
    match WeightFormat::from_path(path).ok_or_else(unknown)? {
        WeightFormat::Burnpack => named(from_burnpack(model, read(path)?, partial)),
        WeightFormat::Safetensors => named(from_safetensors(model, read(path)?, partial)),
        WeightFormat::Pytorch => import_pytorch(model, path, partial),
    }
}

/// Saves `model` to `path` in the format its extension names (`.bpk` or `.safetensors`),
/// writing a temporary file first and renaming it.
pub fn save_file<M: Module>(model: &M, path: &Path) -> Result<(), WeightsError> {
    let bytes = match WeightFormat::from_path(path) {
        Some(WeightFormat::Burnpack) => to_burnpack(model)?,
        Some(WeightFormat::Safetensors) => to_safetensors(model)?,
        _ => {
            return Err(WeightsError::Format {
                source_name: path.display().to_string(),
                message: "can only write .bpk or .safetensors".into(),
            });
        }
    };
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    fs::write(&tmp, bytes).map_err(|e| io(path, e))?;
    fs::rename(&tmp, path).map_err(|e| io(path, e))
}
