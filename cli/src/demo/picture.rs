//! The demo shop's pictures, drawn in code: a gradient backdrop, a product-like shape with
//! a soft shadow and a little grain (so they weigh what small photos weigh), as PNG.

use std::io;

use super::png;

/// What a picture shows, in coordinates from 0 to 1 across and down.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Shape {
    /// A triangle standing on its base (a tent).
    Triangle,
    /// A disc at (x, y) with radius r (of the height).
    Disc(f32, f32, f32),
    /// A box from (x0, y0) to (x1, y1).
    Block(f32, f32, f32, f32),
    /// A mountain skyline over the lower part.
    Ridge,
    /// Diagonal stripes.
    Stripes,
}

/// One picture to draw.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Picture {
    pub(crate) width: u32,
    pub(crate) height: u32,
    /// Backdrop colour at the top and at the bottom.
    pub(crate) top: [u8; 3],
    pub(crate) bottom: [u8; 3],
    pub(crate) shape: Shape,
    pub(crate) color: [u8; 3],
}

impl Picture {
    /// Draws the picture and encodes it as PNG; `seed` varies the grain.
    pub(crate) fn png(&self, seed: u64) -> io::Result<Vec<u8>> {
        let (w, h) = (self.width as usize, self.height as usize);
        let mut rgb = Vec::with_capacity(w * h * 3);
        let mut grain = Grain(seed | 1);
        let aspect = self.width as f32 / self.height as f32;
        for y in 0..h {
            let v = (y as f32 + 0.5) / h as f32;
            for x in 0..w {
                let u = (x as f32 + 0.5) / w as f32;
                let mut px = mix(self.top, self.bottom, v);
                if self.shape.covers(u, v, aspect) {
                    // Lit from the top left: lighter up there.
                    px = mix(lighten(self.color), self.color, (u + v) / 2.0);
                } else if self.shape.covers(u - 0.015, v - 0.03, aspect) {
                    px = mix(px, [0, 0, 0], 0.25);
                }
                for c in px {
                    rgb.push(c.saturating_add_signed(grain.next()));
                }
            }
        }
        png::encode_rgb(self.width, self.height, &rgb)
    }
}

impl Shape {
    fn covers(self, u: f32, v: f32, aspect: f32) -> bool {
        match self {
            Self::Triangle => {
                // Apex (0.5, 0.2), base from 0.2 to 0.8 at 0.85.
                (0.2..=0.85).contains(&v) && (u - 0.5).abs() <= (v - 0.2) / 0.65 * 0.3
            }
            Self::Disc(x, y, r) => {
                let dx = (u - x) * aspect;
                let dy = v - y;
                dx * dx + dy * dy <= r * r
            }
            Self::Block(x0, y0, x1, y1) => (x0..=x1).contains(&u) && (y0..=y1).contains(&v),
            Self::Ridge => {
                let t = (u * 3.0).fract();
                let peak = if t < 0.5 { t } else { 1.0 - t };
                v >= 0.75 - peak * 0.7
            }
            Self::Stripes => ((u * aspect + v) * 6.0).fract() < 0.5,
        }
    }
}

fn mix(a: [u8; 3], b: [u8; 3], t: f32) -> [u8; 3] {
    let t = t.clamp(0.0, 1.0);
    let f = |x: u8, y: u8| (f32::from(x) + (f32::from(y) - f32::from(x)) * t) as u8;
    [f(a[0], b[0]), f(a[1], b[1]), f(a[2], b[2])]
}

fn lighten(c: [u8; 3]) -> [u8; 3] {
    mix(c, [255, 255, 255], 0.45)
}

/// Film grain: a xorshift stream of small offsets.
struct Grain(u64);

impl Grain {
    fn next(&mut self) -> i8 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % 7) as i8 - 3
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_picture_is_a_png_of_its_size_with_some_weight() {
        let p = Picture {
            width: 120,
            height: 80,
            top: [200, 220, 240],
            bottom: [90, 110, 130],
            shape: Shape::Triangle,
            color: [200, 80, 20],
        };
        let png = p.png(7).unwrap();
        assert_eq!(&png[1..4], b"PNG");
        assert_eq!(u32::from_be_bytes(png[16..20].try_into().unwrap()), 120);
        assert_eq!(u32::from_be_bytes(png[20..24].try_into().unwrap()), 80);
        // Grain keeps it from compressing to nothing, like a photo.
        assert!(png.len() > 120 * 80, "{} bytes", png.len());
        assert_ne!(png, p.png(8).unwrap());
    }

    #[test]
    fn shapes_cover_their_inside_only() {
        assert!(Shape::Triangle.covers(0.5, 0.8, 1.0));
        assert!(!Shape::Triangle.covers(0.1, 0.8, 1.0));
        assert!(Shape::Disc(0.5, 0.5, 0.2).covers(0.5, 0.6, 1.0));
        assert!(!Shape::Disc(0.5, 0.5, 0.2).covers(0.5, 0.8, 1.0));
        assert!(Shape::Block(0.1, 0.1, 0.3, 0.3).covers(0.2, 0.2, 1.0));
        assert!(Shape::Ridge.covers(0.5, 0.95, 1.0));
        assert!(!Shape::Ridge.covers(0.5, 0.05, 1.0));
    }
}
