//! OTLP traces files as lint inputs: the [`OtlpTraces`] importer.

use std::path::Path;

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;

use super::graph_from_store;
use crate::lint::graph::ServiceGraph;
use crate::lint::inputs::{Document, Importer};
use crate::lint::{ErrorKind, LintError, Location};
use crate::otlp::{JsonlError, JsonlReader, TraceStore, decode_export_request};

/// OTLP traces files: JSON lines of `ExportTraceServiceRequest`s (what `parley collect` and the
/// Collector's `file` exporter write), or one OTLP/JSON export request.
pub struct OtlpTraces;

impl OtlpTraces {
    /// What these inputs are called in reports ([`Importer::kind`]).
    pub const KIND: &'static str = "OTLP traces";
}

/// How much of the text the sniffer looks at for `resourceSpans`.
const SNIFF_BYTES: usize = 4096;

impl Importer for OtlpTraces {
    fn kind(&self) -> &'static str {
        Self::KIND
    }

    fn sniff(&self, doc: &Document<'_>) -> bool {
        let text = doc.text.trim_start();
        if !text.starts_with('{') {
            return false;
        }
        let mut end = text.len().min(SNIFF_BYTES);
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        let head = &text[..end];
        head.contains("\"resourceSpans\"") || head.contains("\"resource_spans\"")
    }

    fn import(&self, doc: &Document<'_>) -> Result<ServiceGraph, LintError> {
        Ok(graph_from_store(&read_traces(doc.path, doc.text)?))
    }
}

/// The spans of an OTLP traces text (JSON lines, or one export request) in a store of their
/// own, `path` naming the text in errors. A line that is not an OTLP/JSON export request, or
/// that holds an invalid span (a bad trace or span ID), is an error at its line.
pub fn read_traces(path: &Path, text: &str) -> Result<TraceStore, LintError> {
    let store = TraceStore::with_max_spans(usize::MAX);
    for item in JsonlReader::new(path, text.as_bytes()) {
        let (line, request) = match item {
            Ok(r) => r,
            Err(JsonlError::Decode { line, source, .. }) => {
                // Not JSON lines, maybe: one export request over several lines.
                if line == 1
                    && let Ok(request) = decode_export_request(text.as_bytes())
                {
                    ingest(&store, path, 1, request)?;
                    return Ok(store);
                }
                return Err(at(path, line, source.to_string()));
            }
            Err(e) => return Err(LintError::in_file(ErrorKind::Io, path, e.to_string())),
        };
        ingest(&store, path, line, request)?;
    }
    Ok(store)
}

fn ingest(
    store: &TraceStore,
    path: &Path,
    line: usize,
    request: ExportTraceServiceRequest,
) -> Result<(), LintError> {
    let summary = store.ingest(request);
    if summary.rejected > 0 {
        return Err(at(path, line, summary.error_message));
    }
    Ok(())
}

fn at(path: &Path, line: usize, message: String) -> LintError {
    LintError::at(
        ErrorKind::Invalid,
        &Location::new(path, line, 0, ""),
        message,
    )
}
