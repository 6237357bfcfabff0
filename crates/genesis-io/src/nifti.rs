//! NIfTI-1 single files, `.nii` and gzip-compressed `.nii.gz`.
//!
//! The header is parsed with the `nifti` crate and checked (dimensions, data type, sizes)
//! before any voxel buffer is allocated; the voxels (x-fastest) are then read, rescaled by
//! `scl_slope`/`scl_inter` and reordered into the volume layout. The writer is a small
//! NIfTI-1 `float32` encoder of our own, marking the modality in `descrip` (`genesis:ct`).

use std::io::Read;
use std::path::Path;

use genesis_core::{Metadata, Modality, Units, Volume};
use nifti::{Endianness, NiftiError, NiftiHeader, NiftiType};

use crate::IoError;
use crate::elements::{self, Element, Endian};
use crate::limits::check_shape;

/// Format name used in errors.
const FORMAT: &str = "NIfTI";
/// Size of a NIfTI-1 header.
const HEADER_BYTES: usize = 348;
/// Largest gap (extensions) accepted between the header and the voxels.
const MAX_EXTENSIONS: u64 = 1 << 24;
/// Prefix of the `descrip` field that records a modality.
const MODALITY_TAG: &str = "genesis:";

/// Decodes a `.nii` or `.nii.gz` (detected by the gzip magic) held in memory.
pub fn from_bytes(file: &Path, bytes: &[u8]) -> Result<Volume, IoError> {
    if bytes.starts_with(&[0x1f, 0x8b]) {
        read_stream(file, flate2::read::GzDecoder::new(bytes))
    } else {
        read_stream(file, bytes)
    }
}

/// Reads a `.nii` or `.nii.gz` file, streaming it (no whole-file buffer for gzip).
#[cfg(not(target_family = "wasm"))]
pub fn read(file: &Path) -> Result<Volume, IoError> {
    let mut f = std::io::BufReader::new(
        std::fs::File::open(file).map_err(|e| IoError::os(file, "reading", e))?,
    );
    let mut magic = [0u8; 2];
    f.read_exact(&mut magic)
        .map_err(|_| IoError::truncated(file, FORMAT, "file shorter than 2 bytes"))?;
    let stream = std::io::Cursor::new(magic).chain(f);
    if magic == [0x1f, 0x8b] {
        read_stream(file, flate2::read::GzDecoder::new(stream))
    } else {
        read_stream(file, stream)
    }
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

/// Element type of a NIfTI data type.
fn element_of(file: &Path, t: NiftiType) -> Result<Element, IoError> {
    Ok(match t {
        NiftiType::Uint8 => Element::U8,
        NiftiType::Int8 => Element::I8,
        NiftiType::Uint16 => Element::U16,
        NiftiType::Int16 => Element::I16,
        NiftiType::Uint32 => Element::U32,
        NiftiType::Int32 => Element::I32,
        NiftiType::Uint64 => Element::U64,
        NiftiType::Int64 => Element::I64,
        NiftiType::Float32 => Element::F32,
        NiftiType::Float64 => Element::F64,
        other => return Err(IoError::unsupported(file, FORMAT, format!("data type {other:?}"))),
    })
}

/// `[X, Y, Z]` of a header; extra dimensions must be 1.
fn shape_of(file: &Path, header: &NiftiHeader) -> Result<[usize; 3], IoError> {
    let dims = header.dim().map_err(|e| map_error(file, e))?;
    if dims.iter().skip(3).any(|&d| d != 1) {
        return Err(IoError::unsupported(
            file,
            FORMAT,
            format!("{}-D data {dims:?} (only 2D or 3D)", dims.len()),
        ));
    }
    let mut shape = [1usize; 3];
    for (s, &d) in shape.iter_mut().zip(dims) {
        *s = usize::from(d);
    }
    Ok(shape)
}

/// Reads a header and its voxels from a stream positioned at the header.
fn read_stream(file: &Path, mut r: impl Read) -> Result<Volume, IoError> {
    let header = NiftiHeader::from_reader(&mut r).map_err(|e| map_error(file, e))?;
    if &header.magic != b"n+1\0" {
        return Err(IoError::unsupported(
            file,
            FORMAT,
            "header/image pairs (.hdr/.img); use a single .nii",
        ));
    }
    let shape = shape_of(file, &header)?;
    let element = element_of(file, header.data_type().map_err(|e| map_error(file, e))?)?;
    let (_, bytes) = check_shape(file, shape, element.size())?;
    let offset = header.vox_offset;
    if !(offset.is_finite() && offset >= HEADER_BYTES as f32 && (offset as u64) < MAX_EXTENSIONS) {
        return Err(IoError::corrupt(file, FORMAT, format!("vox_offset {offset} is out of range")));
    }
    let gap = offset as u64 - HEADER_BYTES as u64;
    let skipped = std::io::copy(&mut (&mut r).take(gap), &mut std::io::sink())
        .map_err(|e| IoError::corrupt(file, FORMAT, e.to_string()))?;
    if skipped < gap {
        return Err(IoError::truncated(file, FORMAT, "file ends inside the header extensions"));
    }
    // Grown as data arrive (not reserved from the header), so a short or bomb-like stream
    // never allocates the declared size.
    let mut raw = Vec::new();
    (&mut r)
        .take(bytes as u64 + 1)
        .read_to_end(&mut raw)
        .map_err(|e| IoError::corrupt(file, FORMAT, e.to_string()))?;
    if raw.len() < bytes {
        return Err(IoError::truncated(
            file,
            FORMAT,
            format!("shape {shape:?} needs {bytes} voxel bytes, only {} present", raw.len()),
        ));
    }
    if raw.len() > bytes {
        let extra = raw.len() as u64 - 1
            + std::io::copy(&mut r.take(crate::limits::MAX_BYTES), &mut std::io::sink())
                .unwrap_or(0);
        return Err(IoError::SizeMismatch {
            file: file.to_path_buf(),
            format: FORMAT,
            expected: bytes as u64,
            actual: extra + 1,
        });
    }
    let endian = if header.endianness == Endianness::Big { Endian::Big } else { Endian::Little };
    let mut values = elements::decode(&raw, element, endian);
    let (slope, inter) = (header.scl_slope, header.scl_inter);
    if slope != 0.0 && slope.is_finite() && inter.is_finite() && (slope, inter) != (1.0, 0.0) {
        values.iter_mut().for_each(|v| *v = *v * slope + inter);
    }
    let mut volume = Volume::new(shape, elements::x_fastest_to_volume_order(&values, shape))
        .map_err(|e| IoError::volume(file, e))?;
    let modality =
        modality_tag(&header.descrip).unwrap_or_else(|| crate::intensity::guess_modality(&volume));
    volume.meta = Metadata {
        spacing: [1, 2, 3].map(|i| {
            let s = widen(header.pixdim[i].abs());
            if s.is_finite() && s > 0.0 { s } else { 1.0 }
        }),
        origin: if header.sform_code > 0 {
            [header.srow_x[3], header.srow_y[3], header.srow_z[3]].map(widen)
        } else {
            [header.quatern_x, header.quatern_y, header.quatern_z].map(widen)
        },
        modality,
        units: if modality == Modality::Ct { Units::Hounsfield } else { Units::Raw },
    };
    Ok(volume)
}

/// The `f64` with the shortest decimal form of a header `f32` (0.7f32 → 0.7, not
/// 0.699999988), so geometry written as `f64` survives the round trip through the header.
fn widen(v: f32) -> f64 {
    v.to_string().parse().unwrap_or(f64::from(v))
}

/// The modality recorded in `descrip` by [`write`], if any.
fn modality_tag(descrip: &[u8]) -> Option<Modality> {
    let text = std::str::from_utf8(descrip).ok()?.trim_end_matches('\0');
    match text.strip_prefix(MODALITY_TAG)? {
        "ct" => Some(Modality::Ct),
        "mr" => Some(Modality::Mr),
        "xray" => Some(Modality::Xray),
        _ => None,
    }
}

/// Encodes `volume` as a NIfTI-1 single file: `float32`, little-endian, spacing in `pixdim`
/// (mm), origin in `qoffset` and `srow`, modality in `descrip`.
pub fn encode(volume: &Volume) -> Result<Vec<u8>, String> {
    let shape = volume.shape();
    let mut dim = [0i16; 8];
    dim[0] = if shape[2] == 1 { 2 } else { 3 };
    for (d, &s) in dim[1..4].iter_mut().zip(&shape) {
        *d = i16::try_from(s).map_err(|_| format!("dimension {s} exceeds NIfTI-1's 32767"))?;
    }
    dim[4..].fill(1);
    let mut h = vec![0u8; HEADER_BYTES + 4];
    let mut put = |at: usize, bytes: &[u8]| h[at..at + bytes.len()].copy_from_slice(bytes);
    put(0, &348i32.to_le_bytes());
    put(38, b"r");
    for (i, d) in dim.iter().enumerate() {
        put(40 + 2 * i, &d.to_le_bytes());
    }
    put(70, &16i16.to_le_bytes()); // datatype float32
    put(72, &32i16.to_le_bytes()); // bitpix
    let [sx, sy, sz] = volume.meta.spacing.map(|v| v as f32);
    for (i, p) in [1.0f32, sx, sy, sz, 1.0].iter().enumerate() {
        put(76 + 4 * i, &p.to_le_bytes());
    }
    put(108, &352f32.to_le_bytes()); // vox_offset
    put(112, &1f32.to_le_bytes()); // scl_slope
    put(123, &[2]); // xyzt_units: millimetres
    let tag = match volume.meta.modality {
        Modality::Ct => "ct",
        Modality::Mr => "mr",
        Modality::Xray => "xray",
        Modality::Other => "other",
    };
    put(148, format!("{MODALITY_TAG}{tag}").as_bytes());
    put(252, &1i16.to_le_bytes()); // qform_code: scanner
    put(254, &1i16.to_le_bytes()); // sform_code: scanner
    let [ox, oy, oz] = volume.meta.origin.map(|v| v as f32);
    for (i, v) in [ox, oy, oz].iter().enumerate() {
        put(268 + 4 * i, &v.to_le_bytes());
    }
    for (row, (s, o)) in [(sx, ox), (sy, oy), (sz, oz)].iter().enumerate() {
        let mut srow = [0f32; 4];
        srow[row] = *s;
        srow[3] = *o;
        for (i, v) in srow.iter().enumerate() {
            put(280 + 16 * row + 4 * i, &v.to_le_bytes());
        }
    }
    put(344, b"n+1\0");
    let values = elements::volume_order_to_x_fastest(volume.data(), shape);
    h.extend(values.iter().flat_map(|v| v.to_le_bytes()));
    Ok(h)
}

/// Writes `volume` with [`encode`]; gzip-compressed when `file` ends in `.gz`.
#[cfg(not(target_family = "wasm"))]
pub fn write(file: &Path, volume: &Volume) -> Result<(), IoError> {
    use std::io::Write;
    let bytes = encode(volume).map_err(|e| IoError::unsupported(file, FORMAT, e))?;
    let bytes = if file.extension().is_some_and(|e| e == "gz") {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        enc.write_all(&bytes)
            .and_then(|_| enc.finish())
            .map_err(|e| IoError::os(file, "compressing", e))?
    } else {
        bytes
    };
    crate::fsutil::write_atomic(file, &bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Volume {
        let data: Vec<f32> = (0..60).map(|i| i as f32 * 10.0 - 1000.0).collect();
        let meta = Metadata {
            spacing: [0.5, 0.75, 2.0],
            origin: [-10.0, 20.0, 5.0],
            modality: Modality::Ct,
            units: Units::Hounsfield,
        };
        Volume::new([3, 4, 5], data).unwrap().with_meta(meta)
    }

    #[test]
    fn round_trips_plain_and_gzip_bytes() {
        let v = sample();
        let bytes = encode(&v).unwrap();
        assert_eq!(from_bytes(Path::new("a.nii"), &bytes).unwrap(), v);
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut gz, &bytes).unwrap();
        assert_eq!(from_bytes(Path::new("a.nii.gz"), &gz.finish().unwrap()).unwrap(), v);
    }

    #[test]
    fn slope_and_types_from_a_hand_made_int16_header() {
        let mut bytes = encode(&sample()).unwrap();
        bytes.truncate(352);
        bytes[70..72].copy_from_slice(&4i16.to_le_bytes()); // int16
        bytes[112..116].copy_from_slice(&2f32.to_le_bytes()); // slope
        bytes[116..120].copy_from_slice(&(-1024f32).to_le_bytes()); // intercept
        bytes.extend((0..60i16).flat_map(|v| v.to_le_bytes()));
        let v = from_bytes(Path::new("b.nii"), &bytes).unwrap();
        assert_eq!(v.get(0, 0, 0), -1024.0);
        assert_eq!(v.get(1, 0, 0), -1022.0);
    }

    #[test]
    fn broken_files_are_typed_errors() {
        let p = Path::new("bad.nii");
        let good = encode(&sample()).unwrap();
        assert!(matches!(from_bytes(p, &good[..good.len() - 4]), Err(IoError::Truncated { .. })));
        assert!(matches!(from_bytes(p, &good[..200]), Err(IoError::Truncated { .. })));
        let mut long = good.clone();
        long.extend_from_slice(&[0; 8]);
        assert!(matches!(from_bytes(p, &long), Err(IoError::SizeMismatch { .. })));
        let mut huge = good.clone();
        for i in 0..3 {
            huge[42 + 2 * i..44 + 2 * i].copy_from_slice(&32000i16.to_le_bytes());
        }
        assert!(matches!(from_bytes(p, &huge), Err(IoError::TooLarge { .. })));
        let mut dtype = good.clone();
        dtype[70..72].copy_from_slice(&128i16.to_le_bytes());
        assert!(matches!(from_bytes(p, &dtype), Err(IoError::Unsupported { .. })));
        let mut garbage = good.clone();
        garbage[40..42].copy_from_slice(&(-5i16).to_le_bytes());
        assert!(from_bytes(p, &garbage).unwrap_err().to_string().contains("bad.nii"));
        assert!(from_bytes(p, &[0x1f, 0x8b, 1, 2, 3]).is_err());
    }
}
