//! Durations as people type them (Go's `time.ParseDuration` syntax, which aws-runas v3 users know:
//! `12h`, `90m`, `1h30m`, `1.5h`) and as we print them back (`1h2m`, `42m`, `15s`; time left as
//! the prompt segment shows it, `59m`).

use std::time::Duration;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error(
    "invalid duration '{}': {reason} (examples: 12h, 90m, 1h30m, 3600s)",
    crate::shown::shown(input)
)]
pub struct ParseDurationError {
    input: String,
    reason: &'static str,
}

impl ParseDurationError {
    /// What is wrong, without the input: for messages that show (or withhold) it themselves.
    pub fn reason(&self) -> &'static str {
        self.reason
    }
}

/// Parses Go duration syntax. A bare integer is taken as seconds, since config files
/// traditionally hold `duration_seconds = 3600`.
pub fn parse(input: &str) -> Result<Duration, ParseDurationError> {
    let fail = |reason| ParseDurationError {
        input: input.to_owned(),
        reason,
    };
    let s = input.trim();
    if s.is_empty() {
        return Err(fail("empty"));
    }
    if let Ok(secs) = s.parse::<u64>() {
        return Ok(Duration::from_secs(secs));
    }
    if s.starts_with('-') {
        return Err(fail("must not be negative"));
    }
    let mut rest = s.strip_prefix('+').unwrap_or(s);
    let mut total = 0f64;
    while !rest.is_empty() {
        // Split where the number ends and where the unit ends: `find` gives char boundaries.
        let number_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(|| fail("missing unit"))?;
        if number_len == 0 {
            return Err(fail("expected a number"));
        }
        let (number, after) = rest.split_at(number_len);
        let value: f64 = number.parse().map_err(|_| fail("malformed number"))?;
        let unit_len = after
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(after.len());
        let (unit, after) = after.split_at(unit_len);
        let seconds_per_unit = match unit {
            "ns" => 1e-9,
            "us" | "µs" | "μs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return Err(fail("unknown unit (use h, m, s, ms, us or ns)")),
        };
        rest = after;
        total += value * seconds_per_unit;
    }
    if !total.is_finite() || total > u32::MAX as f64 {
        return Err(fail("too large"));
    }
    Ok(Duration::from_secs_f64(total))
}

/// Compact, coarse rendering for humans and prompts: the two largest units, no zero padding.
pub fn human(d: Duration) -> String {
    let secs = d.as_secs();
    let (h, m, s) = (secs / 3600, secs % 3600 / 60, secs % 60);
    match (h, m) {
        (0, 0) => format!("{s}s"),
        (0, _) if s == 0 => format!("{m}m"),
        (0, _) => format!("{m}m{s}s"),
        (_, 0) => format!("{h}h"),
        _ => format!("{h}h{m}m"),
    }
}

/// Time left as the shells' prompt segment shows it (`__runas_segment` in `shell/`): minutes
/// rounded up, so `1m` shows until the very end; `None` once nothing is left (the segment says
/// `expired`).
pub fn left(d: Duration) -> Option<String> {
    let minutes = d.as_secs().div_ceil(60);
    (minutes > 0).then(|| human(Duration::from_secs(minutes * 60)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_style_strings() {
        assert_eq!(parse("12h").unwrap(), Duration::from_secs(43200));
        assert_eq!(parse("90m").unwrap(), Duration::from_secs(5400));
        assert_eq!(parse("1h30m").unwrap(), Duration::from_secs(5400));
        assert_eq!(parse("1.5h").unwrap(), Duration::from_secs(5400));
        assert_eq!(parse("1h0m30s").unwrap(), Duration::from_secs(3630));
        assert_eq!(parse("1500ms").unwrap(), Duration::from_millis(1500));
        assert_eq!(parse("3600").unwrap(), Duration::from_secs(3600));
        assert_eq!(parse(" 15m ").unwrap(), Duration::from_secs(900));
    }

    #[test]
    fn rejects_malformed_input_with_the_value_named() {
        for bad in ["", "h", "12", "12x", "1h30", "-5m", "1..5h", "m30"] {
            if bad == "12" {
                continue; // bare seconds are accepted
            }
            let err = parse(bad).unwrap_err().to_string();
            assert!(err.contains(&format!("'{bad}'")), "{err}");
        }
    }

    #[test]
    fn human_rendering() {
        assert_eq!(human(Duration::from_secs(42 * 60)), "42m");
        assert_eq!(human(Duration::from_secs(3600 + 120 + 5)), "1h2m");
        assert_eq!(human(Duration::from_secs(7200)), "2h");
        assert_eq!(human(Duration::from_secs(59)), "59s");
        assert_eq!(human(Duration::from_secs(61)), "1m1s");
    }
}
