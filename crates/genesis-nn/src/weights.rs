//! Weights in and out: burn's Burnpack (`.bpk`, bytes or files), PyTorch checkpoints (`.pt`,
//! native only) and PyTorch-named safetensors, with a report of what matched.

use std::fmt;

use burn::module::Module;
use burn::store::{
    ApplyError, ApplyResult, BurnToPyTorchAdapter, BurnpackStore, ModuleSnapshot, ModuleStore,
    PyTorchToBurnAdapter, SafetensorsStore,
};
use burn::tensor::Bytes;

/// A failure to read, match or write weights.
#[derive(Debug, thiserror::Error)]
pub enum WeightsError {
    /// The container could not be read or written.
    #[error("{source_name}: {message}")]
    Format {
        /// File name or "bytes".
        source_name: String,
        /// What the store said.
        message: String,
    },
    /// Tensors exist under the model's names but with other shapes.
    #[error(
        "{source_name}: the weights do not fit this model ({}); check --arch and the model's width, depth and classes",
        .mismatches.join("; ")
    )]
    Shape {
        /// File name or "bytes".
        source_name: String,
        /// One line per mismatching tensor.
        mismatches: Vec<String>,
    },
    /// Parameters of the model are absent from the file.
    #[error(
        "{source_name}: {} model parameters are missing from the file (first: {}); is it the right architecture?",
        .missing.len(), .missing.first().map(String::as_str).unwrap_or("")
    )]
    Missing {
        /// File name or "bytes".
        source_name: String,
        /// The missing parameter paths.
        missing: Vec<String>,
    },
    /// A file could not be read or written.
    #[cfg(not(target_family = "wasm"))]
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The error.
        source: std::io::Error,
    },
}

/// Which parameters a load matched.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoadReport {
    /// Model parameters set from the file.
    pub loaded: Vec<String>,
    /// Model parameters the file lacks (left at their initial values).
    pub missing: Vec<String>,
    /// File tensors no parameter took (e.g. `num_batches_tracked`, the extra
    /// `projection_head.*`/`prototypes.*` of some Semantic Genesis releases); they are dropped.
    pub unused: Vec<String>,
    /// Modules of the file renamed onto the model's, `(file, model)`, when the file has a
    /// released layout that differs from genesis's names (the YNet3D head `clc_out.*`).
    pub remapped: Vec<(String, String)>,
}

impl fmt::Display for LoadReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "loaded {} tensors, missing {}, unused {}",
            self.loaded.len(),
            self.missing.len(),
            self.unused.len()
        )?;
        for (from, to) in &self.remapped {
            writeln!(f, "  remapped: {from}.* -> {to}.*")?;
        }
        for key in &self.missing {
            writeln!(f, "  missing: {key}")?;
        }
        for key in &self.unused {
            writeln!(f, "  unused:  {key}")?;
        }
        Ok(())
    }
}

/// Turns a store's result into a report, or an error on shape mismatches and (unless
/// `partial`) missing parameters.
fn report(
    source_name: &str,
    result: ApplyResult,
    partial: bool,
) -> Result<LoadReport, WeightsError> {
    let mismatches: Vec<String> = result
        .errors
        .iter()
        .map(|e| match e {
            ApplyError::ShapeMismatch { path, expected, found } => {
                format!("{path}: model {:?}, file {:?}", expected.as_slice(), found.as_slice())
            }
            other => other.to_string(),
        })
        .collect();
    if !mismatches.is_empty() {
        let more = mismatches.len().saturating_sub(4);
        let mut mismatches: Vec<String> = mismatches.into_iter().take(4).collect();
        if more > 0 {
            mismatches.push(format!("and {more} more"));
        }
        return Err(WeightsError::Shape { source_name: source_name.into(), mismatches });
    }
    let missing: Vec<String> = result.missing.into_iter().map(|(path, _)| path).collect();
    if !partial && !missing.is_empty() {
        return Err(WeightsError::Missing { source_name: source_name.into(), missing });
    }
    Ok(LoadReport { loaded: result.applied, missing, unused: result.unused, remapped: Vec::new() })
}

/// Names and shapes of a store's tensors (after its remappings).
fn shapes<S: ModuleStore>(
    store: &mut S,
    source_name: &str,
) -> Result<Vec<(String, Vec<usize>)>, WeightsError> {
    let tensors = store.get_all_tensors().map_err(|e| WeightsError::Format {
        source_name: source_name.into(),
        message: e.to_string(),
    })?;
    Ok(tensors.iter().map(|(name, t)| (name.clone(), t.shape.to_vec())).collect())
}

/// How `store`'s names map onto `model`'s (see [`layout`]).
fn plan<M: Module, S: ModuleStore>(
    model: &M,
    store: &mut S,
    source_name: &str,
) -> Result<layout::Layout, WeightsError> {
    let file = shapes(store, source_name)?;
    let tensors = model.collect(None, None, false);
    let modules = layout::modules(tensors.iter().map(|t| t.name.as_str()));
    Ok(layout::plan(&modules, &file))
}

/// Loads `model` from any store, mapping its errors.
fn load<M: Module, S: ModuleStore>(
    mut model: M,
    store: &mut S,
    source_name: &str,
    partial: bool,
) -> Result<(M, LoadReport), WeightsError> {
    let result = model.load_from(store).map_err(|e| WeightsError::Format {
        source_name: source_name.into(),
        message: e.to_string(),
    })?;
    Ok((model, report(source_name, result, partial)?))
}

/// The Genesis U-Net a Burnpack file holds, found from its tensor names and shapes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FoundUnet {
    /// 2 or 3 spatial dimensions.
    pub dims: usize,
    /// Width of the first block.
    pub base: usize,
    /// Encoder levels (always 4 for the 3-D U-Net).
    pub depth: usize,
    /// Whether the U-Net sits under `unet.` (a Semantic Genesis model or a fine-tuned one).
    pub prefixed: bool,
    /// The 3-D U-Net of Models Genesis (`down_tr64…`) rather than the generic encoder–decoder.
    pub models_genesis_3d: bool,
    /// Whether the decoder has skip connections (`false`: a no-skip autoencoder).
    pub skips: bool,
    /// Elements of the file's largest tensor (what a GPU buffer must hold at least).
    pub largest_tensor: usize,
}

/// Finds the U-Net in Burnpack bytes; the error names a few of the tensors found otherwise.
pub fn find_unet(bytes: &[u8]) -> Result<FoundUnet, String> {
    let mut store = BurnpackStore::from_bytes(Some(Bytes::from_bytes_vec(bytes.to_vec())));
    let tensors = store.get_all_tensors().map_err(|e| format!("not a Burnpack file ({e})"))?;
    let shapes = tensors.iter().map(|(k, t)| (k.clone(), t.shape.to_vec())).collect();
    find_unet_in(&shapes)
}

/// Finds the U-Net in safetensors bytes with PyTorch names (`genesis export`, or a released
/// checkpoint converted; a `module.` prefix is ignored).
pub fn find_unet_safetensors(bytes: &[u8]) -> Result<FoundUnet, String> {
    let mut store = SafetensorsStore::from_bytes(Some(bytes.to_vec()));
    let tensors = store.get_all_tensors().map_err(|e| format!("not a safetensors file ({e})"))?;
    let shapes = tensors
        .iter()
        .map(|(k, t)| (k.strip_prefix("module.").unwrap_or(k).to_string(), t.shape.to_vec()))
        .collect();
    find_unet_in(&shapes)
}

/// Finds the U-Net among tensor names and shapes.
fn find_unet_in(
    tensors: &std::collections::BTreeMap<String, Vec<usize>>,
) -> Result<FoundUnet, String> {
    let prefixed = tensors.keys().any(|k| k.starts_with("unet."));
    let prefix = if prefixed { "unet." } else { "" };
    let largest_tensor = tensors.values().map(|s| s.iter().product()).max().unwrap_or(0);
    let shape = |name: &str| tensors.get(&format!("{prefix}{name}")).cloned();
    if let Some(first) = shape("down_tr64.ops.0.conv1.weight") {
        let (dims, base, depth) = (3, first[0], 4);
        let models_genesis_3d = true;
        let skips = true;
        return Ok(FoundUnet {
            dims,
            base,
            depth,
            prefixed,
            models_genesis_3d,
            skips,
            largest_tensor,
        });
    }
    let Some(first) = shape("down.0.ops.0.conv1.weight") else {
        let names: Vec<&str> = tensors.keys().take(3).map(String::as_str).collect();
        return Err(format!(
            "not a Genesis U-Net or Semantic Genesis model (it holds {})",
            names.join(", ")
        ));
    };
    let base = first[0];
    let depth =
        (0..).take_while(|l| shape(&format!("down.{l}.ops.0.conv1.weight")).is_some()).count();
    let skip_width = (base << 2) + (base << 1);
    let skips = shape("up.0.ops.0.conv1.weight").is_none_or(|s| s.get(1) == Some(&skip_width));
    let dims = first.len().saturating_sub(2);
    let models_genesis_3d = false;
    Ok(FoundUnet { dims, base, depth, prefixed, models_genesis_3d, skips, largest_tensor })
}

/// Serialises `model` as Burnpack bytes (burn's native format; works in the browser).
pub fn to_burnpack<M: Module>(model: &M) -> Result<Vec<u8>, WeightsError> {
    let mut store = BurnpackStore::from_bytes(None);
    let fail = |e: &dyn fmt::Display| WeightsError::Format {
        source_name: "bytes".into(),
        message: e.to_string(),
    };
    model.save_into(&mut store).map_err(|e| fail(&e))?;
    Ok(store.get_bytes().map_err(|e| fail(&e))?.to_vec())
}

/// Loads Burnpack bytes into `model`; `partial` accepts missing parameters.
pub fn from_burnpack<M: Module>(
    model: M,
    bytes: Vec<u8>,
    partial: bool,
) -> Result<(M, LoadReport), WeightsError> {
    let mut store = BurnpackStore::from_bytes(Some(Bytes::from_bytes_vec(bytes)))
        .validate(false)
        .allow_partial(true);
    load(model, &mut store, "burnpack bytes", partial)
}

/// Serialises `model` as safetensors with PyTorch names and layouts (`bn1.weight`, Linear
/// weights `[out, in]`), loadable by `UNet3D().load_state_dict` for the 3-D U-Net.
pub fn to_safetensors<M: Module>(model: &M) -> Result<Vec<u8>, WeightsError> {
    let mut store = SafetensorsStore::from_bytes(None).with_to_adapter(BurnToPyTorchAdapter);
    let fail = |e: &dyn fmt::Display| WeightsError::Format {
        source_name: "bytes".into(),
        message: e.to_string(),
    };
    model.save_into(&mut store).map_err(|e| fail(&e))?;
    store.get_bytes().map_err(|e| fail(&e))
}

/// Loads PyTorch-named safetensors into `model` (a `module.` prefix is stripped).
pub fn from_safetensors<M: Module>(
    model: M,
    bytes: Vec<u8>,
    partial: bool,
) -> Result<(M, LoadReport), WeightsError> {
    let name = "safetensors bytes";
    let mut store = SafetensorsStore::from_bytes(Some(bytes))
        .with_from_adapter(PyTorchToBurnAdapter)
        .with_key_remapping(r"^module\.", "")
        .validate(false)
        .allow_partial(true);
    let layout = plan(&model, &mut store, name)?;
    for (from, to) in &layout.renames {
        store = store.with_key_remapping(layout::module_pattern(from), format!("{to}."));
    }
    let (model, mut report) = load(model, &mut store, name, partial)?;
    report.remapped = layout.renames;
    Ok((model, report))
}

pub mod layout;

#[cfg(not(target_family = "wasm"))]
mod files;
#[cfg(not(target_family = "wasm"))]
pub use files::{WeightFormat, head_classes, import_pytorch, load_file, save_file};
