//! A tiny PNG writer (8-bit RGB, no interlace, filter 0): enough for the demo's generated
//! pictures, over flate2's zlib and CRC-32, so no image crate is needed.

use std::io::{self, Write as _};

use flate2::Crc;
use flate2::write::ZlibEncoder;

const SIGNATURE: [u8; 8] = [0x89, b'P', b'N', b'G', b'\r', b'\n', 0x1a, b'\n'];

/// Encodes `rgb` (row after row, three bytes a pixel) as a PNG file.
pub(crate) fn encode_rgb(width: u32, height: u32, rgb: &[u8]) -> io::Result<Vec<u8>> {
    let row_len = usize::try_from(width).map_err(io::Error::other)? * 3;
    let rows = usize::try_from(height).map_err(io::Error::other)?;
    if row_len == 0 || rgb.len() != row_len * rows {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "pixel buffer does not match the size",
        ));
    }
    let mut zlib = ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
    for row in rgb.chunks(row_len) {
        zlib.write_all(&[0])?; // filter type: none
        zlib.write_all(row)?;
    }
    let idat = zlib.finish()?;

    let mut ihdr = Vec::with_capacity(13);
    ihdr.extend_from_slice(&width.to_be_bytes());
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]); // 8 bits, truecolour, deflate, filter 0, no interlace

    let mut out = Vec::with_capacity(idat.len() + 64);
    out.extend_from_slice(&SIGNATURE);
    chunk(&mut out, b"IHDR", &ihdr)?;
    chunk(&mut out, b"IDAT", &idat)?;
    chunk(&mut out, b"IEND", &[])?;
    Ok(out)
}

fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) -> io::Result<()> {
    let len = u32::try_from(data.len()).map_err(io::Error::other)?;
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let mut crc = Crc::new();
    crc.update(kind);
    crc.update(data);
    out.extend_from_slice(&crc.sum().to_be_bytes());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read as _;

    #[test]
    fn writes_signature_header_and_pixels_that_inflate_back() {
        let rgb: Vec<u8> = (0..2 * 3 * 3).map(|i| i as u8).collect();
        let png = encode_rgb(3, 2, &rgb).unwrap();
        assert_eq!(&png[..8], &SIGNATURE);
        assert_eq!(&png[12..16], b"IHDR");
        assert_eq!(u32::from_be_bytes(png[16..20].try_into().unwrap()), 3);
        assert_eq!(u32::from_be_bytes(png[20..24].try_into().unwrap()), 2);
        // IHDR's CRC covers its type and data.
        let mut crc = Crc::new();
        crc.update(&png[12..29]);
        assert_eq!(crc.sum().to_be_bytes(), png[29..33]);
        let idat_len = u32::from_be_bytes(png[33..37].try_into().unwrap()) as usize;
        assert_eq!(&png[37..41], b"IDAT");
        let mut raw = Vec::new();
        flate2::read::ZlibDecoder::new(&png[41..41 + idat_len])
            .read_to_end(&mut raw)
            .unwrap();
        assert_eq!(raw[0], 0);
        assert_eq!(&raw[1..10], &rgb[..9]);
        assert_eq!(&png[png.len() - 8..png.len() - 4], b"IEND");
    }

    #[test]
    fn refuses_a_buffer_of_the_wrong_size() {
        assert!(encode_rgb(3, 2, &[0; 17]).is_err());
        assert!(encode_rgb(0, 2, &[]).is_err());
    }
}
