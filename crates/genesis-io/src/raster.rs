//! PNG and JPEG: 8/16-bit gray or colour (converted to gray), decoded into [0, 1] X-ray images.

use std::io::Cursor;
use std::path::Path;

use genesis_core::{Metadata, Modality, Units, Volume};
use image::{DynamicImage, ImageError, ImageReader, Limits};

use crate::IoError;

/// Format name used in errors.
const FORMAT: &str = "PNG/JPEG";
/// Largest decoder allocation: 512 MiB holds a 16-bit RGB image of 9000² pixels.
const MAX_DECODE_BYTES: u64 = 1 << 29;

/// Decodes a PNG or JPEG held in `bytes`; `file` names it in errors. Gray values are divided
/// by 255 (8-bit) or 65535 (16-bit); colour is converted to luma first.
pub fn from_bytes(file: &Path, bytes: &[u8]) -> Result<Volume, IoError> {
    let mut reader = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| IoError::os(file, "reading", e))?;
    let mut limits = Limits::default();
    limits.max_alloc = Some(MAX_DECODE_BYTES);
    limits.max_image_width = Some(1 << 16);
    limits.max_image_height = Some(1 << 16);
    reader.limits(limits);
    let image = reader.decode().map_err(|e| map_error(file, e))?;
    let (width, height) = (image.width() as usize, image.height() as usize);
    let pixels: Vec<f32> = if is_16_bit(&image) {
        image.into_luma16().into_raw().into_iter().map(|v| f32::from(v) / 65535.0).collect()
    } else {
        image.into_luma8().into_raw().into_iter().map(|v| f32::from(v) / 255.0).collect()
    };
    let meta = Metadata { modality: Modality::Xray, units: Units::Unit, ..Metadata::default() };
    Volume::image(height, width, pixels)
        .map(|v| v.with_meta(meta))
        .map_err(|e| IoError::volume(file, e))
}

/// True when the decoded image stores more than 8 bits per channel.
fn is_16_bit(image: &DynamicImage) -> bool {
    image.color().bytes_per_pixel() / image.color().channel_count() > 1
}

/// Turns an `image` error into an [`IoError`] naming `file`.
fn map_error(file: &Path, e: ImageError) -> IoError {
    match e {
        ImageError::Limits(l) => IoError::TooLarge {
            file: file.to_path_buf(),
            detail: format!("image ({l})"),
            limit: MAX_DECODE_BYTES,
        },
        ImageError::Unsupported(u) => IoError::unsupported(file, FORMAT, u.to_string()),
        ImageError::IoError(io) if io.kind() == std::io::ErrorKind::UnexpectedEof => {
            IoError::truncated(file, FORMAT, io.to_string())
        }
        other => IoError::corrupt(file, FORMAT, other.to_string()),
    }
}

/// Writes a 2D volume as a PNG, clamping values to [0, 1]; 16-bit when `sixteen_bit`.
#[cfg(not(target_family = "wasm"))]
pub fn write_png(file: &Path, volume: &Volume, sixteen_bit: bool) -> Result<(), IoError> {
    let [h, w, d] = volume.shape();
    if d != 1 {
        return Err(IoError::unsupported(
            file,
            "PNG",
            format!("cannot write a 3D volume {:?} as PNG", volume.shape()),
        ));
    }
    let (w32, h32) = match (u32::try_from(w), u32::try_from(h)) {
        (Ok(w), Ok(h)) => (w, h),
        _ => return Err(IoError::unsupported(file, "PNG", "image wider or taller than 2^32")),
    };
    let clamp = |v: f32| if v.is_finite() { v.clamp(0.0, 1.0) } else { 0.0 };
    let result = if sixteen_bit {
        let px: Vec<u16> =
            volume.data().iter().map(|&v| (clamp(v) * 65535.0).round() as u16).collect();
        image::ImageBuffer::<image::Luma<u16>, _>::from_raw(w32, h32, px).map(|b| b.save(file))
    } else {
        let px: Vec<u8> = volume.data().iter().map(|&v| (clamp(v) * 255.0).round() as u8).collect();
        image::ImageBuffer::<image::Luma<u8>, _>::from_raw(w32, h32, px).map(|b| b.save(file))
    };
    match result {
        Some(Ok(())) => Ok(()),
        Some(Err(ImageError::IoError(io))) => Err(IoError::os(file, "writing", io)),
        Some(Err(e)) => Err(IoError::corrupt(file, "PNG", e.to_string())),
        None => Err(IoError::corrupt(file, "PNG", "pixel buffer does not match the image size")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encode(img: DynamicImage, format: image::ImageFormat) -> Vec<u8> {
        let mut out = Cursor::new(Vec::new());
        img.write_to(&mut out, format).unwrap();
        out.into_inner()
    }

    #[test]
    fn gray8_gray16_and_rgb_decode_to_unit_range() {
        let p = Path::new("t.png");
        let g8 = image::GrayImage::from_raw(2, 1, vec![0, 255]).unwrap();
        let v = from_bytes(p, &encode(g8.into(), image::ImageFormat::Png)).unwrap();
        assert_eq!((v.shape(), v.data()), ([1, 2, 1], &[0.0, 1.0][..]));
        assert_eq!(v.meta.modality, Modality::Xray);

        let g16 =
            image::ImageBuffer::<image::Luma<u16>, _>::from_raw(1, 2, vec![0u16, 65535]).unwrap();
        let v = from_bytes(p, &encode(DynamicImage::ImageLuma16(g16), image::ImageFormat::Png))
            .unwrap();
        assert_eq!((v.shape(), v.data()), ([2, 1, 1], &[0.0, 1.0][..]));

        let rgb = image::RgbImage::from_raw(1, 1, vec![255, 255, 255]).unwrap();
        let v = from_bytes(p, &encode(rgb.into(), image::ImageFormat::Png)).unwrap();
        assert_eq!(v.data(), &[1.0]);
    }

    #[test]
    fn jpeg_decodes_and_broken_bytes_are_errors() {
        let g = image::GrayImage::from_fn(8, 8, |x, _| image::Luma([(x * 30) as u8]));
        let bytes = encode(g.into(), image::ImageFormat::Jpeg);
        let v = from_bytes(Path::new("t.jpg"), &bytes).unwrap();
        assert_eq!(v.shape(), [8, 8, 1]);
        assert!(from_bytes(Path::new("t.jpg"), &bytes[..bytes.len() / 3]).is_err());
        let err = from_bytes(Path::new("t.png"), b"\x89PNG\r\n\x1a\ngarbage").unwrap_err();
        assert!(err.to_string().contains("t.png"), "{err}");
    }
}
