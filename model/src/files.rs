//! Reading and writing the files the model crate owns (MIDI, datasets, weight files) so that a
//! failure never costs work: reads refuse what is not a plain file of sensible size, writes
//! replace a file only once the new one is complete.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use crate::ModelError;

/// Writes `bytes` so that `path` always holds a complete file, the old one or the new one: the
/// bytes go to `<path>.partial` beside it, which then replaces `path` in one rename. On failure
/// (a full disk, say) the partial file is removed and `path` is untouched.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), ModelError> {
    let mut temporary = path.as_os_str().to_owned();
    temporary.push(".partial");
    let temporary = PathBuf::from(temporary);
    let write = || -> std::io::Result<()> {
        let mut file = std::fs::File::create(&temporary)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&temporary, path)
    };
    write().map_err(|error| {
        // The partial file is garbage now; failing to remove it changes nothing for the caller.
        let _ = std::fs::remove_file(&temporary);
        ModelError::io(path, error)
    })
}

/// The bytes of a regular file of at most `max_bytes`. A device, a pipe or a directory is
/// refused before reading (`/dev/zero` would never end, a FIFO would wait forever), and so is a
/// file larger than `max_bytes`, which for these formats means a wrong file.
pub fn read_regular_file(path: &Path, max_bytes: u64) -> Result<Vec<u8>, ModelError> {
    let metadata = std::fs::metadata(path).map_err(|e| ModelError::io(path, e))?;
    if !metadata.is_file() {
        return Err(ModelError::io(
            path,
            std::io::Error::new(std::io::ErrorKind::InvalidInput, "not a regular file"),
        ));
    }
    if metadata.len() > max_bytes {
        return Err(too_large(path, max_bytes));
    }
    // The length can change between the check and the read: read one byte past the limit to
    // notice.
    let file = std::fs::File::open(path).map_err(|e| ModelError::io(path, e))?;
    let mut bytes = Vec::with_capacity(metadata.len() as usize);
    file.take(max_bytes.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|e| ModelError::io(path, e))?;
    if bytes.len() as u64 > max_bytes {
        return Err(too_large(path, max_bytes));
    }
    Ok(bytes)
}

fn too_large(path: &Path, max_bytes: u64) -> ModelError {
    ModelError::io(
        path,
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("larger than {} MiB", max_bytes >> 20),
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("continuo-files-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("scratch folder");
        dir.join(name)
    }

    #[test]
    fn a_failed_write_leaves_the_old_file_and_no_partial_one() {
        let path = scratch("kept.bin");
        write_atomically(&path, b"old").expect("first write");
        // A directory where the partial file should go makes the write fail.
        let partial = scratch("kept.bin.partial");
        std::fs::create_dir_all(partial.join("blocker")).expect("blocking folder");
        assert!(write_atomically(&path, b"new").is_err());
        assert_eq!(std::fs::read(&path).expect("old file"), b"old");
        std::fs::remove_dir_all(&partial).expect("cleanup");

        write_atomically(&path, b"new").expect("second write");
        assert_eq!(std::fs::read(&path).expect("new file"), b"new");
        assert!(!partial.exists());
    }

    #[test]
    fn only_regular_files_within_the_limit_are_read() {
        let path = scratch("small.bin");
        std::fs::write(&path, [7u8; 100]).expect("small file");
        assert_eq!(
            read_regular_file(&path, 100).expect("at the limit").len(),
            100
        );

        let too_big = read_regular_file(&path, 99).expect_err("over the limit");
        assert!(too_big.to_string().contains("small.bin"), "{too_big}");

        let folder = read_regular_file(&std::env::temp_dir(), 1 << 20).expect_err("a folder");
        assert!(
            folder.to_string().contains("not a regular file"),
            "{folder}"
        );
        if Path::new("/dev/zero").exists() {
            assert!(read_regular_file(Path::new("/dev/zero"), 1 << 20).is_err());
        }
    }
}
