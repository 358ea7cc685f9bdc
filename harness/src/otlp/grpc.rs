//! OTLP/gRPC: `opentelemetry.proto.collector.trace.v1.TraceService/Export` over tonic.

use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTracePartialSuccess, ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use tonic::codec::CompressionEncoding;
use tonic::{Request, Response, Status};

use super::sink::Dispatcher;
use super::store::{IngestSummary, TraceStore};

/// The gRPC trace service: stores what it receives and hands it to the sinks.
pub(crate) struct GrpcTraceService {
    store: TraceStore,
    sinks: Dispatcher,
}

/// The tonic service, accepting gzip and bounded to `max_request_bytes` (tonic applies the
/// bound to the compressed message and again while decompressing).
pub(crate) fn service(
    store: TraceStore,
    sinks: Dispatcher,
    max_request_bytes: usize,
) -> TraceServiceServer<GrpcTraceService> {
    TraceServiceServer::new(GrpcTraceService { store, sinks })
        .accept_compressed(CompressionEncoding::Gzip)
        .send_compressed(CompressionEncoding::Gzip)
        .max_decoding_message_size(max_request_bytes)
}

/// The export response for `summary`: `partial_success` only when spans were rejected.
pub(crate) fn export_response(summary: &IngestSummary) -> ExportTraceServiceResponse {
    ExportTraceServiceResponse {
        partial_success: (summary.rejected > 0).then(|| ExportTracePartialSuccess {
            rejected_spans: i64::try_from(summary.rejected).unwrap_or(i64::MAX),
            error_message: summary.error_message.clone(),
        }),
    }
}

#[tonic::async_trait]
impl TraceService for GrpcTraceService {
    async fn export(
        &self,
        request: Request<ExportTraceServiceRequest>,
    ) -> Result<Response<ExportTraceServiceResponse>, Status> {
        let request = request.into_inner();
        self.sinks.dispatch(&request);
        let summary = self.store.ingest(request);
        if summary.rejected > 0 {
            tracing::debug!(
                rejected = summary.rejected,
                reason = %summary.error_message,
                "OTLP/gRPC export partially rejected"
            );
        }
        Ok(Response::new(export_response(&summary)))
    }
}
