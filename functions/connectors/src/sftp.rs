//! SFTP with russh (pure Rust, `ring` for crypto: nothing to cross-compile for arm64): connect,
//! refuse any host key but the pinned one, authenticate with the connector's key or password,
//! then list, stream a file out, or write one in under a temporary name and rename it into place
//! (the bank never sees half a payout file).

use crate::error::ConnectorError;
use crate::secret::ConnectorSecret;
use russh::client;
use russh::keys::{PrivateKeyWithHashAlg, PublicKey, PublicKeyOrCertificate};
use russh_sftp::client::SftpSession;
use settlepaisa_connector::config::ConnectorConfig;
use settlepaisa_connector::remote::RemoteFile;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Accepts the pinned host key only.
struct Pinned {
    expected: PublicKey,
}

impl client::Handler for Pinned {
    type Error = russh::Error;

    async fn check_server_key(&mut self, presented: &PublicKeyOrCertificate) -> Result<bool, Self::Error> {
        Ok(
            matches!(presented, PublicKeyOrCertificate::PublicKey { key, .. } if key.key_data() == self.expected.key_data()),
        )
    }
}

pub struct Sftp {
    _session: client::Handle<Pinned>,
    sftp: SftpSession,
    timeout: Duration,
}

fn remote(what: &str) -> impl Fn(String) -> ConnectorError + '_ {
    move |e| ConnectorError::Remote(format!("{what}: {e}"))
}

/// The pinned key from `ssh-ed25519 AAAA…` (the configuration's `hostKey`).
pub fn pinned_key(text: &str) -> Result<PublicKey, ConnectorError> {
    let b64 = text.split_whitespace().nth(1).unwrap_or_default();
    russh::keys::parse_public_key_base64(b64)
        .map_err(|e| ConnectorError::Config(format!("hostKey does not parse: {e}")))
}

impl Sftp {
    /// Connects and authenticates, each step within `timeout`.
    pub async fn connect(
        cfg: &ConnectorConfig,
        secret: &ConnectorSecret,
        timeout: Duration,
    ) -> Result<Sftp, ConnectorError> {
        let expected = pinned_key(cfg.host_key.as_deref().unwrap_or_default())?;
        // Ask for the pinned key's algorithm: a server with several host keys shows that one.
        let preferred =
            russh::Preferred { key: std::borrow::Cow::Owned(vec![expected.algorithm()]), ..Default::default() };
        let config = Arc::new(client::Config { inactivity_timeout: Some(timeout), preferred, ..Default::default() });
        let addr = (cfg.host.clone(), cfg.port());
        let connect = client::connect(config, addr, Pinned { expected });
        let mut session = tokio::time::timeout(timeout, connect)
            .await
            .map_err(|_| ConnectorError::Remote(format!("connect: no answer within {timeout:?}")))?
            .map_err(|e| match e {
                russh::Error::UnknownKey => {
                    ConnectorError::Refused("connect: the server's host key is not the pinned hostKey".into())
                }
                e => ConnectorError::Remote(format!("connect: {e}")),
            })?;
        let user = cfg.username.clone().unwrap_or_default();
        let auth = match (&secret.private_key, &secret.password) {
            (Some(pem), _) => {
                let key = russh::keys::decode_secret_key(pem, None).map_err(|_| {
                    ConnectorError::Config("the secret's privateKey does not parse (OpenSSH format)".into())
                })?;
                let hash =
                    session.best_supported_rsa_hash().await.map_err(|e| remote("auth")(e.to_string()))?.flatten();
                session.authenticate_publickey(user, PrivateKeyWithHashAlg::new(Arc::new(key), hash)).await
            }
            (None, Some(password)) => session.authenticate_password(user, password).await,
            (None, None) => {
                return Err(ConnectorError::Config("the secret has neither privateKey nor password".into()))
            }
        };
        if !auth.map_err(|e| remote("auth")(e.to_string()))?.success() {
            return Err(ConnectorError::Refused("auth: the server refused the login".into()));
        }
        let open = async {
            let channel = session.channel_open_session().await.map_err(|e| remote("channel")(e.to_string()))?;
            channel.request_subsystem(true, "sftp").await.map_err(|e| remote("sftp subsystem")(e.to_string()))?;
            SftpSession::new(channel.into_stream()).await.map_err(|e| remote("sftp")(e.to_string()))
        };
        let sftp = tokio::time::timeout(timeout, open)
            .await
            .map_err(|_| ConnectorError::Remote(format!("sftp: no answer within {timeout:?}")))??;
        sftp.set_timeout(timeout.as_secs().max(1));
        Ok(Sftp { _session: session, sftp, timeout })
    }

    /// The regular files of `dir`.
    pub async fn list(&self, dir: &str) -> Result<Vec<RemoteFile>, ConnectorError> {
        let entries = self.sftp.read_dir(dir).await.map_err(|e| remote("list")(e.to_string()))?;
        Ok(entries
            .filter(|e| e.file_type().is_file())
            .map(|e| {
                let m = e.metadata();
                RemoteFile {
                    name: e.file_name(),
                    size: m.size.unwrap_or(0),
                    modified: m.mtime.map(i64::from),
                    etag: None,
                }
            })
            .collect())
    }

    /// Streams `dir/name` to `sink` in chunks of `chunk` bytes; the bytes read.
    pub async fn fetch<F, Fut>(&self, path: &str, chunk: usize, mut sink: F) -> Result<u64, ConnectorError>
    where
        F: FnMut(Vec<u8>) -> Fut,
        Fut: std::future::Future<Output = Result<(), ConnectorError>>,
    {
        let mut file = self.sftp.open(path).await.map_err(|e| remote("open")(e.to_string()))?;
        let mut total = 0u64;
        let mut buf = Vec::with_capacity(chunk);
        let mut block = vec![0u8; 256 * 1024];
        loop {
            let n = tokio::time::timeout(self.timeout, file.read(&mut block))
                .await
                .map_err(|_| ConnectorError::Remote(format!("read {path}: no data within {:?}", self.timeout)))?
                .map_err(|e| remote("read")(e.to_string()))?;
            if n == 0 {
                break;
            }
            total += n as u64;
            buf.extend_from_slice(&block[..n]);
            if buf.len() >= chunk {
                sink(std::mem::take(&mut buf)).await?;
            }
        }
        if !buf.is_empty() {
            sink(buf).await?;
        }
        Ok(total)
    }

    /// The size of the file at `path`, `None` when there is none.
    pub async fn size_of(&self, path: &str) -> Result<Option<u64>, ConnectorError> {
        match self.sftp.try_exists(path.to_string()).await.map_err(|e| remote("stat")(e.to_string()))? {
            false => Ok(None),
            true => Ok(self.sftp.metadata(path.to_string()).await.map_err(|e| remote("stat")(e.to_string()))?.size),
        }
    }

    /// Writes `bytes` to `dir/name`: first as `dir/.name.part`, then renamed into place. A file
    /// already there with the same size is taken as pushed (a run that stopped after the rename).
    pub async fn push(&self, dir: &str, name: &str, bytes: &[u8]) -> Result<String, ConnectorError> {
        let target = format!("{}/{name}", dir.trim_end_matches('/'));
        if let Ok(m) = self.sftp.metadata(target.clone()).await {
            if m.size == Some(bytes.len() as u64) {
                return Ok(target);
            }
        }
        let part = format!("{}/.{name}.part", dir.trim_end_matches('/'));
        let mut file = self.sftp.create(part.clone()).await.map_err(|e| remote("create")(e.to_string()))?;
        file.write_all(bytes).await.map_err(|e| remote("write")(e.to_string()))?;
        file.shutdown().await.map_err(|e| remote("close")(e.to_string()))?;
        self.sftp.rename(part, target.clone()).await.map_err(|e| remote("rename")(e.to_string()))?;
        Ok(target)
    }
}
