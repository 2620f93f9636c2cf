//! Files an instance names (`oidc-trusted-issuers[].jwks-file`), read on its behalf when it
//! is published or loaded. An administrator's instance must not make the server read
//! whatever it can (`/etc/shadow`, `/dev/zero`, a FIFO that never ends), so such a file:
//!
//! - is named by a relative path of plain components inside the data directory's `jwks/`
//!   folder (no leading `/`, no `.` or `..`), checked before anything is opened;
//! - must still be inside that folder once symbolic links are resolved;
//! - must be a regular file (checked before it is opened, and again on the open handle);
//! - is read to at most [`MAX_INSTANCE_FILE_BYTES`].

use std::io::Read as _;
use std::path::{Component, Path, PathBuf};

/// The folder of the data directory that instances may name files in.
pub const FOLDER: &str = "jwks";
/// Largest file an instance may name.
pub const MAX_INSTANCE_FILE_BYTES: u64 = 256 * 1024;

/// Where an instance's files are read from.
#[derive(Debug, Clone, Default)]
pub struct InstanceFiles {
    /// `<data-dir>/jwks`; `None`: instances may name no files.
    root: Option<PathBuf>,
}

impl InstanceFiles {
    /// Files under `<data_dir>/jwks/`.
    pub fn in_data_dir(data_dir: &Path) -> InstanceFiles {
        InstanceFiles {
            root: Some(data_dir.join(FOLDER)),
        }
    }

    /// No files at all (a server without a data directory, unit tests).
    pub fn none() -> InstanceFiles {
        InstanceFiles::default()
    }

    /// Reads the file `name` for the setting `field` (a JSON path, for messages). Each
    /// error is a sentence that starts with the field and the name as given.
    pub fn read(&self, field: &str, name: &str) -> Result<Vec<u8>, String> {
        let given = format!("{field} `{name}`");
        let relative = Path::new(name);
        let plain = !name.is_empty()
            && !name.contains('\0')
            && relative
                .components()
                .all(|c| matches!(c, Component::Normal(_)))
            // `components` drops inner `.` segments; they are refused all the same.
            && !name.split('/').any(|seg| seg == "." || seg == "..");
        if !plain {
            return Err(format!(
                "{given} must be a relative path inside the data directory's {FOLDER}/ folder (no leading /, no . or ..)"
            ));
        }
        let Some(root) = &self.root else {
            return Err(format!("{given}: this server has no data directory"));
        };
        let missing = |e: std::io::Error| {
            if e.kind() == std::io::ErrorKind::NotFound {
                format!("{given}: {FOLDER}/{name} does not exist in the data directory")
            } else {
                format!("{given}: {e}")
            }
        };
        let root = root.canonicalize().map_err(missing)?;
        let path = root.join(relative).canonicalize().map_err(missing)?;
        if !path.starts_with(&root) {
            return Err(format!(
                "{given} leads outside the data directory's {FOLDER}/ folder (a symbolic link); copy the file there"
            ));
        }
        let too_big = || {
            format!(
                "{given} is larger than {MAX_INSTANCE_FILE_BYTES} bytes ({} KiB), the most a file named by an instance may hold",
                MAX_INSTANCE_FILE_BYTES / 1024
            )
        };
        let regular = |m: &std::fs::Metadata| {
            if !m.is_file() {
                Err(format!("{given} is not a regular file"))
            } else if m.len() > MAX_INSTANCE_FILE_BYTES {
                Err(too_big())
            } else {
                Ok(())
            }
        };
        // Devices and FIFOs are refused before they are opened (opening a FIFO blocks).
        regular(&std::fs::metadata(&path).map_err(missing)?)?;
        let file = std::fs::File::open(&path).map_err(missing)?;
        regular(&file.metadata().map_err(|e| format!("{given}: {e}"))?)?;
        let mut bytes = Vec::new();
        file.take(MAX_INSTANCE_FILE_BYTES + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| format!("{given}: {e}"))?;
        if u64::try_from(bytes.len()).unwrap_or(u64::MAX) > MAX_INSTANCE_FILE_BYTES {
            return Err(too_big());
        }
        Ok(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_checked_before_anything_is_opened() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("jwks")).unwrap();
        std::fs::write(dir.path().join("jwks/a.json"), b"{}").unwrap();
        let files = InstanceFiles::in_data_dir(dir.path());
        assert_eq!(files.read("f", "a.json").unwrap(), b"{}");
        for bad in [
            "/etc/passwd",
            "../a.json",
            "./a.json",
            "x/./a.json",
            "",
            "a\0b",
            "x/..",
        ] {
            let e = files.read("f", bad).unwrap_err();
            assert!(e.contains("must be a relative path"), "{bad}: {e}");
        }
        let e = InstanceFiles::none().read("f", "a.json").unwrap_err();
        assert!(e.contains("no data directory"), "{e}");
    }
}
