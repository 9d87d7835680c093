//! Where a report's rows go: a CSV streamed into an S3 multipart upload, a part at a time. The
//! sink holds at most one part (8 MiB) plus one row, whatever the report's length: that is the
//! memory a million-row report needs. Nothing is visible under the key until it completes.

use settlepaisa_aws::s3::PartWriter;
use settlepaisa_aws::AwsError;

/// A part's size: S3 wants at least 5 MiB for every part but the last.
pub const PART_BYTES: usize = 8 << 20;

pub struct CsvSink {
    writer: PartWriter,
    buf: Vec<u8>,
    pub rows: u64,
    pub bytes: u64,
    /// The most bytes held at once.
    pub max_buffered: usize,
}

impl CsvSink {
    pub fn new(client: &aws_sdk_s3::Client, bucket: &str, key: &str, header: &str) -> CsvSink {
        let mut buf = Vec::with_capacity(PART_BYTES + 4096);
        buf.extend_from_slice(header.as_bytes());
        buf.push(b'\n');
        CsvSink { writer: PartWriter::new(client, bucket, key), bytes: buf.len() as u64, buf, rows: 0, max_buffered: 0 }
    }

    /// Appends one row (without its line end).
    pub async fn row(&mut self, line: &str) -> Result<(), AwsError> {
        self.buf.extend_from_slice(line.as_bytes());
        self.buf.push(b'\n');
        self.rows += 1;
        self.bytes += line.len() as u64 + 1;
        self.max_buffered = self.max_buffered.max(self.buf.len());
        if self.buf.len() >= PART_BYTES {
            let part = std::mem::replace(&mut self.buf, Vec::with_capacity(PART_BYTES + 4096));
            self.writer.part(part).await?;
        }
        Ok(())
    }

    /// Completes the object; `(rows, bytes, max_buffered)`.
    pub async fn finish(self) -> Result<(u64, u64, usize), AwsError> {
        let (rows, bytes, max) = (self.rows, self.bytes, self.max_buffered.max(self.buf.len()));
        self.writer.finish(self.buf).await?;
        Ok((rows, bytes, max))
    }
}
