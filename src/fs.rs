//! File-system helpers shared by the stores of secrets (keys, users): a leaf module.

use std::io::Write;
use std::path::Path;

/// Writes a file readable by its owner only (0600), atomically: a temporary file next to it,
/// synced, then renamed over `path`, so that a reader sees the old content or the new, never
/// half of it.
pub fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let tmp = path.with_extension("tmp");
    {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn writes_owner_only_and_replaces() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("secret.json");
        write_private(&p, b"one").unwrap();
        write_private(&p, b"two").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"two");
        let mode = std::fs::metadata(&p).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        assert!(!dir.path().join("secret.tmp").exists());
    }
}
