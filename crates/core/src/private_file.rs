//! Files only the user can read, written whole or not at all.
//!
//! The plugin's state files (address cache, CDN journal, sequence ceiling) must never be left
//! half-written by a crash, and hold data (ingest addresses, CDN URLs) other users must not read.

use std::path::Path;

/// Writes `bytes` atomically (temp file + rename), readable by the user only.
pub fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let tmp = path.with_extension("tmp");
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(&tmp)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    std::fs::rename(&tmp, path)
}
