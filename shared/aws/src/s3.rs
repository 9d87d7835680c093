//! S3 objects: streamed reads, whole-object writes, and listing a prefix.

use crate::{requests, sdk_message, AwsError};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::Client;

/// Whether a GetObject failure means the object (or version) does not exist.
pub fn is_missing(err: &AwsError) -> bool {
    err.operation == "GetObject" && (err.message.contains("NoSuchKey") || err.message.contains("NoSuchVersion"))
}

/// An object opened for streaming, with what S3 says about it.
pub struct OpenObject {
    pub body: ByteStream,
    pub size: u64,
    pub version_id: Option<String>,
}

pub async fn open(client: &Client, bucket: &str, key: &str, version_id: Option<&str>) -> Result<OpenObject, AwsError> {
    get_object(client, bucket, key, version_id, None).await
}

/// Bytes `[start, end)` of an object (a ranged GET), for reading one part of a large file.
pub async fn open_range(
    client: &Client,
    bucket: &str,
    key: &str,
    version_id: Option<&str>,
    start: u64,
    end: u64,
) -> Result<OpenObject, AwsError> {
    get_object(client, bucket, key, version_id, Some(format!("bytes={start}-{}", end.saturating_sub(1)))).await
}

async fn get_object(
    client: &Client,
    bucket: &str,
    key: &str,
    version_id: Option<&str>,
    range: Option<String>,
) -> Result<OpenObject, AwsError> {
    let out = client
        .get_object()
        .bucket(bucket)
        .key(key)
        .set_version_id(version_id.map(str::to_string))
        .set_range(range)
        .send()
        .await
        .map_err(|e| AwsError::new("GetObject", format!("s3://{bucket}/{key}: {}", sdk_message(&e))))?;
    let size = out.content_length.unwrap_or(0).max(0) as u64;
    requests::record("s3.GetObject", size);
    Ok(OpenObject { body: out.body, size, version_id: out.version_id })
}

/// The whole object (for the small objects the pipeline writes itself).
pub async fn get_bytes(client: &Client, bucket: &str, key: &str) -> Result<Vec<u8>, AwsError> {
    let obj = open(client, bucket, key, None).await?;
    let data = obj
        .body
        .collect()
        .await
        .map_err(|e| AwsError::new("GetObject", format!("s3://{bucket}/{key}: {}", sdk_message(&e))))?;
    Ok(data.into_bytes().to_vec())
}

pub async fn put(client: &Client, bucket: &str, key: &str, body: Vec<u8>) -> Result<(), AwsError> {
    requests::record("s3.PutObject", body.len() as u64);
    client
        .put_object()
        .bucket(bucket)
        .key(key)
        .body(ByteStream::from(body))
        .send()
        .await
        .map_err(|e| AwsError::new("PutObject", sdk_message(&e)))?;
    Ok(())
}

/// Puts `body` at `key` only if nothing is there: `Ok(false)` when something is (S3's
/// conditional write, `If-None-Match: *`), so a written file is never replaced.
pub async fn put_new(client: &Client, bucket: &str, key: &str, body: Vec<u8>) -> Result<bool, AwsError> {
    requests::record("s3.PutObject", body.len() as u64);
    let out = client.put_object().bucket(bucket).key(key).if_none_match("*").body(ByteStream::from(body)).send().await;
    match out {
        Ok(_) => Ok(true),
        Err(e) if e.raw_response().is_some_and(|r| r.status().as_u16() == 412) => Ok(false),
        Err(e) => Err(AwsError::new("PutObject", sdk_message(&e))),
    }
}

/// Every key under `prefix`, across pages, sorted.
pub async fn list(client: &Client, bucket: &str, prefix: &str) -> Result<Vec<String>, AwsError> {
    let mut keys = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let out = client
            .list_objects_v2()
            .bucket(bucket)
            .prefix(prefix)
            .set_continuation_token(token.take())
            .send()
            .await
            .map_err(|e| AwsError::new("ListObjectsV2", sdk_message(&e)))?;
        requests::record("s3.ListObjectsV2", 0);
        keys.extend(out.contents.unwrap_or_default().into_iter().filter_map(|o| o.key));
        match out.next_continuation_token {
            Some(t) if out.is_truncated == Some(true) => token = Some(t),
            _ => break,
        }
    }
    keys.sort();
    Ok(keys)
}

/// What S3 says about an object, `None` when there is none.
async fn head(
    client: &Client,
    bucket: &str,
    key: &str,
) -> Result<Option<aws_sdk_s3::operation::head_object::HeadObjectOutput>, AwsError> {
    requests::record("s3.HeadObject", 0);
    match client.head_object().bucket(bucket).key(key).send().await {
        Ok(out) => Ok(Some(out)),
        Err(e) => {
            // A HEAD response has no body, so a missing object shows only as a 404 `NotFound`.
            let message = sdk_message(&e);
            if message.contains("NotFound") {
                Ok(None)
            } else {
                Err(AwsError::new("HeadObject", message))
            }
        }
    }
}

/// The current version id of an object (`None` on an unversioned bucket, or when it is gone:
/// the read that follows reports it).
pub async fn current_version(client: &Client, bucket: &str, key: &str) -> Result<Option<String>, AwsError> {
    Ok(head(client, bucket, key).await?.and_then(|out| out.version_id.filter(|v| v != "null")))
}

/// One version of a key, or a delete marker, as ListObjectVersions reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyVersion {
    pub version_id: String,
    pub delete_marker: bool,
    /// S3's own word on which entry is the key's current state (timestamps are whole seconds and
    /// tie when a delete and an upload share one).
    pub is_latest: bool,
    /// Seconds since the Unix epoch.
    pub last_modified: i64,
}

/// Every version and delete marker of exactly `key` (not of keys it is a prefix of).
pub async fn versions_of(client: &Client, bucket: &str, key: &str) -> Result<Vec<KeyVersion>, AwsError> {
    let mut out = Vec::new();
    let (mut key_marker, mut version_marker): (Option<String>, Option<String>) = (None, None);
    loop {
        requests::record("s3.ListObjectVersions", 0);
        let page = client
            .list_object_versions()
            .bucket(bucket)
            .prefix(key)
            .set_key_marker(key_marker.take())
            .set_version_id_marker(version_marker.take())
            .send()
            .await
            .map_err(|e| AwsError::new("ListObjectVersions", sdk_message(&e)))?;
        for v in page.versions.unwrap_or_default().into_iter().filter(|v| v.key.as_deref() == Some(key)) {
            out.push(KeyVersion {
                version_id: v.version_id.unwrap_or_default(),
                delete_marker: false,
                is_latest: v.is_latest == Some(true),
                last_modified: v.last_modified.map(|t| t.secs()).unwrap_or(0),
            });
        }
        for m in page.delete_markers.unwrap_or_default().into_iter().filter(|m| m.key.as_deref() == Some(key)) {
            out.push(KeyVersion {
                version_id: m.version_id.unwrap_or_default(),
                delete_marker: true,
                is_latest: m.is_latest == Some(true),
                last_modified: m.last_modified.map(|t| t.secs()).unwrap_or(0),
            });
        }
        if page.is_truncated != Some(true) {
            return Ok(out);
        }
        key_marker = page.next_key_marker;
        version_marker = page.next_version_id_marker;
    }
}

/// An object written in parts as its bytes come (S3 multipart upload): parts of at least 5 MiB
/// but the last, up to 10,000 of them. Nothing is visible under the key until [`finish`] completes
/// it; an upload abandoned by a crash is removed by the bucket's lifecycle rule.
///
/// [`finish`]: PartWriter::finish
pub struct PartWriter {
    client: Client,
    bucket: String,
    key: String,
    upload_id: Option<String>,
    parts: Vec<aws_sdk_s3::types::CompletedPart>,
}

impl PartWriter {
    pub fn new(client: &Client, bucket: &str, key: &str) -> PartWriter {
        PartWriter { client: client.clone(), bucket: bucket.into(), key: key.into(), upload_id: None, parts: vec![] }
    }

    /// Uploads `body` as the next part (at least 5 MiB).
    pub async fn part(&mut self, body: Vec<u8>) -> Result<(), AwsError> {
        let upload_id = match &self.upload_id {
            Some(id) => id.clone(),
            None => {
                requests::record("s3.CreateMultipartUpload", 0);
                let out = self
                    .client
                    .create_multipart_upload()
                    .bucket(&self.bucket)
                    .key(&self.key)
                    .send()
                    .await
                    .map_err(|e| AwsError::new("CreateMultipartUpload", sdk_message(&e)))?;
                self.upload_id.insert(out.upload_id.unwrap_or_default()).clone()
            }
        };
        let number = self.parts.len() as i32 + 1;
        requests::record("s3.UploadPart", body.len() as u64);
        let out = self
            .client
            .upload_part()
            .bucket(&self.bucket)
            .key(&self.key)
            .upload_id(&upload_id)
            .part_number(number)
            .body(ByteStream::from(body))
            .send()
            .await
            .map_err(|e| AwsError::new("UploadPart", sdk_message(&e)))?;
        self.parts.push(aws_sdk_s3::types::CompletedPart::builder().part_number(number).set_e_tag(out.e_tag).build());
        Ok(())
    }

    /// Writes `last` and makes the object visible: one PutObject when no part was uploaded.
    pub async fn finish(mut self, last: Vec<u8>) -> Result<(), AwsError> {
        if self.upload_id.is_none() {
            return put(&self.client, &self.bucket, &self.key, last).await;
        }
        if !last.is_empty() {
            self.part(last).await?;
        }
        requests::record("s3.CompleteMultipartUpload", 0);
        self.client
            .complete_multipart_upload()
            .bucket(&self.bucket)
            .key(&self.key)
            .upload_id(self.upload_id.unwrap_or_default())
            .multipart_upload(
                aws_sdk_s3::types::CompletedMultipartUpload::builder().set_parts(Some(self.parts)).build(),
            )
            .send()
            .await
            .map_err(|e| AwsError::new("CompleteMultipartUpload", sdk_message(&e)))?;
        Ok(())
    }
}

/// The size of an object, `None` when there is none.
pub async fn size_of(client: &Client, bucket: &str, key: &str) -> Result<Option<u64>, AwsError> {
    Ok(head(client, bucket, key).await?.map(|out| out.content_length.unwrap_or(0).max(0) as u64))
}

/// The first `n` bytes of an object (a ranged GET).
pub async fn first_bytes(client: &Client, bucket: &str, key: &str, n: u64) -> Result<Vec<u8>, AwsError> {
    let obj = open_range(client, bucket, key, None, 0, n).await?;
    let data = obj.body.collect().await.map_err(|e| AwsError::new("GetObject", e.to_string()))?;
    Ok(data.into_bytes().to_vec())
}

/// A URL that lets its holder PUT one object at `key` within `expires`, with exactly this
/// content type and length (both signed: S3 refuses another).
pub async fn presigned_put(
    client: &Client,
    bucket: &str,
    key: &str,
    content_type: &str,
    content_length: u64,
    expires: std::time::Duration,
) -> Result<String, AwsError> {
    let config = aws_sdk_s3::presigning::PresigningConfig::expires_in(expires)
        .map_err(|e| AwsError::new("PresignPutObject", e.to_string()))?;
    let request = client
        .put_object()
        .bucket(bucket)
        .key(key)
        .content_type(content_type)
        .content_length(content_length as i64)
        .presigned(config)
        .await
        .map_err(|e| AwsError::new("PresignPutObject", sdk_message(&e)))?;
    Ok(request.uri().to_string())
}
