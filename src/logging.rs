//! `-v` logging to stderr. Our own messages never carry a secret (see `credentials::redact_key_id`);
//! at `-vv` the SDK's own tracing is added, which redacts credentials itself.

use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::prelude::*;

pub fn init(verbosity: u8) {
    if verbosity == 0 {
        return;
    }
    let mut targets = Targets::new().with_target("aws_runas", LevelFilter::DEBUG);
    if verbosity >= 2 {
        targets = targets
            .with_target("aws_sdk_sts", LevelFilter::DEBUG)
            .with_target("aws_smithy_runtime", LevelFilter::DEBUG);
    }
    let layer = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .without_time()
        .with_ansi(false)
        .with_target(false);
    let _ = tracing_subscriber::registry()
        .with(layer)
        .with(targets)
        .try_init();
}
