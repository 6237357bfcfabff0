//! NumPy `.npy` arrays (format versions 1–3): bool/u8/i8/u16/i16/u32/i32/u64/i64/f32/f64, C
//! or Fortran order, either byte order. Written as little-endian `f32` in C order.

use std::path::Path;

use genesis_core::Volume;

use crate::IoError;
use crate::elements::{self, Element, Endian};
use crate::limits::check_bytes;

/// Format name used in errors.
const FORMAT: &str = "NPY";
/// The magic string every `.npy` file starts with.
const MAGIC: &[u8] = b"\x93NUMPY";
/// Largest header accepted (NumPy itself caps headers well below this).
const MAX_HEADER: usize = 1 << 20;

/// A decoded array: its shape and `f32` values in C order (last index fastest).
#[derive(Debug, Clone, PartialEq)]
pub struct Array {
    /// Dimensions, outermost first.
    pub shape: Vec<usize>,
    /// Values in C order.
    pub data: Vec<f32>,
}

/// How an array is stored: what its header says and where its values start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    /// Element type of the values.
    pub element: Element,
    /// Byte order of the values.
    pub endian: Endian,
    /// Whether the values are in Fortran order (first index fastest).
    pub fortran: bool,
    /// Dimensions, outermost first.
    pub shape: Vec<usize>,
    /// Byte offset of the first value (the preamble and header come before it).
    pub offset: usize,
}

/// Reads the preamble and header of `bytes` (a whole file or just its start); returns the
/// layout and the bytes after the header.
pub fn layout<'a>(file: &Path, bytes: &'a [u8]) -> Result<(Layout, &'a [u8]), IoError> {
    let (header, data) = split_header(file, bytes)?;
    let layout = parse_header(file, header, bytes.len() - data.len())?;
    Ok((layout, data))
}

/// Decodes a whole `.npy` file held in `bytes`.
pub fn parse(file: &Path, bytes: &[u8]) -> Result<Array, IoError> {
    let (header, data) = layout(file, bytes)?;
    let count = header
        .shape
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .filter(|&n| n <= genesis_core::volume::MAX_VOXELS)
        .ok_or_else(|| IoError::TooLarge {
            file: file.to_path_buf(),
            detail: format!("array shape {:?}", header.shape),
            limit: genesis_core::volume::MAX_VOXELS as u64,
        })?;
    let expected = check_bytes(file, "array data", count as u64 * header.element.size() as u64)?;
    if data.len() < expected {
        return Err(IoError::truncated(
            file,
            FORMAT,
            format!(
                "shape {:?} needs {expected} data bytes, only {} present",
                header.shape,
                data.len()
            ),
        ));
    }
    if data.len() > expected {
        return Err(IoError::SizeMismatch {
            file: file.to_path_buf(),
            format: FORMAT,
            expected: expected as u64,
            actual: data.len() as u64,
        });
    }
    let values = elements::decode(data, header.element, header.endian);
    let data = if header.fortran { fortran_to_c(&values, &header.shape) } else { values };
    Ok(Array { shape: header.shape, data })
}

/// Decodes a `.npy` file into a volume: 1-D `[n]` → `[n,1,1]`, 2-D `[h,w]` → `[h,w,1]`, 3-D as
/// `[X,Y,Z]`; extra leading dimensions of size 1 are dropped. The modality is guessed
/// ([`crate::intensity::guess_modality`]).
pub fn from_bytes(file: &Path, bytes: &[u8]) -> Result<Volume, IoError> {
    let array = parse(file, bytes)?;
    let mut dims: &[usize] = &array.shape;
    while dims.len() > 3 && dims[0] == 1 {
        dims = &dims[1..];
    }
    let shape = match *dims {
        [] => [1, 1, 1],
        [n] => [n, 1, 1],
        [h, w] => [h, w, 1],
        [x, y, z] => [x, y, z],
        _ => {
            return Err(IoError::unsupported(
                file,
                FORMAT,
                format!("array of shape {:?} is not a single 2D image or 3D volume", array.shape),
            ));
        }
    };
    let mut volume = Volume::new(shape, array.data).map_err(|e| IoError::volume(file, e))?;
    volume.meta.modality = crate::intensity::guess_modality(&volume);
    if volume.meta.modality == genesis_core::Modality::Ct {
        volume.meta.units = genesis_core::Units::Hounsfield;
    }
    Ok(volume)
}

/// Splits the bytes into the header text and the data that follows it.
fn split_header<'a>(file: &Path, bytes: &'a [u8]) -> Result<(&'a str, &'a [u8]), IoError> {
    let (start, len) = preamble(file, bytes)?;
    let header = bytes.get(start..start + len).ok_or_else(|| {
        IoError::truncated(file, FORMAT, format!("header of {len} bytes is cut off"))
    })?;
    let text = std::str::from_utf8(header)
        .map_err(|_| IoError::corrupt(file, FORMAT, "header is not UTF-8 text"))?;
    Ok((text, &bytes[start + len..]))
}

/// Checks the magic string and version; returns where the header starts and its length.
fn preamble(file: &Path, bytes: &[u8]) -> Result<(usize, usize), IoError> {
    if bytes.len() < 10 {
        return Err(IoError::truncated(file, FORMAT, "shorter than the 10-byte preamble"));
    }
    if !bytes.starts_with(MAGIC) {
        return Err(IoError::corrupt(file, FORMAT, "missing the \\x93NUMPY magic"));
    }
    let (len, start) = match bytes[6] {
        1 => (usize::from(u16::from_le_bytes([bytes[8], bytes[9]])), 10),
        2 | 3 if bytes.len() >= 12 => {
            (u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize, 12)
        }
        2 | 3 => return Err(IoError::truncated(file, FORMAT, "shorter than the 12-byte preamble")),
        v => return Err(IoError::unsupported(file, FORMAT, format!("format version {v}"))),
    };
    if len > MAX_HEADER {
        return Err(IoError::corrupt(file, FORMAT, format!("header length {len} is absurd")));
    }
    Ok((start, len))
}

/// The text after `'key':` in the header dictionary.
fn value_of<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    [format!("'{key}'"), format!("\"{key}\"")].iter().find_map(|k| {
        let rest = &text[text.find(k.as_str())? + k.len()..];
        Some(rest.trim_start().strip_prefix(':')?.trim_start())
    })
}

/// Parses the header dictionary, e.g. `{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }`,
/// of an array whose values start at byte `offset`.
fn parse_header(file: &Path, text: &str, offset: usize) -> Result<Layout, IoError> {
    let bad = |what: &str| IoError::corrupt(file, FORMAT, format!("header {what}: {text:?}"));
    let descr = value_of(text, "descr").ok_or_else(|| bad("has no 'descr'"))?;
    let quote = descr
        .chars()
        .next()
        .filter(|c| *c == '\'' || *c == '"')
        .ok_or_else(|| bad("has an unquoted 'descr'"))?;
    let descr = descr[1..].split(quote).next().unwrap_or_default();
    let (element, endian) = parse_descr(descr).ok_or_else(|| {
        IoError::unsupported(
            file,
            FORMAT,
            format!("element type {descr:?} (use f4, f8, i2, u1, ...)"),
        )
    })?;
    let fortran = match value_of(text, "fortran_order") {
        Some(v) if v.starts_with("True") => true,
        Some(v) if v.starts_with("False") => false,
        _ => return Err(bad("has no boolean 'fortran_order'")),
    };
    let shape_text = value_of(text, "shape")
        .and_then(|v| v.strip_prefix('('))
        .and_then(|v| v.split(')').next())
        .ok_or_else(|| bad("has no 'shape' tuple"))?;
    let shape = shape_text
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.parse::<usize>().map_err(|_| bad("has a non-integer dimension")))
        .collect::<Result<Vec<_>, _>>()?;
    if shape.contains(&0) {
        return Err(bad("has a zero dimension"));
    }
    Ok(Layout { element, endian, fortran, shape, offset })
}

/// Element type and byte order of a NumPy type string such as `<f4` or `|u1`.
fn parse_descr(descr: &str) -> Option<(Element, Endian)> {
    let mut chars = descr.chars();
    let endian = match chars.next()? {
        '<' | '|' | '=' => Endian::Little,
        '>' => Endian::Big,
        _ => return None,
    };
    let element = match chars.as_str() {
        "b1" | "u1" => Element::U8,
        "i1" => Element::I8,
        "u2" => Element::U16,
        "i2" => Element::I16,
        "u4" => Element::U32,
        "i4" => Element::I32,
        "u8" => Element::U64,
        "i8" => Element::I64,
        "f4" => Element::F32,
        "f8" => Element::F64,
        _ => return None,
    };
    Some((element, endian))
}

/// Reorders a Fortran-order (first index fastest) array into C order.
fn fortran_to_c(values: &[f32], shape: &[usize]) -> Vec<f32> {
    let mut out = vec![0.0; values.len()];
    let mut index = vec![0usize; shape.len()];
    for &v in values {
        let c = index.iter().zip(shape).fold(0usize, |acc, (&i, &d)| acc * d + i);
        out[c] = v;
        for (i, &d) in index.iter_mut().zip(shape) {
            *i += 1;
            if *i < d {
                break;
            }
            *i = 0;
        }
    }
    out
}

/// The items of an array `[n, …]` (item `i` is `array[i]`), read from its file one at a time:
/// the header and the file's size are checked once, at [`Items::open`], then each item costs
/// one seek and one read of its own bytes, so an array larger than memory can be sampled.
///
/// Why seek and read rather than memory-mapping: no `unsafe`, and a file that shrinks after it
/// was opened gives an I/O error naming it instead of a SIGBUS on a mapped page; the kernel's
/// page cache already keeps the recently read parts in memory, and reading one item (half a
/// MiB for a 64×64×32 cube) is small next to the transforms then applied to it.
#[cfg(not(target_family = "wasm"))]
#[derive(Debug, Clone)]
pub struct Items {
    file: std::path::PathBuf,
    layout: Layout,
    item_bytes: usize,
}

#[cfg(not(target_family = "wasm"))]
impl Items {
    /// Reads the header of `file` and checks that the file holds exactly the data it declares
    /// (a truncated file is refused here, not at the first read of its missing end).
    pub fn open(file: &Path) -> Result<Self, IoError> {
        let layout = read_layout(file)?;
        let Some((&n, item)) = layout.shape.split_first() else {
            return Err(IoError::unsupported(file, FORMAT, "a 0-D array has no items"));
        };
        if layout.fortran && layout.shape.len() > 1 {
            let detail = "items of a Fortran-order array are not contiguous; save it in C order";
            return Err(IoError::unsupported(file, FORMAT, detail));
        }
        let voxels = item
            .iter()
            .try_fold(1usize, |acc, &d| acc.checked_mul(d))
            .filter(|&v| v <= genesis_core::volume::MAX_VOXELS);
        let too_large = || IoError::TooLarge {
            file: file.to_path_buf(),
            detail: format!("array shape {:?}", layout.shape),
            limit: genesis_core::volume::MAX_VOXELS as u64,
        };
        let item_bytes = voxels.ok_or_else(too_large)? * layout.element.size();
        let item_bytes = check_bytes(file, "array item", item_bytes as u64)?;
        let expected = (n as u64)
            .checked_mul(item_bytes as u64)
            .and_then(|b| b.checked_add(layout.offset as u64))
            .ok_or_else(too_large)?;
        let actual = std::fs::metadata(file).map_err(|e| IoError::os(file, "reading", e))?.len();
        if actual < expected {
            let shape = &layout.shape;
            let detail = format!("shape {shape:?} needs {expected} bytes, the file has {actual}");
            return Err(IoError::truncated(file, FORMAT, detail));
        }
        if actual > expected {
            return Err(IoError::SizeMismatch {
                file: file.to_path_buf(),
                format: FORMAT,
                expected,
                actual,
            });
        }
        Ok(Self { file: file.to_path_buf(), layout, item_bytes })
    }

    /// The whole array's shape (`[n, …]`).
    pub fn shape(&self) -> &[usize] {
        &self.layout.shape
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.file
    }

    /// Number of items (`n`).
    pub fn len(&self) -> usize {
        self.layout.shape[0]
    }

    /// True when the array has no item (never: headers with a zero dimension are refused).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Item `index`, its values in C order.
    pub fn read(&self, index: usize) -> Result<Vec<f32>, IoError> {
        use std::io::{Read, Seek, SeekFrom};
        if index >= self.len() {
            let detail = format!("item {index} asked from an array of {}", self.len());
            return Err(IoError::Dataset { file: self.file.clone(), detail });
        }
        let failed = |e| IoError::os(&self.file, "reading", e);
        let mut f = std::fs::File::open(&self.file).map_err(failed)?;
        let start = self.layout.offset as u64 + index as u64 * self.item_bytes as u64;
        f.seek(SeekFrom::Start(start)).map_err(failed)?;
        let mut bytes = vec![0; self.item_bytes];
        f.read_exact(&mut bytes).map_err(failed)?;
        Ok(elements::decode(&bytes, self.layout.element, self.layout.endian))
    }
}

/// Reads just the preamble and header of `file`.
#[cfg(not(target_family = "wasm"))]
fn read_layout(file: &Path) -> Result<Layout, IoError> {
    use std::io::Read;
    let failed = |e| IoError::os(file, "reading", e);
    let mut f = std::fs::File::open(file).map_err(failed)?;
    let mut head = Vec::new();
    (&mut f).take(12).read_to_end(&mut head).map_err(failed)?;
    let (start, len) = preamble(file, &head)?;
    let rest = (start + len).saturating_sub(head.len()) as u64;
    (&mut f).take(rest).read_to_end(&mut head).map_err(failed)?;
    Ok(layout(file, &head)?.0)
}

/// Encodes `data` (C order) of `shape` as a version-1 little-endian `f32` `.npy` file.
pub fn encode(shape: &[usize], data: &[f32]) -> Vec<u8> {
    let dims: Vec<String> = shape.iter().map(usize::to_string).collect();
    let tuple =
        if dims.len() == 1 { format!("({},)", dims[0]) } else { format!("({})", dims.join(", ")) };
    let mut header = format!("{{'descr': '<f4', 'fortran_order': False, 'shape': {tuple}, }}");
    // Pad with spaces so that the data start (10 + header + '\n') is 64-byte aligned.
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut out = Vec::with_capacity(10 + header.len() + data.len() * 4);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&[1, 0]);
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    out.extend(data.iter().flat_map(|v| v.to_le_bytes()));
    out
}

/// Writes a volume as a 3-D `[X, Y, Z]` `f32` `.npy` file.
#[cfg(not(target_family = "wasm"))]
pub fn write(file: &Path, volume: &Volume) -> Result<(), IoError> {
    crate::fsutil::write_atomic(file, &encode(&volume.shape(), volume.data()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(descr: &str, fortran: bool, shape: &str, data: &[u8]) -> Vec<u8> {
        let header = format!(
            "{{'descr': '{descr}', 'fortran_order': {}, 'shape': {shape}, }}\n",
            if fortran { "True" } else { "False" }
        );
        let mut out = MAGIC.to_vec();
        out.extend_from_slice(&[1, 0]);
        out.extend_from_slice(&(header.len() as u16).to_le_bytes());
        out.extend_from_slice(header.as_bytes());
        out.extend_from_slice(data);
        out
    }

    #[test]
    fn round_trips_f32_and_reads_other_types() {
        let data: Vec<f32> = (0..24).map(|i| i as f32 * 0.5).collect();
        let v = from_bytes(Path::new("a.npy"), &encode(&[2, 3, 4], &data)).unwrap();
        assert_eq!((v.shape(), v.data()), ([2, 3, 4], &data[..]));
        let i16s: Vec<u8> = [-1000i16, 5].iter().flat_map(|v| v.to_be_bytes()).collect();
        let a = parse(Path::new("b.npy"), &raw(">i2", false, "(2,)", &i16s)).unwrap();
        assert_eq!(a.data, vec![-1000.0, 5.0]);
        let a = parse(Path::new("c.npy"), &raw("|u1", false, "(1, 2)", &[3, 250])).unwrap();
        assert_eq!((a.shape, a.data), (vec![1, 2], vec![3.0, 250.0]));
        let f8: Vec<u8> = [1.5f64].iter().flat_map(|v| v.to_le_bytes()).collect();
        assert_eq!(
            parse(Path::new("d.npy"), &raw("<f8", false, "()", &f8)).unwrap().data,
            vec![1.5]
        );
    }

    #[test]
    fn items_are_read_one_at_a_time_and_checked_at_open() {
        let dir = std::env::temp_dir().join(format!("genesis-npy-items-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("items.npy");
        let data: Vec<f32> = (0..24).map(|i| i as f32).collect();
        std::fs::write(&file, encode(&[3, 2, 4], &data)).unwrap();
        let items = Items::open(&file).unwrap();
        assert_eq!((items.len(), items.shape()), (3, &[3, 2, 4][..]));
        assert_eq!(items.read(2).unwrap(), &data[16..]);
        assert!(items.read(3).unwrap_err().to_string().contains("item 3 asked from an array of 3"));
        let i16s: Vec<u8> = [-7i16, 9].iter().flat_map(|v| v.to_be_bytes()).collect();
        std::fs::write(&file, raw(">i2", false, "(2,)", &i16s)).unwrap();
        assert_eq!(Items::open(&file).unwrap().read(1).unwrap(), vec![9.0]);
        std::fs::write(&file, raw("|u1", true, "(2, 3)", &[0; 6])).unwrap();
        assert!(matches!(Items::open(&file), Err(IoError::Unsupported { .. })));
        let mut cut = encode(&[3, 2, 4], &data);
        cut.truncate(cut.len() - 1);
        std::fs::write(&file, &cut).unwrap();
        let err = Items::open(&file).unwrap_err();
        assert!(matches!(err, IoError::Truncated { .. }), "{err}");
        assert!(err.to_string().contains("items.npy"), "{err}");
        std::fs::write(&file, &cut[..20]).unwrap();
        assert!(matches!(Items::open(&file), Err(IoError::Truncated { .. })));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn fortran_order_is_transposed_to_c_order() {
        // 2x3 array [[0,1,2],[3,4,5]] stored column-major: 0,3,1,4,2,5.
        let a =
            parse(Path::new("f.npy"), &raw("|u1", true, "(2, 3)", &[0, 3, 1, 4, 2, 5])).unwrap();
        assert_eq!(a.data, vec![0.0, 1.0, 2.0, 3.0, 4.0, 5.0]);
    }

    #[test]
    fn broken_files_are_typed_errors() {
        let p = Path::new("bad.npy");
        let good = encode(&[2, 2], &[1.0; 4]);
        assert!(matches!(parse(p, &good[..good.len() - 1]), Err(IoError::Truncated { .. })));
        let mut long = good.clone();
        long.push(0);
        assert!(matches!(parse(p, &long), Err(IoError::SizeMismatch { .. })));
        let huge = raw("<f4", false, "(100000, 100000, 100000)", &[]);
        assert!(matches!(parse(p, &huge), Err(IoError::TooLarge { .. })));
        let overflow = raw("<f4", false, "(18446744073709551615, 3)", &[]);
        assert!(matches!(parse(p, &overflow), Err(IoError::TooLarge { .. })));
        assert!(matches!(
            parse(p, &raw("<c8", false, "(1,)", &[0; 8])),
            Err(IoError::Unsupported { .. })
        ));
        assert!(matches!(parse(p, b"\x93NUMPY\x01\x00\xff\xff{"), Err(IoError::Truncated { .. })));
        assert!(matches!(parse(p, b"garbage-garbage"), Err(IoError::Corrupt { .. })));
        assert!(matches!(
            from_bytes(p, &encode(&[2, 2, 2, 2], &[0.0; 16])),
            Err(IoError::Unsupported { .. })
        ));
        assert!(
            parse(p, &raw("<f4", false, "(0, 3)", &[]))
                .unwrap_err()
                .to_string()
                .contains("bad.npy")
        );
    }
}
