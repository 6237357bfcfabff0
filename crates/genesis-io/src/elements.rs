//! Raw voxel buffers: element types, byte order, and the axis order of the file.

/// A numeric element type of a raw voxel buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Element {
    /// Unsigned 8-bit.
    U8,
    /// Signed 8-bit.
    I8,
    /// Unsigned 16-bit.
    U16,
    /// Signed 16-bit.
    I16,
    /// Unsigned 32-bit.
    U32,
    /// Signed 32-bit.
    I32,
    /// Unsigned 64-bit.
    U64,
    /// Signed 64-bit.
    I64,
    /// 32-bit float.
    F32,
    /// 64-bit float.
    F64,
}

/// Byte order of multi-byte elements.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endian {
    /// Least significant byte first.
    Little,
    /// Most significant byte first.
    Big,
}

impl Element {
    /// Bytes per element.
    pub fn size(self) -> usize {
        match self {
            Self::U8 | Self::I8 => 1,
            Self::U16 | Self::I16 => 2,
            Self::U32 | Self::I32 | Self::F32 => 4,
            Self::U64 | Self::I64 | Self::F64 => 8,
        }
    }

    /// Converts one element's bytes (exactly [`Element::size`] of them) to `f32`.
    fn to_f32(self, b: &[u8], endian: Endian) -> f32 {
        macro_rules! num {
            ($t:ty) => {{
                let mut a = [0u8; size_of::<$t>()];
                a.copy_from_slice(b);
                match endian {
                    Endian::Little => <$t>::from_le_bytes(a),
                    Endian::Big => <$t>::from_be_bytes(a),
                }
            }};
        }
        match self {
            Self::U8 => f32::from(b[0]),
            Self::I8 => f32::from(b[0] as i8),
            Self::U16 => f32::from(num!(u16)),
            Self::I16 => f32::from(num!(i16)),
            Self::U32 => num!(u32) as f32,
            Self::I32 => num!(i32) as f32,
            Self::U64 => num!(u64) as f32,
            Self::I64 => num!(i64) as f32,
            Self::F32 => num!(f32),
            Self::F64 => num!(f64) as f32,
        }
    }
}

/// Decodes `bytes` (a whole number of elements; any remainder is ignored) into `f32`s.
pub fn decode(bytes: &[u8], element: Element, endian: Endian) -> Vec<f32> {
    bytes.chunks_exact(element.size()).map(|b| element.to_f32(b, endian)).collect()
}

/// Reorders voxels stored x-fastest (`x + X·(y + Y·z)`, the order of MetaImage, NIfTI, DICOM
/// series and Fortran arrays) into the volume layout (`(x·Y + y)·Z + z`).
pub fn x_fastest_to_volume_order(data: &[f32], shape: [usize; 3]) -> Vec<f32> {
    let [nx, ny, nz] = shape;
    let mut out = vec![0.0; data.len()];
    for (i, &v) in data.iter().enumerate().take(nx * ny * nz) {
        let (x, rest) = (i % nx, i / nx);
        let (y, z) = (rest % ny, rest / ny);
        out[(x * ny + y) * nz + z] = v;
    }
    out
}

/// The inverse of [`x_fastest_to_volume_order`], used by the writers.
pub fn volume_order_to_x_fastest(data: &[f32], shape: [usize; 3]) -> Vec<f32> {
    let [nx, ny, nz] = shape;
    let mut out = vec![0.0; data.len()];
    for (i, &v) in data.iter().enumerate().take(nx * ny * nz) {
        let (z, rest) = (i % nz, i / nz);
        let (y, x) = (rest % ny, rest / ny);
        out[x + nx * (y + ny * z)] = v;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_each_type_and_byte_order() {
        assert_eq!(decode(&[0xff, 0x80], Element::I8, Endian::Little), vec![-1.0, -128.0]);
        assert_eq!(decode(&[0x01, 0x00, 0xff], Element::U16, Endian::Little), vec![1.0]);
        assert_eq!(decode(&[0x01, 0x00], Element::U16, Endian::Big), vec![256.0]);
        assert_eq!(decode(&(-1000i16).to_be_bytes(), Element::I16, Endian::Big), vec![-1000.0]);
        assert_eq!(decode(&2.5f64.to_le_bytes(), Element::F64, Endian::Little), vec![2.5]);
        assert_eq!(decode(&7u32.to_be_bytes(), Element::U32, Endian::Big), vec![7.0]);
    }

    #[test]
    fn transposes_both_ways() {
        let shape = [2, 3, 4];
        let fortran: Vec<f32> = (0..24).map(|i| i as f32).collect();
        let ours = x_fastest_to_volume_order(&fortran, shape);
        // voxel (x=1, y=2, z=3) is element 1 + 2·(2 + 3·3) = 23 of the x-fastest buffer.
        assert_eq!(ours[(3 + 2) * 4 + 3], 23.0);
        assert_eq!(ours[4], 2.0); // (0, 1, 0)
        assert_eq!(volume_order_to_x_fastest(&ours, shape), fortran);
    }
}
