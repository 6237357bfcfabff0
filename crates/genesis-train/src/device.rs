//! Device strings: `cpu`, `wgpu[:N]` (`wgpu` is burn's default adapter, `wgpu:N` the N-th
//! adapter wgpu enumerates), `cuda[:N]`, and lists of one backend for data-parallel
//! training: `wgpu:0,wgpu:1` or `wgpu:0,1` (`cpu,cpu` lists the CPU twice, for tests).

use anyhow::bail;
use genesis_nn::burn::tensor::Device;

/// Builds the one device named by `spec`, or explains why this build cannot.
pub fn parse(spec: &str) -> anyhow::Result<Device> {
    let mut devices = parse_list(spec)?;
    if devices.len() > 1 {
        bail!("--device {spec}: this command runs on one device; name one, e.g. {}", first(spec));
    }
    Ok(devices.remove(0))
}

/// The devices named by `spec`, in order (the first is the main device). A list must name one
/// backend: gradients are combined by moving them between devices of that backend.
pub fn parse_list(spec: &str) -> anyhow::Result<Vec<Device>> {
    let mut kind = "";
    let mut named = Vec::new();
    for item in spec.split(',').map(str::trim) {
        let (k, index) = match item.split_once(':') {
            Some((k, i)) => (k, Some(i)),
            None if item.chars().all(|c| c.is_ascii_digit()) && !kind.is_empty() => {
                (kind, Some(item))
            }
            None => (item, None),
        };
        if !kind.is_empty() && k != kind {
            bail!(
                "--device {spec}: a device list must name one backend (it mixes {kind} and {k}); \
                 gradients move between devices of one backend, e.g. wgpu:0,wgpu:1"
            );
        }
        kind = k;
        let index = index.map(|i| i.parse::<usize>()).transpose().map_err(|_| {
            anyhow::anyhow!("--device {spec}: device indices must be numbers, e.g. wgpu:0")
        })?;
        named.push(index);
    }
    named.into_iter().map(|index| one(spec, kind, index)).collect()
}

/// The first device of a list, as text.
fn first(spec: &str) -> &str {
    spec.split(',').next().unwrap_or(spec).trim()
}

/// The device `kind[:index]`.
fn one(spec: &str, kind: &str, index: Option<usize>) -> anyhow::Result<Device> {
    match kind {
        "cpu" if index.is_none() => cpu(),
        "wgpu" => wgpu(index),
        "cuda" => cuda(index),
        _ => {
            bail!("--device {spec}: expected cpu, wgpu[:N] or cuda[:N] (or a list of one of them)")
        }
    }
}

#[cfg(feature = "cpu")]
fn cpu() -> anyhow::Result<Device> {
    Ok(Device::flex())
}

#[cfg(not(feature = "cpu"))]
fn cpu() -> anyhow::Result<Device> {
    bail!("this genesis was built without the cpu backend; rebuild with `--features cpu`")
}

#[cfg(feature = "wgpu")]
fn wgpu(index: Option<usize>) -> anyhow::Result<Device> {
    use genesis_nn::burn::tensor::{DeviceKind, DeviceType};
    // Asking for an adapter that is not there makes burn's device thread panic: check first.
    let adapters = Device::enumerate(DeviceType::Wgpu).into_vec();
    if adapters.is_empty() {
        bail!(
            "no wgpu adapter found: install a Vulkan (Linux, Windows) or Metal (macOS) driver for the GPU; \
             without a GPU, Mesa's software driver runs wgpu on the CPU (Debian: apt install mesa-vulkan-drivers)"
        );
    }
    match index {
        None => Ok(Device::wgpu(DeviceKind::DefaultDevice)),
        Some(i) => adapters.get(i).cloned().ok_or_else(|| {
            anyhow::anyhow!(
                "--device wgpu:{i}: this machine has {} wgpu adapter(s), wgpu:0 to wgpu:{}",
                adapters.len(),
                adapters.len() - 1
            )
        }),
    }
}

#[cfg(not(feature = "wgpu"))]
fn wgpu(_: Option<usize>) -> anyhow::Result<Device> {
    bail!(
        "this genesis was built without GPU support; rebuild with `cargo build --release -p genesis-cli --features wgpu`"
    )
}

#[cfg(feature = "cuda")]
fn cuda(index: Option<usize>) -> anyhow::Result<Device> {
    Ok(Device::cuda(index.unwrap_or(0)))
}

#[cfg(not(feature = "cuda"))]
fn cuda(_: Option<usize>) -> anyhow::Result<Device> {
    bail!(
        "this genesis was built without CUDA support; rebuild with `cargo build --release -p genesis-cli --features cuda`"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_cpu_and_explains_the_rest() {
        assert!(parse("cpu").is_ok());
        assert!(parse("tpu").is_err());
        assert!(parse("cpu:x").is_err());
        #[cfg(not(feature = "wgpu"))]
        assert!(parse("wgpu").unwrap_err().to_string().contains("--features wgpu"));
    }

    #[test]
    fn lists_name_one_backend() {
        assert_eq!(parse_list("cpu, cpu").unwrap().len(), 2);
        let mixed = parse_list("cpu,wgpu:0").unwrap_err().to_string();
        assert!(mixed.contains("mixes cpu and wgpu"), "{mixed}");
        let one = parse("cpu,cpu").unwrap_err().to_string();
        assert!(one.contains("one device"), "{one}");
        #[cfg(feature = "wgpu")]
        {
            assert_eq!(parse_list("wgpu:0,0").unwrap().len(), 2);
            let missing = parse("wgpu:99").unwrap_err().to_string();
            assert!(missing.contains("wgpu adapter(s)"), "{missing}");
        }
    }
}
