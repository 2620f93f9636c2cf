//! Binary attribute values in the forms tokens can carry: base64, or Active Directory's
//! string forms of `objectGUID` and `objectSid`, which is how AD's own tools show them.

use base64::Engine as _;

use crate::config::BinaryForm;

/// `bytes` in `form`; `None` when they are not a GUID or SID.
pub fn format(form: BinaryForm, bytes: &[u8]) -> Option<String> {
    match form {
        BinaryForm::Base64 => Some(base64::engine::general_purpose::STANDARD.encode(bytes)),
        BinaryForm::Guid => guid(bytes),
        BinaryForm::Sid => sid(bytes),
    }
}

/// AD stores a GUID's first three fields little-endian: bytes 3210-54-76-89-ABCDEF, in
/// lower case, as .NET's `Guid.ToString()` writes them.
fn guid(b: &[u8]) -> Option<String> {
    let b: &[u8; 16] = b.try_into().ok()?;
    let [b0, b1, b2, b3, b4, b5, b6, b7, b8, b9, b10, b11, b12, b13, b14, b15] = *b;
    Some(format!(
        "{b3:02x}{b2:02x}{b1:02x}{b0:02x}-{b5:02x}{b4:02x}-{b7:02x}{b6:02x}-{b8:02x}{b9:02x}-{b10:02x}{b11:02x}{b12:02x}{b13:02x}{b14:02x}{b15:02x}"
    ))
}

/// `S-revision-authority-sub1-sub2-...`: one revision byte, a count of sub-authorities, a
/// 48-bit big-endian authority, then that many 32-bit little-endian sub-authorities.
fn sid(b: &[u8]) -> Option<String> {
    let (&revision, rest) = b.split_first()?;
    let (&count, rest) = rest.split_first()?;
    let (authority, subs) = rest.split_at_checked(6)?;
    if subs.len() != usize::from(count) * 4 {
        return None;
    }
    let authority = authority
        .iter()
        .fold(0u64, |acc, byte| (acc << 8) | u64::from(*byte));
    // MS-DTYP 2.4.2.1: authorities from 2^32 up are written in hexadecimal.
    let mut out = if authority < (1 << 32) {
        format!("S-{revision}-{authority}")
    } else {
        format!("S-{revision}-0x{authority:012X}")
    };
    for chunk in subs.chunks_exact(4) {
        let sub = u32::from_le_bytes(chunk.try_into().ok()?);
        out.push_str(&format!("-{sub}"));
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guid_in_ads_string_form() {
        // The bytes AD returns for {a4f9d94b-... }: the first three fields reversed.
        let bytes = [
            0x4b, 0xd9, 0xf9, 0xa4, 0x1b, 0x3c, 0x5d, 0x4e, 0x8f, 0x01, 0x23, 0x45, 0x67, 0x89,
            0xab, 0xcd,
        ];
        assert_eq!(
            format(BinaryForm::Guid, &bytes).as_deref(),
            Some("a4f9d94b-3c1b-4e5d-8f01-23456789abcd")
        );
        assert_eq!(format(BinaryForm::Guid, &bytes[..15]), None);
        assert_eq!(
            format(BinaryForm::Base64, &bytes[..3]).as_deref(),
            Some("S9n5")
        );
    }

    #[test]
    fn sid_in_its_string_form() {
        // S-1-5-21-3623811015-3361044348-30300820-1013, a domain user's SID.
        let mut b = vec![1u8, 5, 0, 0, 0, 0, 0, 5];
        for sub in [21u32, 3_623_811_015, 3_361_044_348, 30_300_820, 1013] {
            b.extend_from_slice(&sub.to_le_bytes());
        }
        assert_eq!(
            format(BinaryForm::Sid, &b).as_deref(),
            Some("S-1-5-21-3623811015-3361044348-30300820-1013")
        );
        // S-1-5-32-544 (BUILTIN\Administrators).
        let mut admins = vec![1u8, 2, 0, 0, 0, 0, 0, 5];
        admins.extend_from_slice(&32u32.to_le_bytes());
        admins.extend_from_slice(&544u32.to_le_bytes());
        assert_eq!(format(BinaryForm::Sid, &admins).as_deref(), Some("S-1-5-32-544"));
        // A count that does not match the length, or too short a value, is no SID.
        assert_eq!(format(BinaryForm::Sid, &b[..b.len() - 1]), None);
        assert_eq!(format(BinaryForm::Sid, &[1, 0, 0]), None);
        let big = [1u8, 0, 0x01, 0, 0, 0, 0, 0];
        assert_eq!(
            format(BinaryForm::Sid, &big).as_deref(),
            Some("S-1-0x010000000000")
        );
    }
}
