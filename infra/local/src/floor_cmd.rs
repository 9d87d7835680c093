//! `settlepaisa floor` (hidden; `settlepaisa bench --floor` runs it): the least any offline recon
//! of these files must spend, measured in the same run as recon and the peer. It reads the inputs
//! (all at once, in parallel), cuts every input into lines and fields (memchr on
//! the newline and the file's delimiter: no quotes, no UTF-8 check, nothing converted, nothing
//! kept), and writes as many bytes as a reports folder holds (`matches.csv` beside the others, as
//! recon writes them). Whatever recon does beyond this — parsing dates, amounts and UTRs,
//! matching, settling, formatting — must fit in the difference.

use crate::error::{io_err, CliError};
use rayon::prelude::*;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

#[derive(clap::Args, Clone, Debug)]
pub struct FloorArgs {
    /// A reports folder (`recon --out`): as many bytes as each of its files are written.
    #[arg(long)]
    pub reports: PathBuf,
    /// Where the stand-in reports go.
    #[arg(long)]
    pub out: PathBuf,
    /// The inputs recon read.
    #[arg(required = true)]
    pub inputs: Vec<PathBuf>,
}

/// What the floor run did, in ms; printed as one JSON line.
#[derive(Debug, serde::Serialize)]
pub struct FloorRun {
    pub input_bytes: u64,
    pub lines: u64,
    pub fields: u64,
    pub read: f64,
    pub split: f64,
    pub write: f64,
    pub total: f64,
}

fn ms(since: Instant) -> f64 {
    since.elapsed().as_secs_f64() * 1000.0
}

pub fn run(args: &FloorArgs) -> Result<FloorRun, CliError> {
    let started = Instant::now();
    let bytes: Vec<Vec<u8>> = args
        .inputs
        .par_iter()
        .map(|p| std::fs::read(p).map_err(io_err(p)))
        .collect::<Vec<_>>()
        .into_iter()
        .collect::<Result<_, _>>()?;
    let read = ms(started);

    let t = Instant::now();
    let (lines, fields) = bytes.par_iter().map(|b| split(b)).reduce(|| (0, 0), |a, b| (a.0 + b.0, a.1 + b.1));
    let split_ms = ms(t);

    let t = Instant::now();
    std::fs::create_dir_all(&args.out).map_err(io_err(&args.out))?;
    let mut sizes = Vec::new();
    for entry in std::fs::read_dir(&args.reports).map_err(io_err(&args.reports))? {
        let entry = entry.map_err(io_err(&args.reports))?;
        let len = entry.metadata().map_err(io_err(&entry.path()))?.len();
        sizes.push((args.out.join(entry.file_name()), len));
    }
    sizes.sort_by_key(|(_, len)| std::cmp::Reverse(*len));
    let filler: &[u8] = bytes.iter().max_by_key(|b| b.len()).map(Vec::as_slice).unwrap_or(b"\n");
    if let Some((largest, rest)) = sizes.split_first() {
        let (a, b) = rayon::join(
            || write_bytes(&largest.0, largest.1, filler),
            || rest.iter().try_for_each(|(path, len)| write_bytes(path, *len, filler)),
        );
        a.and(b)?;
    }
    Ok(FloorRun {
        input_bytes: bytes.iter().map(|b| b.len() as u64).sum(),
        lines,
        fields,
        read,
        split: split_ms,
        write: ms(t),
        total: ms(started),
    })
}

/// Lines and fields of one input, cut in 1 MiB pieces in parallel.
fn split(bytes: &[u8]) -> (u64, u64) {
    // ICICI's statements are pipe-separated; everything else here is CSV.
    let delimiter = if bytes.iter().take(4096).filter(|&&c| c == b'|').count() > 8 { b'|' } else { b',' };
    settlepaisa_recon::lines::chunks_at_newlines(bytes, 1 << 20)
        .par_iter()
        .map(|chunk| {
            let (mut lines, mut fields, mut start) = (0u64, 0u64, 0usize);
            for end in memchr::memchr_iter(b'\n', chunk).chain([chunk.len()]) {
                lines += 1;
                fields += 1 + memchr::memchr_iter(delimiter, &chunk[start..end]).count() as u64;
                start = end + 1;
            }
            (lines, fields)
        })
        .reduce(|| (0, 0), |a, b| (a.0 + b.0, a.1 + b.1))
}

/// `len` bytes of `filler`, repeated, through the same 1 MiB buffer recon writes through.
fn write_bytes(path: &Path, len: u64, filler: &[u8]) -> Result<(), CliError> {
    let file = std::fs::File::create(path).map_err(io_err(path))?;
    let mut w = std::io::BufWriter::with_capacity(1 << 20, file);
    let mut left = len as usize;
    while left > 0 {
        let take = left.min(filler.len()).min(1 << 20);
        w.write_all(&filler[..take]).map_err(io_err(path))?;
        left -= take;
    }
    w.flush().map_err(io_err(path))
}
