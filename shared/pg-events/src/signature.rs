//! The Standard Webhooks signature scheme (<https://www.standardwebhooks.com>): the sender signs
//! `{webhook-id}.{webhook-timestamp}.{body}` with HMAC-SHA256 under a shared key (`whsec_` +
//! base64) and sends `webhook-signature: v1,<base64>`, several space-separated while keys rotate.
//! A delivery is accepted when one of its `v1` signatures is one of our keys' over the exact bytes
//! received, and its timestamp is within [`TOLERANCE_SECS`] of now (a captured delivery cannot be
//! replayed later; the id's receipt stops a replay within the window).

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// How far a delivery's timestamp may be from our clock, either way.
pub const TOLERANCE_SECS: i64 = 300;

/// The local stack's key (`whsec_` + base64 of `settlepaisa-local-development-webhook-key`): the
/// mock PG signs with it and `receive-pg-webhook` accepts it there. A deployed stack reads its
/// keys from Secrets Manager instead.
pub const LOCAL_DEVELOPMENT_KEY: &str = "whsec_c2V0dGxlcGFpc2EtbG9jYWwtZGV2ZWxvcG1lbnQtd2ViaG9vay1rZXk=";

/// Header sizes past which a delivery is refused unread (ids are short; a few signatures).
const MAX_ID_LEN: usize = 256;
const MAX_SIGNATURES_LEN: usize = 4096;

/// One signing key, decoded. Its bytes never leave this type (no `Debug` of the value).
#[derive(Clone, PartialEq, Eq)]
pub struct SigningKey(Vec<u8>);

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SigningKey({} bytes)", self.0.len())
    }
}

/// Why a configured key was not usable (never echoing the key).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeyError {
    NoKeys,
    NotWhsec { position: usize },
    NotBase64 { position: usize },
    TooShort { position: usize },
}

impl std::fmt::Display for KeyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KeyError::NoKeys => write!(f, "no webhook signing key is configured"),
            KeyError::NotWhsec { position } => write!(f, "signing key {position} does not start with whsec_"),
            KeyError::NotBase64 { position } => write!(f, "signing key {position} is not base64 after whsec_"),
            KeyError::TooShort { position } => write!(f, "signing key {position} is shorter than 24 bytes"),
        }
    }
}

impl SigningKey {
    /// From raw bytes (tests and the mock PG make keys this way).
    pub fn from_bytes(bytes: impl Into<Vec<u8>>) -> SigningKey {
        SigningKey(bytes.into())
    }

    /// As configured: `whsec_` + base64.
    pub fn to_whsec(&self) -> String {
        format!("whsec_{}", STANDARD.encode(&self.0))
    }
}

/// The keys in a setting: one or more `whsec_…` separated by spaces or commas (the new key is
/// added beside the old while the PG rotates, the old removed after).
pub fn parse_keys(text: &str) -> Result<Vec<SigningKey>, KeyError> {
    let mut keys = Vec::new();
    for (i, part) in text.split([' ', ',', '\n', '\t']).filter(|p| !p.is_empty()).enumerate() {
        let position = i + 1;
        let encoded = part.strip_prefix("whsec_").ok_or(KeyError::NotWhsec { position })?;
        let bytes = STANDARD.decode(encoded).map_err(|_| KeyError::NotBase64 { position })?;
        // Standard Webhooks keys are 24 to 64 bytes; shorter is guessable.
        if bytes.len() < 24 {
            return Err(KeyError::TooShort { position });
        }
        keys.push(SigningKey(bytes));
    }
    if keys.is_empty() {
        return Err(KeyError::NoKeys);
    }
    Ok(keys)
}

fn mac(key: &SigningKey, id: &str, timestamp: &str, body: &[u8]) -> Hmac<Sha256> {
    // HMAC takes keys of any length: this cannot fail.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&key.0).expect("HMAC accepts any key length");
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

/// The `webhook-signature` value for a delivery (`v1,<base64>`): what the PG sends.
pub fn sign(key: &SigningKey, id: &str, timestamp: i64, body: &[u8]) -> String {
    let tag = mac(key, id, &timestamp.to_string(), body).finalize().into_bytes();
    format!("v1,{}", STANDARD.encode(tag))
}

/// Why a delivery was refused. Every one answers 401 and stores nothing; the reason is logged
/// and told to the sender, never which key or signature came close.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    MissingHeader(&'static str),
    BadId,
    BadTimestamp,
    TooOld,
    TooNew,
    NoValidSignature,
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refusal::MissingHeader(h) => write!(f, "the {h} header is missing"),
            Refusal::BadId => write!(f, "webhook-id must be 1 to 256 visible ASCII characters"),
            Refusal::BadTimestamp => write!(f, "webhook-timestamp must be Unix seconds"),
            Refusal::TooOld => write!(f, "webhook-timestamp is more than 5 minutes old"),
            Refusal::TooNew => write!(f, "webhook-timestamp is more than 5 minutes ahead"),
            Refusal::NoValidSignature => write!(f, "no webhook-signature matches the body with a current key"),
        }
    }
}

/// The three headers of a delivery, as received.
#[derive(Clone, Copy, Debug)]
pub struct Headers<'a> {
    pub id: Option<&'a str>,
    pub timestamp: Option<&'a str>,
    pub signatures: Option<&'a str>,
}

/// Checks a delivery: its id's shape, its timestamp against `now` (Unix seconds), and that one of
/// its `v1` signatures is one of `keys`' over `body`. Tags are compared in constant time
/// (`Mac::verify_slice`), so timing tells an attacker nothing about how close a guess came.
pub fn verify(keys: &[SigningKey], headers: Headers<'_>, body: &[u8], now: i64) -> Result<(), Refusal> {
    let id = headers.id.ok_or(Refusal::MissingHeader("webhook-id"))?;
    let timestamp = headers.timestamp.ok_or(Refusal::MissingHeader("webhook-timestamp"))?;
    let signatures = headers.signatures.ok_or(Refusal::MissingHeader("webhook-signature"))?;
    if id.is_empty() || id.len() > MAX_ID_LEN || !id.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(Refusal::BadId);
    }
    if timestamp.is_empty() || timestamp.len() > 12 || !timestamp.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Refusal::BadTimestamp);
    }
    let sent: i64 = timestamp.parse().map_err(|_| Refusal::BadTimestamp)?;
    if sent < now - TOLERANCE_SECS {
        return Err(Refusal::TooOld);
    }
    if sent > now + TOLERANCE_SECS {
        return Err(Refusal::TooNew);
    }
    if signatures.len() > MAX_SIGNATURES_LEN {
        return Err(Refusal::NoValidSignature);
    }
    let tags: Vec<Vec<u8>> = signatures
        .split(' ')
        .filter_map(|s| s.strip_prefix("v1,"))
        .filter_map(|b64| STANDARD.decode(b64).ok())
        .filter(|tag| tag.len() == 32)
        .collect();
    for key in keys {
        let expected = mac(key, id, timestamp, body);
        for tag in &tags {
            if expected.clone().verify_slice(tag).is_ok() {
                return Ok(());
            }
        }
    }
    Err(Refusal::NoValidSignature)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(n: u8) -> SigningKey {
        SigningKey::from_bytes(vec![n; 32])
    }

    fn headers<'a>(id: &'a str, ts: &'a str, sig: &'a str) -> Headers<'a> {
        Headers { id: Some(id), timestamp: Some(ts), signatures: Some(sig) }
    }

    const NOW: i64 = 1_790_000_000;

    #[test]
    fn the_standard_webhooks_reference_vector_verifies() {
        // The scheme's published example (standard-webhooks spec, "Verifying webhook signatures").
        let keys = parse_keys("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        let body = br#"{"test": 2432232314}"#;
        let sig = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";
        assert_eq!(
            verify(&keys, headers("msg_p5jXN8AQM9LWM0D4loKWxJek", "1614265330", sig), body, 1_614_265_330),
            Ok(())
        );
        assert_eq!(sign(&keys[0], "msg_p5jXN8AQM9LWM0D4loKWxJek", 1_614_265_330, body), sig);
    }

    #[test]
    fn a_signature_holds_for_its_exact_bytes_only() {
        let body = br#"{"id":"evt_1"}"#.to_vec();
        let sig = sign(&key(1), "evt_1", NOW, &body);
        let ts = NOW.to_string();
        assert_eq!(verify(&[key(1)], headers("evt_1", &ts, &sig), &body, NOW), Ok(()));
        for i in 0..body.len() {
            let mut changed = body.clone();
            changed[i] ^= 1;
            assert_eq!(verify(&[key(1)], headers("evt_1", &ts, &sig), &changed, NOW), Err(Refusal::NoValidSignature));
        }
        assert_eq!(verify(&[key(1)], headers("evt_2", &ts, &sig), &body, NOW), Err(Refusal::NoValidSignature));
        let later = (NOW + 1).to_string();
        assert_eq!(verify(&[key(1)], headers("evt_1", &later, &sig), &body, NOW), Err(Refusal::NoValidSignature));
        assert_eq!(verify(&[key(2)], headers("evt_1", &ts, &sig), &body, NOW), Err(Refusal::NoValidSignature));
    }

    #[test]
    fn timestamps_outside_five_minutes_are_refused_either_way() {
        let body = b"{}";
        for (offset, want) in [(-301, Err(Refusal::TooOld)), (-300, Ok(())), (300, Ok(())), (301, Err(Refusal::TooNew))]
        {
            let ts = NOW + offset;
            let sig = sign(&key(1), "e", ts, body);
            assert_eq!(verify(&[key(1)], headers("e", &ts.to_string(), &sig), body, NOW), want, "{offset}");
        }
        let sig = sign(&key(1), "e", NOW, body);
        for bad in ["", "-5", "1.5e9", "17900000000000", "abc"] {
            assert_eq!(verify(&[key(1)], headers("e", bad, &sig), body, NOW), Err(Refusal::BadTimestamp), "{bad}");
        }
    }

    #[test]
    fn during_rotation_either_key_and_any_listed_signature_is_accepted() {
        let body = b"{}";
        let ts = NOW.to_string();
        let (old, new) = (key(1), key(2));
        let both = format!("{} {}", sign(&new, "e", NOW, body), sign(&old, "e", NOW, body));
        assert_eq!(verify(std::slice::from_ref(&old), headers("e", &ts, &both), body, NOW), Ok(()));
        assert_eq!(verify(std::slice::from_ref(&new), headers("e", &ts, &both), body, NOW), Ok(()));
        let only_new = sign(&new, "e", NOW, body);
        assert_eq!(verify(&[old.clone(), new.clone()], headers("e", &ts, &only_new), body, NOW), Ok(()));
        assert_eq!(verify(&[old], headers("e", &ts, &only_new), body, NOW), Err(Refusal::NoValidSignature));
        // Other schemes' entries and garbage beside a good one are ignored.
        let mixed = format!("v1a,xyz v2,abc v1,!!! {only_new}");
        assert_eq!(verify(&[new], headers("e", &ts, &mixed), body, NOW), Ok(()));
    }

    #[test]
    fn missing_headers_and_bad_ids_are_named() {
        let h = Headers { id: None, timestamp: Some("1"), signatures: Some("") };
        assert_eq!(verify(&[key(1)], h, b"", NOW), Err(Refusal::MissingHeader("webhook-id")));
        let h = Headers { id: Some("e"), timestamp: None, signatures: Some("") };
        assert_eq!(verify(&[key(1)], h, b"", NOW), Err(Refusal::MissingHeader("webhook-timestamp")));
        let h = Headers { id: Some("e"), timestamp: Some("1"), signatures: None };
        assert_eq!(verify(&[key(1)], h, b"", NOW), Err(Refusal::MissingHeader("webhook-signature")));
        let ts = NOW.to_string();
        for id in ["", "has space", &"x".repeat(257)] {
            assert_eq!(verify(&[key(1)], headers(id, &ts, ""), b"", NOW), Err(Refusal::BadId));
        }
    }

    #[test]
    fn the_local_key_is_a_usable_key() {
        assert_eq!(parse_keys(LOCAL_DEVELOPMENT_KEY).unwrap().len(), 1);
    }

    #[test]
    fn keys_are_read_from_a_setting_and_never_printed() {
        let a = key(7).to_whsec();
        let b = key(9).to_whsec();
        assert_eq!(parse_keys(&format!("{a} {b}")).unwrap(), vec![key(7), key(9)]);
        assert_eq!(parse_keys(&format!("{a},{b}")).unwrap().len(), 2);
        assert_eq!(parse_keys(""), Err(KeyError::NoKeys));
        assert_eq!(parse_keys("secret"), Err(KeyError::NotWhsec { position: 1 }));
        assert_eq!(parse_keys(&format!("{a} whsec_***")), Err(KeyError::NotBase64 { position: 2 }));
        assert_eq!(parse_keys("whsec_c2hvcnQ="), Err(KeyError::TooShort { position: 1 }));
        assert_eq!(format!("{:?}", key(7)), "SigningKey(32 bytes)");
    }
}
