//! Reading an input file whole into memory backed by huge pages where the kernel has them.
//!
//! A 100 MB export read into an ordinary allocation takes a page fault (and a page zeroed) per
//! 4 KiB: about 25,000 for the PG export alone, a third of `recon`'s read phase. An anonymous
//! mapping advised `MADV_HUGEPAGE` takes one per 2 MiB where transparent huge pages are enabled
//! (in `madvise` mode, the default of most distributions) and behaves as before where they are not.

use std::io::Read;
use std::ops::Deref;
use std::path::Path;

/// A file's bytes.
pub struct InputBuffer {
    map: memmap2::MmapMut,
    len: usize,
}

impl Deref for InputBuffer {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        &self.map[..self.len]
    }
}

/// Reads all of `path`. The length is taken from the open file; a file that grows meanwhile is
/// read to that length, one that shrinks is an error (as a truncated read would be).
pub fn read_input(path: &Path) -> std::io::Result<InputBuffer> {
    let mut file = std::fs::File::open(path)?;
    let len = usize::try_from(file.metadata()?.len())
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::InvalidInput, "file too large for memory"))?;
    // A mapping cannot be empty; an empty file gets one byte, never shown.
    let mut map = memmap2::MmapOptions::new().len(len.max(1)).map_anon()?;
    // Advice only: without transparent huge pages the mapping keeps small pages.
    let _ = map.advise(memmap2::Advice::HugePage);
    file.read_exact(&mut map[..len])?;
    Ok(InputBuffer { map, len })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_whole_file_and_an_empty_one() {
        let dir = std::env::temp_dir().join(format!("input-buffer-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let text: Vec<u8> = (0..300_000u32).flat_map(|i| i.to_le_bytes()).collect();
        std::fs::write(dir.join("a"), &text).unwrap();
        std::fs::write(dir.join("empty"), b"").unwrap();
        assert_eq!(&*read_input(&dir.join("a")).unwrap(), &text[..]);
        assert!(read_input(&dir.join("empty")).unwrap().is_empty());
        assert!(read_input(&dir.join("missing")).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
