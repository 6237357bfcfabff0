//! Host ↔ device, in one place: batches of single-channel samples uploaded as `[n, 1, …]`
//! tensors, labels as `[n]`, and tensors read back as `f32` vectors (synchronously natively,
//! asynchronously where the device needs it — WebGPU in the browser).

use burn::tensor::{Device, Int, Tensor, TensorData};
use genesis_core::Volume;

/// A tensor could not be read back as `f32` values.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("reading a tensor back from the device failed: {0}")]
pub struct ReadError(String);

/// Uploads `n` single-channel samples of spatial `shape` (`[X, Y, Z]`, Z = 1 in 2-D; x-major
/// values) as a `[n, 1, spatial…]` tensor of rank `D` (4 in 2-D, 5 in 3-D).
pub fn upload<const D: usize>(
    values: Vec<f32>,
    n: usize,
    shape: [usize; 3],
    device: &Device,
) -> Tensor<D> {
    let mut dims = vec![n, 1];
    dims.extend_from_slice(&shape[..D - 2]);
    Tensor::from_data(TensorData::new(values, dims), device)
}

/// Stacks equally shaped volumes into a `[n, 1, spatial…]` tensor.
pub fn upload_volumes<const D: usize>(volumes: &[&Volume], device: &Device) -> Tensor<D> {
    let shape = volumes.first().map_or([1, 1, 1], |v| v.shape());
    let values = volumes.iter().flat_map(|v| v.data().iter().copied()).collect();
    upload(values, volumes.len(), shape, device)
}

/// Uploads class labels as `[n]`.
pub fn upload_labels(labels: &[i64], device: &Device) -> Tensor<1, Int> {
    Tensor::from_data(TensorData::new(labels.to_vec(), [labels.len()]), device)
}

/// Reads a tensor back (synchronously: native devices only).
pub fn read<const D: usize>(tensor: Tensor<D>) -> Result<Vec<f32>, ReadError> {
    values(tensor.into_data())
}

/// Reads a tensor back without blocking (every device, WebGPU included).
pub async fn read_async<const D: usize>(tensor: Tensor<D>) -> Result<Vec<f32>, ReadError> {
    values(tensor.into_data_async().await.map_err(|e| ReadError(format!("{e:?}")))?)
}

/// The values of read-back data as `f32`.
fn values(data: TensorData) -> Result<Vec<f32>, ReadError> {
    data.convert::<f32>().try_into_vec::<f32>().map_err(|e| ReadError(format!("{e:?}")))
}

/// The single value of a one-element tensor (synchronously: native devices only).
pub fn scalar(tensor: Tensor<1>) -> f64 {
    f64::from(tensor.into_scalar::<f32>())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uploads_and_reads_back_in_order() {
        let device = Device::flex();
        let a = Volume::new([2, 3, 1], (0..6).map(|v| v as f32).collect()).unwrap();
        let b = Volume::new([2, 3, 1], (6..12).map(|v| v as f32).collect()).unwrap();
        let t = upload_volumes::<4>(&[&a, &b], &device);
        assert_eq!(t.dims(), [2, 1, 2, 3]);
        assert_eq!(read(t).unwrap(), (0..12).map(|v| v as f32).collect::<Vec<_>>());
        let v = upload::<5>(vec![0.0; 8], 1, [2, 2, 2], &device);
        assert_eq!(v.dims(), [1, 1, 2, 2, 2]);
        assert_eq!(upload_labels(&[3, 1], &device).dims(), [2]);
    }
}
