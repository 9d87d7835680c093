//! The stack's secrets (the tokens' key, the cursors' key) read from Secrets Manager: a rotation
//! is seen once the cached value is old, and a read that fails keeps the last value.

use settlepaisa_aws::faults::Fault;
use settlepaisa_aws::secrets::Secret;
use settlepaisa_cli::local::LocalStack;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rotated_secret_is_read_again_after_its_ttl_and_a_failed_read_keeps_the_last_value() {
    let stack = LocalStack::start(None).await.unwrap();
    let sm = &stack.clients.secretsmanager();
    let arn = sm
        .create_secret()
        .name("settlepaisa-test-jwt")
        .secret_string("first-key-first-key-first-key-first-key")
        .send()
        .await
        .unwrap()
        .arn
        .unwrap();
    let cached = Secret::manager(sm.clone(), &arn, Duration::from_secs(3_600));
    let fresh = Secret::manager(sm.clone(), &arn, Duration::ZERO);
    assert_eq!(cached.current().await.unwrap(), b"first-key-first-key-first-key-first-key");
    assert_eq!(fresh.current().await.unwrap(), b"first-key-first-key-first-key-first-key");

    sm.put_secret_value().secret_id(&arn).secret_string("second-key-second-key-second-key-2").send().await.unwrap();
    assert_eq!(cached.current().await.unwrap(), b"first-key-first-key-first-key-first-key", "within its TTL");
    assert_eq!(fresh.current().await.unwrap(), b"second-key-second-key-second-key-2", "rotated: read again");

    // Secrets Manager failing: the last value stays in use; with none read yet, an error.
    stack.faults.add(Fault::json_internal_error("secretsmanager.GetSecretValue", 1_000));
    assert_eq!(fresh.current().await.unwrap(), b"second-key-second-key-second-key-2");
    let never_read = Secret::manager(sm.clone(), &arn, Duration::ZERO);
    assert!(never_read.current().await.is_err());
    stack.faults.clear();
    assert!(stack.faults.injected("secretsmanager.GetSecretValue") >= 2);
}
