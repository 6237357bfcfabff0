//! MetaImage (ITK) `.mhd` headers with `.raw`/`.zraw` data, and single-file `.mha`.
//!
//! Header lines are `Key = Value`; the keys read are `NDims`, `DimSize`, `ElementType`
//! (`MET_UCHAR`, `MET_CHAR`, `MET_USHORT`, `MET_SHORT`, `MET_UINT`, `MET_INT`, `MET_FLOAT`,
//! `MET_DOUBLE`, and the 64-bit integers), `ElementSpacing` (or `ElementSize`), `Offset` (or
//! `Origin`/`Position`), `BinaryDataByteOrderMSB`/`ElementByteOrderMSB`, `CompressedData`
//! (zlib), `ElementNumberOfChannels` (must be 1), `HeaderSize`, `Modality` and
//! `ElementDataFile` (a file name beside the header, or `LOCAL` for data after the header).
//! The data are x-fastest and are reordered into the volume layout.

use std::io::Read;
use std::path::Path;

use genesis_core::{Metadata, Modality, Units, Volume};

use crate::IoError;
use crate::elements::{self, Element, Endian};
use crate::limits::{check_shape, read_capped};

/// Format name used in errors.
const FORMAT: &str = "MetaImage";
/// Largest header text accepted.
const MAX_HEADER: usize = 1 << 16;

/// Where the voxel bytes live.
#[derive(Debug, Clone, PartialEq)]
pub enum DataFile {
    /// After the header, in the same file.
    Local,
    /// In a separate file, relative to the header's folder.
    External(String),
}

/// The parsed header.
#[derive(Debug, Clone, PartialEq)]
pub struct Header {
    /// `[X, Y, Z]` (Z = 1 for 2D images).
    pub shape: [usize; 3],
    /// Element type of the stored voxels.
    pub element: Element,
    /// Byte order of the stored voxels.
    pub endian: Endian,
    /// Voxel size per axis.
    pub spacing: [f64; 3],
    /// World position of the first voxel.
    pub origin: [f64; 3],
    /// zlib-compressed data.
    pub compressed: bool,
    /// Bytes to skip before the data (`None`: data are the last bytes of the file).
    pub header_size: Option<usize>,
    /// Where the data are.
    pub data_file: DataFile,
    /// Modality, when the header names one.
    pub modality: Option<Modality>,
    /// Length of the header text in bytes (where `LOCAL` data start).
    pub text_len: usize,
}

/// Parses a header from the start of `bytes` (stopping after `ElementDataFile`).
pub fn parse_header(file: &Path, bytes: &[u8]) -> Result<Header, IoError> {
    let bad = |detail: String| IoError::corrupt(file, FORMAT, detail);
    let mut fields: Vec<(String, String)> = Vec::new();
    let mut pos = 0;
    let mut data_file = None;
    while data_file.is_none() {
        if pos >= bytes.len() {
            return Err(IoError::truncated(file, FORMAT, "header ends without ElementDataFile"));
        }
        if pos > MAX_HEADER {
            return Err(bad(format!("no ElementDataFile in the first {MAX_HEADER} bytes")));
        }
        let end =
            bytes[pos..].iter().position(|&b| b == b'\n').map_or(bytes.len(), |i| pos + i + 1);
        let line = std::str::from_utf8(&bytes[pos..end])
            .map_err(|_| bad(format!("header line at byte {pos} is not text")))?
            .trim();
        pos = end;
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (key, value) = line
            .split_once('=')
            .ok_or_else(|| bad(format!("line {line:?} is not `Key = Value`")))?;
        let (key, value) = (key.trim().to_owned(), value.trim().to_owned());
        if key == "ElementDataFile" {
            data_file =
                Some(if value == "LOCAL" { DataFile::Local } else { DataFile::External(value) });
        } else {
            fields.push((key, value));
        }
    }
    let get = |key: &str| fields.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str());
    let ndims: usize = get("NDims")
        .ok_or_else(|| bad("no NDims".into()))?
        .parse()
        .map_err(|_| bad("NDims is not an integer".into()))?;
    if !(1..=3).contains(&ndims) {
        return Err(IoError::unsupported(file, FORMAT, format!("NDims = {ndims} (only 1 to 3)")));
    }
    let dims: Vec<usize> = numbers(get("DimSize").ok_or_else(|| bad("no DimSize".into()))?, ndims)
        .ok_or_else(|| bad(format!("DimSize must be {ndims} positive integers")))?;
    let mut shape = [1usize; 3];
    shape[..ndims].copy_from_slice(&dims);
    let element = parse_element(get("ElementType").ok_or_else(|| bad("no ElementType".into()))?)
        .ok_or_else(|| {
            IoError::unsupported(file, FORMAT, format!("ElementType {:?}", get("ElementType")))
        })?;
    if let Some(channels) = get("ElementNumberOfChannels").filter(|c| *c != "1") {
        return Err(IoError::unsupported(file, FORMAT, format!("{channels} channels per voxel")));
    }
    let vector = |keys: &[&str], default: f64| -> Result<[f64; 3], IoError> {
        let mut out = [default; 3];
        if let Some(text) = keys.iter().find_map(|k| get(k)) {
            let values: Vec<f64> = numbers(text, ndims)
                .ok_or_else(|| bad(format!("{} must be {ndims} numbers", keys[0])))?;
            out[..ndims].copy_from_slice(&values);
        }
        Ok(out)
    };
    let flag = |key: &str| get(key).is_some_and(|v| v.eq_ignore_ascii_case("true"));
    let header_size = match get("HeaderSize") {
        None => Some(0),
        Some("-1") => None,
        Some(v) => Some(v.parse().map_err(|_| bad("HeaderSize is not an integer".into()))?),
    };
    Ok(Header {
        shape,
        element,
        endian: if flag("BinaryDataByteOrderMSB") || flag("ElementByteOrderMSB") {
            Endian::Big
        } else {
            Endian::Little
        },
        spacing: vector(&["ElementSpacing", "ElementSize"], 1.0)?,
        origin: vector(&["Offset", "Origin", "Position"], 0.0)?,
        compressed: flag("CompressedData"),
        header_size,
        data_file: data_file.unwrap_or(DataFile::Local),
        modality: get("Modality").map(parse_modality),
        text_len: pos,
    })
}

/// Parses exactly `n` whitespace-separated numbers.
fn numbers<T: std::str::FromStr + PartialOrd + Default>(text: &str, n: usize) -> Option<Vec<T>> {
    let values: Vec<T> = text.split_whitespace().map(|s| s.parse().ok()).collect::<Option<_>>()?;
    (values.len() == n).then_some(values)
}

/// Element type of a `MET_*` name.
fn parse_element(name: &str) -> Option<Element> {
    Some(match name {
        "MET_UCHAR" => Element::U8,
        "MET_CHAR" => Element::I8,
        "MET_USHORT" => Element::U16,
        "MET_SHORT" => Element::I16,
        "MET_UINT" => Element::U32,
        "MET_INT" => Element::I32,
        "MET_ULONG_LONG" => Element::U64,
        "MET_LONG_LONG" => Element::I64,
        "MET_FLOAT" => Element::F32,
        "MET_DOUBLE" => Element::F64,
        _ => return None,
    })
}

/// Modality of a `MET_MOD_*` name.
fn parse_modality(name: &str) -> Modality {
    match name {
        "MET_MOD_CT" => Modality::Ct,
        "MET_MOD_MR" => Modality::Mr,
        _ => Modality::Other,
    }
}

/// Builds the volume from the header and the bytes of its data file (`data`, starting at the
/// file's first byte; `HeaderSize` is applied here).
pub fn decode(file: &Path, header: &Header, data: &[u8]) -> Result<Volume, IoError> {
    let (_, bytes) = check_shape(file, header.shape, header.element.size())?;
    let inflated;
    let raw = if header.compressed {
        let skip = header.header_size.ok_or_else(|| {
            IoError::unsupported(file, FORMAT, "HeaderSize = -1 with compressed data")
        })?;
        let payload = data.get(skip..).unwrap_or_default();
        let reader = flate2::read::ZlibDecoder::new(payload).take(bytes as u64 + 1);
        inflated = read_capped(file, reader, FORMAT)?;
        exact(file, &inflated, bytes)?
    } else {
        let start = match header.header_size {
            Some(skip) => skip,
            None => data.len().checked_sub(bytes).ok_or_else(|| short(file, bytes, data.len()))?,
        };
        exact(file, data.get(start..).unwrap_or_default(), bytes)?
    };
    let values = elements::decode(raw, header.element, header.endian);
    let mut volume =
        Volume::new(header.shape, elements::x_fastest_to_volume_order(&values, header.shape))
            .map_err(|e| IoError::volume(file, e))?;
    let modality = header.modality.unwrap_or_else(|| crate::intensity::guess_modality(&volume));
    let units = if modality == Modality::Ct { Units::Hounsfield } else { Units::Raw };
    volume.meta = Metadata { spacing: header.spacing, origin: header.origin, modality, units };
    Ok(volume)
}

/// `data` when it holds exactly `bytes` bytes; a truncation or size-mismatch error otherwise.
fn exact<'a>(file: &Path, data: &'a [u8], bytes: usize) -> Result<&'a [u8], IoError> {
    match data.len().cmp(&bytes) {
        std::cmp::Ordering::Less => Err(short(file, bytes, data.len())),
        std::cmp::Ordering::Greater => Err(IoError::SizeMismatch {
            file: file.to_path_buf(),
            format: FORMAT,
            expected: bytes as u64,
            actual: data.len() as u64,
        }),
        std::cmp::Ordering::Equal => Ok(data),
    }
}

/// The error for data shorter than the header announces.
fn short(file: &Path, expected: usize, actual: usize) -> IoError {
    IoError::truncated(
        file,
        FORMAT,
        format!("the header needs {expected} data bytes, only {actual} present"),
    )
}

/// Decodes a single-file MetaImage (`ElementDataFile = LOCAL`) held in memory.
pub fn from_bytes(file: &Path, bytes: &[u8]) -> Result<Volume, IoError> {
    let header = parse_header(file, bytes)?;
    match &header.data_file {
        DataFile::Local => decode(file, &header, &bytes[header.text_len..]),
        DataFile::External(name) => Err(IoError::unsupported(
            file,
            FORMAT,
            format!("data file {name:?} is separate; load the header from disk instead"),
        )),
    }
}

/// Reads a `.mhd`/`.mha` file and its data file.
#[cfg(not(target_family = "wasm"))]
pub fn read(file: &Path) -> Result<Volume, IoError> {
    let mut head = Vec::new();
    std::fs::File::open(file)
        .and_then(|f| f.take(MAX_HEADER as u64 + 1).read_to_end(&mut head))
        .map_err(|e| IoError::os(file, "reading", e))?;
    let header = parse_header(file, &head)?;
    match &header.data_file {
        DataFile::Local => {
            let bytes = crate::limits::read_file(file)?;
            decode(file, &header, &bytes[header.text_len.min(bytes.len())..])
        }
        DataFile::External(name) => {
            let data_path = file.parent().unwrap_or(Path::new(".")).join(name);
            let bytes = crate::limits::read_file(&data_path)?;
            decode(file, &header, &bytes)
        }
    }
}

/// Writes `volume` as `<stem>.mhd` + `<stem>.raw` (or `.zraw` when `compress`), `MET_FLOAT`
/// little-endian, x-fastest. `file` is the `.mhd` path.
#[cfg(not(target_family = "wasm"))]
pub fn write(file: &Path, volume: &Volume, compress: bool) -> Result<(), IoError> {
    use std::io::Write;
    let shape = volume.shape();
    let ext = if compress { "zraw" } else { "raw" };
    let data_path = file.with_extension(ext);
    let data_name =
        data_path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let values = elements::volume_order_to_x_fastest(volume.data(), shape);
    let raw: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
    let payload = if compress {
        let mut enc = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        enc.write_all(&raw)
            .and_then(|_| enc.finish())
            .map_err(|e| IoError::os(&data_path, "compressing", e))?
    } else {
        raw
    };
    let join = |v: [f64; 3]| v.iter().map(f64::to_string).collect::<Vec<_>>().join(" ");
    let modality = match volume.meta.modality {
        Modality::Ct => "MET_MOD_CT",
        Modality::Mr => "MET_MOD_MR",
        _ => "MET_MOD_UNKNOWN",
    };
    let mut text = format!(
        "ObjectType = Image\nNDims = 3\nBinaryData = True\nBinaryDataByteOrderMSB = False\n\
         CompressedData = {}\n",
        if compress { "True" } else { "False" }
    );
    if compress {
        text.push_str(&format!("CompressedDataSize = {}\n", payload.len()));
    }
    text.push_str(&format!(
        "Offset = {}\nElementSpacing = {}\nDimSize = {} {} {}\nModality = {modality}\n\
         ElementType = MET_FLOAT\nElementDataFile = {data_name}\n",
        join(volume.meta.origin),
        join(volume.meta.spacing),
        shape[0],
        shape[1],
        shape[2],
    ));
    crate::fsutil::write_atomic(&data_path, &payload)?;
    crate::fsutil::write_atomic(file, text.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    const LUNA_LIKE: &str = "ObjectType = Image\nNDims = 3\nBinaryData = True\n\
        BinaryDataByteOrderMSB = False\nCompressedData = False\n\
        TransformMatrix = 1 0 0 0 1 0 0 0 1\nOffset = -195 -195 -378\n\
        CenterOfRotation = 0 0 0\nAnatomicalOrientation = RAI\n\
        ElementSpacing = 0.7 0.7 2.5\nDimSize = 2 3 4\nElementType = MET_SHORT\n\
        ElementDataFile = LOCAL\n";

    fn luna_bytes(msb: bool) -> Vec<u8> {
        let text =
            if msb { LUNA_LIKE.replace("MSB = False", "MSB = True") } else { LUNA_LIKE.to_owned() };
        let mut bytes = text.into_bytes();
        for i in 0..24i16 {
            let v = i * 100 - 1000;
            bytes.extend_from_slice(&if msb { v.to_be_bytes() } else { v.to_le_bytes() });
        }
        bytes
    }

    #[test]
    fn reads_luna_style_header_both_byte_orders() {
        for msb in [false, true] {
            let v = from_bytes(Path::new("s.mha"), &luna_bytes(msb)).unwrap();
            assert_eq!(v.shape(), [2, 3, 4]);
            // x-fastest element 1 + 2·(2 + 3·3) = 23 is voxel (1, 2, 3).
            assert_eq!(v.get(1, 2, 3), 23.0 * 100.0 - 1000.0);
            assert_eq!(v.get(1, 0, 0), -900.0);
            assert_eq!(v.meta.spacing, [0.7, 0.7, 2.5]);
            assert_eq!(v.meta.origin, [-195.0, -195.0, -378.0]);
            assert_eq!((v.meta.modality, v.meta.units), (Modality::Ct, Units::Hounsfield));
        }
    }

    #[test]
    fn broken_headers_and_data_are_typed_errors() {
        let p = Path::new("b.mha");
        let good = luna_bytes(false);
        assert!(matches!(from_bytes(p, &good[..good.len() - 3]), Err(IoError::Truncated { .. })));
        let mut long = good.clone();
        long.extend_from_slice(&[0, 0]);
        assert!(matches!(from_bytes(p, &long), Err(IoError::SizeMismatch { .. })));
        let huge = LUNA_LIKE.replace("DimSize = 2 3 4", "DimSize = 100000 100000 100000");
        assert!(matches!(from_bytes(p, huge.as_bytes()), Err(IoError::TooLarge { .. })));
        let zero = LUNA_LIKE.replace("DimSize = 2 3 4", "DimSize = 0 3 4");
        assert!(from_bytes(p, zero.as_bytes()).is_err());
        let typ = LUNA_LIKE.replace("MET_SHORT", "MET_HALF");
        assert!(matches!(from_bytes(p, typ.as_bytes()), Err(IoError::Unsupported { .. })));
        let nodata = LUNA_LIKE.replace("ElementDataFile = LOCAL\n", "");
        assert!(matches!(from_bytes(p, nodata.as_bytes()), Err(IoError::Truncated { .. })));
        assert!(matches!(from_bytes(p, b"\xff\xfe = \x00\n"), Err(IoError::Corrupt { .. })));
        let err = from_bytes(
            p,
            b"NDims = 3\nDimSize = 1 2\nElementType = MET_SHORT\nElementDataFile = LOCAL\n",
        )
        .unwrap_err();
        assert!(err.to_string().contains("b.mha") && err.to_string().contains("DimSize"), "{err}");
    }
}
