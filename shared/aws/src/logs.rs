//! Logs of every function: JSON lines for CloudWatch, filtered by level.

use tracing_subscriber::filter::Targets;

/// Starts JSON logging. The filter is `RUST_LOG` (`info`, or `warn,settlepaisa_pipeline=debug`),
/// else the level Lambda's logging controls set (`AWS_LAMBDA_LOG_LEVEL`), else `info`. Targets
/// and levels only: the regex-based `EnvFilter` was a tenth of a megabyte of every artifact for
/// span-field matching nobody uses.
pub fn init(with_current_span: bool) {
    use tracing_subscriber::{layer::SubscriberExt, util::SubscriberInitExt};
    let filter = filter_from(std::env::var("RUST_LOG").ok(), std::env::var("AWS_LAMBDA_LOG_LEVEL").ok());
    let json = tracing_subscriber::fmt::layer().json().with_current_span(with_current_span).without_time();
    let _ = tracing_subscriber::registry().with(json).with(filter).try_init();
}

fn filter_from(rust_log: Option<String>, lambda_level: Option<String>) -> Targets {
    let info = || Targets::new().with_default(tracing::Level::INFO);
    let parse = |text: String| text.to_ascii_lowercase().parse::<Targets>().ok();
    let nonempty = |text: Option<String>| text.filter(|t| !t.trim().is_empty());
    nonempty(rust_log).and_then(parse).or_else(|| nonempty(lambda_level).and_then(parse)).unwrap_or_else(info)
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
    }
}
