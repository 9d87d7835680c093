//! Logs of every function: JSON lines for CloudWatch, filtered by level.

use tracing_subscriber::filter::Targets;

/// Starts JSON logging. The filter is `RUST_LOG` (`info`, or `warn,settlepaisa_pipeline=debug`),
/// else the level Lambda's logging controls set (`AWS_LAMBDA_LOG_LEVEL`; the template sets
/// `RUST_LOG: info` for every function, so change that to change a deployed level), else `info`. Targets
/// and levels only: the regex-based `EnvFilter` was a tenth of a megabyte of every artifact for
/// span-field matching nobody uses.
pub fn init(with_current_span: bool) {
    use tracing_subscriber::{layer::SubscriberExt, util::SubscriberInitExt};
    let filter = filter_from(std::env::var("RUST_LOG").ok(), std::env::var("AWS_LAMBDA_LOG_LEVEL").ok());
    let json = tracing_subscriber::fmt::layer().json().with_current_span(with_current_span).without_time();
    let _ = tracing_subscriber::registry().with(json).with(filter).try_init();
}

fn filter_from(rust_log: Option<String>, lambda_level: Option<String>) -> Targets {
    let trimmed = |text: Option<String>| text.map(|t| t.trim().to_ascii_lowercase()).filter(|t| !t.is_empty());
    let from_rust_log = trimmed(rust_log).and_then(|text| text.parse::<Targets>().ok());
    // Lambda's level is one word (TRACE … FATAL), never a target list: read as a level, so that
    // `FATAL` is errors only, not a target named "fatal" with every other log silenced.
    let from_lambda = || {
        let level = match trimmed(lambda_level)?.as_str() {
            "trace" => tracing::Level::TRACE,
            "debug" => tracing::Level::DEBUG,
            "info" => tracing::Level::INFO,
            "warn" => tracing::Level::WARN,
            "error" | "fatal" => tracing::Level::ERROR,
            _ => return None,
        };
        Some(Targets::new().with_default(level))
    };
    from_rust_log.or_else(from_lambda).unwrap_or_else(|| Targets::new().with_default(tracing::Level::INFO))
}

#[cfg(test)]
mod tests {
    use super::filter_from;
    use tracing::level_filters::LevelFilter;

    fn level(filter: &tracing_subscriber::filter::Targets, target: &str) -> Option<LevelFilter> {
        filter.iter().find(|(t, _)| *t == target).map(|(_, l)| l).or(filter.default_level())
    }

    #[test]
    fn rust_log_wins_then_lambdas_level_then_info() {
        let f = filter_from(Some("warn,settlepaisa_pipeline=debug".into()), Some("ERROR".into()));
        assert_eq!(f.default_level(), Some(LevelFilter::WARN));
        assert_eq!(level(&f, "settlepaisa_pipeline"), Some(LevelFilter::DEBUG));
        assert_eq!(filter_from(None, Some("ERROR".into())).default_level(), Some(LevelFilter::ERROR));
        assert_eq!(filter_from(Some(" ".into()), None).default_level(), Some(LevelFilter::INFO));
        assert_eq!(filter_from(None, None).default_level(), Some(LevelFilter::INFO));
    }

    #[test]
    fn an_unreadable_setting_falls_back_rather_than_silencing_the_function() {
        assert_eq!(filter_from(Some("settlepaisa=loud".into()), None).default_level(), Some(LevelFilter::INFO));
        assert_eq!(filter_from(Some(" info ".into()), None).default_level(), Some(LevelFilter::INFO));
        assert_eq!(filter_from(None, Some("FATAL".into())).default_level(), Some(LevelFilter::ERROR));
        assert_eq!(filter_from(None, Some("loud".into())).default_level(), Some(LevelFilter::INFO));
    }
}
