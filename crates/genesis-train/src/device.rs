//! Device strings: `cpu`, `wgpu[:N]`, `cuda[:N]` (a list `:0,1` asks for several devices).

use anyhow::bail;
use genesis_nn::burn::tensor::Device;

/// Builds the device named by `spec`, or explains why this build cannot.
pub fn parse(spec: &str) -> anyhow::Result<Device> {
    let (kind, list) = spec.split_once(':').unwrap_or((spec, ""));
    let indices = list
        .split(',')
        .filter(|s| !s.is_empty())
        .map(|s| s.trim().parse::<usize>())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| {
            anyhow::anyhow!("--device {spec}: device indices must be numbers, e.g. cuda:0")
        })?;
    if indices.len() > 1 {
        bail!(
            "--device {spec}: data-parallel training on several devices (burn-train's DDP strategy) is not built into genesis; \
             train on one device, e.g. {kind}:{} (see docs/pretraining.md)",
            indices[0]
        );
    }
    let index = indices.first().copied();
    match kind {
        "cpu" if index.is_none() => cpu(),
        "wgpu" => wgpu(index),
        "cuda" => cuda(index),
        _ => bail!("--device {spec}: expected cpu, wgpu[:N] or cuda[:N]"),
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
    use genesis_nn::burn::tensor::DeviceKind;
    Ok(Device::wgpu(index.map_or(DeviceKind::DefaultDevice, DeviceKind::DiscreteGpu)))
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
        let several = parse("cuda:0,1").unwrap_err().to_string();
        assert!(several.contains("DDP"), "{several}");
        #[cfg(not(feature = "wgpu"))]
        assert!(parse("wgpu").unwrap_err().to_string().contains("--features wgpu"));
    }
}
