//! XML Encryption of SAML elements for a relying party (`saml2-encrypt-assertion`,
//! `-attributes`, `-nameid`): a fresh AES key per element (CBC as OpenAM offers, or GCM from
//! XML Encryption 1.1), carried in an `xenc:EncryptedKey` encrypted with RSA-OAEP to the
//! relying party's certificate (`saml2-encryption-key-alias`).
//!
//! Only the relying party can decrypt: the STS keeps no copy of the content key.

use std::sync::Arc;

use openssl::encrypt::Encrypter as RsaEncrypter;
use openssl::rsa::Padding;
use openssl::symm::Cipher;

use crate::crypto::encoding::base64_encode;
use crate::crypto::{Certificate, KeyKind};
use crate::xml::ns::{DS, DS_SHA1, XENC, XENC_RSA_OAEP_MGF1P, XENC_TYPE_ELEMENT, XENC11};
use crate::xml::write::{Canonical, Writer};

/// The content encryption of an element.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlockCipher {
    Aes128Cbc,
    Aes192Cbc,
    Aes256Cbc,
    Aes128Gcm,
    Aes192Gcm,
    Aes256Gcm,
}

impl BlockCipher {
    const ALL: [BlockCipher; 6] = [
        Self::Aes128Cbc,
        Self::Aes192Cbc,
        Self::Aes256Cbc,
        Self::Aes128Gcm,
        Self::Aes192Gcm,
        Self::Aes256Gcm,
    ];

    pub fn uri(self) -> String {
        match self {
            Self::Aes128Cbc => format!("{XENC}aes128-cbc"),
            Self::Aes192Cbc => format!("{XENC}aes192-cbc"),
            Self::Aes256Cbc => format!("{XENC}aes256-cbc"),
            Self::Aes128Gcm => format!("{XENC11}aes128-gcm"),
            Self::Aes192Gcm => format!("{XENC11}aes192-gcm"),
            Self::Aes256Gcm => format!("{XENC11}aes256-gcm"),
        }
    }

    fn bits(self) -> u64 {
        match self {
            Self::Aes128Cbc | Self::Aes128Gcm => 128,
            Self::Aes192Cbc | Self::Aes192Gcm => 192,
            Self::Aes256Cbc | Self::Aes256Gcm => 256,
        }
    }

    fn gcm(self) -> bool {
        matches!(self, Self::Aes128Gcm | Self::Aes192Gcm | Self::Aes256Gcm)
    }

    fn openssl(self) -> Cipher {
        match self {
            Self::Aes128Cbc => Cipher::aes_128_cbc(),
            Self::Aes192Cbc => Cipher::aes_192_cbc(),
            Self::Aes256Cbc => Cipher::aes_256_cbc(),
            Self::Aes128Gcm => Cipher::aes_128_gcm(),
            Self::Aes192Gcm => Cipher::aes_192_gcm(),
            Self::Aes256Gcm => Cipher::aes_256_gcm(),
        }
    }

    /// From `saml2-encryption-algorithm` and `-strength`, as OpenAM reads them: the URI
    /// names the mode, a non-zero strength (128, 192, 256) the key size. No algorithm:
    /// AES-256-GCM (or AES-CBC of the given strength, if one is given, as OpenAM does).
    pub fn from_config(uri: Option<&str>, strength: u64) -> Result<BlockCipher, String> {
        let named = match uri.map(str::trim).filter(|u| !u.is_empty()) {
            None if strength == 0 => return Ok(Self::Aes256Gcm),
            None => Self::Aes128Cbc,
            Some(u) => Self::ALL
                .into_iter()
                .find(|c| c.uri() == u)
                .ok_or_else(|| {
                    let known: Vec<String> = Self::ALL.iter().map(|c| c.uri()).collect();
                    if u.ends_with("tripledes-cbc") {
                        format!("`{u}` (3DES) is not offered: it is a 64-bit block cipher; use one of {}", known.join(", "))
                    } else {
                        format!("`{u}` is not a supported block encryption algorithm; use one of {}", known.join(", "))
                    }
                })?,
        };
        if strength == 0 || strength == named.bits() {
            return Ok(named);
        }
        Self::ALL
            .into_iter()
            .find(|c| c.gcm() == named.gcm() && c.bits() == strength)
            .ok_or_else(|| format!("strength {strength} is not an AES key size (128, 192, 256)"))
    }
}

/// Encrypts elements to one relying party.
#[derive(Debug, Clone)]
pub struct Encrypter {
    cipher: BlockCipher,
    cert: Arc<Certificate>,
}

/// Failures of encryption (all of them OpenSSL's).
#[derive(Debug, thiserror::Error)]
#[error("encryption failed: {0}")]
pub struct EncryptError(#[from] openssl::error::ErrorStack);

impl Encrypter {
    /// Key transport is RSA-OAEP, so the certificate must hold an RSA key of 2048 bits or more.
    pub fn new(cipher: BlockCipher, cert: Arc<Certificate>) -> Result<Encrypter, String> {
        let bits = match cert.kind() {
            KeyKind::Rsa => cert.public_key().bits(),
            KeyKind::Ec => {
                return Err(format!(
                    "certificate `{}` has an EC key; key transport (RSA-OAEP) needs an RSA key",
                    cert.alias()
                ));
            }
        };
        if bits < 2048 {
            return Err(format!(
                "certificate `{}` has a {bits}-bit RSA key; at least 2048 bits are needed",
                cert.alias()
            ));
        }
        Ok(Encrypter { cipher, cert })
    }

    pub fn cipher(&self) -> BlockCipher {
        self.cipher
    }

    /// `xenc:EncryptedData` (Type Element) holding `element`, which must declare every
    /// namespace prefix it uses, since it is decrypted out of context.
    pub fn encrypt(&self, element: &str) -> Result<String, EncryptError> {
        Ok(self.encrypt_canonical(element)?.into_string())
    }

    /// [`Encrypter::encrypt`], in exclusive canonical form: it goes into a signed assertion
    /// as written.
    pub fn encrypt_canonical(&self, element: &str) -> Result<Canonical, EncryptError> {
        let cipher = self.cipher.openssl();
        let mut key = vec![0u8; cipher.key_len()];
        openssl::rand::rand_bytes(&mut key)?;
        let mut iv = vec![0u8; if self.cipher.gcm() { 12 } else { 16 }];
        openssl::rand::rand_bytes(&mut iv)?;
        // CipherValue is IV || ciphertext (|| tag for GCM, XML Encryption 1.1 5.2.4).
        let mut value = iv.clone();
        if self.cipher.gcm() {
            let mut tag = [0u8; 16];
            value.extend(openssl::symm::encrypt_aead(
                cipher,
                &key,
                Some(&iv),
                &[],
                element.as_bytes(),
                &mut tag,
            )?);
            value.extend_from_slice(&tag);
        } else {
            // PKCS#7 padding is one of the paddings XML Encryption 5.2.1 allows a decryptor
            // to read (it looks only at the last byte).
            value.extend(openssl::symm::encrypt(
                cipher,
                &key,
                Some(&iv),
                element.as_bytes(),
            )?);
        }
        let mut w = Writer::canonical(value.len() * 2 + 2048);
        w.start("xenc:EncryptedData")
            .ns("xenc", XENC)
            .attr("Type", XENC_TYPE_ELEMENT);
        w.start("xenc:EncryptionMethod")
            .attr("Algorithm", &self.cipher.uri())
            .end();
        w.start("ds:KeyInfo").ns("ds", DS);
        self.encrypted_key(&key)?.write(&mut w, false);
        w.end();
        w.start("xenc:CipherData");
        w.element("xenc:CipherValue", &base64_encode(&value));
        Ok(w.finish_canonical())
    }

    /// `key` wrapped (RSA-OAEP) for the relying party, as an `xenc:EncryptedKey` to write.
    pub fn encrypted_key(&self, key: &[u8]) -> Result<EncryptedKey, EncryptError> {
        let mut rsa = RsaEncrypter::new(self.cert.public_key())?;
        rsa.set_rsa_padding(Padding::PKCS1_OAEP)?;
        let mut wrapped = vec![0u8; rsa.encrypt_len(key)?];
        let n = rsa.encrypt(key, &mut wrapped)?;
        wrapped.truncate(n);
        Ok(EncryptedKey {
            wrapped,
            cert: self.cert.clone(),
        })
    }
}

/// A key wrapped for the relying party (a holder-of-key assertion's symmetric proof key,
/// an encrypted element's content key): written as an `xenc:EncryptedKey` by the writer of
/// the document that carries it, so that a canonical writer keeps the document canonical.
#[derive(Debug, Clone)]
pub struct EncryptedKey {
    wrapped: Vec<u8>,
    cert: Arc<Certificate>,
}

impl EncryptedKey {
    /// Writes the `xenc:EncryptedKey` into `w` inside a `ds:KeyInfo` (which binds `ds`),
    /// declaring `xenc` when `declare_xenc` (no ancestor binds it).
    pub fn write(&self, w: &mut Writer, declare_xenc: bool) {
        self.write_with(w, declare_xenc, false);
    }

    /// The `xenc:EncryptedKey` on its own, declaring every namespace it uses.
    pub fn to_xml(&self) -> String {
        let mut w = Writer::with_capacity(2048);
        self.write_with(&mut w, true, true);
        w.finish()
    }

    fn write_with(&self, w: &mut Writer, declare_xenc: bool, declare_ds: bool) {
        let mut tag = w.start("xenc:EncryptedKey");
        if declare_xenc {
            tag = tag.ns("xenc", XENC);
        }
        if declare_ds {
            tag.ns("ds", DS);
        }
        w.start("xenc:EncryptionMethod")
            .attr("Algorithm", XENC_RSA_OAEP_MGF1P);
        w.start("ds:DigestMethod").attr("Algorithm", DS_SHA1).end();
        w.end();
        w.start("ds:KeyInfo");
        w.start("ds:X509Data");
        w.element("ds:X509Certificate", &base64_encode(self.cert.der()));
        w.end().end();
        w.start("xenc:CipherData");
        w.element("xenc:CipherValue", &base64_encode(&self.wrapped));
        w.end().end();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine as _;

    #[test]
    fn reads_openam_settings() {
        let cbc = format!("{XENC}aes128-cbc");
        assert_eq!(
            BlockCipher::from_config(None, 0),
            Ok(BlockCipher::Aes256Gcm)
        );
        assert_eq!(
            BlockCipher::from_config(Some(&cbc), 128),
            Ok(BlockCipher::Aes128Cbc)
        );
        assert_eq!(
            BlockCipher::from_config(Some(&cbc), 256),
            Ok(BlockCipher::Aes256Cbc)
        );
        assert_eq!(
            BlockCipher::from_config(Some("http://www.w3.org/2009/xmlenc11#aes192-gcm"), 0),
            Ok(BlockCipher::Aes192Gcm)
        );
        assert!(BlockCipher::from_config(Some(&cbc), 512).is_err());
        let e = BlockCipher::from_config(Some(&format!("{XENC}tripledes-cbc")), 0).unwrap_err();
        assert!(e.contains("3DES"), "{e}");
    }

    /// Decrypts with OpenSSL directly: the layout (IV, tag, OAEP) is what a decryptor reads.
    #[test]
    fn round_trips_every_cipher() {
        let now = chrono::DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        let (key, cert) = crate::crypto::new_key_pair("sp", KeyKind::Rsa, now).unwrap();
        let sp = openssl::pkey::PKey::private_key_from_pem(&key).unwrap();
        let cert = Arc::new(Certificate::from_pem("sp", &cert).unwrap());
        for c in BlockCipher::ALL {
            let enc = Encrypter::new(c, cert.clone()).unwrap();
            let out = enc.encrypt("<a xmlns=\"urn:x\">secret</a>").unwrap();
            assert!(!out.contains("secret"));
            let values: Vec<&str> = out
                .split("<xenc:CipherValue>")
                .skip(1)
                .map(|s| &s[..s.find('<').unwrap()])
                .collect();
            let b64 = base64::engine::general_purpose::STANDARD;
            let wrapped = b64.decode(values[0]).unwrap();
            let mut dec = openssl::encrypt::Decrypter::new(&sp).unwrap();
            dec.set_rsa_padding(Padding::PKCS1_OAEP).unwrap();
            let mut k = vec![0u8; dec.decrypt_len(&wrapped).unwrap()];
            let n = dec.decrypt(&wrapped, &mut k).unwrap();
            k.truncate(n);
            let body = b64.decode(values[1]).unwrap();
            let plain = if c.gcm() {
                let (iv, rest) = body.split_at(12);
                let (ct, tag) = rest.split_at(rest.len() - 16);
                openssl::symm::decrypt_aead(c.openssl(), &k, Some(iv), &[], ct, tag).unwrap()
            } else {
                let (iv, ct) = body.split_at(16);
                openssl::symm::decrypt(c.openssl(), &k, Some(iv), ct).unwrap()
            };
            assert_eq!(plain, b"<a xmlns=\"urn:x\">secret</a>", "{c:?}");
        }
    }

    /// The markup around the (random) cipher values, byte for byte.
    #[test]
    fn encrypted_data_is_written_byte_for_byte() {
        let now = chrono::DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        let (_, cert) = crate::crypto::new_key_pair("sp", KeyKind::Rsa, now).unwrap();
        let cert = Arc::new(Certificate::from_pem("sp", &cert).unwrap());
        let der = base64::engine::general_purpose::STANDARD.encode(cert.der());
        let enc = Encrypter::new(BlockCipher::Aes128Cbc, cert).unwrap();
        let masked = |s: String| {
            let mut out = String::new();
            let mut rest = s.as_str();
            while let Some(i) = rest.find("<xenc:CipherValue>") {
                let j = i + rest[i..].find("</xenc:CipherValue>").unwrap();
                out.push_str(&rest[..i]);
                out.push_str("<xenc:CipherValue>V");
                rest = &rest[j..];
            }
            out + rest
        };
        let key = format!(
            "<xenc:EncryptionMethod Algorithm=\"{XENC_RSA_OAEP_MGF1P}\"><ds:DigestMethod Algorithm=\"{DS_SHA1}\"/></xenc:EncryptionMethod><ds:KeyInfo><ds:X509Data><ds:X509Certificate>{der}</ds:X509Certificate></ds:X509Data></ds:KeyInfo><xenc:CipherData><xenc:CipherValue>V</xenc:CipherValue></xenc:CipherData></xenc:EncryptedKey>"
        );
        assert_eq!(
            masked(enc.encrypted_key(&[1; 16]).unwrap().to_xml()),
            format!("<xenc:EncryptedKey xmlns:xenc=\"{XENC}\" xmlns:ds=\"{DS}\">{key}")
        );
        assert_eq!(
            masked(enc.encrypt("<a/>").unwrap()),
            format!(
                "<xenc:EncryptedData xmlns:xenc=\"{XENC}\" Type=\"{XENC_TYPE_ELEMENT}\"><xenc:EncryptionMethod Algorithm=\"{XENC}aes128-cbc\"></xenc:EncryptionMethod><ds:KeyInfo xmlns:ds=\"{DS}\"><xenc:EncryptedKey>{}</ds:KeyInfo><xenc:CipherData><xenc:CipherValue>V</xenc:CipherValue></xenc:CipherData></xenc:EncryptedData>",
                // Canonical inside EncryptedData: no empty-element tags.
                key.replace("\"/>", "\"></ds:DigestMethod>")
            )
        );
    }
}
