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
