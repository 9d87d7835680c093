//! Peak resident memory of this process, as Linux reports it.

/// `VmHWM` from `/proc/self/status`, in bytes; `None` where there is no procfs.
pub fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// The counting allocator the `settlepaisa` binary installs (`main.rs`): what one invocation of a
/// handler allocates at its peak is what its Lambda function needs above the runtime's own
/// footprint. The local runner invokes handlers one at a time, so a window around an invocation
/// measures that invocation. Test binaries do not install it, and read zeros.
pub static HEAP: peak_alloc::PeakAlloc = peak_alloc::PeakAlloc;

/// Starts a measurement window: the high-water mark restarts from what is in use now, which is
/// returned as the window's baseline.
pub fn window_start() -> usize {
    HEAP.reset_peak_usage();
    HEAP.current_usage()
}

/// The most the heap grew above `baseline` since [`window_start`] returned it.
pub fn window_peak(baseline: usize) -> usize {
    HEAP.peak_usage().saturating_sub(baseline)
}

/// The glibc tunable `recon` runs with: blocks of 128 KiB and more always get their own mapping.
///
/// glibc's malloc gives such blocks their own mapping, unmapped when freed, but each time it frees
/// one (up to 32 MiB) it raises the threshold to that block's size: from then on, blocks up to that
/// size come from its heaps, and the holes they leave when freed stay resident. On the 1M-row
/// settlement benchmark that was ~100 MiB of a ~460 MiB peak (docs/benchmarks.md). The tunable fixes
/// the threshold, which turns the adjustment off; glibc reads it only when a process starts.
pub const FIXED_MMAP_THRESHOLD: &str = "glibc.malloc.mmap_threshold=131072";

/// Runs this process again, the same command line, with [`FIXED_MMAP_THRESHOLD`] added to
/// `GLIBC_TUNABLES`, once. Returns without doing so where the threshold is already chosen
/// (`GLIBC_TUNABLES` naming it, or `MALLOC_MMAP_THRESHOLD_`), where `GLIBC_TUNABLES` is not text,
/// where this is not glibc, and when the re-execution fails (which costs the memory and nothing
/// else).
pub fn reexec_with_fixed_mmap_threshold() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        use std::os::unix::process::CommandExt;
        // Set in the re-executed process's environment: it never re-executes again, even where
        // the loader drops `GLIBC_TUNABLES` (a setuid binary).
        const REEXECUTED: &str = "SETTLEPAISA_REEXECUTED";
        if std::env::var_os(REEXECUTED).is_some() || std::env::var_os("MALLOC_MMAP_THRESHOLD_").is_some() {
            return;
        }
        let tunables = match std::env::var("GLIBC_TUNABLES") {
            Ok(t) => t,
            Err(std::env::VarError::NotPresent) => String::new(),
            Err(std::env::VarError::NotUnicode(_)) => return,
        };
        if tunables.contains("glibc.malloc.mmap_threshold") {
            return;
        }
        let Ok(exe) = std::env::current_exe() else { return };
        let value = match tunables.is_empty() {
            true => FIXED_MMAP_THRESHOLD.to_string(),
            false => format!("{tunables}:{FIXED_MMAP_THRESHOLD}"),
        };
        // `exec` replaces this process (same pid, same standard streams) and returns only on
        // failure.
        let _ = std::process::Command::new(exe)
            .args(std::env::args_os().skip(1))
            .env("GLIBC_TUNABLES", value)
            .env(REEXECUTED, "1")
            .exec();
    }
}
