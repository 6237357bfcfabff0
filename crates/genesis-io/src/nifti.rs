//! NIfTI-1 and NIfTI-2 single files, `.nii` and gzip-compressed `.nii.gz`.
//!
//! The header (NIfTI-1, 348 bytes, or NIfTI-2, 540 bytes) is checked (dimensions, data type,
//! sizes) before any voxel buffer is allocated; the voxels (x-fastest) are then read, rescaled
//! by `scl_slope`/`scl_inter` and reordered into the volume layout. A 4-D file (`dim[4]` > 1:
//! fMRI, multi-phase CT) is a series of 3-D volumes of which one is read: the first by default,
//! any with [`read_volume`] / [`from_bytes_volume`], whose [`Loaded`] says how many there are.
//! The writer is a small NIfTI-1 `float32` encoder of our own, marking the modality in
//! `descrip` (`genesis:ct`).

use std::io::Read;
use std::path::Path;

use genesis_core::{Metadata, Modality, Units, Volume};

use crate::IoError;
use crate::elements;
use crate::limits::check_shape;
use crate::nifti_header::{self, FORMAT, Header, NIFTI1_BYTES as HEADER_BYTES};
use crate::options::Loaded;

/// Largest gap (extensions) accepted between the header and the voxels.
const MAX_EXTENSIONS: u64 = 1 << 24;
/// Largest voxel data of a whole 4-D file that a reader streams through (skipping the volumes
/// it does not keep): 16 × [`crate::limits::MAX_BYTES`].
const MAX_SERIES_BYTES: u64 = crate::limits::MAX_BYTES.saturating_mul(16);
/// Prefix of the `descrip` field that records a modality.
const MODALITY_TAG: &str = "genesis:";

/// Decodes a `.nii` or `.nii.gz` (detected by the gzip magic) held in memory; of a 4-D file,
/// the first volume.
pub fn from_bytes(file: &Path, bytes: &[u8]) -> Result<Volume, IoError> {
    from_bytes_volume(file, bytes, 0).map(|l| l.volume)
}

/// Decodes volume `index` (0-based) of a `.nii` or `.nii.gz` held in memory; a 2-D or 3-D file
/// has the one volume 0. An index past the last volume is an [`IoError::Selection`] naming the
/// file and the count.
pub fn from_bytes_volume(file: &Path, bytes: &[u8], index: usize) -> Result<Loaded, IoError> {
    if bytes.starts_with(&[0x1f, 0x8b]) {
        read_stream(file, flate2::read::GzDecoder::new(bytes), index)
    } else {
        read_stream(file, bytes, index)
    }
}

/// Reads a `.nii` or `.nii.gz` file (the first volume of a 4-D file), streaming it.
#[cfg(not(target_family = "wasm"))]
pub fn read(file: &Path) -> Result<Volume, IoError> {
    read_volume(file, 0).map(|l| l.volume)
}

/// Reads volume `index` (0-based) of a `.nii` or `.nii.gz` file, streaming it (no whole-file
/// buffer for gzip); [`Loaded::volumes`] is the file's count of volumes (`dim[4]`, 1 for 3-D).
#[cfg(not(target_family = "wasm"))]
pub fn read_volume(file: &Path, index: usize) -> Result<Loaded, IoError> {
    let mut f = std::io::BufReader::new(
        std::fs::File::open(file).map_err(|e| IoError::os(file, "reading", e))?,
    );
    let mut magic = [0u8; 2];
    f.read_exact(&mut magic)
        .map_err(|_| IoError::truncated(file, FORMAT, "file shorter than 2 bytes"))?;
    let stream = std::io::Cursor::new(magic).chain(f);
    if magic == [0x1f, 0x8b] {
        read_stream(file, flate2::read::GzDecoder::new(stream), index)
    } else {
        read_stream(file, stream, index)
    }
}

/// Where the kept volume lies in the voxel data: bytes before it, its size, bytes after it.
#[derive(Debug, Clone, Copy)]
struct Span {
    before: u64,
    bytes: usize,
    after: u64,
}

/// Checks the header's layout and `index` against it; returns the shape, count and span.
fn plan(file: &Path, h: &Header, index: usize) -> Result<([usize; 3], usize, Span), IoError> {
    if !h.single_file {
        return Err(IoError::unsupported(
            file,
            FORMAT,
            "header/image pairs (.hdr/.img); use a single .nii",
        ));
    }
    let (shape, volumes) = nifti_header::layout(file, h)?;
    let element = nifti_header::element_of(file, h.datatype)?;
    let (_, bytes) = check_shape(file, shape, element.size())?;
    let total = (bytes as u64).saturating_mul(volumes as u64);
    if total > MAX_SERIES_BYTES {
        return Err(IoError::TooLarge {
            file: file.to_path_buf(),
            detail: format!("{volumes} volumes of {bytes} bytes"),
            limit: MAX_SERIES_BYTES,
        });
    }
    if index >= volumes {
        return Err(IoError::Selection {
            file: file.to_path_buf(),
            detail: format!(
                "volume {index} requested, but the file holds {volumes} volume{} (0 to {})",
                if volumes == 1 { "" } else { "s" },
                volumes - 1
            ),
        });
    }
    let before = bytes as u64 * index as u64;
    Ok((shape, volumes, Span { before, bytes, after: total - before - bytes as u64 }))
}

/// Skips `n` bytes of `r`; returns how many were there.
fn skip(file: &Path, r: &mut impl Read, n: u64) -> Result<u64, IoError> {
    std::io::copy(&mut r.take(n), &mut std::io::sink())
        .map_err(|e| IoError::corrupt(file, FORMAT, e.to_string()))
}

/// Reads the voxel bytes of the kept volume from a stream positioned after the header, and
/// checks that the stream holds exactly the data the header announces.
fn read_span(file: &Path, mut r: impl Read, span: Span) -> Result<Vec<u8>, IoError> {
    let expected = span.before + span.bytes as u64 + span.after;
    let cut = |present: u64| {
        IoError::truncated(
            file,
            FORMAT,
            format!("the header needs {expected} voxel bytes, only {present} present"),
        )
    };
    let skipped = skip(file, &mut r, span.before)?;
    if skipped < span.before {
        return Err(cut(skipped));
    }
    // Grown as data arrive (not reserved from the header), so a short or bomb-like stream
    // never allocates the declared size.
    let mut raw = Vec::new();
    (&mut r)
        .take(span.bytes as u64)
        .read_to_end(&mut raw)
        .map_err(|e| IoError::corrupt(file, FORMAT, e.to_string()))?;
    let after = skip(file, &mut r, span.after)?;
    let present = span.before + raw.len() as u64 + after;
    if present < expected {
        return Err(cut(present));
    }
    let extra = skip(file, &mut r, crate::limits::MAX_BYTES).unwrap_or(0);
    if extra > 0 {
        return Err(IoError::SizeMismatch {
            file: file.to_path_buf(),
            format: FORMAT,
            expected,
            actual: expected + extra,
        });
    }
    Ok(raw)
}

/// Reads a header and volume `index` from a stream positioned at the header.
fn read_stream(file: &Path, mut r: impl Read, index: usize) -> Result<Loaded, IoError> {
    let header = nifti_header::read(file, &mut r)?;
    let (shape, volumes, span) = plan(file, &header, index)?;
    // 0 means "unset" (nibabel reads such files): the data follow the header and the 4-byte
    // extension flag.
    let size = header.size as f64;
    let offset = if header.vox_offset == 0.0 { size + 4.0 } else { header.vox_offset };
    if !(offset.is_finite() && offset >= size && offset < MAX_EXTENSIONS as f64) {
        return Err(IoError::corrupt(file, FORMAT, format!("vox_offset {offset} is out of range")));
    }
    let gap = offset as u64 - header.size;
    if skip(file, &mut r, gap)? < gap {
        return Err(IoError::truncated(file, FORMAT, "file ends inside the header extensions"));
    }
    let raw = read_span(file, r, span)?;
    let volume = to_volume(file, &header, shape, &raw)?;
    Ok(Loaded { volume, volumes, index, series: None })
}

/// Decodes, rescales and reorders the voxel bytes of one volume, with its metadata.
fn to_volume(file: &Path, h: &Header, shape: [usize; 3], raw: &[u8]) -> Result<Volume, IoError> {
    let element = nifti_header::element_of(file, h.datatype)?;
    let mut values = elements::decode(raw, element, h.endian);
    let (slope, inter) = h.scaling;
    if slope != 0.0 && slope.is_finite() && inter.is_finite() && (slope, inter) != (1.0, 0.0) {
        values.iter_mut().for_each(|v| *v = (f64::from(*v) * slope + inter) as f32);
    }
    let mut volume = Volume::new(shape, elements::x_fastest_to_volume_order(&values, shape))
        .map_err(|e| IoError::volume(file, e))?;
    let modality =
        modality_tag(&h.descrip).unwrap_or_else(|| crate::intensity::guess_modality(&volume));
    volume.meta = Metadata {
        spacing: [1, 2, 3].map(|i| {
            let s = h.pixdim[i].abs();
            if s.is_finite() && s > 0.0 { s } else { 1.0 }
        }),
        origin: if h.sform_code > 0 { h.srow_origin } else { h.qoffset },
        modality,
        units: if modality == Modality::Ct { Units::Hounsfield } else { Units::Raw },
    };
    Ok(volume)
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
