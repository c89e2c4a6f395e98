//! The content of the demo customer xyz: a small shop page on `www.xyz.com` whose pictures
//! live on `img.xyz.com` (the host C may offload to a partner), embedded every way a page
//! embeds images (img src, srcset, picture, scheme-relative URL, stylesheet, `<style>`,
//! style attribute). The logo stays on `www.xyz.com`, so it is always C's to deliver.
//!
//! After the window's load event the page's script writes, into `<pre id="report">`, one
//! line per image: `img|bg <id> ok|failed <width>x<height> <url>` (the URL the browser
//! really loaded), which is what the end-to-end test and a curious visitor read.

use std::collections::HashMap;
use std::io;

use bytes::Bytes;

use super::picture::{Picture, Shape};

/// The site's own host: pages, the stylesheet and the logo.
pub(crate) const SITE_HOST: &str = "www.xyz.com";
/// The host of the pictures, which C may hand to a partner.
pub(crate) const IMAGE_HOST: &str = "img.xyz.com";

/// One file of the site.
#[derive(Clone, Debug)]
pub(crate) struct Resource {
    pub(crate) body: Bytes,
    pub(crate) content_type: &'static str,
    pub(crate) cache_control: &'static str,
    /// A strong validator, quoted.
    pub(crate) etag: String,
}

/// Every file of the site by (host, path).
pub(crate) type Catalog = HashMap<(&'static str, &'static str), Resource>;

/// Pictures: host, path, what they show.
const PICTURES: &[(&str, &str, Picture)] = &[
    (
        SITE_HOST,
        "/logo.png",
        pic(200, 60, WHITE, WHITE, Shape::Ridge, PINE),
    ),
    (
        SITE_HOST,
        "/favicon.png",
        pic(32, 32, WHITE, WHITE, Shape::Ridge, PINE),
    ),
    (
        IMAGE_HOST,
        "/banners/hero.png",
        pic(1200, 360, SKY, SNOW, Shape::Ridge, SLATE),
    ),
    (
        IMAGE_HOST,
        "/banners/free-shipping.png",
        pic(960, 160, SUN, SUN, Shape::Stripes, ORANGE),
    ),
    (
        IMAGE_HOST,
        "/icons/cart.png",
        pic(32, 32, WHITE, WHITE, Shape::Block(0.2, 0.3, 0.8, 0.7), PINE),
    ),
    (
        IMAGE_HOST,
        "/products/tent.png",
        pic(360, 240, SKY, GRASS, Shape::Triangle, ORANGE),
    ),
    (
        IMAGE_HOST,
        "/products/tent@2x.png",
        pic(720, 480, SKY, GRASS, Shape::Triangle, ORANGE),
    ),
    (
        IMAGE_HOST,
        "/products/boots.png",
        pic(
            360,
            240,
            SNOW,
            SLATE,
            Shape::Block(0.3, 0.35, 0.7, 0.8),
            BROWN,
        ),
    ),
    (
        IMAGE_HOST,
        "/products/lamp.png",
        pic(360, 240, NIGHT, SLATE, Shape::Disc(0.5, 0.45, 0.22), SUN),
    ),
    (
        IMAGE_HOST,
        "/products/pack.png",
        pic(
            360,
            240,
            SNOW,
            SKY,
            Shape::Block(0.35, 0.2, 0.65, 0.85),
            PINE,
        ),
    ),
    (
        IMAGE_HOST,
        "/products/pack-720.png",
        pic(
            720,
            480,
            SNOW,
            SKY,
            Shape::Block(0.35, 0.2, 0.65, 0.85),
            PINE,
        ),
    ),
    (
        IMAGE_HOST,
        "/products/stove.png",
        pic(360, 240, SNOW, SLATE, Shape::Disc(0.5, 0.55, 0.28), STEEL),
    ),
    (
        IMAGE_HOST,
        "/products/stove@2x.png",
        pic(720, 480, SNOW, SLATE, Shape::Disc(0.5, 0.55, 0.28), STEEL),
    ),
    (
        IMAGE_HOST,
        "/products/kayak.png",
        pic(360, 240, SKY, LAKE, Shape::Block(0.1, 0.55, 0.9, 0.68), RED),
    ),
    (
        IMAGE_HOST,
        "/badges/secure.png",
        pic(120, 40, GRASS, PINE, Shape::Stripes, SNOW),
    ),
];

const WHITE: [u8; 3] = [255, 255, 255];
const SNOW: [u8; 3] = [236, 240, 244];
const SKY: [u8; 3] = [150, 196, 235];
const NIGHT: [u8; 3] = [24, 30, 60];
const GRASS: [u8; 3] = [96, 150, 70];
const LAKE: [u8; 3] = [40, 100, 150];
const PINE: [u8; 3] = [28, 84, 56];
const SLATE: [u8; 3] = [70, 80, 96];
const STEEL: [u8; 3] = [150, 156, 164];
const SUN: [u8; 3] = [250, 200, 60];
const ORANGE: [u8; 3] = [230, 110, 30];
const BROWN: [u8; 3] = [120, 72, 40];
const RED: [u8; 3] = [200, 40, 40];

const fn pic(
    width: u32,
    height: u32,
    top: [u8; 3],
    bottom: [u8; 3],
    shape: Shape,
    color: [u8; 3],
) -> Picture {
    Picture {
        width,
        height,
        top,
        bottom,
        shape,
        color,
    }
}

/// Builds every file of the site (the pictures are drawn here, once).
pub(crate) fn catalog() -> io::Result<Catalog> {
    let mut files = Catalog::new();
    files.insert(
        (SITE_HOST, "/"),
        resource(
            PAGE.as_bytes().to_vec(),
            "text/html; charset=utf-8",
            "no-cache",
        ),
    );
    files.insert(
        (SITE_HOST, "/style.css"),
        resource(
            STYLESHEET.as_bytes().to_vec(),
            "text/css; charset=utf-8",
            "public, max-age=600",
        ),
    );
    for (host, path, picture) in PICTURES {
        let png = picture.png(fnv1a(path.as_bytes()))?;
        files.insert(
            (host, path),
            resource(png, "image/png", "public, max-age=86400"),
        );
    }
    Ok(files)
}

fn resource(body: Vec<u8>, content_type: &'static str, cache_control: &'static str) -> Resource {
    let etag = format!("\"{:016x}\"", fnv1a(&body));
    Resource {
        body: Bytes::from(body),
        content_type,
        cache_control,
        etag,
    }
}

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

const STYLESHEET: &str = r#"/* xyz outdoor */
body { margin: 0; font: 16px/1.45 system-ui, sans-serif; color: #1d2a22; background: #f6f7f4; }
header { display: flex; align-items: center; gap: 2rem; padding: .75rem 2rem; background: #fff; }
header nav a { margin-right: 1rem; color: #1c5438; text-decoration: none; }
.cart { margin-left: auto; }
.hero { height: 360px; padding: 3rem 2rem; box-sizing: border-box; color: #fff;
        background: #6a8 url(http://img.xyz.com/banners/hero.png) center / cover no-repeat; }
.hero h1 { font-size: 3rem; margin: 0; text-shadow: 0 2px 6px #0008; }
.products { display: grid; grid-template-columns: repeat(3, 360px); gap: 1.5rem; padding: 2rem; }
.products article { background: #fff; padding: .5rem; border-radius: 6px; }
.products img { display: block; width: 360px; height: 240px; }
.price { font-weight: bold; color: #b84a10; }
.banner { height: 160px; padding: 2rem; box-sizing: border-box; font-size: 2rem; font-weight: bold;
          background-repeat: no-repeat; background-size: cover; }
footer { padding: 1rem 2rem; color: #555; }
#delivery pre { background: #1d2a22; color: #cfe; padding: 1rem; overflow-x: auto; }
"#;

const PAGE: &str = r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>xyz outdoor: gear for the weekend</title>
<link rel="stylesheet" href="/style.css">
<link rel="icon" href="/favicon.png">
<style>
.cart { padding-left: 40px; background: url(http://img.xyz.com/icons/cart.png) no-repeat left center; }
</style>
</head>
<body>
<header>
  <a href="/"><img id="logo" src="/logo.png" alt="xyz outdoor" width="200" height="60"></a>
  <nav><a href="/">Tents</a><a href="/">Boots</a><a href="/">Light</a><a href="/">Water</a></nav>
  <span class="cart" id="cart" data-bg>Cart (0)</span>
</header>
<section class="hero" id="hero" data-bg>
  <h1>Winter sale</h1>
  <p>Up to 30% off tents, packs and stoves until Sunday.</p>
</section>
<main class="products">
  <article>
    <img id="tent" src="http://img.xyz.com/products/tent.png"
         srcset="http://img.xyz.com/products/tent.png 1x, http://img.xyz.com/products/tent@2x.png 2x"
         alt="Ridge 2 tent" width="360" height="240">
    <h2>Ridge 2 tent</h2><p class="price">€249</p>
  </article>
  <article>
    <img id="boots" src="http://img.xyz.com/products/boots.png" alt="Scree boots" width="360" height="240">
    <h2>Scree boots</h2><p class="price">€139</p>
  </article>
  <article>
    <img id="lamp" src="//img.xyz.com/products/lamp.png" alt="Glow head lamp" width="360" height="240">
    <h2>Glow head lamp</h2><p class="price">€35</p>
  </article>
  <article>
    <picture>
      <source srcset="http://img.xyz.com/products/pack.png 360w, http://img.xyz.com/products/pack-720.png 720w" sizes="360px">
      <img id="pack" src="http://img.xyz.com/products/pack.png" alt="Col 40 pack" width="360" height="240">
    </picture>
    <h2>Col 40 pack</h2><p class="price">€119</p>
  </article>
  <article>
    <img id="stove" src="http://img.xyz.com/products/stove.png"
         srcset="http://img.xyz.com/products/stove.png 360w, http://img.xyz.com/products/stove@2x.png 720w"
         sizes="360px" alt="Brew stove" width="360" height="240">
    <h2>Brew stove</h2><p class="price">€59</p>
  </article>
  <article>
    <img id="kayak" src="http://img.xyz.com/products/kayak.png" alt="Loon kayak" width="360" height="240">
    <h2>Loon kayak</h2><p class="price">€899</p>
  </article>
</main>
<aside class="banner" id="banner" data-bg style="background-image: url('http://img.xyz.com/banners/free-shipping.png')">
  Free shipping over €50
</aside>
<footer>
  <img id="badge" src="http://img.xyz.com/badges/secure.png" alt="Secure checkout" width="120" height="40">
  <p>xyz outdoor, since 1998.</p>
</footer>
<section id="delivery">
  <h2>Where this page's images came from</h2>
  <pre id="report">(written by the page's script once the page has loaded)</pre>
</section>
<script>
// After load: one line per image, with the URL the browser really loaded.
window.addEventListener('load', async () => {
  const lines = [];
  for (const img of document.images) {
    const ok = img.complete && img.naturalWidth > 0;
    lines.push(['img', img.id, ok ? 'ok' : 'failed', img.naturalWidth + 'x' + img.naturalHeight, img.currentSrc].join(' '));
  }
  const probe = (id, url) => new Promise(done => {
    const img = new Image();
    const line = ok => ['bg', id, ok ? 'ok' : 'failed', img.naturalWidth + 'x' + img.naturalHeight, url || '-'].join(' ');
    img.onload = () => done(line(img.naturalWidth > 0));
    img.onerror = () => done(line(false));
    if (url) { img.src = url; } else { done(line(false)); }
  });
  const backgrounds = [...document.querySelectorAll('[data-bg]')].map(el => {
    const m = /url\("?([^")]*)"?\)/.exec(getComputedStyle(el).backgroundImage);
    return probe(el.id, m && m[1]);
  });
  lines.push(...await Promise.all(backgrounds));
  document.getElementById('report').textContent = lines.join('\n');
});
</script>
</body>
</html>
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_image_the_page_names_is_in_the_catalog() {
        let files = catalog().unwrap();
        let text = format!("{PAGE}{STYLESHEET}");
        let mut named = 0;
        for prefix in ["http://img.xyz.com", "//img.xyz.com"] {
            for (i, _) in text.match_indices(prefix) {
                let rest = &text[i + prefix.len()..];
                let end = rest.find([' ', '"', '\'', ')']).unwrap();
                let path = &rest[..end];
                assert!(files.contains_key(&(IMAGE_HOST, path)), "{path}");
                named += 1;
            }
        }
        assert!(named >= 10, "{named}");
        assert!(files.contains_key(&(SITE_HOST, "/logo.png")));
        assert_eq!(
            files[&(SITE_HOST, "/")].content_type,
            "text/html; charset=utf-8"
        );
    }
}
