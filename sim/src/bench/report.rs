//! The three outputs of a benchmark: a table on the terminal, the JSON, and a self-contained
//! HTML report in Caliper's layout (summary table, then per round its details, charts of
//! throughput and latency over time, the latency histogram and resources per process; charts
//! are inline SVG drawn with plotters, so the file needs nothing else to open).

use plotters::prelude::*;
use serde_json::Value;
use std::fmt::Write as _;

/// Caliper's summary table (plus the percentiles), one row per round.
pub(crate) fn summary_table(rounds: &[Value]) -> String {
    let mut out = String::from(
        "| Name | Succ | Fail | Send Rate (TPS) | Max Latency (s) | Min Latency (s) | Avg Latency (s) | p50 (s) | p95 (s) | p99 (s) | Throughput (TPS) |\n|---|---|---|---|---|---|---|---|---|---|---|\n",
    );
    for r in rounds {
        let l = &r["latency_ms"];
        let s = |key: &str| l[key].as_f64().unwrap_or(0.0) / 1000.0;
        let _ = writeln!(
            out,
            "| {} | {} | {} | {:.1} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} | {:.1} |",
            r["label"].as_str().unwrap_or(""),
            r["succeeded"],
            r["failed"],
            r["send_rate"].as_f64().unwrap_or(0.0),
            s("max"),
            s("min"),
            s("avg"),
            s("p50"),
            s("p95"),
            s("p99"),
            r["throughput"].as_f64().unwrap_or(0.0),
        );
    }
    out
}

/// Caliper's resource table of one round: per process CPU and memory, disk IO.
pub(crate) fn resource_table(round: &Value) -> String {
    let mut out = format!(
        "Resources during {}:\n| Process | CPU% (max) | CPU% (avg) | Memory (max MiB) | Memory (avg MiB) | Disk Write (MB) | Disk Read (MB) |\n|---|---|---|---|---|---|---|\n",
        round["label"].as_str().unwrap_or("")
    );
    for p in round["resources"]["processes"].as_array().into_iter().flatten() {
        let _ = writeln!(
            out,
            "| {} ({}) | {} | {} | {} | {} | {} | {} |",
            p["name"].as_str().unwrap_or(""),
            p["pid"],
            p["cpu_max_percent"],
            p["cpu_avg_percent"],
            p["memory_max_mib"],
            p["memory_avg_mib"],
            p["disk_write_mb"],
            p["disk_read_mb"],
        );
    }
    for n in round["resources"]["networks"].as_array().into_iter().flatten() {
        let names: Vec<&str> =
            n["processes"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
        let _ = writeln!(
            out,
            "Network of {}: {} MB in, {} MB out",
            names.join(", "),
            n["received_mb"],
            n["sent_mb"]
        );
    }
    out
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

const STYLE: &str = "body{font-family:sans-serif;margin:2em;color:#222}table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #bbb;padding:4px 8px;text-align:right}th{background:#eef}td:first-child,th:first-child{text-align:left}h2{border-bottom:2px solid #447;padding-bottom:4px}.charts{display:flex;flex-wrap:wrap;gap:1em}pre{background:#f6f6f6;padding:1em}";

/// The HTML report: `environment` is shown as given (machine, command line, network).
pub(crate) fn html(rounds: &[Value], environment: &str) -> eyre::Result<String> {
    let mut out = String::new();
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Veil benchmark report</title><style>{STYLE}</style></head><body>\n<h1>Veil benchmark report</h1>\n<h2>Summary of performance metrics</h2>\n{}",
        markdown_table_to_html(&summary_table(rounds))
    );
    for (i, r) in rounds.iter().enumerate() {
        let label = escape(r["label"].as_str().unwrap_or(""));
        let _ = write!(
            out,
            "<h2 id=\"round-{i}\">Round {}: {label}</h2>\n<p>{} — {}, {}, {} clients.</p>\n",
            i + 1,
            escape(r["workload"].as_str().unwrap_or("")),
            escape(r["control"].as_str().unwrap_or("")),
            escape(r["end"].as_str().unwrap_or("")),
            r["clients"],
        );
        out.push_str(&markdown_table_to_html(&summary_table(std::slice::from_ref(r))));
        if let Some(failures) = r["failures"].as_object().filter(|f| !f.is_empty()) {
            out.push_str("<p>Failures:</p><ul>");
            for (why, count) in failures {
                let _ = write!(out, "<li>{count} × {}</li>", escape(why));
            }
            out.push_str("</ul>");
        }
        out.push_str("<div class=\"charts\">");
        out.push_str(&over_time(r)?);
        out.push_str(&latency_over_time(r)?);
        out.push_str(&histogram(r)?);
        out.push_str(&cpu_per_process(r)?);
        out.push_str("</div>");
        out.push_str(&markdown_table_to_html(&resource_table(r)));
    }
    let _ = write!(
        out,
        "<h2>Test environment</h2>\n<pre>{}</pre>\n</body></html>\n",
        escape(environment)
    );
    Ok(out)
}

/// The tables above as HTML (text lines become paragraphs).
fn markdown_table_to_html(text: &str) -> String {
    let mut out = String::new();
    let mut in_table = false;
    for line in text.lines() {
        if let Some(row) = line.strip_prefix('|') {
            if row.starts_with("---") {
                continue;
            }
            let cells: Vec<&str> = row.trim_end_matches('|').split('|').map(str::trim).collect();
            let tag = if in_table { "td" } else { "th" };
            if !in_table {
                out.push_str("<table>");
                in_table = true;
            }
            out.push_str("<tr>");
            for cell in cells {
                let _ = write!(out, "<{tag}>{}</{tag}>", escape(cell));
            }
            out.push_str("</tr>");
        } else {
            if in_table {
                out.push_str("</table>\n");
                in_table = false;
            }
            if !line.is_empty() {
                let _ = writeln!(out, "<p>{}</p>", escape(line));
            }
        }
    }
    if in_table {
        out.push_str("</table>\n");
    }
    out
}

const SIZE: (u32, u32) = (560, 300);

fn series(round: &Value, key: &str) -> Vec<(f64, f64)> {
    round["timeline"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|p| (p["second"].as_f64().unwrap_or(0.0), p[key].as_f64().unwrap_or(0.0)))
        .collect()
}

fn top(values: impl Iterator<Item = f64>) -> f64 {
    values.fold(1.0, f64::max) * 1.1
}

fn draw_error(e: impl std::fmt::Display) -> eyre::Report {
    eyre::eyre!("drawing a chart: {e}")
}

/// One chart as SVG: the white canvas, the caption and the axes' room, then `body`'s drawing
/// on the chart builder.
fn chart(
    caption: &str,
    body: impl FnOnce(&mut ChartBuilder<'_, '_, SVGBackend<'_>>) -> eyre::Result<()>,
) -> eyre::Result<String> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        root.fill(&WHITE).map_err(draw_error)?;
        let mut builder = ChartBuilder::on(&root);
        builder
            .caption(caption, ("sans-serif", 16))
            .margin(10)
            .x_label_area_size(30)
            .y_label_area_size(50);
        body(&mut builder)?;
        root.present().map_err(draw_error)?;
    }
    Ok(svg)
}

/// Sent and done per second over the round.
fn over_time(round: &Value) -> eyre::Result<String> {
    let (sent, done) = (series(round, "sent"), series(round, "done"));
    let x = sent.len().max(1) as f64;
    let y = top(sent.iter().chain(&done).map(|p| p.1));
    chart("Send rate and throughput (tx/s)", |builder| {
        let mut chart = builder.build_cartesian_2d(0.0..x + 1.0, 0.0..y).map_err(draw_error)?;
        chart.configure_mesh().x_desc("second of the round").draw().map_err(draw_error)?;
        chart
            .draw_series(LineSeries::new(sent.clone(), &BLUE))
            .map_err(draw_error)?
            .label("sent")
            .legend(|(x, y)| PathElement::new([(x, y), (x + 16, y)], BLUE));
        chart
            .draw_series(LineSeries::new(done.clone(), &RED))
            .map_err(draw_error)?
            .label("mined")
            .legend(|(x, y)| PathElement::new([(x, y), (x + 16, y)], RED));
        // Points too: a round of a second or two is one or two points.
        chart
            .draw_series(sent.iter().map(|p| Circle::new(*p, 3, BLUE.filled())))
            .map_err(draw_error)?;
        chart
            .draw_series(done.iter().map(|p| Circle::new(*p, 3, RED.filled())))
            .map_err(draw_error)?;
        chart.configure_series_labels().border_style(BLACK).draw().map_err(draw_error)?;
        Ok(())
    })
}

/// Average latency of the transactions done in each second.
fn latency_over_time(round: &Value) -> eyre::Result<String> {
    let latency: Vec<(f64, f64)> =
        series(round, "avg_latency_ms").into_iter().filter(|p| p.1 > 0.0).collect();
    let x = round["timeline"].as_array().map_or(1, Vec::len) as f64;
    let y = top(latency.iter().map(|p| p.1));
    chart("Average latency (ms) over time", |builder| {
        let mut chart = builder.build_cartesian_2d(0.0..x + 1.0, 0.0..y).map_err(draw_error)?;
        chart.configure_mesh().x_desc("second of the round").draw().map_err(draw_error)?;
        chart.draw_series(LineSeries::new(latency.clone(), &MAGENTA)).map_err(draw_error)?;
        chart
            .draw_series(latency.iter().map(|p| Circle::new(*p, 3, MAGENTA.filled())))
            .map_err(draw_error)?;
        Ok(())
    })
}

/// How many transactions took how long.
fn histogram(round: &Value) -> eyre::Result<String> {
    let buckets: Vec<(f64, f64, f64)> = round["histogram"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|b| {
            (
                b["from_ms"].as_f64().unwrap_or(0.0),
                b["to_ms"].as_f64().unwrap_or(0.0),
                b["count"].as_f64().unwrap_or(0.0),
            )
        })
        .collect();
    let low = buckets.first().map_or(0.0, |b| b.0);
    let high = buckets.last().map_or(1.0, |b| b.1).max(low + 1.0);
    let y = top(buckets.iter().map(|b| b.2));
    chart("Latency histogram", |builder| {
        let mut chart = builder.build_cartesian_2d(low..high, 0.0..y).map_err(draw_error)?;
        chart
            .configure_mesh()
            .x_desc("latency (ms)")
            .y_desc("transactions")
            .draw()
            .map_err(draw_error)?;
        chart
            .draw_series(buckets.iter().map(|(from, to, count)| {
                Rectangle::new([(*from, 0.0), (*to, *count)], BLUE.mix(0.6).filled())
            }))
            .map_err(draw_error)?;
        Ok(())
    })
}

/// Average and busiest CPU of each process (% of one core).
fn cpu_per_process(round: &Value) -> eyre::Result<String> {
    let processes: Vec<(String, f64, f64)> = round["resources"]["processes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|p| p["running"] == true)
        .map(|p| {
            (
                p["name"].as_str().unwrap_or("").to_string(),
                p["cpu_avg_percent"].as_f64().unwrap_or(0.0),
                p["cpu_max_percent"].as_f64().unwrap_or(0.0),
            )
        })
        .collect();
    let n = processes.len().max(1);
    let y = top(processes.iter().map(|p| p.2));
    chart("CPU per process (% of a core: avg blue, max red)", |builder| {
        let mut chart =
            builder.build_cartesian_2d((0..n).into_segmented(), 0.0..y).map_err(draw_error)?;
        chart
            .configure_mesh()
            .x_labels(n)
            .x_label_formatter(&|x| match x {
                SegmentValue::CenterOf(i) => {
                    processes.get(*i).map(|p| p.0.clone()).unwrap_or_default()
                }
                _ => String::new(),
            })
            .disable_x_mesh()
            .draw()
            .map_err(draw_error)?;
        chart
            .draw_series(processes.iter().enumerate().map(|(i, p)| {
                Rectangle::new(
                    [(SegmentValue::Exact(i), 0.0), (SegmentValue::CenterOf(i), p.1)],
                    BLUE.mix(0.7).filled(),
                )
            }))
            .map_err(draw_error)?;
        chart
            .draw_series(processes.iter().enumerate().map(|(i, p)| {
                Rectangle::new(
                    [(SegmentValue::CenterOf(i), 0.0), (SegmentValue::Exact(i + 1), p.2)],
                    RED.mix(0.5).filled(),
                )
            }))
            .map_err(draw_error)?;
        Ok(())
    })
}
