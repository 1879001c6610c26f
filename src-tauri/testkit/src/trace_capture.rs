//! Captures every `tracing` event and span field the process emits, as text, so a test can
//! check that no secret reached any log line at any level. Install it process-wide (one test
//! binary per capture) with `tracing::subscriber::set_global_default`.

use std::fmt::{Debug, Write};
use std::sync::{Arc, Mutex};

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Metadata, Subscriber};

#[derive(Clone, Default)]
pub struct Capture(pub Arc<Mutex<String>>);

struct Fields<'a>(&'a mut String);

impl Visit for Fields<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn Debug) {
        let _ = write!(self.0, "{}={:?} ", field.name(), value);
    }
}

impl Capture {
    fn take(&self, record: impl FnOnce(&mut Fields<'_>)) {
        let mut text = self.0.lock().unwrap();
        record(&mut Fields(&mut text));
        text.push('\n');
    }
    pub fn text(&self) -> String {
        self.0.lock().unwrap().clone()
    }
}

impl Subscriber for Capture {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }
    fn max_level_hint(&self) -> Option<tracing::level_filters::LevelFilter> {
        Some(tracing::level_filters::LevelFilter::TRACE)
    }
    fn new_span(&self, span: &Attributes<'_>) -> Id {
        self.take(|f| span.record(f));
        Id::from_u64(1)
    }
    fn record(&self, _: &Id, values: &Record<'_>) {
        self.take(|f| values.record(f));
    }
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, event: &Event<'_>) {
        self.take(|f| {
            let _ = write!(f.0, "{} {}: ", event.metadata().level(), event.metadata().target());
            event.record(f)
        });
    }
    fn enter(&self, _: &Id) {}
    fn exit(&self, _: &Id) {}
}
