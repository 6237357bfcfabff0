//! A bounds pre-scan of DICOM bytes, run before dicom-rs parses them: dicom-rs allocates each
//! value by its declared length, so a tiny file declaring a 4 GB element would allocate 4 GB.
//! The scan walks every element header (file meta group in explicit VR little endian, then the
//! data set in its transfer syntax, descending into sequences and items) and rejects any
//! declared length that runs past the end of the input. Encapsulated (compressed) pixel data are
//! walked fragment by fragment; a deflated data set is scanned after inflation
//! ([`check`] says where it starts, [`check_dataset`] scans the inflated bytes).

use std::path::Path;

use dicom_core::dictionary::{DataDictionary, DataDictionaryEntry, VirtualVr};
use dicom_core::{Tag, VR};
use dicom_dictionary_std::StandardDataDictionary;

use crate::IoError;

/// Format name used in errors.
const FORMAT: &str = "DICOM";
/// Undefined length marker.
const UNDEFINED: u32 = u32::MAX;

/// How the elements being scanned are encoded.
#[derive(Clone, Copy, PartialEq)]
enum Encoding {
    ExplicitLe,
    ImplicitLe,
    ExplicitBe,
    /// Explicit VR little endian, deflated after the file meta group.
    Deflated,
}

/// Checks `body` (starting at the `DICM` magic) element by element. Returns the offset of the
/// data set when it is deflated (the caller inflates it and calls [`check_dataset`]).
pub fn check(file: &Path, body: &[u8]) -> Result<Option<usize>, IoError> {
    if !body.starts_with(b"DICM") {
        return Err(IoError::corrupt(file, FORMAT, "missing the DICM magic"));
    }
    walk(file, body, 4, true)
}

/// Checks an inflated data set (explicit VR little endian, no file meta group).
pub fn check_dataset(file: &Path, data: &[u8]) -> Result<(), IoError> {
    walk(file, data, 0, false).map(|_| ())
}

/// Walks the element headers of `body` from `pos`, starting in the file meta group if `in_meta`.
fn walk(
    file: &Path,
    body: &[u8],
    mut pos: usize,
    mut in_meta: bool,
) -> Result<Option<usize>, IoError> {
    let mut encoding = Encoding::ExplicitLe;
    while pos < body.len() {
        let header = read_header(body, pos, if in_meta { Encoding::ExplicitLe } else { encoding });
        let Some((tag, vr, len, header_len)) = header else {
            return Err(IoError::truncated(
                file,
                FORMAT,
                format!("element header cut off at byte {}", pos + 128),
            ));
        };
        if in_meta && tag.0 != 0x0002 {
            // First data set element: re-read it in the data set's encoding.
            if encoding == Encoding::Deflated {
                return Ok(Some(pos));
            }
            in_meta = false;
            continue;
        }
        pos += header_len;
        if in_meta && tag == Tag(0x0002, 0x0010) {
            encoding = transfer_syntax(body.get(pos..pos + len as usize).unwrap_or_default());
        }
        let container =
            vr == Some(VR::SQ) || tag == Tag(0xFFFE, 0xE000) || (vr.is_none() && is_sequence(tag));
        if len == UNDEFINED {
            if tag == Tag(0x7FE0, 0x0010) {
                pos = skip_fragments(file, body, pos, encoding)?;
            }
            continue; // a sequence or item: its contents follow
        }
        if len as usize > body.len() - pos {
            return Err(IoError::truncated(
                file,
                FORMAT,
                format!("element {tag} declares {len} bytes but only {} remain", body.len() - pos),
            ));
        }
        if let Some(size) =
            vr.and_then(element_size).filter(|size| !(len as usize).is_multiple_of(*size))
        {
            // dicom-rs would read whole numbers and lose its place in the stream.
            return Err(IoError::corrupt(
                file,
                FORMAT,
                format!("element {tag}: length {len} is not a multiple of {size}"),
            ));
        }
        if !container {
            pos += len as usize;
        }
    }
    if in_meta && encoding == Encoding::Deflated {
        return Ok(Some(pos)); // an empty deflated data set: inflating it reports the problem
    }
    Ok(None)
}

/// Skips the items of encapsulated pixel data starting at `pos` (just after the Pixel Data
/// header): each must be an item of defined length within the input, up to the sequence
/// delimiter. Returns the position after the delimiter.
fn skip_fragments(
    file: &Path,
    body: &[u8],
    mut pos: usize,
    encoding: Encoding,
) -> Result<usize, IoError> {
    loop {
        let Some((tag, _, len, header_len)) = read_header(body, pos, encoding) else {
            return Err(IoError::truncated(
                file,
                FORMAT,
                "encapsulated pixel data end before their sequence delimiter",
            ));
        };
        pos += header_len;
        match tag {
            Tag(0xFFFE, 0xE0DD) => return Ok(pos),
            Tag(0xFFFE, 0xE000) if len != UNDEFINED && len as usize <= body.len() - pos => {
                pos += len as usize;
            }
            Tag(0xFFFE, 0xE000) => {
                return Err(IoError::truncated(
                    file,
                    FORMAT,
                    format!(
                        "pixel data fragment declares {len} bytes but only {} remain",
                        body.len() - pos
                    ),
                ));
            }
            _ => {
                return Err(IoError::corrupt(
                    file,
                    FORMAT,
                    format!("element {tag} inside encapsulated pixel data"),
                ));
            }
        }
    }
}

/// Data set encoding of a transfer syntax UID.
fn transfer_syntax(uid: &[u8]) -> Encoding {
    match std::str::from_utf8(uid).unwrap_or_default().trim_end_matches(['\0', ' ']) {
        "1.2.840.10008.1.2" => Encoding::ImplicitLe,
        "1.2.840.10008.1.2.2" => Encoding::ExplicitBe,
        "1.2.840.10008.1.2.1.99" => Encoding::Deflated,
        _ => Encoding::ExplicitLe,
    }
}

/// Size of one number for the binary numeric VRs.
fn element_size(vr: VR) -> Option<usize> {
    match vr {
        VR::US | VR::SS | VR::OW => Some(2),
        VR::UL | VR::SL | VR::FL | VR::AT | VR::OF | VR::OL => Some(4),
        VR::FD | VR::OD | VR::SV | VR::UV | VR::OV => Some(8),
        _ => None,
    }
}

/// True when the dictionary types `tag` as a sequence (for implicit VR).
fn is_sequence(tag: Tag) -> bool {
    StandardDataDictionary.by_tag(tag).is_some_and(|e| e.vr() == VirtualVr::Exact(VR::SQ))
}

/// Reads the element header at `pos`: tag, explicit VR (if any), value length, header size.
fn read_header(b: &[u8], pos: usize, encoding: Encoding) -> Option<(Tag, Option<VR>, u32, usize)> {
    let u16_at = |p: usize| {
        let v = [*b.get(p)?, *b.get(p + 1)?];
        Some(if encoding == Encoding::ExplicitBe {
            u16::from_be_bytes(v)
        } else {
            u16::from_le_bytes(v)
        })
    };
    let u32_at = |p: usize| {
        let v = [*b.get(p)?, *b.get(p + 1)?, *b.get(p + 2)?, *b.get(p + 3)?];
        Some(if encoding == Encoding::ExplicitBe {
            u32::from_be_bytes(v)
        } else {
            u32::from_le_bytes(v)
        })
    };
    let tag = Tag(u16_at(pos)?, u16_at(pos + 2)?);
    if tag.0 == 0xFFFE || encoding == Encoding::ImplicitLe {
        return Some((tag, None, u32_at(pos + 4)?, 8));
    }
    let vr = VR::from_binary([*b.get(pos + 4)?, *b.get(pos + 5)?]);
    let long = matches!(
        vr,
        Some(
            VR::OB
                | VR::OD
                | VR::OF
                | VR::OL
                | VR::OV
                | VR::OW
                | VR::SQ
                | VR::SV
                | VR::UC
                | VR::UN
                | VR::UR
                | VR::UT
                | VR::UV
        ) | None
    );
    if long {
        Some((tag, vr, u32_at(pos + 8)?, 12))
    } else {
        Some((tag, vr, u32::from(u16_at(pos + 6)?), 8))
    }
}
