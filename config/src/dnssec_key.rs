//! Spec §10: DNSSEC key pairs in BIND's format, as `dnssec-keygen` writes them.
//!
//! A pair is two files with one stem, `K<zone>.+<alg>+<tag>`: the `.key` file holds the
//! public half as a DNSKEY record (`img.xyz.com. IN DNSKEY 257 3 13 <base64>`), the
//! `.private` file the private half (`Algorithm: 13 (ECDSAP256SHA256)`,
//! `PrivateKey: <base64>`). Only algorithms 13 (ECDSA P-256 with SHA-256) and 15
//! (Ed25519) are taken. Both files are parsed with `LINE:COL` errors, and the private half
//! must be the one of the public half (ring derives one from the other). A [`KeyPair`]
//! gives the DNSKEY rdata, its key tag, the DS a parent publishes and signatures.
//!
//! ```
//! use broker_config::dnssec_key::PublicKey;
//! let key = PublicKey::parse("img.xyz.com. IN DNSKEY 256 3 15 pMC4zbv2Z+jDLnIgPi5T7MRfgisXRybFLWkdKhN5G+k=\n").unwrap();
//! assert_eq!(key.key_tag(), 19315);
//! ```

use std::fmt;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ring::rand::SystemRandom;
use ring::signature::{self, EcdsaKeyPair, Ed25519KeyPair, KeyPair as _};

use crate::error::{ParseError, Pos};
use crate::name::DnsName;

/// The signing algorithms the engine takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Algorithm {
    /// 13: ECDSA on P-256 with SHA-256 (RFC 6605).
    EcdsaP256Sha256,
    /// 15: Ed25519 (RFC 8080).
    Ed25519,
}

impl Algorithm {
    fn from_number(n: u64) -> Option<Self> {
        match n {
            13 => Some(Self::EcdsaP256Sha256),
            15 => Some(Self::Ed25519),
            _ => None,
        }
    }

    /// The number in DNSKEY, DS and RRSIG records.
    pub fn number(self) -> u8 {
        match self {
            Self::EcdsaP256Sha256 => 13,
            Self::Ed25519 => 15,
        }
    }

    /// Length of the public key in a DNSKEY (ECDSA: x and y, no prefix).
    fn public_len(self) -> usize {
        match self {
            Self::EcdsaP256Sha256 => 64,
            Self::Ed25519 => 32,
        }
    }
}

const UNSUPPORTED: &str = "algorithm must be 13 (ECDSAP256SHA256) or 15 (ED25519)";

/// The public half: the DNSKEY record of a `.key` file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublicKey {
    /// The zone the key signs (the record's owner).
    pub zone: DnsName,
    /// DNSKEY flags (256 zone key, 257 with the secure entry point bit).
    pub flags: u16,
    /// The algorithm.
    pub algorithm: Algorithm,
    /// The key bytes as in the DNSKEY rdata.
    pub key: Vec<u8>,
}

/// Words of a line with their 1-based columns.
fn words(line: &str) -> impl Iterator<Item = (u32, &str)> {
    let mut rest = line;
    let mut at = 0usize;
    std::iter::from_fn(move || {
        let start = rest.find(|c: char| !c.is_ascii_whitespace())?;
        let len = rest[start..]
            .find(|c: char| c.is_ascii_whitespace())
            .unwrap_or(rest.len() - start);
        let word = &rest[start..start + len];
        let col = at + start + 1;
        at += start + len;
        rest = &rest[start + len..];
        Some((u32::try_from(col).unwrap_or(u32::MAX), word))
    })
}

fn line_no(n: usize) -> u32 {
    u32::try_from(n + 1).unwrap_or(u32::MAX)
}

fn base64(text: &str, at: Pos) -> Result<Vec<u8>, ParseError> {
    STANDARD
        .decode(text)
        .map_err(|e| ParseError::new(at, format!("bad base64: {e}")))
}

impl PublicKey {
    /// Reads the one DNSKEY record of a `.key` file (`;` starts a comment line).
    pub fn parse(text: &str) -> Result<Self, ParseError> {
        let mut found = None;
        for (n, line) in text.lines().enumerate() {
            let line = line.split(';').next().unwrap_or("");
            if line.trim().is_empty() {
                continue;
            }
            let at = |col| Pos::new(line_no(n), col);
            if found.is_some() {
                return Err(ParseError::new(at(1), "a key file holds one DNSKEY record"));
            }
            found = Some(Self::record(line, line_no(n))?);
        }
        found.ok_or_else(|| ParseError::new(Pos::new(1, 1), "no DNSKEY record"))
    }

    /// `<owner> [<ttl>] [IN] DNSKEY <flags> 3 <algorithm> <base64>...`.
    fn record(line: &str, n: u32) -> Result<Self, ParseError> {
        let at = |col| Pos::new(n, col);
        let mut w = words(line).peekable();
        let (col, owner) = w.next().unwrap_or((1, ""));
        let zone = DnsName::new(owner).map_err(|e| ParseError::new(at(col), e))?;
        if !owner.ends_with('.') {
            return Err(ParseError::new(
                at(col),
                "the owner must be absolute (end in '.')",
            ));
        }
        if w.peek()
            .is_some_and(|(_, t)| t.bytes().all(|b| b.is_ascii_digit()))
        {
            w.next();
        }
        if w.peek().is_some_and(|(_, t)| t.eq_ignore_ascii_case("IN")) {
            w.next();
        }
        let end = u32::try_from(line.len() + 1).unwrap_or(u32::MAX);
        match w.next() {
            Some((_, t)) if t.eq_ignore_ascii_case("DNSKEY") => {}
            Some((col, _)) => return Err(ParseError::new(at(col), "expected DNSKEY")),
            None => return Err(ParseError::new(at(end), "expected DNSKEY")),
        }
        let mut number = |what: &'static str, max: u64| -> Result<(u64, u32), ParseError> {
            let (col, t) = w
                .next()
                .ok_or_else(|| ParseError::new(at(end), format!("expected {what}")))?;
            match t.parse::<u64>() {
                Ok(v) if v <= max => Ok((v, col)),
                _ => Err(ParseError::new(at(col), format!("bad {what}"))),
            }
        };
        let (flags, flags_col) = number("flags", u64::from(u16::MAX))?;
        if flags & 0x0100 == 0 {
            return Err(ParseError::new(
                at(flags_col),
                "not a zone key (flags 256 or 257)",
            ));
        }
        let (protocol, col) = number("protocol", 255)?;
        if protocol != 3 {
            return Err(ParseError::new(at(col), "protocol must be 3"));
        }
        let (alg, col) = number("algorithm", 255)?;
        let algorithm =
            Algorithm::from_number(alg).ok_or_else(|| ParseError::new(at(col), UNSUPPORTED))?;
        let rest: Vec<(u32, &str)> = w.collect();
        let Some(&(key_col, _)) = rest.first() else {
            return Err(ParseError::new(at(end), "expected the key (base64)"));
        };
        let joined: String = rest.iter().map(|(_, t)| *t).collect();
        let key = base64(&joined, at(key_col))?;
        if key.len() != algorithm.public_len() {
            return Err(ParseError::new(
                at(key_col),
                format!(
                    "a public key of algorithm {} has {} bytes, not {}",
                    alg,
                    algorithm.public_len(),
                    key.len()
                ),
            ));
        }
        Ok(Self {
            zone,
            flags: flags as u16,
            algorithm,
            key,
        })
    }

    /// The DNSKEY rdata: flags, protocol 3, algorithm, key.
    pub fn rdata(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(4 + self.key.len());
        out.extend_from_slice(&self.flags.to_be_bytes());
        out.push(3);
        out.push(self.algorithm.number());
        out.extend_from_slice(&self.key);
        out
    }

    /// The key tag (RFC 4034 appendix B).
    pub fn key_tag(&self) -> u16 {
        let mut acc: u32 = 0;
        for (i, b) in self.rdata().iter().enumerate() {
            acc += if i % 2 == 0 {
                u32::from(*b) << 8
            } else {
                u32::from(*b)
            };
        }
        acc += (acc >> 16) & 0xFFFF;
        (acc & 0xFFFF) as u16
    }

    /// The SHA-256 digest of a DS record (RFC 4509): owner in wire form, then the rdata.
    pub fn ds_digest(&self) -> Vec<u8> {
        let mut data = wire_name(&self.zone);
        data.extend_from_slice(&self.rdata());
        ring::digest::digest(&ring::digest::SHA256, &data)
            .as_ref()
            .to_vec()
    }

    /// The DS record for the parent zone, in presentation form (as `dnssec-dsfromkey -2`).
    pub fn ds_record(&self) -> String {
        let hex: String = self
            .ds_digest()
            .iter()
            .map(|b| format!("{b:02X}"))
            .collect();
        format!(
            "{}. IN DS {} {} 2 {hex}",
            self.zone,
            self.key_tag(),
            self.algorithm.number()
        )
    }
}

/// A name in wire form (lower case, as DNSSEC's canonical form wants).
pub fn wire_name(name: &DnsName) -> Vec<u8> {
    let mut out = Vec::with_capacity(name.as_str().len() + 2);
    for label in name.as_str().split('.') {
        out.push(label.len() as u8);
        out.extend_from_slice(label.as_bytes());
    }
    out.push(0);
    out
}

/// The signing half, checked against its public half.
enum Signer {
    Ecdsa(EcdsaKeyPair, SystemRandom),
    Ed25519(Ed25519KeyPair),
}

/// A key pair that signs for its zone.
pub struct KeyPair {
    /// The public half.
    pub public: PublicKey,
    signer: Signer,
}

impl fmt::Debug for KeyPair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyPair")
            .field("zone", &self.public.zone)
            .field("tag", &self.public.key_tag())
            .finish_non_exhaustive()
    }
}

impl KeyPair {
    /// The pair of `public` and the text of its `.private` file; the error is at a line
    /// of the `.private` file.
    pub fn new(public: PublicKey, private_text: &str) -> Result<Self, ParseError> {
        let mut format = None;
        let mut algorithm = None;
        let mut secret = None;
        for (n, line) in private_text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let at = |col| Pos::new(line_no(n), col);
            let Some((field, value)) = line.split_once(':') else {
                return Err(ParseError::new(at(1), "expected `Field: value`"));
            };
            let value_col = u32::try_from(field.len() + 2 + value.len() - value.trim_start().len())
                .unwrap_or(u32::MAX);
            let value = value.trim();
            match field {
                "Private-key-format" => {
                    if !value.starts_with("v1.") {
                        return Err(ParseError::new(at(value_col), "unknown private key format"));
                    }
                    format = Some(());
                }
                "Algorithm" => {
                    let number = value.split_whitespace().next().unwrap_or("");
                    let alg = number
                        .parse::<u64>()
                        .ok()
                        .and_then(Algorithm::from_number)
                        .ok_or_else(|| ParseError::new(at(value_col), UNSUPPORTED))?;
                    if alg != public.algorithm {
                        return Err(ParseError::new(
                            at(value_col),
                            format!(
                                "algorithm {} here, {} in the public key",
                                alg.number(),
                                public.algorithm.number()
                            ),
                        ));
                    }
                    algorithm = Some(alg);
                }
                "PrivateKey" => secret = Some((base64(value, at(value_col))?, at(value_col))),
                _ => {}
            }
        }
        let end = Pos::new(line_no(private_text.lines().count().max(1) - 1), 1);
        if format.is_none() {
            return Err(ParseError::new(
                Pos::new(1, 1),
                "no Private-key-format line",
            ));
        }
        if algorithm.is_none() {
            return Err(ParseError::new(end, "no Algorithm line"));
        }
        let Some((secret, at)) = secret else {
            return Err(ParseError::new(end, "no PrivateKey line"));
        };
        let mismatch = || ParseError::new(at, "this private key is not the one of the public key");
        let signer = match public.algorithm {
            Algorithm::EcdsaP256Sha256 => {
                let mut point = vec![4u8];
                point.extend_from_slice(&public.key);
                let rng = SystemRandom::new();
                let pair = EcdsaKeyPair::from_private_key_and_public_key(
                    &signature::ECDSA_P256_SHA256_FIXED_SIGNING,
                    &secret,
                    &point,
                    &rng,
                )
                .map_err(|_| mismatch())?;
                Signer::Ecdsa(pair, rng)
            }
            Algorithm::Ed25519 => {
                let pair = Ed25519KeyPair::from_seed_and_public_key(&secret, &public.key)
                    .map_err(|_| mismatch())?;
                Signer::Ed25519(pair)
            }
        };
        Ok(Self { public, signer })
    }

    /// Signs `data` (an RRSIG's signed data); the signature as an RRSIG carries it.
    pub fn sign(&self, data: &[u8]) -> Vec<u8> {
        match &self.signer {
            Signer::Ecdsa(pair, rng) => pair
                .sign(rng, data)
                .map(|s| s.as_ref().to_vec())
                // ring fails only when the system's random source does; an empty
                // signature then fails validation rather than the engine.
                .unwrap_or_default(),
            Signer::Ed25519(pair) => pair.sign(data).as_ref().to_vec(),
        }
    }

    /// The public key as ring holds it (tests verify signatures with it).
    pub fn ring_public_key(&self) -> Vec<u8> {
        match &self.signer {
            Signer::Ecdsa(pair, _) => pair.public_key().as_ref().to_vec(),
            Signer::Ed25519(pair) => pair.public_key().as_ref().to_vec(),
        }
    }
}

/// A problem with one key file: prints `FILE:LINE:COL: message` or `FILE: message`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub struct KeyError {
    /// The file (or folder).
    pub file: PathBuf,
    /// Where in it, when a line is at fault.
    pub pos: Option<Pos>,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for KeyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.pos {
            Some(pos) => write!(f, "{}:{pos}: {}", self.file.display(), self.message),
            None => write!(f, "{}: {}", self.file.display(), self.message),
        }
    }
}

impl KeyError {
    fn at(file: &Path, e: ParseError) -> Self {
        Self {
            file: file.to_owned(),
            pos: Some(e.pos),
            message: e.message,
        }
    }

    fn whole(file: &Path, message: impl Into<String>) -> Self {
        Self {
            file: file.to_owned(),
            pos: None,
            message: message.into(),
        }
    }
}

/// Reads a pair from its `.key` file (the `.private` file beside it has the same stem).
pub fn read_pair(key_file: &Path) -> Result<KeyPair, KeyError> {
    let private_file = key_file.with_extension("private");
    let read = |p: &Path| {
        std::fs::read_to_string(p).map_err(|e| KeyError::whole(p, format!("cannot read: {e}")))
    };
    let public = PublicKey::parse(&read(key_file)?).map_err(|e| KeyError::at(key_file, e))?;
    KeyPair::new(public, &read(&private_file)?).map_err(|e| KeyError::at(&private_file, e))
}

/// Reads every pair of a folder (`*.key` with its `.private`; other files are left
/// alone), in file name order; every problem is reported, each with its file.
pub fn read_folder(dir: &Path) -> Result<Vec<KeyPair>, Vec<KeyError>> {
    let entries = std::fs::read_dir(dir).map_err(|e| {
        vec![KeyError::whole(
            dir,
            format!("cannot read the key folder: {e}"),
        )]
    })?;
    let mut names: Vec<PathBuf> = entries.filter_map(Result::ok).map(|e| e.path()).collect();
    names.sort();
    let mut pairs = Vec::new();
    let mut errors = Vec::new();
    for path in &names {
        match path.extension().and_then(|e| e.to_str()) {
            Some("key") => match read_pair(path) {
                Ok(pair) => pairs.push(pair),
                Err(e) => errors.push(e),
            },
            Some("private") if !path.with_extension("key").exists() => {
                errors.push(KeyError::whole(path, "a private key without its .key file"))
            }
            _ => {}
        }
    }
    if errors.is_empty() {
        Ok(pairs)
    } else {
        Err(errors)
    }
}

#[cfg(test)]
mod tests;
