//! Test keys and certificates: a CA with the certificates it issues, self-signed client
//! certificates, a relying party's key, and the identity providers tests trust (a SAML IdP, an
//! OpenID provider with an RSA key, one with an HS256 shared secret).

use std::path::Path;

use serde_json::{Value, json};

use super::wall_clock;

pub const OP: &str = "https://op.example.com";
pub const OP_SECRET: &str = "an-op-shared-secret-of-32-bytes-or-more";

/// An id_token of the test OpenID provider (HS256 with its shared secret); each call makes
/// another token (a `nonce` of its own), as an OP does: an id_token is accepted once.
pub fn op_id_token(sub: &str) -> String {
    use base64::Engine as _;
    static SEQ: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let b64 = |b: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b);
    let now = wall_clock().timestamp();
    let nonce = SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let h = b64(br#"{"alg":"HS256","typ":"JWT"}"#);
    let p = b64(
        json!({"iss": OP, "aud": "sts", "sub": sub, "iat": now, "exp": now + 300, "nonce": format!("n{nonce}")})
            .to_string()
            .as_bytes(),
    );
    let key = openssl::pkey::PKey::hmac(OP_SECRET.as_bytes()).unwrap();
    let mut signer =
        openssl::sign::Signer::new(openssl::hash::MessageDigest::sha256(), &key).unwrap();
    signer.update(format!("{h}.{p}").as_bytes()).unwrap();
    format!("{h}.{p}.{}", b64(&signer.sign_to_vec().unwrap()))
}

pub fn trusted_op() -> Value {
    json!([{"issuer": OP, "audience": ["sts"], "algorithms": ["HS256"], "client-secret": OP_SECRET}])
}

/// A relying party's RSA key pair: (private key PEM file, certificate PEM bytes).
pub fn relying_party(dir: &Path) -> (std::path::PathBuf, Vec<u8>) {
    let (key, cert) =
        sts::crypto::new_key_pair("sp", sts::crypto::KeyKind::Rsa, wall_clock()).unwrap();
    let key_path = dir.join("sp.key.pem");
    std::fs::write(&key_path, key).unwrap();
    (key_path, cert)
}

/// A test PKI: a CA and certificates it issues, with keys, as PEM files in a folder.
pub struct Pki {
    dir: tempfile::TempDir,
    ca_key: openssl::pkey::PKey<openssl::pkey::Private>,
    ca: openssl::x509::X509,
}

impl Pki {
    pub fn new(name: &str) -> Pki {
        use openssl::x509::extension::{BasicConstraints, KeyUsage};
        let dir = tempfile::tempdir().unwrap();
        let ca_key =
            openssl::pkey::PKey::from_rsa(openssl::rsa::Rsa::generate(2048).unwrap()).unwrap();
        let mut b = Self::builder(name, 1, -1, 365, &ca_key);
        b.set_issuer_name(&Self::name(name)).unwrap();
        b.append_extension(BasicConstraints::new().critical().ca().build().unwrap())
            .unwrap();
        b.append_extension(
            KeyUsage::new()
                .critical()
                .key_cert_sign()
                .crl_sign()
                .build()
                .unwrap(),
        )
        .unwrap();
        b.sign(&ca_key, openssl::hash::MessageDigest::sha256())
            .unwrap();
        let ca = b.build();
        std::fs::write(dir.path().join("ca.crt.pem"), ca.to_pem().unwrap()).unwrap();
        Pki { dir, ca_key, ca }
    }

    fn name(cn: &str) -> openssl::x509::X509Name {
        let mut n = openssl::x509::X509NameBuilder::new().unwrap();
        n.append_entry_by_text("O", "Example").unwrap();
        n.append_entry_by_text("CN", cn).unwrap();
        n.build()
    }

    fn builder(
        cn: &str,
        serial: u32,
        from_days: i64,
        to_days: i64,
        key: &openssl::pkey::PKey<openssl::pkey::Private>,
    ) -> openssl::x509::X509Builder {
        let mut b = openssl::x509::X509::builder().unwrap();
        b.set_version(2).unwrap();
        let serial = openssl::bn::BigNum::from_u32(serial)
            .unwrap()
            .to_asn1_integer()
            .unwrap();
        b.set_serial_number(&serial).unwrap();
        b.set_subject_name(&Self::name(cn)).unwrap();
        b.set_pubkey(key).unwrap();
        let day = 86_400;
        let now = wall_clock().timestamp();
        b.set_not_before(&openssl::asn1::Asn1Time::from_unix(now + from_days * day).unwrap())
            .unwrap();
        b.set_not_after(&openssl::asn1::Asn1Time::from_unix(now + to_days * day).unwrap())
            .unwrap();
        b
    }

    /// Issues a certificate; writes `<file>.crt.pem` and `<file>.key.pem`; returns the paths.
    pub fn issue(
        &self,
        file: &str,
        cn: &str,
        serial: u32,
        days: (i64, i64),
        server: bool,
    ) -> (std::path::PathBuf, std::path::PathBuf) {
        use openssl::x509::extension::{ExtendedKeyUsage, SubjectAlternativeName};
        let key = openssl::pkey::PKey::from_ec_key(
            openssl::ec::EcKey::generate(
                &openssl::ec::EcGroup::from_curve_name(openssl::nid::Nid::X9_62_PRIME256V1)
                    .unwrap(),
            )
            .unwrap(),
        )
        .unwrap();
        let mut b = Self::builder(cn, serial, days.0, days.1, &key);
        b.set_issuer_name(self.ca.subject_name()).unwrap();
        let eku = if server {
            ExtendedKeyUsage::new().server_auth().build().unwrap()
        } else {
            ExtendedKeyUsage::new().client_auth().build().unwrap()
        };
        b.append_extension(eku).unwrap();
        if server {
            let san = SubjectAlternativeName::new()
                .ip("127.0.0.1")
                .build(&b.x509v3_context(Some(&self.ca), None))
                .unwrap();
            b.append_extension(san).unwrap();
        }
        b.sign(&self.ca_key, openssl::hash::MessageDigest::sha256())
            .unwrap();
        let cert = b.build();
        let crt = self.dir.path().join(format!("{file}.crt.pem"));
        let keyf = self.dir.path().join(format!("{file}.key.pem"));
        std::fs::write(&crt, cert.to_pem().unwrap()).unwrap();
        std::fs::write(&keyf, key.private_key_to_pem_pkcs8().unwrap()).unwrap();
        (crt, keyf)
    }

    pub fn ca_pem(&self) -> Vec<u8> {
        self.ca.to_pem().unwrap()
    }

    pub fn ca_file(&self) -> std::path::PathBuf {
        self.dir.path().join("ca.crt.pem")
    }
}

/// An OpenID provider's RSA key, written to `dir` as PEM, and its public JWK (kid `op-1`).
pub fn openid_provider(dir: &Path) -> (std::path::PathBuf, Value) {
    use base64::Engine as _;
    let b64url = |b: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b);
    let op = openssl::rsa::Rsa::generate(2048).unwrap();
    let pem = dir.join("op.pem");
    std::fs::write(&pem, op.private_key_to_pem().unwrap()).unwrap();
    let jwk = json!({"kty": "RSA", "kid": "op-1", "n": b64url(&op.n().to_vec()), "e": b64url(&op.e().to_vec())});
    (pem, jwk)
}

/// A SAML identity provider's signing key, and its certificate (PEM).
pub fn saml_idp() -> (std::sync::Arc<sts::crypto::SigningKey>, Vec<u8>) {
    let (key, cert) =
        sts::crypto::new_key_pair("idp", sts::crypto::KeyKind::Rsa, wall_clock()).unwrap();
    let idp = sts::crypto::SigningKey::new(
        "idp",
        sts::crypto::KeyKind::Rsa,
        sts::secret::Secret::new(key),
        cert.clone(),
        None,
    )
    .unwrap();
    (idp, cert)
}

/// An identity provider's signed SAML 2.0 bearer assertion about `subject`, built and signed
/// (RSA-SHA256, libxmlsec1) with the IdP's own key.
pub fn idp_assertion(
    idp: &std::sync::Arc<sts::crypto::SigningKey>,
    subject: &str,
    audience: &str,
    valid: (i64, i64),
) -> String {
    use sts::tokens::saml2;
    let now = wall_clock();
    let id = saml2::new_assertion_id();
    let spec = saml2::AssertionSpec {
        id: &id,
        issuer: "https://idp.example.com/saml",
        issue_instant: now,
        name_id: subject,
        name_id_format: "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified",
        not_before: now + chrono::Duration::seconds(valid.0),
        not_on_or_after: now + chrono::Duration::seconds(valid.1),
        recipient: None,
        audience: Some(audience),
        authn_instant: now,
        session_index: None,
        authn_context: sts::xml::ns::AC_PASSWORD_PROTECTED_TRANSPORT,
        attributes: &[],
        confirmation: saml2::Confirmation::Bearer,
    };
    let sign = saml2::SignWith {
        key: idp,
        signature: sts::xmldsig::SignatureAlgorithm::RsaSha256,
        digest: sts::xmldsig::DigestAlgorithm::Sha256,
    };
    saml2::build(&spec, Some(sign), None).unwrap().wire
}

/// A self-signed certificate (DER, base64) valid from `from_days` to `to_days` around now.
pub fn client_cert_b64(from_days: i64, to_days: i64) -> String {
    use base64::Engine as _;
    use openssl::{asn1::Asn1Time, ec, nid::Nid, pkey::PKey, x509};
    let group = ec::EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).unwrap();
    let key = PKey::from_ec_key(ec::EcKey::generate(&group).unwrap()).unwrap();
    let mut name = x509::X509NameBuilder::new().unwrap();
    name.append_entry_by_text("CN", "client").unwrap();
    let name = name.build();
    let mut b = x509::X509Builder::new().unwrap();
    b.set_version(2).unwrap();
    b.set_subject_name(&name).unwrap();
    b.set_issuer_name(&name).unwrap();
    b.set_pubkey(&key).unwrap();
    let now = wall_clock().timestamp();
    b.set_not_before(&Asn1Time::from_unix(now + from_days * 86_400).unwrap())
        .unwrap();
    b.set_not_after(&Asn1Time::from_unix(now + to_days * 86_400).unwrap())
        .unwrap();
    b.sign(&key, openssl::hash::MessageDigest::sha256())
        .unwrap();
    base64::engine::general_purpose::STANDARD.encode(b.build().to_der().unwrap())
}
