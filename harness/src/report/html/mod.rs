//! The HTML report: one self-contained file (no network, no external assets) with the run's
//! verdicts, a waterfall per traced request (services coloured, correlation ID shown, failed
//! spans marked), the service graph observed (synchronous and asynchronous edges drawn
//! differently), and every check with what failed.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Write as _;

use crate::otlp::{Span, SpanKind, StatusCode};
use crate::requests::RequestTraces;
use crate::results::{Outcome, RunResults};

/// What the report shows.
pub struct HtmlReport<'a> {
    pub title: &'a str,
    pub results: &'a RunResults,
    /// The traced requests, each with a label (the scenario's name).
    pub traces: &'a [(String, RequestTraces)],
    /// When it was made, as text (the caller's clock and format).
    pub generated: String,
}

/// An edge of the observed service graph.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Edge {
    pub from: String,
    pub to: String,
    /// `false`: a message (producer → consumer).
    pub sync: bool,
    /// Calls seen (sync) or messages seen (async).
    pub count: usize,
    /// What the edge carries: `POST /api/charge` or a subject.
    pub labels: BTreeSet<String>,
}

/// The service graph the spans show: a client span's child server span in another service is a
/// synchronous call; a consumer span whose parent or link is a producer span in another service
/// is a message.
pub fn service_graph<'a>(spans: impl Iterator<Item = &'a Span>) -> (BTreeSet<String>, Vec<Edge>) {
    let spans: Vec<&Span> = spans.collect();
    let by_id: HashMap<(&str, &str), &Span> = spans
        .iter()
        .map(|s| ((s.trace_id.as_str(), s.span_id.as_str()), *s))
        .collect();
    let mut services = BTreeSet::new();
    let mut edges: BTreeMap<(String, String, bool), Edge> = BTreeMap::new();
    let mut add = |from: &Span, to: &Span, sync: bool, label: String| {
        let key = (from.service_name.clone(), to.service_name.clone(), sync);
        let e = edges.entry(key).or_insert_with(|| Edge {
            from: from.service_name.clone(),
            to: to.service_name.clone(),
            sync,
            count: 0,
            labels: BTreeSet::new(),
        });
        e.count += 1;
        if e.labels.len() < 6 {
            e.labels.insert(label);
        }
    };
    for span in &spans {
        services.insert(span.service_name.clone());
        let parent = span
            .parent_span_id
            .as_deref()
            .and_then(|p| by_id.get(&(span.trace_id.as_str(), p)));
        match span.kind {
            SpanKind::Server => {
                if let Some(p) = parent
                    .filter(|p| p.kind == SpanKind::Client && p.service_name != span.service_name)
                {
                    add(p, span, true, span.name.clone());
                }
            }
            SpanKind::Consumer => {
                let producer = parent
                    .filter(|p| p.kind == SpanKind::Producer)
                    .copied()
                    .or_else(|| {
                        span.links.iter().find_map(|l| {
                            by_id
                                .get(&(l.trace_id.as_str(), l.span_id.as_str()))
                                .filter(|p| p.kind == SpanKind::Producer)
                                .copied()
                        })
                    });
                if let Some(p) = producer.filter(|p| p.service_name != span.service_name) {
                    let subject = span
                        .attr_str("messaging.destination.name")
                        .unwrap_or(&span.name)
                        .to_string();
                    add(p, span, false, subject);
                }
            }
            _ => {}
        }
    }
    (services, edges.into_values().collect())
}

pub fn render(report: &HtmlReport<'_>) -> String {
    let mut out = String::with_capacity(64 * 1024);
    let s = report.results.summary();
    let verdict = match report.results.exit_code() {
        0 => ("passed", "ok"),
        3 => ("could not run", "warn"),
        _ => ("failed", "bad"),
    };
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title}</title><style>{CSS}</style></head><body>\n\
         <header><h1>{title}</h1><p class=\"meta\">{generated}</p>\
         <p class=\"verdict {vclass}\" id=\"verdict\">{vtext}: {passed} passed, {failed} failed, \
         {errors} could not run, {skipped} not applicable</p></header>\n",
        title = esc(report.title),
        generated = esc(&report.generated),
        vclass = verdict.1,
        vtext = verdict.0,
        passed = s.passed,
        failed = s.failed,
        errors = s.errors,
        skipped = s.skipped,
    );
    out.push_str("<nav><a href=\"#checks\">Checks</a> <a href=\"#graph\">Service graph</a> <a href=\"#traces\">Traces</a></nav>\n");
    render_failures(&mut out, report.results);
    render_graph(&mut out, report.traces);
    render_traces(&mut out, report.traces);
    render_checks(&mut out, report.results);
    let _ = writeln!(out, "<script>{JS}</script></body></html>");
    out
}

fn render_failures(out: &mut String, results: &RunResults) {
    let failed: Vec<_> = results
        .checks
        .iter()
        .filter(|c| matches!(c.outcome, Outcome::Failed | Outcome::Error(_)))
        .collect();
    if failed.is_empty() {
        return;
    }
    out.push_str("<section id=\"failures\"><h2>What failed</h2><ul>");
    for c in failed {
        let why = match &c.outcome {
            Outcome::Error(reason) => reason.clone(),
            _ => c
                .details
                .first()
                .map(|d| d.message.clone())
                .unwrap_or_default(),
        };
        let _ = write!(
            out,
            "<li><b>{}</b>: {} — {}</li>",
            esc(&c.group),
            esc(&c.name),
            esc(&why)
        );
    }
    out.push_str("</ul></section>\n");
}

fn render_checks(out: &mut String, results: &RunResults) {
    out.push_str("<section id=\"checks\"><h2>Checks</h2>");
    let mut groups: BTreeMap<&str, Vec<_>> = BTreeMap::new();
    for c in &results.checks {
        groups.entry(c.group.as_str()).or_default().push(c);
    }
    for (group, checks) in groups {
        let bad = checks
            .iter()
            .any(|c| matches!(c.outcome, Outcome::Failed | Outcome::Error(_)));
        let _ = write!(
            out,
            "<details class=\"group\"{}><summary>{}{}</summary><table><tr><th></th><th>check</th><th>kind</th><th>ms</th><th>details</th></tr>",
            if bad { " open" } else { "" },
            esc(group),
            if bad {
                " <span class=\"bad\">✗</span>"
            } else {
                ""
            }
        );
        for c in checks {
            let (mark, class) = match &c.outcome {
                Outcome::Passed => ("✓", "ok"),
                Outcome::Failed => ("✗", "bad"),
                Outcome::Error(_) => ("!", "warn"),
                Outcome::Skipped(_) => ("–", "muted"),
            };
            let mut detail = String::new();
            match &c.outcome {
                Outcome::Error(reason) => {
                    let _ = write!(detail, "could not run: {}", esc(reason));
                }
                Outcome::Skipped(reason) => {
                    let _ = write!(detail, "{}", esc(reason));
                }
                _ => {}
            }
            for d in &c.details {
                let _ = write!(
                    detail,
                    "<div class=\"detail\"><code>{}</code>{} {}<br><span class=\"exp\">expected</span> <code>{}</code> <span class=\"act\">actual</span> <code>{}</code></div>",
                    esc(&d.path),
                    d.rule
                        .as_deref()
                        .map(|r| format!(" <i>({})</i>", esc(r)))
                        .unwrap_or_default(),
                    esc(&d.message),
                    esc(&d.expected),
                    esc(&d.actual)
                );
            }
            if let Some(l) = &c.location
                && !c.passed()
            {
                let _ = write!(detail, "<div class=\"muted\">at {}</div>", esc(l));
            }
            let _ = write!(
                out,
                "<tr class=\"check {class}\"><td>{mark}</td><td>{}</td><td>{}</td><td>{}</td><td>{detail}</td></tr>",
                esc(&c.name),
                esc(&c.kind),
                c.duration.as_millis()
            );
        }
        out.push_str("</table></details>\n");
    }
    out.push_str("</section>\n");
}

/// A stable colour per service.
fn color(service: &str) -> String {
    let h = service
        .bytes()
        .fold(7u32, |h, b| h.wrapping_mul(31).wrapping_add(u32::from(b)));
    format!("hsl({}, 55%, 55%)", h % 360)
}

fn render_graph(out: &mut String, traces: &[(String, RequestTraces)]) {
    let (services, edges) = service_graph(traces.iter().flat_map(|(_, rt)| rt.spans()));
    out.push_str("<section id=\"graph\"><h2>Service graph (observed)</h2>");
    if services.is_empty() {
        out.push_str("<p class=\"muted\">No spans.</p></section>\n");
        return;
    }
    let services: Vec<&String> = services.iter().collect();
    let n = services.len() as f64;
    let (w, h, r) = (900.0, 520.0, 200.0);
    let pos: HashMap<&str, (f64, f64)> = services
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let a = std::f64::consts::TAU * i as f64 / n - std::f64::consts::FRAC_PI_2;
            (
                s.as_str(),
                (w / 2.0 + r * 1.6 * a.cos(), h / 2.0 + r * a.sin()),
            )
        })
        .collect();
    let _ = write!(
        out,
        "<svg id=\"service-graph\" viewBox=\"0 0 {w} {h}\" width=\"100%\" role=\"img\" aria-label=\"service graph\">\
         <defs><marker id=\"arrow\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"8\" markerHeight=\"8\" orient=\"auto-start-reverse\"><path d=\"M0,0 L10,5 L0,10 z\" fill=\"#555\"/></marker></defs>"
    );
    for e in &edges {
        let (Some(&(x1, y1)), Some(&(x2, y2))) = (pos.get(e.from.as_str()), pos.get(e.to.as_str()))
        else {
            continue;
        };
        // Shorten to the node's edge; offset async edges so both directions stay visible.
        let (dx, dy) = (x2 - x1, y2 - y1);
        let len = (dx * dx + dy * dy).sqrt().max(1.0);
        let (ux, uy) = (dx / len, dy / len);
        let off = if e.sync { 0.0 } else { 6.0 };
        let (sx, sy) = (x1 + ux * 48.0 - uy * off, y1 + uy * 48.0 + ux * off);
        let (ex, ey) = (x2 - ux * 48.0 - uy * off, y2 - uy * 48.0 + ux * off);
        let title = format!(
            "{} → {} ({}, {}×): {}",
            e.from,
            e.to,
            if e.sync { "synchronous" } else { "message" },
            e.count,
            e.labels.iter().cloned().collect::<Vec<_>>().join(", ")
        );
        let _ = write!(
            out,
            "<line class=\"edge {}\" x1=\"{sx:.1}\" y1=\"{sy:.1}\" x2=\"{ex:.1}\" y2=\"{ey:.1}\" marker-end=\"url(#arrow)\"><title>{}</title></line>",
            if e.sync { "sync" } else { "async" },
            esc(&title)
        );
    }
    for s in &services {
        let (x, y) = pos[s.as_str()];
        let _ = write!(
            out,
            "<g class=\"node\"><circle cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"46\" fill=\"{}\"/><text x=\"{x:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text></g>",
            color(s),
            y + 4.0,
            esc(s)
        );
    }
    out.push_str("</svg><p class=\"legend\"><span class=\"sync-l\">━━</span> synchronous call &nbsp; <span class=\"async-l\">╍╍</span> message over NATS</p>");
    out.push_str("<table class=\"edges\"><tr><th>from</th><th>to</th><th>kind</th><th>seen</th><th>what</th></tr>");
    for e in &edges {
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&e.from),
            esc(&e.to),
            if e.sync { "sync" } else { "async" },
            e.count,
            esc(&e.labels.iter().cloned().collect::<Vec<_>>().join(", "))
        );
    }
    out.push_str("</table></section>\n");
}

fn render_traces(out: &mut String, traces: &[(String, RequestTraces)]) {
    out.push_str("<section id=\"traces\"><h2>Traces</h2>");
    for (label, rt) in traces {
        let spans: Vec<&Span> = rt.spans().collect();
        let t0 = spans.iter().map(|s| s.start_unix_nanos).min().unwrap_or(0);
        let t1 = spans
            .iter()
            .map(|s| s.end_unix_nanos)
            .max()
            .unwrap_or(t0)
            .max(t0 + 1);
        let total = (t1 - t0) as f64;
        let _ = write!(
            out,
            "<details class=\"trace\" open data-correlation=\"{cid}\"><summary><b>{}</b> — correlation <code>{cid}</code>, {} span(s) in {} trace(s), {:.1} ms</summary>",
            esc(label),
            spans.len(),
            rt.traces.len(),
            total / 1e6,
            cid = esc(&rt.correlation_id)
        );
        out.push_str("<div class=\"waterfall\">");
        for (span, depth) in tree_order(&spans) {
            let left = (span.start_unix_nanos.saturating_sub(t0)) as f64 / total * 100.0;
            let width = (span.duration().as_nanos() as f64 / total * 100.0).max(0.3);
            let failed = span.status.code == StatusCode::Error;
            let _ = write!(
                out,
                "<div class=\"row{}\" title=\"{}\"><div class=\"name\" style=\"padding-left:{}px\"><span class=\"dot\" style=\"background:{}\"></span>{}<span class=\"svc\">{}</span>{}</div>\
                 <div class=\"lane\"><div class=\"bar\" style=\"left:{left:.2}%;width:{width:.2}%;background:{}\"></div><span class=\"dur\" style=\"left:{:.2}%\">{:.2} ms</span></div></div>",
                if failed { " failed" } else { "" },
                esc(&format!(
                    "{} · {} · trace {} · span {}",
                    span.service_name,
                    span.kind.as_str(),
                    span.trace_id,
                    span.span_id
                )),
                depth * 14,
                color(&span.service_name),
                esc(&span.name),
                esc(&span.service_name),
                if failed {
                    " <span class=\"bad\">✗</span>"
                } else {
                    ""
                },
                color(&span.service_name),
                (left + width).min(92.0),
                span.duration().as_secs_f64() * 1000.0
            );
        }
        out.push_str("</div></details>\n");
    }
    out.push_str("</section>\n");
}

/// Spans depth-first from their roots, children by start time; spans whose parent is missing
/// come as roots.
fn tree_order<'a>(spans: &[&'a Span]) -> Vec<(&'a Span, usize)> {
    let ids: BTreeSet<(&str, &str)> = spans
        .iter()
        .map(|s| (s.trace_id.as_str(), s.span_id.as_str()))
        .collect();
    let mut children: HashMap<(&str, &str), Vec<&'a Span>> = HashMap::new();
    let mut roots: Vec<&'a Span> = Vec::new();
    for s in spans {
        match s.parent_span_id.as_deref() {
            Some(p) if ids.contains(&(s.trace_id.as_str(), p)) => children
                .entry((s.trace_id.as_str(), p))
                .or_default()
                .push(s),
            _ => roots.push(s),
        }
    }
    roots.sort_by_key(|s| s.start_unix_nanos);
    for list in children.values_mut() {
        list.sort_by_key(|s| s.start_unix_nanos);
    }
    let mut out = Vec::with_capacity(spans.len());
    let mut stack: Vec<(&'a Span, usize)> = roots.into_iter().rev().map(|s| (s, 0)).collect();
    while let Some((s, depth)) = stack.pop() {
        out.push((s, depth));
        if let Some(kids) = children.get(&(s.trace_id.as_str(), s.span_id.as_str())) {
            for k in kids.iter().rev() {
                stack.push((k, depth + 1));
            }
        }
    }
    out
}

/// Escapes text for HTML.
pub fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const CSS: &str = "body{font:14px/1.45 system-ui,sans-serif;margin:0 auto;max-width:1280px;padding:0 20px;color:#222}\
h1{margin:.6em 0 .1em}h2{border-bottom:1px solid #ddd;padding-bottom:.2em;margin-top:1.6em}\
.meta,.muted{color:#888}nav a{margin-right:1em}code{background:#f4f4f4;padding:0 3px;border-radius:3px}\
.verdict{font-weight:600;padding:.4em .8em;border-radius:6px;display:inline-block}\
.ok{color:#1a7f37}.bad{color:#cf222e}.warn{color:#9a6700}.verdict.ok{background:#dafbe1}.verdict.bad{background:#ffebe9}.verdict.warn{background:#fff8c5}\
table{border-collapse:collapse;width:100%;margin:.4em 0}td,th{border-bottom:1px solid #eee;padding:3px 6px;text-align:left;vertical-align:top}\
tr.check.bad{background:#fff5f5}.detail{margin:2px 0}.exp{color:#1a7f37}.act{color:#cf222e}\
details.group>summary,details.trace>summary{cursor:pointer;padding:.3em 0}\
.waterfall{border:1px solid #eee;border-radius:6px;margin:.3em 0 1em}\
.row{display:flex;border-bottom:1px solid #f3f3f3;font-size:12px}.row.failed{background:#fff0f0}\
.name{flex:0 0 42%;white-space:nowrap;overflow:hidden;text-overflow:ellipsis;padding:2px 4px}\
.svc{color:#888;margin-left:.6em}.dot{display:inline-block;width:9px;height:9px;border-radius:50%;margin-right:5px}\
.lane{flex:1;position:relative;min-height:18px}.bar{position:absolute;top:4px;height:10px;border-radius:2px;opacity:.85}\
.row.failed .bar{outline:2px solid #cf222e}.dur{position:absolute;top:1px;margin-left:4px;color:#666;font-size:11px}\
svg .edge{stroke:#555;stroke-width:1.6}svg .edge.async{stroke-dasharray:6 4;stroke:#8250df}\
svg text{font-size:11px;fill:#111}.legend .async-l{color:#8250df}";

const JS: &str = "document.querySelectorAll('details.trace summary').forEach(function(s){s.addEventListener('dblclick',function(){document.querySelectorAll('details.trace').forEach(function(d){d.open=!d.open;});});});";

#[cfg(test)]
mod tests;
