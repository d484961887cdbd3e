//! Logging in GoQuorum's terminal format (`--log.format geth`, geth 1.10's `TerminalFormat`),
//! so pipelines that parse GoQuorum's logs parse Veil's:
//! `INFO [12-01|18:20:00.123] Imported new chain segment               number=5 hash=0x…` —
//! the level aligned to five characters (`INFO `, `WARN `, `EROR `, `DBUG `, `TRCE `), the
//! local time as `MM-DD|HH:MM:SS.mmm`, the message and a space, padded to 40 characters when
//! fields follow, then `key=value` pairs (values with spaces quoted).

use std::fmt::{self, Write as _};
use tracing::{field::Field, Event, Level, Subscriber};
use tracing_subscriber::{
    fmt::{format::Writer, FmtContext, FormatEvent, FormatFields},
    registry::LookupSpan,
};

/// geth's message column width.
const MESSAGE_WIDTH: usize = 40;

/// The event formatter.
#[derive(Clone, Copy, Debug, Default)]
pub struct GethFormat;

impl<S, N> FormatEvent<S, N> for GethFormat
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        _context: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let mut fields = Fields::default();
        event.record(&mut fields);
        let time = chrono::Local::now().format("%m-%d|%H:%M:%S%.3f");
        write!(writer, "{}[{time}] {} ", level(event.metadata().level()), fields.message)?;
        if !fields.pairs.is_empty() {
            let pad = MESSAGE_WIDTH.saturating_sub(fields.message.chars().count());
            write!(writer, "{:pad$}", "")?;
            let pairs: Vec<String> = fields.pairs.iter().map(|(k, v)| format!("{k}={v}")).collect();
            write!(writer, "{}", pairs.join(" "))?;
        }
        writeln!(writer)
    }
}

/// GoQuorum's level names, aligned to five characters.
fn level(level: &Level) -> &'static str {
    match *level {
        Level::ERROR => "EROR ",
        Level::WARN => "WARN ",
        Level::INFO => "INFO ",
        Level::DEBUG => "DBUG ",
        Level::TRACE => "TRCE ",
    }
}

/// An event's message and its other fields, in order.
#[derive(Default)]
struct Fields {
    message: String,
    pairs: Vec<(&'static str, String)>,
}

impl tracing::field::Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message = value.to_string();
        } else {
            self.pairs.push((field.name(), quoted(value)));
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        let mut text = String::new();
        let _ = write!(text, "{value:?}");
        if field.name() == "message" {
            self.message = text;
        } else {
            self.pairs.push((field.name(), quoted(&text)));
        }
    }
}

/// `value`, in double quotes when it holds a space, a quote or `=` (as geth's logfmt does).
fn quoted(value: &str) -> String {
    if value.is_empty() || value.contains([' ', '"', '=']) {
        format!("{value:?}")
    } else {
        value.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Buffer {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    /// The shape of geth's own lines, e.g. from its documentation:
    /// `INFO [08-14|13:01:04.370] Imported new chain segment               number=…`.
    #[test]
    fn lines_have_goquorums_level_time_padded_message_and_pairs() {
        let buffer = Buffer::default();
        let writer = buffer.clone();
        let subscriber = tracing_subscriber::fmt()
            .event_format(GethFormat)
            .with_writer(move || writer.clone())
            .finish();
        tracing::subscriber::with_default(subscriber, || {
            tracing::info!(number = 5, hash = "0xab", "Imported new chain segment");
            tracing::warn!(why = "no quorum yet", "Round timed out");
            tracing::error!("Stopped");
        });
        let text = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3, "{text}");
        assert!(lines[0].starts_with("INFO ["), "{}", lines[0]);
        let stamp = &lines[0][6..24];
        let digits = stamp.replace(['-', '|', ':', '.'], "");
        assert!(digits.len() == 13 && digits.chars().all(|c| c.is_ascii_digit()), "{stamp}");
        assert_eq!(&stamp[2..3], "-");
        assert_eq!(&stamp[5..6], "|");
        assert_eq!(
            &lines[0][24..],
            "] Imported new chain segment               number=5 hash=0xab"
        );
        assert!(lines[1].starts_with("WARN ["), "{}", lines[1]);
        assert!(
            lines[1].ends_with("] Round timed out                          why=\"no quorum yet\""),
            "{}",
            lines[1]
        );
        assert!(lines[2].starts_with("EROR [") && lines[2].ends_with("] Stopped "), "{}", lines[2]);
    }
}
