//! Resampling a volume to a target voxel spacing (mm) with linear interpolation, e.g. to give
//! every CT scan of a dataset the same 1 × 1 × 1 mm grid before cubes are cut from it.

use std::path::Path;

use genesis_core::Volume;
use genesis_core::resize::{Filter, resize};

use crate::IoError;
use crate::limits::check_shape;

/// Resamples `volume` to voxels of `spacing` (mm along x, y, z) by
/// [`genesis_core::resize`] with [`Filter::Linear`] (triangle filter on voxel centres,
/// anti-aliased when shrinking). Each axis gets `round(size × old / new)` voxels (at least 1),
/// so the extent is kept and the resulting [`genesis_core::Metadata::spacing`] is
/// `old × size / new size`: the target up to rounding. The origin moves by half the change of
/// spacing (voxel centres stay centred in the same extent). Axes of size 1 (a 2-D image's depth)
/// are left as they are.
///
/// `file` names the volume's source in errors: a target spacing that is not a positive number
/// is [`IoError::Unsupported`]; a result above the caps of [`crate::limits`] (e.g. 0.001 mm
/// asked of a CT scan) is [`IoError::TooLarge`], refused before anything is allocated.
pub fn to_spacing(file: &Path, volume: &Volume, spacing: [f64; 3]) -> Result<Volume, IoError> {
    let old = volume.shape();
    let mut shape = old;
    for axis in 0..3 {
        let target = spacing[axis];
        if !(target.is_finite() && target > 0.0) {
            return Err(IoError::unsupported(
                file,
                "resampling",
                format!("target spacing {spacing:?}: every entry must be a positive number of mm"),
            ));
        }
        if old[axis] > 1 {
            let size = (old[axis] as f64 * volume.meta.spacing[axis] / target).round().max(1.0);
            // Above the voxel cap whatever the other axes: refused by check_shape below.
            shape[axis] = if size < usize::MAX as f64 { size as usize } else { usize::MAX };
        }
    }
    check_shape(file, shape, std::mem::size_of::<f32>())?;
    let mut out = resize(volume, shape, Filter::Linear).map_err(|e| IoError::volume(file, e))?;
    for axis in 0..3 {
        out.meta.origin[axis] += (out.meta.spacing[axis] - volume.meta.spacing[axis]) / 2.0;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use genesis_core::Metadata;

    use super::*;

    fn ramp(shape: [usize; 3], spacing: [f64; 3]) -> Volume {
        let n = shape.iter().product::<usize>();
        let meta = Metadata { spacing, origin: [10.0, 20.0, 30.0], ..Metadata::default() };
        Volume::new(shape, (0..n).map(|i| i as f32 * 10.0).collect()).unwrap().with_meta(meta)
    }

    #[test]
    fn upsampling_interpolates_linearly_and_moves_the_origin() {
        let v = ramp([4, 1, 1], [2.0, 1.0, 1.0]);
        let r = to_spacing(Path::new("v.nii"), &v, [1.0, 1.0, 1.0]).unwrap();
        assert_eq!(r.shape(), [8, 1, 1]);
        assert_eq!(r.meta.spacing, [1.0, 1.0, 1.0]);
        // Output centres at input positions -0.25, 0.25, …, 3.25 (clamped at the edges).
        let expected = [0.0, 2.5, 7.5, 12.5, 17.5, 22.5, 27.5, 30.0];
        assert!(r.data().iter().zip(expected).all(|(a, b)| (a - b).abs() < 1e-4), "{:?}", r.data());
        assert_eq!(r.meta.origin, [9.5, 20.0, 30.0]);
    }

    #[test]
    fn shapes_and_spacing_after_resampling_a_ct_like_grid() {
        let v = ramp([10, 6, 5], [0.7, 0.7, 2.5]);
        let r = to_spacing(Path::new("ct.nii"), &v, [1.0, 1.0, 1.0]).unwrap();
        assert_eq!(r.shape(), [7, 4, 13]); // round(7.0), round(4.2), round(12.5)
        let s = r.meta.spacing;
        assert!((s[0] - 1.0).abs() < 1e-12 && (s[1] - 1.05).abs() < 1e-12, "{s:?}");
        assert!((s[2] - 12.5 / 13.0).abs() < 1e-12, "{s:?}");
        let image = ramp([6, 4, 1], [0.5, 0.5, 1.0]);
        assert_eq!(to_spacing(Path::new("i.png"), &image, [1.0; 3]).unwrap().shape(), [3, 2, 1]);
        let same = to_spacing(Path::new("ct.nii"), &v, [0.7, 0.7, 2.5]).unwrap();
        assert_eq!(same, v);
    }

    #[test]
    fn absurd_targets_are_refused_naming_the_file() {
        let v = ramp([10, 6, 5], [0.7, 0.7, 2.5]);
        let e = to_spacing(Path::new("ct.nii"), &v, [1e-4, 1e-4, 1e-4]).unwrap_err();
        assert!(matches!(e, IoError::TooLarge { .. }) && e.to_string().contains("ct.nii"), "{e}");
        for bad in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            let e = to_spacing(Path::new("ct.nii"), &v, [1.0, bad, 1.0]).unwrap_err();
            assert!(matches!(e, IoError::Unsupported { .. }), "{e}");
        }
        assert!(to_spacing(Path::new("ct.nii"), &v, [1e-300; 3]).is_err());
    }
}
