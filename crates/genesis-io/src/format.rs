//! Recognising a file's format from its first bytes and its name.

use std::path::Path;

/// A supported file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// PNG image.
    Png,
    /// JPEG image.
    Jpeg,
    /// DICOM Part 10 file (with or without the 128-byte preamble).
    Dicom,
    /// NIfTI-1 or NIfTI-2 single file, optionally gzip-compressed.
    Nifti,
    /// MetaImage header (`.mhd`) or single-file image (`.mha`).
    MetaImage,
    /// NumPy `.npy` array.
    Npy,
}

/// Lower-cased file name of `path` (empty if none).
fn lower_name(path: &Path) -> String {
    path.file_name().map(|n| n.to_string_lossy().to_ascii_lowercase()).unwrap_or_default()
}

/// Identifies the format from the first bytes (`head`, at least 132 when available), falling
/// back to the file name for formats without a magic number.
pub fn detect(path: &Path, head: &[u8]) -> Option<Format> {
    let name = lower_name(path);
    if head.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some(Format::Png)
    } else if head.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some(Format::Jpeg)
    } else if head.starts_with(b"\x93NUMPY") {
        Some(Format::Npy)
    } else if head.get(128..132) == Some(b"DICM") || head.starts_with(b"DICM") {
        Some(Format::Dicom)
    } else if is_nifti_header(head)
        || (head.starts_with(&[0x1f, 0x8b]) && name.ends_with(".nii.gz"))
    {
        Some(Format::Nifti)
    } else if name.ends_with(".mhd") || name.ends_with(".mha") {
        Some(Format::MetaImage)
    } else if name.ends_with(".dcm") {
        Some(Format::Dicom)
    } else if name.ends_with(".nii") {
        Some(Format::Nifti)
    } else {
        None
    }
}

/// True when `head` starts with a NIfTI-1 header (size 348 in either byte order, magic `n+1`
/// at 344) or a NIfTI-2 header (size 540, magic `n+2` at 4).
fn is_nifti_header(head: &[u8]) -> bool {
    let size_is =
        |n: i32| head.get(..4).is_some_and(|b| b == n.to_le_bytes() || b == n.to_be_bytes());
    (size_is(348) && head.get(344..347) == Some(b"n+1"))
        || (size_is(540) && head.get(4..7) == Some(b"n+2"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_by_magic_then_name() {
        let p = Path::new("x.bin");
        assert_eq!(detect(p, b"\x89PNG\r\n\x1a\n...."), Some(Format::Png));
        assert_eq!(detect(p, &[0xFF, 0xD8, 0xFF, 0xE0]), Some(Format::Jpeg));
        assert_eq!(detect(p, b"\x93NUMPY\x01\x00"), Some(Format::Npy));
        let mut dicom = vec![0u8; 132];
        dicom[128..].copy_from_slice(b"DICM");
        assert_eq!(detect(p, &dicom), Some(Format::Dicom));
        assert_eq!(detect(Path::new("a.MHD"), b"NDims = 3"), Some(Format::MetaImage));
        assert_eq!(detect(Path::new("a.nii.gz"), &[0x1f, 0x8b, 8]), Some(Format::Nifti));
        assert_eq!(detect(p, b"hello"), None);
        let mut nifti2 = vec![0u8; 540];
        nifti2[..4].copy_from_slice(&540i32.to_be_bytes());
        nifti2[4..8].copy_from_slice(b"n+2\0");
        assert_eq!(detect(p, &nifti2), Some(Format::Nifti));
        nifti2[4] = b'x';
        assert_eq!(detect(p, &nifti2), None);
    }
}
