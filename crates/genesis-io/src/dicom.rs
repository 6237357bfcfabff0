//! DICOM Part 10 files and folders of slices. Pixel data in the native syntaxes (implicit VR
//! LE, explicit VR LE/BE) are read directly; deflated data sets are inflated (capped) first;
//! encapsulated pixel data (RLE, JPEG baseline/extended/lossless, JPEG-LS, JPEG 2000) are
//! decoded by [`crate::dicom_codecs`]. Colour (RGB, YBR_FULL, and what the JPEG and JPEG 2000
//! decoders turn into RGB) becomes luma (Rec. 709, like the PNG reader) before the value
//! pipeline.
//!
//! Values follow the DICOM pipeline: stored value → rescale slope/intercept (modality LUT) →
//! VOI window → MONOCHROME1 inversion. CT stays in Hounsfield units (the CT convention of
//! spec §1 windows it later). A single-frame non-CT image becomes a `[rows, cols, 1]` image
//! in [0, 1]: by its VOI window when it has one, by its bit depth when it is a radiograph
//! (CR/DX/MG/...), otherwise it keeps raw values. Multi-frame files and folders of slices
//! become `[cols, rows, slices]` volumes (x = column, like MetaImage and NIfTI), slices sorted
//! by ImagePositionPatient along the slice normal, then InstanceNumber, then file name.

use std::borrow::Cow;
use std::path::Path;

use dicom_core::value::{PrimitiveValue, Value};
use dicom_core::{DataElement, Tag, VR};
use dicom_dictionary_std::tags;
use dicom_object::file::ReadPreamble;
use dicom_object::{DefaultDicomObject, InMemDicomObject, OpenFileOptions};
use genesis_core::{Metadata, Modality, Units, Volume};

use crate::IoError;
use crate::dicom_codecs::{self, Layout};
use crate::elements::{self, Element, Endian};
use crate::limits::check_shape;

/// Format name used in errors.
const FORMAT: &str = "DICOM";
/// Uncompressed transfer syntaxes: implicit VR LE, explicit VR LE, explicit VR BE.
const NATIVE_SYNTAXES: [&str; 3] =
    ["1.2.840.10008.1.2", "1.2.840.10008.1.2.1", "1.2.840.10008.1.2.2"];

/// One decoded DICOM file: frames of modality-LUT values plus what is needed to place them.
#[derive(Debug, Clone)]
pub(crate) struct Image {
    /// The file's name, for errors about the series.
    pub(crate) name: String,
    rows: usize,
    cols: usize,
    pub(crate) frames: usize,
    /// Frame-major, row-major values after rescale slope/intercept.
    pub(crate) values: Vec<f32>,
    modality: Modality,
    monochrome1: bool,
    /// Smallest and largest value the stored bits can represent, after rescale.
    range: (f32, f32),
    /// VOI window (centre, width), if present.
    window: Option<(f64, f64)>,
    /// Row spacing, column spacing.
    pixel_spacing: [f64; 2],
    thickness: Option<f64>,
    pub(crate) position: Option<[f64; 3]>,
    pub(crate) normal: Option<[f64; 3]>,
    /// InstanceNumber: orders slices of a series (native only) at one position.
    #[cfg_attr(target_family = "wasm", allow(dead_code))]
    pub(crate) instance: Option<i64>,
}

/// Decodes one DICOM file held in memory (with or without the 128-byte preamble).
pub fn from_bytes(file: &Path, bytes: &[u8]) -> Result<Volume, IoError> {
    let image = parse(file, bytes)?;
    if image.frames == 1 { present_2d(file, image) } else { stack(file, vec![image]) }
}

/// SeriesInstanceUID, SeriesDescription and Modality of one file (its pixel data are not
/// decoded).
pub(crate) fn series_of(file: &Path, bytes: &[u8]) -> Result<crate::options::SeriesInfo, IoError> {
    let body = if bytes.get(128..132) == Some(b"DICM") { &bytes[128..] } else { bytes };
    let obj = open(file, body)?;
    let attrs = Attrs { obj: &obj, file };
    Ok(crate::options::SeriesInfo {
        uid: attrs.text(tags::SERIES_INSTANCE_UID)?.unwrap_or_default(),
        description: attrs.text(tags::SERIES_DESCRIPTION)?.filter(|d| !d.is_empty()),
        modality: attrs.text(tags::MODALITY)?.unwrap_or_default(),
        files: 1,
    })
}

/// Opens the data set: plain, or inflated (capped by [`crate::limits::MAX_BYTES`]) when the
/// transfer syntax is deflated, and then read as explicit VR little endian.
fn open(file: &Path, body: &[u8]) -> Result<DefaultDicomObject, IoError> {
    let corrupt = |e: &dyn std::fmt::Display| IoError::corrupt(file, FORMAT, e.to_string());
    let Some(start) = crate::dicom_scan::check(file, body)? else {
        return OpenFileOptions::new()
            .read_preamble(ReadPreamble::Never)
            .from_reader(body)
            .map_err(|e| corrupt(&e));
    };
    let mut meta =
        dicom_object::FileMetaTable::from_reader(&body[..start]).map_err(|e| corrupt(&e))?;
    let inflated = crate::limits::read_capped(
        file,
        flate2::read::DeflateDecoder::new(&body[start..]),
        FORMAT,
    )?;
    crate::dicom_scan::check_dataset(file, &inflated)?;
    let explicit = dicom_transfer_syntax_registry::entries::EXPLICIT_VR_LITTLE_ENDIAN.erased();
    let dataset = InMemDicomObject::read_dataset_with_ts(&inflated[..], &explicit)
        .map_err(|e| corrupt(&e))?;
    meta.transfer_syntax = NATIVE_SYNTAXES[1].to_owned();
    Ok(dataset.with_exact_meta(meta))
}

/// Parses the attributes and pixel data of one file.
pub(crate) fn parse(file: &Path, bytes: &[u8]) -> Result<Image, IoError> {
    let body = if bytes.get(128..132) == Some(b"DICM") { &bytes[128..] } else { bytes };
    let obj = open(file, body)?;
    let syntax = obj.meta().transfer_syntax().trim_end_matches(['\0', ' ']).to_owned();
    let native = NATIVE_SYNTAXES.contains(&syntax.as_str());
    if !native && !dicom_codecs::supported(&syntax) {
        return Err(IoError::unsupported(
            file,
            FORMAT,
            format!(
                "transfer syntax {syntax} ({}); convert it first (e.g. `gdcmconv --raw`)",
                dicom_codecs::syntax_name(&syntax)
            ),
        ));
    }
    let attrs = Attrs { obj: &obj, file };
    let rows = attrs.int(tags::ROWS)?.ok_or_else(|| attrs.missing("Rows"))?;
    let cols = attrs.int(tags::COLUMNS)?.ok_or_else(|| attrs.missing("Columns"))?;
    let frames = attrs.int(tags::NUMBER_OF_FRAMES)?.unwrap_or(1).max(1);
    let samples = attrs.int(tags::SAMPLES_PER_PIXEL)?.unwrap_or(1);
    let photometric = attrs.text(tags::PHOTOMETRIC_INTERPRETATION)?.unwrap_or_default();
    if samples != 1 && samples != 3 {
        return Err(IoError::unsupported(file, FORMAT, format!("{samples} samples per pixel")));
    }
    if samples == 1 && photometric == "PALETTE COLOR" {
        return Err(IoError::unsupported(file, FORMAT, "PALETTE COLOR images"));
    }
    let allocated =
        attrs.int(tags::BITS_ALLOCATED)?.ok_or_else(|| attrs.missing("BitsAllocated"))?;
    let stored = attrs.int(tags::BITS_STORED)?.unwrap_or(allocated).clamp(1, allocated.max(1));
    let signed = attrs.int(tags::PIXEL_REPRESENTATION)?.unwrap_or(0) == 1;
    let element = match (allocated, signed) {
        (8, false) => Element::U8,
        (8, true) => Element::I8,
        (16, false) => Element::U16,
        (16, true) => Element::I16,
        (32, false) => Element::U32,
        (32, true) => Element::I32,
        _ => {
            return Err(IoError::unsupported(file, FORMAT, format!("BitsAllocated = {allocated}")));
        }
    };
    check_shape(file, [cols, rows, frames], 4)?;
    let (_, need) = check_shape(file, [cols, rows, frames * samples], element.size())?;
    let pixel = obj.element(tags::PIXEL_DATA).map_err(|_| attrs.missing("PixelData"))?;
    let (bytes, endian): (Cow<'_, [u8]>, Endian) = match pixel.value() {
        Value::Primitive(_) if !native => {
            return Err(IoError::corrupt(
                file,
                FORMAT,
                format!("transfer syntax {syntax} needs encapsulated pixel data"),
            ));
        }
        Value::Primitive(PrimitiveValue::U8(v)) => (Cow::Borrowed(&v[..]), Endian::Little),
        Value::Primitive(p) => {
            (p.to_bytes(), if cfg!(target_endian = "big") { Endian::Big } else { Endian::Little })
        }
        Value::PixelSequence(_) if !native => {
            let layout = Layout { rows, cols, frames, samples, allocated };
            (Cow::Owned(dicom_codecs::decode(file, &obj, &syntax, &layout)?), Endian::Little)
        }
        _ => {
            return Err(IoError::corrupt(
                file,
                FORMAT,
                format!("encapsulated pixel data in the uncompressed transfer syntax {syntax}"),
            ));
        }
    };
    // Pixel data are padded to an even length: only a shortfall is an error.
    if bytes.len() < need {
        return Err(IoError::truncated(
            file,
            FORMAT,
            format!(
                "{rows}x{cols}x{frames} pixels need {need} bytes, only {} present",
                bytes.len()
            ),
        ));
    }
    let bits = stored as u32;
    let mut raw: Vec<f64> = elements::decode(&bytes[..need], element, endian)
        .into_iter()
        .map(|v| mask_bits(v, bits, signed))
        .collect();
    if samples == 3 {
        // The JPEG and JPEG 2000 decoders return RGB whatever the colour space of the stream.
        let decoded_rgb = !native && syntax != dicom_codecs::RLE;
        let colour = if decoded_rgb { "RGB" } else { photometric.as_str() };
        let planar = !decoded_rgb && attrs.int(tags::PLANAR_CONFIGURATION)?.unwrap_or(0) == 1;
        let half = if signed { 0.0 } else { 2f64.powi(bits as i32 - 1) };
        raw = to_luma(&raw, rows * cols, planar, colour, half).ok_or_else(|| {
            IoError::unsupported(
                file,
                FORMAT,
                format!("colour images with photometric interpretation {colour}"),
            )
        })?;
    }
    let (slope, intercept) = (
        attrs.float(tags::RESCALE_SLOPE)?.unwrap_or(1.0),
        attrs.float(tags::RESCALE_INTERCEPT)?.unwrap_or(0.0),
    );
    let rescale = |v: f64| (v * slope + intercept) as f32;
    let values = raw.into_iter().map(rescale).collect();
    let (lo, hi) = if signed {
        (-(2f64.powi(bits as i32 - 1)), 2f64.powi(bits as i32 - 1) - 1.0)
    } else {
        (0.0, 2f64.powi(bits as i32) - 1.0)
    };
    let orientation = attrs.floats(tags::IMAGE_ORIENTATION_PATIENT)?;
    Ok(Image {
        name: file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
        rows,
        cols,
        frames,
        values,
        modality: attrs.text(tags::MODALITY)?.map(|m| modality_of(&m)).unwrap_or(Modality::Other),
        monochrome1: photometric == "MONOCHROME1",
        range: (rescale(lo).min(rescale(hi)), rescale(lo).max(rescale(hi))),
        window: match (attrs.floats(tags::WINDOW_CENTER)?, attrs.floats(tags::WINDOW_WIDTH)?) {
            (Some(c), Some(w)) if !c.is_empty() && !w.is_empty() && w[0] >= 1.0 => {
                Some((c[0], w[0]))
            }
            _ => None,
        },
        pixel_spacing: match attrs.floats(tags::PIXEL_SPACING)?.as_deref() {
            Some([r, c, ..]) if *r > 0.0 && *c > 0.0 => [*r, *c],
            _ => [1.0, 1.0],
        },
        thickness: attrs.float(tags::SLICE_THICKNESS)?.filter(|t| *t > 0.0),
        position: attrs.floats(tags::IMAGE_POSITION_PATIENT)?.and_then(|p| p.try_into().ok()),
        normal: orientation.and_then(|o| <[f64; 6]>::try_from(o).ok()).map(|o| {
            [o[1] * o[5] - o[2] * o[4], o[2] * o[3] - o[0] * o[5], o[0] * o[4] - o[1] * o[3]]
        }),
        instance: attrs.float(tags::INSTANCE_NUMBER)?.map(|v| v as i64),
    })
}

/// Rec. 709 luma of colour samples (frame-major; interleaved, or one plane per colour when
/// `planar`). `colour` is `RGB` or `YBR_FULL` (whose chroma is centred on `half`); `None` for
/// other colour spaces.
fn to_luma(raw: &[f64], pixels: usize, planar: bool, colour: &str, half: f64) -> Option<Vec<f64>> {
    let ybr = match colour {
        "RGB" => false,
        "YBR_FULL" => true,
        _ => return None,
    };
    let mut out = Vec::with_capacity(raw.len() / 3);
    for frame in raw.chunks_exact(3 * pixels.max(1)) {
        for i in 0..pixels {
            let [a, b, c] = if planar {
                [frame[i], frame[pixels + i], frame[2 * pixels + i]]
            } else {
                [frame[3 * i], frame[3 * i + 1], frame[3 * i + 2]]
            };
            let [r, g, b] = if ybr {
                let (cb, cr) = (b - half, c - half);
                [a + 1.402 * cr, a - 0.344_136 * cb - 0.714_136 * cr, a + 1.772 * cb]
            } else {
                [a, b, c]
            };
            out.push(0.2126 * r + 0.7152 * g + 0.0722 * b);
        }
    }
    Some(out)
}

/// Keeps the low `bits` of a stored value, sign-extending when `signed`.
fn mask_bits(v: f32, bits: u32, signed: bool) -> f64 {
    if bits >= 32 {
        return f64::from(v);
    }
    let raw = (v as i64) & ((1i64 << bits) - 1);
    let value = if signed && raw >= 1i64 << (bits - 1) { raw - (1i64 << bits) } else { raw };
    value as f64
}

/// Modality of a DICOM Modality code.
fn modality_of(code: &str) -> Modality {
    match code.trim() {
        "CT" => Modality::Ct,
        "MR" => Modality::Mr,
        "CR" | "DX" | "DR" | "MG" | "RG" | "XA" | "RF" | "PX" | "IO" => Modality::Xray,
        _ => Modality::Other,
    }
}

/// Typed attribute access that turns malformed values into errors naming the file.
struct Attrs<'a> {
    obj: &'a DefaultDicomObject,
    file: &'a Path,
}

impl Attrs<'_> {
    /// The element, unless absent or empty (an empty optional attribute says nothing).
    fn get(&self, tag: Tag) -> Option<&InMemElement> {
        self.obj
            .element_opt(tag)
            .ok()
            .flatten()
            .filter(|e| !matches!(e.value(), Value::Primitive(PrimitiveValue::Empty)))
    }
    fn bad(&self, tag: Tag, e: impl std::fmt::Display) -> IoError {
        IoError::corrupt(self.file, FORMAT, format!("attribute {tag}: {e}"))
    }
    fn missing(&self, name: &str) -> IoError {
        IoError::corrupt(self.file, FORMAT, format!("no {name} attribute"))
    }
    fn int(&self, tag: Tag) -> Result<Option<usize>, IoError> {
        self.get(tag)
            .map(|e| e.to_int::<u32>().map(|v| v as usize).map_err(|e| self.bad(tag, e)))
            .transpose()
    }
    fn float(&self, tag: Tag) -> Result<Option<f64>, IoError> {
        self.get(tag).map(|e| e.to_finite_float64().map_err(|e| self.bad(tag, e))).transpose()
    }
    fn floats(&self, tag: Tag) -> Result<Option<Vec<f64>>, IoError> {
        self.get(tag).map(|e| e.to_multi_finite_float64().map_err(|e| self.bad(tag, e))).transpose()
    }
    fn text(&self, tag: Tag) -> Result<Option<String>, IoError> {
        self.get(tag)
            .map(|e| e.to_str().map(|s| s.trim().to_owned()).map_err(|e| self.bad(tag, e)))
            .transpose()
    }
}

/// The element type stored in a default in-memory object.
type InMemElement = dicom_object::mem::InMemElement;

/// A single-frame image as a `[rows, cols, 1]` volume (see the module doc for intensities).
fn present_2d(file: &Path, image: Image) -> Result<Volume, IoError> {
    let Image {
        rows, cols, mut values, modality, monochrome1, range, window, pixel_spacing, ..
    } = image;
    let units = if modality == Modality::Ct {
        Units::Hounsfield
    } else if let Some((c, w)) = window {
        values.iter_mut().for_each(|v| *v = voi_linear(f64::from(*v), c, w));
        Units::Unit
    } else if modality == Modality::Xray {
        crate::intensity::apply(
            crate::Normalization::Window { lo: range.0, hi: range.1 },
            &mut values,
        );
        Units::Unit
    } else {
        Units::Raw
    };
    if monochrome1 && modality != Modality::Ct {
        invert(&mut values, units, range);
    }
    let meta = Metadata {
        spacing: [pixel_spacing[0], pixel_spacing[1], image.thickness.unwrap_or(1.0)],
        origin: image.position.unwrap_or_default(),
        modality,
        units,
    };
    Volume::image(rows, cols, values)
        .map(|v| v.with_meta(meta))
        .map_err(|e| IoError::volume(file, e))
}

/// MONOCHROME1 (white = low values) to MONOCHROME2.
fn invert(values: &mut [f32], units: Units, range: (f32, f32)) {
    let top = if units == Units::Unit { 1.0 } else { range.0 + range.1 };
    values.iter_mut().for_each(|v| *v = top - *v);
}

/// The DICOM linear VOI function into [0, 1] (PS3.3 C.11.2.1.2.1).
fn voi_linear(x: f64, center: f64, width: f64) -> f32 {
    let v = ((x - (center - 0.5)) / (width - 1.0).max(1.0)) + 0.5;
    v.clamp(0.0, 1.0) as f32
}

impl Image {
    /// Position along `normal` (the first slice's; +z when unknown), if the file has one.
    pub(crate) fn along(&self, normal: Option<[f64; 3]>) -> Option<f64> {
        let n = normal.unwrap_or([0.0, 0.0, 1.0]);
        self.position.map(|p| p[0] * n[0] + p[1] * n[1] + p[2] * n[2])
    }
}

/// Stacks the frames of `images` (already in slice order) into one `[cols, rows, slices]`
/// volume in modality values.
pub(crate) fn stack(file: &Path, images: Vec<Image>) -> Result<Volume, IoError> {
    let Some(first) = images.first() else {
        return Err(IoError::Dataset { file: file.to_path_buf(), detail: "no slices".into() });
    };
    let (rows, cols) = (first.rows, first.cols);
    if let Some(other) = images.iter().find(|i| (i.rows, i.cols) != (rows, cols)) {
        return Err(IoError::corrupt(
            file,
            FORMAT,
            format!(
                "slices differ in size: {} is {rows}x{cols}, {} is {}x{}",
                first.name, other.name, other.rows, other.cols
            ),
        ));
    }
    let along = |i: &Image| i.along(first.normal);
    let depth: usize = images.iter().map(|i| i.frames).sum();
    let shape = [cols, rows, depth];
    check_shape(file, shape, 4)?;
    let mut data = vec![0.0f32; cols * rows * depth];
    let frames = images.iter().flat_map(|i| i.values.chunks_exact(rows * cols));
    for (z, frame) in frames.enumerate() {
        for (r, line) in frame.chunks_exact(cols).enumerate() {
            for (c, &v) in line.iter().enumerate() {
                data[(c * rows + r) * depth + z] = v;
            }
        }
    }
    let first = &images[0];
    let dz = match (along(first), images.get(1).and_then(along)) {
        (Some(a), Some(b)) if (b - a).abs() > 1e-6 => (b - a).abs(),
        _ => first.thickness.unwrap_or(1.0),
    };
    let modality = first.modality;
    let mut volume = Volume::new(shape, data).map_err(|e| IoError::volume(file, e))?;
    if first.monochrome1 && modality != Modality::Ct {
        invert(volume.data_mut(), Units::Raw, first.range);
    }
    let units = if modality == Modality::Ct { Units::Hounsfield } else { Units::Raw };
    let spacing = [first.pixel_spacing[1], first.pixel_spacing[0], dz];
    Ok(volume.with_meta(Metadata {
        spacing,
        origin: first.position.unwrap_or_default(),
        modality,
        units,
    }))
}

/// What [`encode_slice`] writes: one uncompressed single-frame 16-bit slice.
#[derive(Debug, Clone)]
pub struct Slice<'a> {
    /// Rows (image height).
    pub rows: u16,
    /// Columns (image width).
    pub cols: u16,
    /// Stored values, row-major.
    pub stored: &'a [i16],
    /// Modality code, e.g. `CT`, `MR`, `DX`.
    pub modality: &'a str,
    /// Rescale slope and intercept.
    pub rescale: (f64, f64),
    /// VOI window centre and width.
    pub window: Option<(f64, f64)>,
    /// `MONOCHROME1` instead of `MONOCHROME2`.
    pub monochrome1: bool,
    /// ImagePositionPatient.
    pub position: [f64; 3],
    /// InstanceNumber.
    pub instance: i32,
    /// PixelSpacing (row, column).
    pub pixel_spacing: [f64; 2],
    /// SeriesInstanceUID and SeriesDescription, if any.
    pub series: Option<(&'a str, &'a str)>,
}

/// Encodes `slice` as a DICOM Part 10 file (explicit VR little endian, signed 16-bit pixels):
/// the minimal writer used by tests, fixtures and fuzz corpora.
pub fn encode_slice(slice: &Slice<'_>) -> Result<Vec<u8>, String> {
    let need = usize::from(slice.rows) * usize::from(slice.cols);
    if slice.stored.len() != need {
        return Err(format!(
            "{} stored values for {}x{} pixels",
            slice.stored.len(),
            slice.rows,
            slice.cols
        ));
    }
    let ds = |v: &[f64]| v.iter().map(|x| format!("{x}")).collect::<Vec<_>>().join("\\");
    let uid = format!("2.25.{}", 1000 + slice.instance.unsigned_abs());
    let mut elements = vec![
        DataElement::new(
            tags::SOP_CLASS_UID,
            VR::UI,
            PrimitiveValue::from("1.2.840.10008.5.1.4.1.1.7"),
        ),
        DataElement::new(tags::SOP_INSTANCE_UID, VR::UI, PrimitiveValue::from(uid)),
        DataElement::new(tags::MODALITY, VR::CS, PrimitiveValue::from(slice.modality)),
        DataElement::new(
            tags::INSTANCE_NUMBER,
            VR::IS,
            PrimitiveValue::from(slice.instance.to_string()),
        ),
        DataElement::new(
            tags::IMAGE_POSITION_PATIENT,
            VR::DS,
            PrimitiveValue::from(ds(&slice.position)),
        ),
        DataElement::new(
            tags::IMAGE_ORIENTATION_PATIENT,
            VR::DS,
            PrimitiveValue::from(ds(&[1.0, 0.0, 0.0, 0.0, 1.0, 0.0])),
        ),
        DataElement::new(tags::SAMPLES_PER_PIXEL, VR::US, PrimitiveValue::from(1u16)),
        DataElement::new(
            tags::PHOTOMETRIC_INTERPRETATION,
            VR::CS,
            PrimitiveValue::from(if slice.monochrome1 { "MONOCHROME1" } else { "MONOCHROME2" }),
        ),
        DataElement::new(tags::ROWS, VR::US, PrimitiveValue::from(slice.rows)),
        DataElement::new(tags::COLUMNS, VR::US, PrimitiveValue::from(slice.cols)),
        DataElement::new(
            tags::PIXEL_SPACING,
            VR::DS,
            PrimitiveValue::from(ds(&slice.pixel_spacing)),
        ),
        DataElement::new(tags::BITS_ALLOCATED, VR::US, PrimitiveValue::from(16u16)),
        DataElement::new(tags::BITS_STORED, VR::US, PrimitiveValue::from(16u16)),
        DataElement::new(tags::HIGH_BIT, VR::US, PrimitiveValue::from(15u16)),
        DataElement::new(tags::PIXEL_REPRESENTATION, VR::US, PrimitiveValue::from(1u16)),
        DataElement::new(
            tags::RESCALE_INTERCEPT,
            VR::DS,
            PrimitiveValue::from(ds(&[slice.rescale.1])),
        ),
        DataElement::new(tags::RESCALE_SLOPE, VR::DS, PrimitiveValue::from(ds(&[slice.rescale.0]))),
    ];
    if let Some((uid, description)) = slice.series {
        elements.push(DataElement::new(
            tags::SERIES_INSTANCE_UID,
            VR::UI,
            PrimitiveValue::from(uid),
        ));
        elements.push(DataElement::new(
            tags::SERIES_DESCRIPTION,
            VR::LO,
            PrimitiveValue::from(description),
        ));
    }
    if let Some((c, w)) = slice.window {
        elements.push(DataElement::new(
            tags::WINDOW_CENTER,
            VR::DS,
            PrimitiveValue::from(ds(&[c])),
        ));
        elements.push(DataElement::new(tags::WINDOW_WIDTH, VR::DS, PrimitiveValue::from(ds(&[w]))));
    }
    let pixels: Vec<u8> = slice.stored.iter().flat_map(|v| v.to_le_bytes()).collect();
    elements.push(DataElement::new(tags::PIXEL_DATA, VR::OW, PrimitiveValue::from(pixels)));
    let obj = InMemDicomObject::from_element_iter(elements)
        .with_meta(
            dicom_object::meta::FileMetaTableBuilder::new().transfer_syntax(NATIVE_SYNTAXES[1]),
        )
        .map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    obj.write_all(&mut out).map_err(|e| e.to_string())?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slice(stored: &[i16]) -> Slice<'_> {
        Slice {
            rows: 2,
            cols: 3,
            stored,
            modality: "CT",
            rescale: (1.0, -1024.0),
            window: None,
            monochrome1: false,
            position: [0.0, 0.0, 0.0],
            instance: 1,
            pixel_spacing: [0.5, 0.7],
            series: None,
        }
    }

    #[test]
    fn ct_slice_round_trips_in_hounsfield_units() {
        let stored = [0, 24, 1024, 2024, 3000, 100];
        let bytes = encode_slice(&slice(&stored)).unwrap();
        assert_eq!(&bytes[128..132], b"DICM");
        let v = from_bytes(Path::new("a.dcm"), &bytes).unwrap();
        assert_eq!(v.shape(), [2, 3, 1]);
        assert_eq!(v.data(), &[-1024.0, -1000.0, 0.0, 1000.0, 1976.0, -924.0]);
        assert_eq!((v.meta.modality, v.meta.units), (Modality::Ct, Units::Hounsfield));
        assert_eq!(v.meta.spacing[..2], [0.5, 0.7]);
    }

    #[test]
    fn voi_window_and_monochrome1_for_radiographs() {
        let stored = [0, 50, 100, 150, 200, 4095];
        let s = Slice {
            modality: "DX",
            rescale: (1.0, 0.0),
            window: Some((100.5, 101.0)),
            ..slice(&stored)
        };
        let v = from_bytes(Path::new("dx.dcm"), &encode_slice(&s).unwrap()).unwrap();
        assert_eq!(v.data(), &[0.0, 0.0, 0.5, 1.0, 1.0, 1.0]);
        let inv = Slice { monochrome1: true, ..s };
        let v = from_bytes(Path::new("dx1.dcm"), &encode_slice(&inv).unwrap()).unwrap();
        assert_eq!(v.data(), &[1.0, 1.0, 0.5, 0.0, 0.0, 0.0]);
        assert_eq!((v.meta.modality, v.meta.units), (Modality::Xray, Units::Unit));
    }

    #[test]
    fn broken_files_are_typed_errors() {
        let p = Path::new("bad.dcm");
        let good = encode_slice(&slice(&[1, 2, 3, 4, 5, 6])).unwrap();
        for cut in [good.len() - 2, good.len() / 2, 140, 10] {
            assert!(from_bytes(p, &good[..cut]).is_err(), "cut at {cut}");
        }
        let err = from_bytes(p, b"not a dicom file at all").unwrap_err();
        assert!(err.to_string().contains("bad.dcm"), "{err}");
        assert!(encode_slice(&slice(&[1, 2])).is_err());
    }
}
