//! `settlepaisa startup`: how long each function binary takes from process start to asking the
//! Lambda runtime API for its first event — the cold-start work that is ours (reading the
//! configuration, building the SDK clients), measured locally with a stand-in runtime API.

use crate::error::{io_err, CliError};
use std::io::Read;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[derive(clap::Args)]
pub struct StartupArgs {
    /// Where the function binaries are (a release build).
    #[arg(long, default_value = "target/release")]
    pub bin_dir: PathBuf,
    /// The binaries to measure.
    #[arg(long, default_values_t = ["ingest-file".to_string(), "plan-match".into(), "match-shard".into(), "finalize-job".into()])]
    pub binary: Vec<String>,
    /// Runs per binary; the median is reported.
    #[arg(long, default_value_t = 20)]
    pub runs: usize,
}

const ENV: [(&str, &str); 20] = [
    ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "1024"),
    ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST"),
    ("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/startup-probe"),
    ("AWS_LAMBDA_LOG_STREAM_NAME", "probe"),
    ("UPLOADS_BUCKET", "uploads"),
    ("ARTIFACTS_BUCKET", "artifacts"),
    ("FILES_TABLE", "files"),
    ("TRANSACTIONS_TABLE", "transactions"),
    ("JOBS_TABLE", "jobs"),
    ("RESULTS_TABLE", "results"),
    ("KPI_TABLE", "kpi"),
    ("MATCH_QUEUE_URL", "http://127.0.0.1:9/q/match"),
    ("FINALIZE_QUEUE_URL", "http://127.0.0.1:9/q/finalize"),
    ("INGEST_DLQ_URL", "http://127.0.0.1:9/q/ingest-dlq"),
    ("INGEST_CHUNK_QUEUE_URL", "http://127.0.0.1:9/q/ingest-chunk"),
    ("AWS_REGION", "ap-south-1"),
    ("AWS_ACCESS_KEY_ID", "test"),
    ("AWS_SECRET_ACCESS_KEY", "test"),
    ("AWS_LAMBDA_FUNCTION_NAME", "startup-probe"),
    ("JWT_SECRET", settlepaisa_auth::token::LOCAL_DEVELOPMENT_SECRET),
];

pub fn run(args: &StartupArgs) -> Result<(), CliError> {
    println!("| binary | median ms to first runtime API request | max ms |\n|---|---:|---:|");
    for bin in &args.binary {
        let path = args.bin_dir.join(bin);
        let mut times = Vec::with_capacity(args.runs);
        for _ in 0..args.runs.max(1) {
            times.push(measure(&path)?);
        }
        times.sort_by(f64::total_cmp);
        println!("| {bin} | {:.1} | {:.1} |", times[times.len() / 2], times[times.len() - 1]);
    }
    Ok(())
}

/// Starts the binary against a listener posing as the runtime API; the time until it connects
/// and sends its first `GET /runtime/invocation/next`.
fn measure(path: &PathBuf) -> Result<f64, CliError> {
    let listener = TcpListener::bind("127.0.0.1:0").map_err(io_err("127.0.0.1"))?;
    let addr = listener.local_addr().map_err(io_err("127.0.0.1"))?;
    let started = Instant::now();
    let mut child = Command::new(path)
        .envs(ENV)
        .env("AWS_LAMBDA_RUNTIME_API", addr.to_string())
        .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(io_err(path))?;
    // Poll, so a binary that exits at start is an error rather than a hang.
    listener.set_nonblocking(true).map_err(io_err("runtime API"))?;
    let (mut stream, _) = loop {
        match listener.accept() {
            Ok(conn) => break conn,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                if let Ok(Some(status)) = child.try_wait() {
                    return Err(CliError::Usage(format!("{} exited at start: {status}", path.display())));
                }
                if started.elapsed() > Duration::from_secs(10) {
                    let _ = child.kill();
                    return Err(CliError::Usage(format!("{} did not reach the runtime API in 10 s", path.display())));
                }
                std::thread::sleep(Duration::from_micros(200));
            }
            Err(e) => return Err(io_err("runtime API")(e)),
        }
    };
    stream.set_nonblocking(false).map_err(io_err("runtime API"))?;
    stream.set_read_timeout(Some(Duration::from_secs(10))).map_err(io_err("runtime API"))?;
    let mut buf = [0u8; 512];
    let n = stream.read(&mut buf).map_err(io_err("runtime API"))?;
    let elapsed = started.elapsed().as_secs_f64() * 1000.0;
    let _ = child.kill();
    let _ = child.wait();
    if !String::from_utf8_lossy(&buf[..n]).contains("/runtime/invocation/next") {
        return Err(CliError::Usage(format!("{}: did not ask for an event", path.display())));
    }
    Ok(elapsed)
}
