//! Burnpack and safetensors round trips, PyTorch import, and the parity tests against the
//! PyTorch references (fixtures from tests/parity/make_unet3d_fixture.py and
//! make_ynet3d_fixture.py).

use std::path::PathBuf;

use burn::store::ModuleSnapshot;
use genesis_nn::weights::{
    from_burnpack, from_safetensors, head_classes, import_pytorch, to_burnpack, to_safetensors,
};
use genesis_nn::{
    BnMode, GenesisModel, HeadConfig, SemanticGenesis3d, UNet3d, UNet3dConfig, WeightsError,
};

use super::common::{device, max_abs_diff, random, tensor, values};

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("run by cargo test"))
        .join("../../tests/fixtures/parity")
        .join(name)
}

fn read_f32(name: &str) -> Vec<f32> {
    let bytes = std::fs::read(fixture(name)).unwrap_or_default();
    bytes.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect()
}

fn fresh(base: usize, seed: u64) -> UNet3d {
    UNet3dConfig::new().with_base(base).init(&device(seed))
}

#[test]
fn burnpack_round_trip_restores_outputs() {
    let dev = device(20);
    let model = fresh(2, 21);
    let x = random([1, 1, 8, 8, 8], &dev);
    let bytes = to_burnpack(&model).unwrap_or_default();
    let (loaded, report) = from_burnpack(fresh(2, 22), bytes, false).expect("burnpack loads");
    assert!(report.missing.is_empty() && report.unused.is_empty(), "{report}");
    assert!(max_abs_diff(&values(&model.forward(x.clone())), &values(&loaded.forward(x))) < 1e-6);
}

#[test]
fn safetensors_use_pytorch_names_and_round_trip() {
    let dev = device(23);
    let model = fresh(2, 24);
    let bytes = to_safetensors(&model).unwrap_or_default();
    let mut store = burn::store::SafetensorsStore::from_bytes(Some(bytes.clone()));
    let keys = burn::store::ModuleStore::keys(&mut store).unwrap_or_default();
    assert!(keys.iter().any(|k| k == "down_tr64.ops.0.bn1.weight"), "{keys:?}");
    assert!(!keys.iter().any(|k| k.ends_with("gamma")));
    let (loaded, _) = from_safetensors(fresh(2, 25), bytes, false).expect("safetensors load");
    let x = random([1, 1, 8, 8, 8], &dev);
    assert!(max_abs_diff(&values(&model.forward(x.clone())), &values(&loaded.forward(x))) < 1e-6);
}

#[test]
fn shape_mismatch_fails_with_the_tensor_named() {
    let bytes = to_burnpack(&fresh(2, 26)).unwrap_or_default();
    match from_burnpack(fresh(3, 27), bytes, false) {
        Err(err @ WeightsError::Shape { .. }) => {
            let msg = err.to_string();
            assert!(msg.contains("down_tr64.ops.0.conv1.weight"), "{msg}");
        }
        other => panic!("expected a shape error, got {other:?}"),
    }
}

fn parity(model: UNet3d, expected: &str, mode: BnMode) {
    let dev = device(0);
    let x = tensor(read_f32("input.f32"), [2, 1, 16, 16, 8], &dev);
    let mut model = model;
    model.set_bn_mode(mode);
    let want = read_f32(expected);
    assert_eq!(want.len(), 2 * 16 * 16 * 8, "fixture {expected} missing or truncated");
    let err = max_abs_diff(&values(&model.forward(x)), &want);
    assert!(err <= 1e-4, "{expected}: max abs error {err}");
}

#[test]
fn pytorch_checkpoint_reproduces_reference_outputs_in_both_bn_modes() {
    let (model, report) =
        import_pytorch(fresh(3, 28), &fixture("unet3d_base3.pt"), false).expect("import");
    assert!(report.missing.is_empty(), "{report}");
    assert!(report.unused.iter().all(|k| k.ends_with("num_batches_tracked")), "{report}");
    assert_eq!(report.loaded.len(), model.collect(None, None, false).len());
    parity(model.clone(), "out_base3_batch.f32", BnMode::Batch);
    parity(model, "out_base3_running.f32", BnMode::Running);
}

#[test]
fn legacy_pickle_bare_state_dict_imports() {
    let (model, report) =
        import_pytorch(fresh(1, 29), &fixture("unet3d_base1_legacy.pt"), false).expect("import");
    assert!(report.missing.is_empty(), "{report}");
    parity(model, "out_base1_batch.f32", BnMode::Batch);
}

#[test]
fn safetensors_export_of_imported_weights_keeps_parity() {
    let (model, _) =
        import_pytorch(fresh(3, 30), &fixture("unet3d_base3.pt"), false).expect("import");
    let bytes = to_safetensors(&model).unwrap_or_default();
    let (reloaded, _) = from_safetensors(fresh(3, 31), bytes, false).expect("reload");
    parity(reloaded, "out_base3_running.f32", BnMode::Running);
}

/// The YNet3D fixture: base 1, 5 classes.
const YNET: &str = "ynet3d_base1.pt";
const YNET_CLASSES: usize = 5;

fn semantic(base: usize, classes: usize, seed: u64) -> SemanticGenesis3d {
    let unet = UNet3dConfig::new().with_base(base);
    SemanticGenesis3d::new3d(&unet, &HeadConfig::new(0, classes), &device(seed))
}

/// Restoration and logits of `model` on the fixture input against `expected` (restoration
/// values then logits), within 1e-4.
fn ynet_parity(model: &mut SemanticGenesis3d, expected: &str, mode: BnMode) {
    let dev = device(0);
    let x = tensor(read_f32("input.f32"), [2, 1, 16, 16, 8], &dev);
    model.set_bn_mode(mode);
    let want = read_f32(expected);
    let n = 2 * 16 * 16 * 8;
    assert_eq!(want.len(), n + 2 * YNET_CLASSES, "fixture {expected} missing or truncated");
    let out = model.forward_all(x);
    let restoration = max_abs_diff(&values(&out.restoration), &want[..n]);
    let logits = max_abs_diff(&values(&out.logits), &want[n..]);
    assert!(restoration <= 1e-4, "{expected}: restoration max abs error {restoration}");
    assert!(logits <= 1e-4, "{expected}: logits max abs error {logits}");
}

#[test]
fn ynet3d_checkpoint_reproduces_reference_restoration_and_logits() {
    let (mut model, report) =
        import_pytorch(semantic(1, YNET_CLASSES, 40), &fixture(YNET), false).expect("import");
    assert!(report.missing.is_empty(), "{report}");
    assert_eq!(report.loaded.len(), model.collect(None, None, false).len(), "{report}");
    ynet_parity(&mut model, "ynet3d_base1_batch.f32", BnMode::Batch);
    ynet_parity(&mut model, "ynet3d_base1_running.f32", BnMode::Running);
}

#[test]
fn ynet3d_import_reports_the_head_remap_and_the_dropped_extra_keys() {
    let (_, report) =
        import_pytorch(semantic(1, YNET_CLASSES, 41), &fixture(YNET), false).expect("import");
    let remapped = |from: &str, to: &str| report.remapped.iter().any(|(f, t)| f == from && t == to);
    assert!(remapped("clc_out.conv", "head.conv.conv1"), "{report}");
    assert!(remapped("clc_out.bn", "head.conv.bn1"), "{report}");
    assert!(remapped("clc_out.fc", "head.fc"), "{report}");
    assert!(remapped("down_tr64", "unet.down_tr64"), "{report}");
    let extra = ["projection_head.0.bias", "projection_head.0.weight", "prototypes.weight"];
    for key in extra {
        assert!(report.unused.iter().any(|k| k == key), "{key} not reported: {report}");
    }
    let others = report.unused.iter().filter(|k| !extra.contains(&k.as_str()));
    assert!(others.clone().all(|k| k.ends_with("num_batches_tracked")), "{report}");
    let text = report.to_string();
    assert!(text.contains("unused:  prototypes.weight"), "{text}");
    assert!(text.contains("remapped: clc_out.fc.* -> head.fc.*"), "{text}");
}

#[test]
fn ynet3d_head_gives_the_class_count_and_a_wrong_one_is_named() {
    assert_eq!(head_classes(&fixture(YNET)).ok(), Some(Some(YNET_CLASSES)));
    assert_eq!(head_classes(&fixture("unet3d_base3.pt")).ok(), Some(None));
    match import_pytorch(semantic(1, 44, 42), &fixture(YNET), false) {
        Err(err @ WeightsError::Shape { .. }) => {
            let msg = err.to_string();
            assert!(msg.contains("head.fc"), "{msg}");
        }
        other => panic!("expected a shape error, got {other:?}"),
    }
}

#[test]
fn bare_unet_checkpoint_into_semantic_model_lacks_only_the_head() {
    match import_pytorch(semantic(1, YNET_CLASSES, 43), &fixture("unet3d_base1_legacy.pt"), false) {
        Err(WeightsError::Missing { missing, .. }) => {
            assert!(missing.iter().all(|k| k.starts_with("head.")), "{missing:?}");
        }
        other => panic!("expected missing head parameters, got {other:?}"),
    }
    let (_, report) =
        import_pytorch(semantic(1, YNET_CLASSES, 44), &fixture("unet3d_base1_legacy.pt"), true)
            .expect("partial import");
    assert!(report.loaded.iter().all(|k| k.starts_with("unet.")), "{report}");
}

#[test]
fn truncated_checkpoint_fails_with_one_error_naming_the_file() {
    let bytes = std::fs::read(fixture(YNET)).unwrap_or_default();
    let dir = std::env::temp_dir().join(format!("genesis-nn-truncated-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("semantic_genesis_truncated.pt");
    std::fs::write(&path, &bytes[..bytes.len() / 2]).expect("write");
    let result = import_pytorch(semantic(1, YNET_CLASSES, 45), &path, false);
    let _ = std::fs::remove_dir_all(&dir);
    match result {
        Err(err @ WeightsError::Format { .. }) => {
            let msg = err.to_string();
            assert!(msg.contains("semantic_genesis_truncated.pt"), "{msg}");
            assert!(msg.contains("not a readable PyTorch checkpoint"), "{msg}");
        }
        other => panic!("expected a format error, got {other:?}"),
    }
}
