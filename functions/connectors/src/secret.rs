//! A connector's secret from Secrets Manager, by the name its configuration holds: JSON with
//! `privateKey` (OpenSSH format) or `password` for SFTP, `apiKey` for HTTPS. Read at each run (a
//! rotation takes effect on the next run); never logged, never returned by the API.

use crate::error::ConnectorError;
use serde::Deserialize;

#[derive(Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConnectorSecret {
    pub private_key: Option<String>,
    pub password: Option<String>,
    pub api_key: Option<String>,
}

impl std::fmt::Debug for ConnectorSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ConnectorSecret(…)")
    }
}

pub async fn read(clients: &settlepaisa_aws::Clients, name: &str) -> Result<ConnectorSecret, ConnectorError> {
    settlepaisa_aws::requests::record("secretsmanager.GetSecretValue", 1);
    let out = clients.secretsmanager().get_secret_value().secret_id(name).send().await.map_err(|e| {
        ConnectorError::Config(format!("secret `{name}` not read: {}", settlepaisa_aws::sdk_message(&e)))
    })?;
    let text = out.secret_string.ok_or_else(|| ConnectorError::Config(format!("secret `{name}` has no text value")))?;
    serde_json::from_str(&text)
        .map_err(|_| ConnectorError::Config(format!("secret `{name}` is not JSON with privateKey, password or apiKey")))
}
