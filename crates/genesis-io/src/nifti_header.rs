//! NIfTI-1 (348 bytes, magic `n+1`) and NIfTI-2 (540 bytes, magic `n+2`) headers, read into
//! one [`Header`] and checked before any voxel buffer is allocated. NIfTI-1 headers are parsed
//! by the `nifti` crate; NIfTI-2 headers (which that crate does not read) by [`parse_nifti2`].

use std::io::Read;
use std::path::Path;

use nifti::{Endianness, NiftiError, NiftiHeader};

use crate::IoError;
use crate::elements::{Element, Endian};

/// Format name used in errors.
pub(crate) const FORMAT: &str = "NIfTI";
/// Size of a NIfTI-1 header.
pub(crate) const NIFTI1_BYTES: usize = 348;
/// Size of a NIfTI-2 header.
pub(crate) const NIFTI2_BYTES: usize = 540;

/// What the readers need from either header version, in `f64`/`i64`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Header {
    /// 1 or 2.
    pub version: u8,
    /// Size of the header in bytes (348 or 540).
    pub size: u64,
    /// `dim[0..8]`: number of dimensions, then the sizes.
    pub dim: [i64; 8],
    /// NIfTI datatype code.
    pub datatype: i16,
    /// `pixdim[0..8]` (`pixdim[1..4]` are the voxel sizes).
    pub pixdim: [f64; 8],
    /// Byte offset of the voxels in a single file.
    pub vox_offset: f64,
    /// `scl_slope`, `scl_inter`.
    pub scaling: (f64, f64),
    /// The `descrip` text field.
    pub descrip: Vec<u8>,
    /// `sform_code` (> 0: `srow` holds the affine).
    pub sform_code: i32,
    /// Translation column of the sform (`srow_x[3]`, `srow_y[3]`, `srow_z[3]`).
    pub srow_origin: [f64; 3],
    /// `qoffset_x`, `qoffset_y`, `qoffset_z`.
    pub qoffset: [f64; 3],
    /// Byte order of the header and the voxels.
    pub endian: Endian,
    /// Magic of a single file (`n+1`/`n+2`), not of a `.hdr`/`.img` pair (`ni1`/`ni2`).
    pub single_file: bool,
}

/// Reads and parses the header at the start of `r` (either version, either byte order).
pub(crate) fn read(file: &Path, r: &mut impl Read) -> Result<Header, IoError> {
    let mut bytes = vec![0u8; NIFTI1_BYTES];
    read_exact(file, r, &mut bytes, "header")?;
    let size = [i32::from_le_bytes, i32::from_be_bytes].map(|f| f(first4(&bytes)));
    if size.contains(&(NIFTI2_BYTES as i32)) {
        bytes.resize(NIFTI2_BYTES, 0);
        read_exact(file, r, &mut bytes[NIFTI1_BYTES..], "NIfTI-2 header")?;
        return parse_nifti2(file, &bytes);
    }
    let h = NiftiHeader::from_reader(&bytes[..]).map_err(|e| map_error(file, e))?;
    Ok(from_nifti1(&h))
}

/// The first four bytes of a header buffer.
fn first4(bytes: &[u8]) -> [u8; 4] {
    [bytes[0], bytes[1], bytes[2], bytes[3]]
}

/// Fills `buf` from `r`, a short read being a truncated file.
fn read_exact(file: &Path, r: &mut impl Read, buf: &mut [u8], what: &str) -> Result<(), IoError> {
    r.read_exact(buf).map_err(|e| match e.kind() {
        std::io::ErrorKind::UnexpectedEof => {
            IoError::truncated(file, FORMAT, format!("{what} cut off ({e})"))
        }
        _ => IoError::corrupt(file, FORMAT, format!("reading the {what}: {e}")),
    })
}

/// Maps an error of the `nifti` crate.
fn map_error(file: &Path, e: NiftiError) -> IoError {
    match e {
        NiftiError::Io(io) if io.kind() == std::io::ErrorKind::UnexpectedEof => {
            IoError::truncated(file, FORMAT, format!("header cut off ({io})"))
        }
        other => IoError::corrupt(file, FORMAT, other.to_string()),
    }
}

/// The common header of a NIfTI-1 header parsed by the `nifti` crate.
fn from_nifti1(h: &NiftiHeader) -> Header {
    Header {
        version: 1,
        size: NIFTI1_BYTES as u64,
        // The crate stores dims as u16: reinterpret, so that negative sizes stay negative.
        dim: h.dim.map(|d| i64::from(d as i16)),
        datatype: h.datatype,
        pixdim: h.pixdim.map(widen),
        vox_offset: f64::from(h.vox_offset),
        scaling: (f64::from(h.scl_slope), f64::from(h.scl_inter)),
        descrip: h.descrip.clone(),
        sform_code: i32::from(h.sform_code),
        srow_origin: [h.srow_x[3], h.srow_y[3], h.srow_z[3]].map(widen),
        qoffset: [h.quatern_x, h.quatern_y, h.quatern_z].map(widen),
        endian: if h.endianness == Endianness::Big { Endian::Big } else { Endian::Little },
        single_file: &h.magic == b"n+1\0",
    }
}

/// The `f64` with the shortest decimal form of a header `f32` (0.7f32 → 0.7, not
/// 0.699999988), so geometry written as `f64` survives the round trip through the header.
fn widen(v: f32) -> f64 {
    v.to_string().parse().unwrap_or(f64::from(v))
}

/// Fixed-offset fields of a header buffer in its byte order.
struct Fields<'a> {
    bytes: &'a [u8],
    big: bool,
}

impl Fields<'_> {
    fn array<const N: usize>(&self, at: usize) -> [u8; N] {
        let mut a = [0u8; N];
        a.copy_from_slice(&self.bytes[at..at + N]);
        if self.big {
            a.reverse();
        }
        a
    }
    fn i32(&self, at: usize) -> i32 {
        i32::from_le_bytes(self.array(at))
    }
    fn i16(&self, at: usize) -> i16 {
        i16::from_le_bytes(self.array(at))
    }
    fn i64(&self, at: usize) -> i64 {
        i64::from_le_bytes(self.array(at))
    }
    fn f64(&self, at: usize) -> f64 {
        f64::from_le_bytes(self.array(at))
    }
    fn f64s<const N: usize>(&self, at: usize) -> [f64; N] {
        std::array::from_fn(|i| self.f64(at + 8 * i))
    }
}

/// Parses a 540-byte NIfTI-2 header (layout of `nifti2.h`: int64 dims and offsets, double
/// geometry and scaling). The byte order is the one in which `sizeof_hdr` reads 540.
pub(crate) fn parse_nifti2(file: &Path, bytes: &[u8]) -> Result<Header, IoError> {
    if bytes.len() < NIFTI2_BYTES {
        return Err(IoError::truncated(file, FORMAT, "NIfTI-2 header shorter than 540 bytes"));
    }
    let big = i32::from_le_bytes(first4(bytes)) != NIFTI2_BYTES as i32;
    let f = Fields { bytes, big };
    let single_file = match &bytes[4..7] {
        b"n+2" => true,
        b"ni2" => false,
        other => {
            return Err(IoError::corrupt(
                file,
                FORMAT,
                format!(
                    "header size 540 but magic {:?} is not n+2",
                    String::from_utf8_lossy(other)
                ),
            ));
        }
    };
    Ok(Header {
        version: 2,
        size: NIFTI2_BYTES as u64,
        dim: std::array::from_fn(|i| f.i64(16 + 8 * i)),
        datatype: f.i16(12),
        pixdim: f.f64s(104),
        vox_offset: f.i64(168) as f64,
        scaling: (f.f64(176), f.f64(184)),
        descrip: bytes[240..320].to_vec(),
        sform_code: f.i32(348),
        srow_origin: [f.f64(400 + 24), f.f64(432 + 24), f.f64(464 + 24)],
        qoffset: f.f64s(376),
        endian: if big { Endian::Big } else { Endian::Little },
        single_file,
    })
}

/// Element type of a NIfTI datatype code.
pub(crate) fn element_of(file: &Path, datatype: i16) -> Result<Element, IoError> {
    Ok(match datatype {
        2 => Element::U8,
        4 => Element::I16,
        8 => Element::I32,
        16 => Element::F32,
        64 => Element::F64,
        256 => Element::I8,
        512 => Element::U16,
        768 => Element::U32,
        1024 => Element::I64,
        1280 => Element::U64,
        other => {
            let name = match other {
                32 | 1792 | 2048 => "complex",
                128 | 2304 => "RGB/RGBA colour",
                1536 => "float128",
                _ => "unknown",
            };
            return Err(IoError::unsupported(
                file,
                FORMAT,
                format!("data type {other} ({name}); supported: u8…u64, i8…i64, f32, f64"),
            ));
        }
    })
}

/// Spatial shape `[X, Y, Z]` and number of 3-D volumes (`dim[4]`) of a header. Dimensions past
/// the fourth must be 1.
pub(crate) fn layout(file: &Path, h: &Header) -> Result<([usize; 3], usize), IoError> {
    let rank = h.dim[0];
    if !(1..=7).contains(&rank) {
        return Err(IoError::corrupt(file, FORMAT, format!("dim[0] = {rank} is not in 1..=7")));
    }
    let dims = &h.dim[1..=rank as usize];
    let sizes: Vec<usize> = dims
        .iter()
        .map(|&d| usize::try_from(d).ok().filter(|&d| d >= 1))
        .collect::<Option<_>>()
        .ok_or_else(|| {
            IoError::corrupt(file, FORMAT, format!("dimensions {dims:?} must all be at least 1"))
        })?;
    if sizes.iter().skip(4).any(|&d| d != 1) {
        return Err(IoError::unsupported(
            file,
            FORMAT,
            format!("{rank}-D data {sizes:?} (only 2-D, 3-D and 4-D: a series of 3-D volumes)"),
        ));
    }
    let mut shape = [1usize; 3];
    shape.iter_mut().zip(&sizes).for_each(|(s, &d)| *s = d);
    Ok((shape, sizes.get(3).copied().unwrap_or(1)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_accepts_2d_to_4d_and_refuses_5d_and_bad_sizes() {
        let p = Path::new("h.nii");
        let mut h = parse_nifti2(p, &{
            let mut b = vec![0u8; NIFTI2_BYTES];
            b[..4].copy_from_slice(&540i32.to_le_bytes());
            b[4..8].copy_from_slice(b"n+2\0");
            b
        })
        .unwrap();
        h.dim = [4, 3, 4, 5, 6, 1, 1, 1];
        assert_eq!(layout(p, &h).unwrap(), ([3, 4, 5], 6));
        h.dim = [2, 3, 4, 0, 0, 0, 0, 0];
        assert_eq!(layout(p, &h).unwrap(), ([3, 4, 1], 1));
        h.dim = [5, 3, 4, 5, 6, 2, 1, 1];
        assert!(matches!(layout(p, &h), Err(IoError::Unsupported { .. })));
        h.dim = [3, 3, -4, 5, 1, 1, 1, 1];
        assert!(matches!(layout(p, &h), Err(IoError::Corrupt { .. })));
        h.dim = [9, 3, 4, 5, 1, 1, 1, 1];
        assert!(layout(p, &h).unwrap_err().to_string().contains("h.nii"));
    }
}
