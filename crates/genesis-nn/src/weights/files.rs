//! Weight files on disk (native only): format detection, PyTorch import, atomic saves.

use std::fs;
use std::path::Path;

use burn::module::Module;
use burn::store::{ModuleStore, PytorchStore};

use super::{
    LoadReport, WeightsError, from_burnpack, from_safetensors, load, to_burnpack, to_safetensors,
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

/// Imports a PyTorch checkpoint: a dict whose `state_dict` holds the weights (the released
/// Models Genesis layout) or a bare state dict; `module.` prefixes are stripped.
pub fn import_pytorch<M: Module>(
    model: M,
    path: &Path,
    partial: bool,
) -> Result<(M, LoadReport), WeightsError> {
    let name = path.display().to_string();
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
        Ok(keys) if !keys.is_empty() => load(model, &mut nested, &name, partial),
        _ => load(model, &mut store(None), &name, partial),
    }
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
