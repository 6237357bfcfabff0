//! Checkpoint layouts whose names differ from genesis's module tree, mapped onto it by renaming
//! whole modules before the tensors are applied.
//!
//! The released Semantic Genesis checkpoint is a YNet3D (spec §5.3): the Models Genesis U-Net
//! at the top level (`down_tr64.…`, `out_tr.final_conv.…`) and the classification head under
//! `clc_out.` (a 3×3×3 convolution, its batch norm, one fully connected layer), sometimes with
//! extra tensors (`projection_head.…`, `prototypes.…`) no part of the model uses. genesis's
//! [`SemanticGenesis`](crate::SemanticGenesis) names the same parameters `unet.down_tr64.…` and
//! `head.conv.conv1`, `head.conv.bn1`, `head.fc`. The head's modules are recognised by role, not
//! by their names inside `clc_out.`: the module with `running_mean` is the batch norm, the one
//! with a rank-3+ `weight` the convolution, the one with a rank-2 `weight` the linear layer.
//! Tensors that map nowhere stay as they are and are reported unused.

use std::collections::{BTreeMap, BTreeSet};

/// Prefix of the classification head in the YNet3D layout.
pub const YNET_HEAD: &str = "clc_out";

/// How to rename a checkpoint's modules so they land on the model's.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Layout {
    /// Module renames, `(file module, model module)`: every tensor `from.x` becomes `to.x`.
    pub renames: Vec<(String, String)>,
    /// Classes of the checkpoint's head (rows of its linear layer), when it has one.
    pub head_classes: Option<usize>,
}

fn module_of(name: &str) -> &str {
    name.rsplit_once('.').map_or("", |(module, _)| module)
}

fn leaf_of(name: &str) -> &str {
    name.rsplit_once('.').map_or(name, |(_, leaf)| leaf)
}

/// The modules (parameter paths without their last segment) of a model's tensor names.
pub fn modules<'a>(names: impl IntoIterator<Item = &'a str>) -> BTreeSet<String> {
    names.into_iter().map(|n| module_of(n).to_string()).collect()
}

/// What a head module holds, by its tensors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Conv,
    Norm,
    Linear { rows: usize },
}

fn role(leaves: &BTreeMap<&str, &[usize]>) -> Option<Role> {
    if leaves.contains_key("running_mean") || leaves.contains_key("running_var") {
        return Some(Role::Norm);
    }
    match leaves.get("weight").map(|s| s.len()) {
        Some(2) => Some(Role::Linear { rows: leaves["weight"][0] }),
        Some(3..) => Some(Role::Conv),
        _ => None,
    }
}

/// The head's modules by role, when `clc_out.` holds exactly one convolution, one batch norm
/// and one linear layer; `None` otherwise (then nothing of the head is renamed).
fn head_roles(file: &[(String, Vec<usize>)]) -> Option<[(String, Role); 3]> {
    let prefix = format!("{YNET_HEAD}.");
    let mut by_module: BTreeMap<&str, BTreeMap<&str, &[usize]>> = BTreeMap::new();
    for (name, shape) in file.iter().filter(|(n, _)| n.starts_with(&prefix)) {
        by_module.entry(module_of(name)).or_default().insert(leaf_of(name), shape);
    }
    let roles: Vec<(String, Role)> = by_module
        .iter()
        .map(|(module, leaves)| role(leaves).map(|r| (module.to_string(), r)))
        .collect::<Option<_>>()?;
    let one = |want: fn(&Role) -> bool| {
        let mut found = roles.iter().filter(|(_, r)| want(r));
        match (found.next(), found.next()) {
            (Some(x), None) => Some(x.clone()),
            _ => None,
        }
    };
    let conv = one(|r| *r == Role::Conv)?;
    let norm = one(|r| *r == Role::Norm)?;
    let linear = one(|r| matches!(r, Role::Linear { .. }))?;
    (roles.len() == 3).then_some([conv, norm, linear])
}

/// Classes of a YNet3D head found among `file`'s tensors (names without `module.`).
pub fn ynet_head_classes(file: &[(String, Vec<usize>)]) -> Option<usize> {
    head_roles(file).and_then(|[.., (_, linear)]| match linear {
        Role::Linear { rows } => Some(rows),
        _ => None,
    })
}

/// The renames that put a YNet3D checkpoint (`file`: names without `module.`, shapes) onto a
/// Semantic Genesis model with modules `model`; empty for any other pair (a model without
/// `unet.`/`head.`, or a file already in genesis's names).
pub fn plan(model: &BTreeSet<String>, file: &[(String, Vec<usize>)]) -> Layout {
    let has = |prefix: &str| model.iter().any(|m| m.starts_with(prefix));
    let native = file.iter().any(|(n, _)| n.starts_with("unet.") || n.starts_with("head."));
    if !has("unet.") || !has("head.") || native {
        return Layout::default();
    }
    let mut renames = Vec::new();
    let tops: BTreeSet<&str> = file
        .iter()
        .filter_map(|(n, _)| n.split_once('.').map(|(top, _)| top))
        .filter(|top| *top != YNET_HEAD)
        .collect();
    for top in tops {
        let target = format!("unet.{top}");
        if model.iter().any(|m| m == &target || m.starts_with(&format!("{target}."))) {
            renames.push((top.to_string(), target));
        }
    }
    let mut head_classes = None;
    if let Some([(conv, _), (norm, _), (linear, role)]) = head_roles(file) {
        let targets = ["head.conv.conv1", "head.conv.bn1", "head.fc"];
        if targets.iter().all(|t| model.contains(*t)) {
            for (from, to) in [conv, norm, linear].into_iter().zip(targets) {
                renames.push((from, to.to_string()));
            }
        }
        if let Role::Linear { rows } = role {
            head_classes = Some(rows);
        }
    }
    Layout { renames, head_classes }
}

/// A regex matching the start of a name inside module `module` (the module's name escaped).
pub fn module_pattern(module: &str) -> String {
    let mut pattern = String::from("^");
    for c in module.chars() {
        if !(c.is_ascii_alphanumeric() || c == '_') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push_str("\\.");
    pattern
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(name: &str, shape: &[usize]) -> (String, Vec<usize>) {
        (name.to_string(), shape.to_vec())
    }

    fn semantic_modules() -> BTreeSet<String> {
        modules([
            "unet.down_tr64.ops.0.conv1.weight",
            "unet.out_tr.final_conv.weight",
            "head.conv.conv1.weight",
            "head.conv.bn1.gamma",
            "head.fc.weight",
        ])
    }

    fn ynet(head: [&str; 3]) -> Vec<(String, Vec<usize>)> {
        vec![
            t("down_tr64.ops.0.conv1.weight", &[32, 1, 3, 3, 3]),
            t("out_tr.final_conv.bias", &[1]),
            t(&format!("{}.weight", head[0]), &[1024, 512, 3, 3, 3]),
            t(&format!("{}.bias", head[0]), &[1024]),
            t(&format!("{}.weight", head[1]), &[1024]),
            t(&format!("{}.running_mean", head[1]), &[1024]),
            t(&format!("{}.num_batches_tracked", head[1]), &[]),
            t(&format!("{}.weight", head[2]), &[44, 1024]),
            t(&format!("{}.bias", head[2]), &[44]),
            t("projection_head.0.weight", &[128, 512]),
            t("prototypes.weight", &[10, 128]),
        ]
    }

    #[test]
    fn head_is_found_by_role_whatever_its_inner_names() {
        for head in [
            ["clc_out.conv", "clc_out.bn", "clc_out.fc"],
            ["clc_out.ops.0.conv1", "clc_out.ops.0.bn1", "clc_out.linear"],
        ] {
            let layout = plan(&semantic_modules(), &ynet(head));
            assert_eq!(layout.head_classes, Some(44));
            let renamed: BTreeMap<_, _> = layout.renames.iter().cloned().collect();
            assert_eq!(renamed[head[0]], "head.conv.conv1");
            assert_eq!(renamed[head[1]], "head.conv.bn1");
            assert_eq!(renamed[head[2]], "head.fc");
            assert_eq!(renamed["down_tr64"], "unet.down_tr64");
            assert_eq!(renamed["out_tr"], "unet.out_tr");
            assert!(
                !renamed.contains_key("projection_head") && !renamed.contains_key("prototypes")
            );
        }
    }

    #[test]
    fn other_models_and_native_files_are_left_alone() {
        let unet = modules(["down_tr64.ops.0.conv1.weight", "out_tr.final_conv.weight"]);
        let file = ynet(["clc_out.conv", "clc_out.bn", "clc_out.fc"]);
        assert_eq!(plan(&unet, &file).renames, vec![]);
        let native = vec![t("unet.down_tr64.ops.0.conv1.weight", &[32, 1, 3, 3, 3])];
        assert_eq!(plan(&semantic_modules(), &native), Layout::default());
    }

    #[test]
    fn an_ambiguous_head_is_not_renamed() {
        let mut file = ynet(["clc_out.conv", "clc_out.bn", "clc_out.fc"]);
        file.push(t("clc_out.fc2.weight", &[44, 44]));
        let layout = plan(&semantic_modules(), &file);
        assert!(layout.renames.iter().all(|(from, _)| !from.starts_with("clc_out")));
        assert_eq!(layout.head_classes, None);
    }

    #[test]
    fn patterns_escape_dots() {
        assert_eq!(module_pattern("clc_out.ops.0"), r"^clc_out\.ops\.0\.");
    }
}
