//! Encapsulated (compressed) DICOM pixel data, decoded frame by frame into little-endian native
//! samples (interleaved, `BitsAllocated` wide) by dicom-rs's pixel-data adapters
//! (`dicom-transfer-syntax-registry`: jpeg-decoder for JPEG baseline/extended/lossless, its RLE
//! decoder, openjp2 for JPEG 2000) and by `pure_jpegls` for JPEG-LS. The wasm32 build (the page)
//! has all but JPEG 2000: openjp2 calls the C allocator, which a WebAssembly page does not have,
//! so there JPEG 2000 is refused with a message saying so.
//!
//! The adapters trust the codestream to match the DICOM attributes (they copy the decoded frame
//! into a buffer sized from Rows × Columns and index RLE segments without checks), so each
//! frame's header is read and checked against Rows, Columns, SamplesPerPixel and BitsAllocated
//! first; a mismatch is an [`IoError`], never a panic or an allocation the caps did not allow.

use std::path::Path;

use dicom_encoding::adapters::PixelDataObject;
use dicom_encoding::transfer_syntax::{Codec, TransferSyntaxIndex};
use dicom_object::DefaultDicomObject;
use dicom_transfer_syntax_registry::TransferSyntaxRegistry;

use crate::IoError;

/// Format name used in errors.
const FORMAT: &str = "DICOM";

/// RLE lossless.
pub const RLE: &str = "1.2.840.10008.1.2.5";
/// JPEG baseline (process 1), extended (2 & 4), lossless (14) and lossless SV1 (14, first order).
const JPEG: [&str; 4] = [
    "1.2.840.10008.1.2.4.50",
    "1.2.840.10008.1.2.4.51",
    "1.2.840.10008.1.2.4.57",
    "1.2.840.10008.1.2.4.70",
];
/// JPEG-LS lossless and near-lossless.
const JPEG_LS: [&str; 2] = ["1.2.840.10008.1.2.4.80", "1.2.840.10008.1.2.4.81"];
/// JPEG 2000 lossless-only and lossy (Part 1).
const JPEG_2000: [&str; 2] = ["1.2.840.10008.1.2.4.90", "1.2.840.10008.1.2.4.91"];

/// Why a frame could not be decoded.
#[derive(Debug)]
enum Fault {
    /// The data are damaged or disagree with the attributes.
    Corrupt(String),
    /// A valid stream using a feature the decoder lacks.
    Unsupported(String),
}

impl From<String> for Fault {
    fn from(detail: String) -> Self {
        Self::Corrupt(detail)
    }
}

impl From<&str> for Fault {
    fn from(detail: &str) -> Self {
        Self::Corrupt(detail.to_owned())
    }
}

/// What the DICOM attributes say a frame holds.
#[derive(Debug, Clone, Copy)]
pub struct Layout {
    /// Rows.
    pub rows: usize,
    /// Columns.
    pub cols: usize,
    /// NumberOfFrames (at least 1).
    pub frames: usize,
    /// SamplesPerPixel (1 or 3).
    pub samples: usize,
    /// BitsAllocated (8 or 16 for compressed data).
    pub allocated: usize,
}

impl Layout {
    /// Bytes of one decoded frame.
    fn frame_bytes(&self) -> usize {
        self.rows * self.cols * self.samples * (self.allocated / 8)
    }
}

/// True when `syntax` is a compressed syntax this module decodes.
pub fn supported(syntax: &str) -> bool {
    syntax == RLE
        || JPEG.contains(&syntax)
        || JPEG_LS.contains(&syntax)
        || JPEG_2000.contains(&syntax)
}

/// Decodes every frame of the encapsulated pixel data of `obj` (transfer syntax `syntax`).
/// The caller has checked `layout` against the allocation caps.
pub fn decode(
    file: &Path,
    obj: &DefaultDicomObject,
    syntax: &str,
    layout: &Layout,
) -> Result<Vec<u8>, IoError> {
    let name = syntax_name(syntax);
    if !supported(syntax) {
        return Err(IoError::unsupported(
            file,
            FORMAT,
            format!("transfer syntax {syntax} ({name}) has no decoder in genesis-io"),
        ));
    }
    if layout.allocated != 8 && layout.allocated != 16 {
        return Err(IoError::unsupported(
            file,
            FORMAT,
            format!("BitsAllocated = {} in {name} pixel data (8 or 16 expected)", layout.allocated),
        ));
    }
    let fail = |frame: usize, fault: Fault| match fault {
        Fault::Corrupt(detail) => {
            IoError::corrupt(file, FORMAT, format!("{name} frame {}: {detail}", frame + 1))
        }
        Fault::Unsupported(detail) => {
            IoError::unsupported(file, FORMAT, format!("{name} frame {}: {detail}", frame + 1))
        }
    };
    let frame_bytes = layout.frame_bytes();
    let mut out = Vec::new();
    out.try_reserve_exact(frame_bytes * layout.frames).map_err(|_| IoError::TooLarge {
        file: file.to_path_buf(),
        detail: format!("{} decoded bytes", frame_bytes * layout.frames),
        limit: crate::limits::MAX_BYTES,
    })?;
    for frame in 0..layout.frames {
        let data = if syntax == RLE {
            obj.fragment(frame).filter(|_| obj.number_of_fragments() >= Some(layout.frames as u32))
        } else {
            obj.frame_pixel_data(frame as u32)
        };
        let data = data.ok_or_else(|| fail(frame, "no encoded data for this frame".into()))?;
        let data: &[u8] = &data;
        let start = out.len();
        if JPEG_LS.contains(&syntax) {
            jpeg_ls(data, layout, &mut out).map_err(|e| fail(frame, e))?;
        } else {
            if syntax == RLE {
                check_rle(data, layout).map_err(|e| fail(frame, e))?;
            } else if JPEG.contains(&syntax) {
                check_jpeg(data, layout).map_err(|e| fail(frame, e))?;
            } else {
                check_jpeg_2000(data, layout).map_err(|e| fail(frame, e))?;
            }
            adapter_decode(obj, syntax, frame, &mut out).map_err(|e| fail(frame, e))?;
        }
        if out.len() - start != frame_bytes {
            let detail = format!("decoded {} bytes, {frame_bytes} expected", out.len() - start);
            return Err(fail(frame, detail.into()));
        }
    }
    Ok(out)
}

/// A readable name of a transfer syntax UID (from dicom-rs's registry).
pub fn syntax_name(syntax: &str) -> &'static str {
    TransferSyntaxRegistry.get(syntax).map_or("unknown transfer syntax", |ts| ts.name())
}

/// Decodes one frame with the dicom-rs adapter registered for `syntax`, appending to `out`.
fn adapter_decode(
    obj: &DefaultDicomObject,
    syntax: &str,
    frame: usize,
    out: &mut Vec<u8>,
) -> Result<(), Fault> {
    let ts = TransferSyntaxRegistry.get(syntax).ok_or("transfer syntax not registered")?;
    let Codec::EncapsulatedPixelData(Some(reader), _) = ts.codec() else {
        let why = if cfg!(target_family = "wasm") {
            "the browser build has no decoder for it (JPEG 2000's decoder needs the C allocator, \
             which WebAssembly pages lack); open the file with the genesis command line"
        } else {
            "dicom-rs was built without this decoder"
        };
        return Err(Fault::Unsupported(why.into()));
    };
    reader.decode_frame(obj, frame as u32, out).map_err(|e| Fault::Corrupt(e.to_string()))
}

/// Checks that a JPEG frame decodes to exactly the frame the attributes describe.
fn check_jpeg(data: &[u8], layout: &Layout) -> Result<(), Fault> {
    let mut decoder = jpeg_decoder::Decoder::new(data);
    decoder.read_info().map_err(|e| match e {
        jpeg_decoder::Error::Unsupported(what) => {
            Fault::Unsupported(format!("the JPEG decoder does not support {what:?}"))
        }
        e => Fault::Corrupt(format!("JPEG header: {e}")),
    })?;
    let info = decoder.info().ok_or("JPEG header without a frame")?;
    let (samples, bytes) = match info.pixel_format {
        jpeg_decoder::PixelFormat::L8 => (1, 1),
        jpeg_decoder::PixelFormat::L16 => (1, 2),
        jpeg_decoder::PixelFormat::RGB24 => (3, 1),
        jpeg_decoder::PixelFormat::CMYK32 => (4, 1),
    };
    let found = (usize::from(info.height), usize::from(info.width), samples, bytes * 8);
    let expected = (layout.rows, layout.cols, layout.samples, layout.allocated);
    if found != expected {
        return Err(Fault::Corrupt(format!(
            "the JPEG holds {}x{} pixels of {} samples in {} bits; the attributes say {}x{}, {} \
             samples, BitsAllocated {}",
            found.0, found.1, found.2, found.3, expected.0, expected.1, expected.2, expected.3
        )));
    }
    Ok(())
}

/// Checks the SIZ marker of a JPEG 2000 codestream (bare or inside a JP2 file) against the
/// attributes: size, components, no subsampling, precision within BitsAllocated.
fn check_jpeg_2000(data: &[u8], layout: &Layout) -> Result<(), Fault> {
    let at = data
        .windows(4)
        .position(|w| w == [0xFF, 0x4F, 0xFF, 0x51])
        .ok_or("no JPEG 2000 codestream (SOC + SIZ markers) found")?;
    let siz = &data[at + 4..];
    let u16_at =
        |p: usize| siz.get(p..p + 2).map(|b| usize::from(u16::from_be_bytes([b[0], b[1]])));
    let u32_at =
        |p: usize| siz.get(p..p + 4).map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize);
    let short = || Fault::from("JPEG 2000 SIZ marker cut off");
    let (width, height) = (
        u32_at(4).ok_or_else(short)?.saturating_sub(u32_at(12).ok_or_else(short)?),
        u32_at(8).ok_or_else(short)?.saturating_sub(u32_at(16).ok_or_else(short)?),
    );
    let components = u16_at(36).ok_or_else(short)?;
    if (height, width, components) != (layout.rows, layout.cols, layout.samples) {
        return Err(Fault::Corrupt(format!(
            "the JPEG 2000 codestream holds {height}x{width} pixels of {components} components; \
             the attributes say {}x{}, {} samples",
            layout.rows, layout.cols, layout.samples
        )));
    }
    for c in 0..components {
        let p = 38 + 3 * c;
        let (ssiz, dx, dy) = match siz.get(p..p + 3) {
            Some(b) => (b[0], b[1], b[2]),
            None => return Err(short()),
        };
        let bits = usize::from(ssiz & 0x7F) + 1;
        if bits > layout.allocated {
            return Err(Fault::Corrupt(format!(
                "component {c} has {bits}-bit samples but BitsAllocated is {}",
                layout.allocated
            )));
        }
        if (dx, dy) != (1, 1) {
            return Err(Fault::Unsupported(format!("component {c} is subsampled ({dx}x{dy})")));
        }
    }
    Ok(())
}

/// Checks an RLE frame (PS3.5 Annex G): a 64-byte header with one segment per byte plane
/// (SamplesPerPixel × BitsAllocated/8), increasing offsets inside the fragment, and each
/// segment's PackBits runs covering at least Rows × Columns bytes.
fn check_rle(data: &[u8], layout: &Layout) -> Result<(), Fault> {
    let word = |i: usize| {
        data.get(4 * i..4 * i + 4).map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)
    };
    let segments = word(0).ok_or("RLE header cut off")?;
    let planes = layout.samples * layout.allocated / 8;
    if segments != planes {
        return Err(format!("{segments} RLE segments for {planes} byte planes").into());
    }
    if data.len() < 64 {
        return Err("RLE header cut off".into());
    }
    let mut offsets: Vec<usize> = (1..=segments).filter_map(word).collect();
    offsets.push(data.len());
    for (s, pair) in offsets.windows(2).enumerate() {
        let segment = match data.get(pair[0]..pair[1]) {
            Some(seg) if pair[0] >= 64 => seg,
            _ => return Err(format!("RLE segment {s} lies outside the fragment").into()),
        };
        let produced = packbits_len(segment);
        if produced < layout.rows * layout.cols {
            return Err(format!(
                "RLE segment {s} decodes to {produced} bytes, {} needed",
                layout.rows * layout.cols
            )
            .into());
        }
    }
    Ok(())
}

/// Bytes a PackBits segment decodes to, counted the way dicom-rs decodes it (a run cut off by
/// the end of the segment counts what is present).
fn packbits_len(segment: &[u8]) -> usize {
    let (mut pos, mut produced) = (0usize, 0usize);
    while pos < segment.len() {
        let header = segment[pos] as i8;
        pos += 1;
        if header >= 0 {
            let n = header as usize + 1;
            produced += n.min(segment.len() - pos);
            pos += n;
        } else if header != -128 {
            if pos >= segment.len() {
                break;
            }
            produced += (1 - isize::from(header)) as usize;
            pos += 1;
        }
    }
    produced
}

/// Decodes a single-component JPEG-LS frame with `pure_jpegls`, appending little-endian samples.
fn jpeg_ls(data: &[u8], layout: &Layout, out: &mut Vec<u8>) -> Result<(), Fault> {
    if layout.samples != 1 {
        return Err(Fault::Unsupported(format!(
            "JPEG-LS with {} samples per pixel is not supported (the pure-Rust JPEG-LS decoder \
             reads one component)",
            layout.samples
        )));
    }
    let (pixels, width, height) = jpegls::decode(data, layout.cols as u32, layout.rows as u32)
        .map_err(|e| match e {
            jpegls::CodecError::Unsupported(what) => {
                Fault::Unsupported(format!("the JPEG-LS decoder does not support {what}"))
            }
            e => Fault::Corrupt(format!("JPEG-LS: {e}")),
        })?;
    if (height as usize, width as usize) != (layout.rows, layout.cols)
        || pixels.len() != layout.rows * layout.cols
    {
        return Err(format!("the JPEG-LS stream holds {height}x{width} pixels").into());
    }
    if layout.allocated == 8 {
        if let Some(v) = pixels.iter().find(|v| **v > 255) {
            return Err(format!("sample {v} does not fit BitsAllocated 8").into());
        }
        out.extend(pixels.iter().map(|v| *v as u8));
    } else {
        out.extend(pixels.iter().flat_map(|v| v.to_le_bytes()));
    }
    Ok(())
}
