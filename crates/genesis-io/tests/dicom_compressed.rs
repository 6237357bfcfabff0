//! Compressed DICOM transfer syntaxes, one test per family, on real data: files from pydicom's
//! test set and python-gdcm transcodes of them (`tests/data/dicom/README.md`), and files built
//! here from an NIH ChestX-ray14 radiograph (`shared/data/cxr`, public domain) with independent
//! encoders (`jpeg-encoder`, `pure_jpegls`'s encoder, flate2, a PackBits RLE encoder below).

use std::path::{Path, PathBuf};

use dicom_core::value::{PixelFragmentSequence, PrimitiveValue};
use dicom_core::{DataElement, VR};
use dicom_dictionary_std::tags;
use dicom_object::file::ReadPreamble;
use dicom_object::meta::FileMetaTableBuilder;
use dicom_object::{InMemDicomObject, OpenFileOptions};
use genesis_core::{Modality, Units, Volume};
use genesis_io::IoError;

const EXPLICIT_LE: &str = "1.2.840.10008.1.2.1";
const DEFLATED: &str = "1.2.840.10008.1.2.1.99";
const RLE: &str = "1.2.840.10008.1.2.5";
const JPEG_BASELINE: &str = "1.2.840.10008.1.2.4.50";
const JPEG_EXTENDED: &str = "1.2.840.10008.1.2.4.51";
const JPEG_LS: &str = "1.2.840.10008.1.2.4.80";
const JPEG_LS_NEAR: &str = "1.2.840.10008.1.2.4.81";

fn data_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/dicom")
}

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(data_dir().join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn decode(name: &str, bytes: &[u8]) -> Volume {
    genesis_io::dicom::from_bytes(Path::new(name), bytes).unwrap_or_else(|e| panic!("{e}"))
}

fn decode_err(name: &str, bytes: &[u8]) -> IoError {
    let err = genesis_io::dicom::from_bytes(Path::new(name), bytes).expect_err(name);
    assert!(err.to_string().contains(name), "{err} does not name {name}");
    err
}

fn sum(v: &Volume) -> f64 {
    v.data().iter().map(|x| f64::from(*x)).sum()
}

/// Reopens a Part 10 file, drops its VOI window (so values stay raw instead of being clamped
/// into [0, 1]) and writes it back in its own transfer syntax.
fn without_window(bytes: &[u8]) -> Vec<u8> {
    let mut obj = OpenFileOptions::new()
        .read_preamble(ReadPreamble::Always)
        .from_reader(bytes)
        .expect("fixture parses");
    obj.remove_element(tags::WINDOW_CENTER);
    obj.remove_element(tags::WINDOW_WIDTH);
    let mut out = Vec::new();
    obj.write_all(&mut out).expect("fixture writes");
    out
}

/// An 8-bit region of a real chest radiograph: every 4th pixel of a 1024² NIH PNG, 192 rows ×
/// 256 columns (not square, so rows and columns cannot be swapped unnoticed).
fn cxr() -> (usize, usize, Vec<u8>) {
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/cxr/00000001_000.png");
    let img =
        image::load_from_memory(&std::fs::read(path).expect("shared CXR")).expect("png").to_luma8();
    let (rows, cols) = (192, 256);
    let px = (0..rows)
        .flat_map(|r| (0..cols).map(move |c| (r, c)))
        .map(|(r, c)| img.get_pixel(4 * c as u32, 4 * r as u32 + 128).0[0])
        .collect();
    (rows, cols, px)
}

/// A monochrome secondary-capture file with encapsulated pixel data (one fragment per frame).
fn encapsulated(
    ts: &str,
    (rows, cols): (usize, usize),
    bits: u16,
    photometric: &str,
    samples: u16,
    fragments: Vec<Vec<u8>>,
) -> Vec<u8> {
    let frames = fragments.len();
    let mut obj = header((rows, cols), bits, photometric, samples);
    obj.put(DataElement::new(
        tags::NUMBER_OF_FRAMES,
        VR::IS,
        PrimitiveValue::from(frames.to_string()),
    ));
    obj.put(DataElement::new(
        tags::PIXEL_DATA,
        VR::OB,
        PixelFragmentSequence::new_fragments(fragments),
    ));
    write(obj, ts)
}

fn header(
    (rows, cols): (usize, usize),
    bits: u16,
    photometric: &str,
    samples: u16,
) -> InMemDicomObject {
    InMemDicomObject::from_element_iter([
        DataElement::new(
            tags::SOP_CLASS_UID,
            VR::UI,
            PrimitiveValue::from("1.2.840.10008.5.1.4.1.1.7"),
        ),
        DataElement::new(tags::SOP_INSTANCE_UID, VR::UI, PrimitiveValue::from("2.25.4242")),
        DataElement::new(tags::MODALITY, VR::CS, PrimitiveValue::from("OT")),
        DataElement::new(tags::SAMPLES_PER_PIXEL, VR::US, PrimitiveValue::from(samples)),
        DataElement::new(
            tags::PHOTOMETRIC_INTERPRETATION,
            VR::CS,
            PrimitiveValue::from(photometric),
        ),
        DataElement::new(tags::PLANAR_CONFIGURATION, VR::US, PrimitiveValue::from(0u16)),
        DataElement::new(tags::ROWS, VR::US, PrimitiveValue::from(rows as u16)),
        DataElement::new(tags::COLUMNS, VR::US, PrimitiveValue::from(cols as u16)),
        DataElement::new(tags::BITS_ALLOCATED, VR::US, PrimitiveValue::from(bits)),
        DataElement::new(tags::BITS_STORED, VR::US, PrimitiveValue::from(bits)),
        DataElement::new(tags::HIGH_BIT, VR::US, PrimitiveValue::from(bits - 1)),
        DataElement::new(tags::PIXEL_REPRESENTATION, VR::US, PrimitiveValue::from(0u16)),
    ])
}

fn write(obj: InMemDicomObject, ts: &str) -> Vec<u8> {
    let obj = obj
        .with_meta(
            FileMetaTableBuilder::new()
                .transfer_syntax(ts)
                .media_storage_sop_class_uid("1.2.840.10008.5.1.4.1.1.7")
                .media_storage_sop_instance_uid("2.25.4242"),
        )
        .expect("meta");
    let mut out = Vec::new();
    obj.write_all(&mut out).expect("write");
    out
}

/// PackBits (PS3.5 G.3.1), one row at a time as PS3.5 G.3 asks.
fn packbits(plane: &[u8], cols: usize) -> Vec<u8> {
    let mut out = Vec::new();
    for row in plane.chunks(cols) {
        let mut i = 0;
        while i < row.len() {
            let mut run = 1;
            while i + run < row.len() && run < 128 && row[i + run] == row[i] {
                run += 1;
            }
            if run >= 2 {
                out.push((1 - run as i16) as i8 as u8);
                out.push(row[i]);
                i += run;
            } else {
                let start = i;
                i += 1;
                while i < row.len()
                    && i - start < 128
                    && !(i + 1 < row.len() && row[i] == row[i + 1])
                {
                    i += 1;
                }
                out.push((i - start - 1) as u8);
                out.extend_from_slice(&row[start..i]);
            }
        }
    }
    out
}

/// One RLE frame (PS3.5 G.5): header, then one PackBits segment per byte plane, most
/// significant byte first.
fn rle_frame(planes: &[Vec<u8>], cols: usize) -> Vec<u8> {
    let segments: Vec<Vec<u8>> = planes
        .iter()
        .map(|p| {
            let mut s = packbits(p, cols);
            if s.len() % 2 == 1 {
                s.push(0);
            }
            s
        })
        .collect();
    let mut header = [0u32; 16];
    header[0] = segments.len() as u32;
    let mut offset = 64;
    for (i, s) in segments.iter().enumerate() {
        header[i + 1] = offset;
        offset += s.len() as u32;
    }
    let mut out: Vec<u8> = header.iter().flat_map(|w| w.to_le_bytes()).collect();
    segments.iter().for_each(|s| out.extend_from_slice(s));
    out
}

#[test]
fn lossless_syntaxes_of_mr_small_decode_to_the_native_values() {
    let native = decode("MR_small.dcm", &without_window(&fixture("MR_small.dcm")));
    assert_eq!(native.shape(), [64, 64, 1]);
    assert_eq!((native.meta.modality, native.meta.units), (Modality::Mr, Units::Raw));
    assert_eq!(sum(&native), 2_125_338.0, "pydicom's sum of MR_small");
    let windowed = decode("MR_small.dcm", &fixture("MR_small.dcm"));
    for name in [
        "MR_small_RLE.dcm",
        "MR_small_jpeg_lossless_57.dcm",
        "MR_small_jpeg_lossless_70.dcm",
        "MR_small_jpeg_ls_lossless.dcm",
        "MR_small_jp2klossless.dcm",
    ] {
        let bytes = fixture(name);
        assert_eq!(decode(name, &without_window(&bytes)), native, "{name}");
        assert_eq!(decode(name, &bytes), windowed, "{name} through the VOI window");
    }
}

#[test]
fn lossy_jpeg_2000_matches_openjpeg() {
    // gdcm (OpenJPEG) decodes the lossy transcode of MR_small to a sum of 2115296 (pydicom).
    let native = decode("MR_small.dcm", &without_window(&fixture("MR_small.dcm")));
    let lossy = decode("lossy.dcm", &without_window(&fixture("MR_small_jp2k_lossy.dcm")));
    assert_eq!(lossy.shape(), [64, 64, 1]);
    assert!((sum(&lossy) - 2_115_296.0).abs() < 1.0, "sum {}", sum(&lossy));
    let err: f64 =
        lossy.data().iter().zip(native.data()).map(|(a, b)| f64::from((a - b).abs())).sum();
    assert!(err / 4096.0 < 60.0, "mean error {}", err / 4096.0);
    // pydicom's JPEG2000.dcm: NM, signed 16-bit, 1024 rows × 256 columns, sum 3527976.
    let nm = decode("JPEG2000.dcm", &fixture("JPEG2000.dcm"));
    assert_eq!(nm.shape(), [1024, 256, 1]);
    assert_eq!(sum(&nm), 3_527_976.0);
    assert_eq!(nm.min_max(), (-30.0, 245.0));
}

#[test]
fn deflated_data_sets_are_inflated() {
    // dclunie's image_dfl via pydicom: OT, 8-bit, 512², sum 33322688.
    let v = decode("image_dfl.dcm", &fixture("image_dfl.dcm"));
    assert_eq!(v.shape(), [512, 512, 1]);
    assert_eq!(sum(&v), 33_322_688.0);
    // MR_small deflated here with flate2 decodes to the native values.
    let native_bytes = without_window(&fixture("MR_small.dcm"));
    let obj = OpenFileOptions::new()
        .read_preamble(ReadPreamble::Always)
        .from_reader(&native_bytes[..])
        .unwrap();
    let mut dataset = Vec::new();
    obj.write_dataset(&mut dataset).unwrap();
    let meta = FileMetaTableBuilder::new()
        .transfer_syntax(DEFLATED)
        .media_storage_sop_class_uid(obj.meta().media_storage_sop_class_uid())
        .media_storage_sop_instance_uid(obj.meta().media_storage_sop_instance_uid())
        .build()
        .unwrap();
    let mut file = vec![0u8; 128];
    file.extend_from_slice(b"DICM");
    meta.write(&mut file).unwrap();
    let mut z = flate2::write::DeflateEncoder::new(file, flate2::Compression::default());
    std::io::Write::write_all(&mut z, &dataset).unwrap();
    let file = z.finish().unwrap();
    assert_eq!(decode("mr_dfl.dcm", &file), decode("MR_small.dcm", &native_bytes));
    // Cut inside the deflate stream: an error naming the file.
    decode_err("mr_dfl_cut.dcm", &file[..file.len() - 700]);
    let _ = EXPLICIT_LE;
}

#[test]
fn rle_two_frame_16_bit_radiograph_round_trips_exactly() {
    let (rows, cols, px) = cxr();
    // 16-bit values with a busy low byte: pixel × 16 + column mod 16; frame 2 upside down.
    let frame1: Vec<u16> =
        px.iter().enumerate().map(|(i, v)| u16::from(*v) * 16 + (i % cols % 16) as u16).collect();
    let frame2: Vec<u16> = frame1.chunks(cols).rev().flatten().copied().collect();
    let fragment = |f: &[u16]| {
        let hi = f.iter().map(|v| (v >> 8) as u8).collect();
        let lo = f.iter().map(|v| (v & 0xFF) as u8).collect();
        rle_frame(&[hi, lo], cols)
    };
    let file = encapsulated(
        RLE,
        (rows, cols),
        16,
        "MONOCHROME2",
        1,
        vec![fragment(&frame1), fragment(&frame2)],
    );
    let v = decode("cxr_rle.dcm", &file);
    assert_eq!(v.shape(), [cols, rows, 2]);
    for (z, frame) in [&frame1, &frame2].into_iter().enumerate() {
        for r in 0..rows {
            for c in 0..cols {
                assert_eq!(v.get(c, r, z), f32::from(frame[r * cols + c]), "({r}, {c}, {z})");
            }
        }
    }
    // Single frame, 8-bit: exact too.
    let file = encapsulated(
        RLE,
        (rows, cols),
        8,
        "MONOCHROME2",
        1,
        vec![rle_frame(std::slice::from_ref(&px), cols)],
    );
    let v = decode("cxr_rle8.dcm", &file);
    assert_eq!(v.shape(), [rows, cols, 1]);
    assert!(v.data().iter().zip(&px).all(|(a, b)| *a == f32::from(*b)));
}

#[test]
fn jpeg_baseline_and_extended_radiograph_within_lossy_tolerance() {
    let (rows, cols, px) = cxr();
    let mut jpeg = Vec::new();
    jpeg_encoder::Encoder::new(&mut jpeg, 90)
        .encode(&px, cols as u16, rows as u16, jpeg_encoder::ColorType::Luma)
        .unwrap();
    let mut decoded = Vec::new();
    for ts in [JPEG_BASELINE, JPEG_EXTENDED] {
        let file = encapsulated(ts, (rows, cols), 8, "MONOCHROME2", 1, vec![jpeg.clone()]);
        let v = decode("cxr_jpeg.dcm", &file);
        assert_eq!(v.shape(), [rows, cols, 1]);
        let diffs: Vec<f32> =
            v.data().iter().zip(&px).map(|(a, b)| (a - f32::from(*b)).abs()).collect();
        let mean = diffs.iter().sum::<f32>() / diffs.len() as f32;
        assert!(mean < 2.0, "{ts}: mean error {mean}");
        assert!(diffs.iter().all(|d| *d <= 32.0), "{ts}: max error");
        decoded.push(v);
    }
    assert_eq!(decoded[0], decoded[1]);
    // The stream says 192 rows, the attributes 100: an error, not a panic or a wrong image.
    let file = encapsulated(JPEG_BASELINE, (100, cols), 8, "MONOCHROME2", 1, vec![jpeg.clone()]);
    let err = decode_err("cxr_jpeg_rows.dcm", &file);
    assert!(matches!(err, IoError::Corrupt { .. }), "{err}");
    // pydicom's JPGExtended.dcm is 12-bit lossy JPEG, which jpeg-decoder cannot decode.
    let err = decode_err("JPGExtended.dcm", &fixture("JPGExtended.dcm"));
    assert!(matches!(err, IoError::Unsupported { .. }), "{err}");
    assert!(err.to_string().contains("JPEG Extended"), "{err}");
}

#[test]
fn jpeg_ls_lossless_and_near_lossless_radiograph() {
    let (rows, cols, px) = cxr();
    let wide: Vec<u16> = px.iter().map(|v| u16::from(*v)).collect();
    let mut lossless = Vec::new();
    jpegls::encode(&wide, cols as u32, rows as u32, &mut lossless).unwrap();
    let mut opts = jpegls::EncodeOptions::default();
    opts.near = 3;
    opts.precision = Some(8);
    let mut near = Vec::new();
    jpegls::encode_with_options(&wide, cols as u32, rows as u32, &opts, &mut near).unwrap();
    assert!(near.len() < lossless.len());
    let v = decode(
        "cxr_jls.dcm",
        &encapsulated(JPEG_LS, (rows, cols), 8, "MONOCHROME2", 1, vec![lossless]),
    );
    assert!(v.data().iter().zip(&px).all(|(a, b)| *a == f32::from(*b)));
    let v = decode(
        "cxr_jls_near.dcm",
        &encapsulated(JPEG_LS_NEAR, (rows, cols), 8, "MONOCHROME2", 1, vec![near]),
    );
    assert!(v.data().iter().zip(&px).all(|(a, b)| (a - f32::from(*b)).abs() <= 3.0));
    // pydicom's 16-bit near-lossless file: 50 rows × 10 columns, sum 6007250 (pydicom + CharLS
    // agree within NEAR per sample; the sum is pydicom's).
    let v = decode("JPEGLSNearLossless_16.dcm", &fixture("JPEGLSNearLossless_16.dcm"));
    assert_eq!(v.shape(), [50, 10, 1]);
    assert_eq!(sum(&v), 6_007_250.0);
}

#[test]
fn colour_becomes_rec709_luma() {
    // pydicom's SC_rgb_rle (RGB colour bars, 100²): luma sum 1277000 from pydicom's RGB.
    let v = decode("SC_rgb_rle.dcm", &fixture("SC_rgb_rle.dcm"));
    assert_eq!(v.shape(), [100, 100, 1]);
    assert!((sum(&v) - 1_277_000.0).abs() < 1.0, "{}", sum(&v));
    // The same bars as YBR_FULL baseline JPEG (dcmtk): 1276778.78 from pydicom + libjpeg.
    let v = decode("SC_rgb_jpeg_dcmtk.dcm", &fixture("SC_rgb_jpeg_dcmtk.dcm"));
    assert!((sum(&v) - 1_276_778.78).abs() < 1_276_778.78 * 2e-3, "{}", sum(&v));
    // Native RGB, interleaved and planar, and colour JPEG-LS (refused clearly).
    let rgb: Vec<u8> = (0..12u8).map(|i| i * 20).collect();
    let luma =
        |p: &[u8]| 0.2126 * f32::from(p[0]) + 0.7152 * f32::from(p[1]) + 0.0722 * f32::from(p[2]);
    let expected: Vec<f32> = rgb.chunks(3).map(luma).collect();
    for planar in [false, true] {
        let mut obj = header((2, 2), 8, "RGB", 3);
        let data = if planar {
            (0..3).flat_map(|c| rgb.chunks(3).map(move |p| p[c])).collect()
        } else {
            rgb.clone()
        };
        obj.put(DataElement::new(
            tags::PLANAR_CONFIGURATION,
            VR::US,
            PrimitiveValue::from(u16::from(planar)),
        ));
        obj.put(DataElement::new(tags::PIXEL_DATA, VR::OB, PrimitiveValue::from(data)));
        let v = decode("rgb.dcm", &write(obj, EXPLICIT_LE));
        assert!(
            v.data().iter().zip(&expected).all(|(a, b)| (a - b).abs() < 1e-3),
            "{:?}",
            v.data()
        );
    }
    let jls = encapsulated(JPEG_LS, (2, 2), 8, "RGB", 3, vec![vec![0xFF, 0xD8, 0xFF, 0xD9]]);
    let err = decode_err("rgb_jls.dcm", &jls);
    assert!(matches!(err, IoError::Unsupported { .. }), "{err}");
}

#[test]
fn damaged_compressed_files_are_errors_never_panics() {
    let mut names: Vec<String> = std::fs::read_dir(data_dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".dcm"))
        .collect();
    names.sort();
    for name in names {
        let bytes = fixture(&name);
        let n = bytes.len();
        for cut in [n - 1, n - 20, n * 3 / 4, n / 2] {
            let result = std::panic::catch_unwind(|| {
                genesis_io::dicom::from_bytes(Path::new(&name), &bytes[..cut])
            });
            let result = result.unwrap_or_else(|_| panic!("{name} cut at {cut} panicked"));
            if let Err(e) = result {
                assert!(e.to_string().contains(&name), "{e}");
            }
        }
        // Garble 64 bytes in the middle of the pixel data (the last third of the file).
        for at in [n * 2 / 3, n * 5 / 6, n - 80] {
            let mut garbled = bytes.clone();
            garbled[at..at + 64].iter_mut().enumerate().for_each(|(i, b)| *b ^= 0x5A ^ i as u8);
            let result = std::panic::catch_unwind(|| {
                genesis_io::dicom::from_bytes(Path::new(&name), &garbled)
            });
            assert!(result.is_ok(), "{name} garbled at {at} panicked");
        }
    }
}
