//! Throughput samples from the inside view's counters, and the throughput chart (SVG, plotters).

use crate::error::{Error, Result};
use crate::inside::InsideView;
use crate::model::MetricsSeries;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// One sample per this many ms.
pub const SAMPLE_INTERVAL_MS: u64 = 1_000;
/// Samples kept (5 minutes at one per second); older ones are dropped.
pub const SAMPLES_MAX: usize = 300;
/// Chart size bounds, in pixels.
pub const CHART_SIDE_PX_MIN: u32 = 100;
pub const CHART_SIDE_PX_MAX: u32 = 4_000;

#[derive(Clone, Copy, Debug, Default)]
struct Totals {
    bytes_in: u64,
    records_in: u64,
    bytes_out: u64,
}

#[derive(Clone, Copy, Debug)]
struct Sample {
    at_ms: i64,
    produce_bytes_per_s: f64,
    fetch_bytes_per_s: f64,
    produce_records_per_s: f64,
}

/// Throughput history of the embedded cluster.
pub struct Metrics {
    inside: Option<Arc<dyn InsideView>>,
    samples: Mutex<VecDeque<Sample>>,
}

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}

impl Metrics {
    pub fn new(inside: Option<Arc<dyn InsideView>>) -> Metrics {
        Metrics { inside, samples: Mutex::new(VecDeque::with_capacity(SAMPLES_MAX)) }
    }

    fn totals(inside: &dyn InsideView) -> Totals {
        inside.brokers().iter().fold(Totals::default(), |t, b| Totals {
            bytes_in: t.bytes_in + b.bytes_in_total,
            records_in: t.records_in + b.records_in_total,
            bytes_out: t.bytes_out + b.bytes_out_total,
        })
    }

    /// Spawns the sampler on the current Tokio runtime (nothing to sample without an inside view).
    /// It holds only a weak reference, so it ends when the studio is dropped.
    pub fn start_sampler(self: Arc<Self>) {
        if self.inside.is_none() {
            return;
        }
        let weak = Arc::downgrade(&self);
        drop(self);
        tokio::spawn(async move {
            let mut ticker = tokio::time::interval(Duration::from_millis(SAMPLE_INTERVAL_MS));
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let mut previous: Option<(std::time::Instant, Totals)> = None;
            loop {
                ticker.tick().await;
                let Some(metrics) = weak.upgrade() else {
                    return;
                };
                let Some(inside) = metrics.inside.clone() else {
                    return;
                };
                let totals =
                    tokio::task::spawn_blocking(move || Metrics::totals(inside.as_ref())).await.unwrap_or_default();
                let now = std::time::Instant::now();
                if let Some((then, before)) = previous {
                    let seconds = now.duration_since(then).as_secs_f64().max(0.001);
                    let rate = |a: u64, b: u64| a.saturating_sub(b) as f64 / seconds;
                    let sample = Sample {
                        at_ms: now_ms(),
                        produce_bytes_per_s: rate(totals.bytes_in, before.bytes_in),
                        fetch_bytes_per_s: rate(totals.bytes_out, before.bytes_out),
                        produce_records_per_s: rate(totals.records_in, before.records_in),
                    };
                    let mut samples = metrics.samples.lock().unwrap_or_else(|e| e.into_inner());
                    if samples.len() == SAMPLES_MAX {
                        samples.pop_front();
                    }
                    samples.push_back(sample);
                }
                previous = Some((now, totals));
            }
        });
    }

    /// The series; `inside_active` says whether the active profile is the embedded cluster.
    pub fn series(&self, inside_active: bool) -> MetricsSeries {
        if self.inside.is_none() || !inside_active {
            return MetricsSeries {
                interval_ms: SAMPLE_INTERVAL_MS,
                available: false,
                reason: Some("throughput comes from the embedded broker's counters; an external cluster does not expose them over the Kafka protocol".into()),
                produce_bytes_per_s: Vec::new(),
                fetch_bytes_per_s: Vec::new(),
                produce_records_per_s: Vec::new(),
                last_sample_ms: None,
            };
        }
        let samples = self.samples.lock().unwrap_or_else(|e| e.into_inner());
        MetricsSeries {
            interval_ms: SAMPLE_INTERVAL_MS,
            available: true,
            reason: None,
            produce_bytes_per_s: samples.iter().map(|s| s.produce_bytes_per_s).collect(),
            fetch_bytes_per_s: samples.iter().map(|s| s.fetch_bytes_per_s).collect(),
            produce_records_per_s: samples.iter().map(|s| s.produce_records_per_s).collect(),
            last_sample_ms: samples.back().map(|s| s.at_ms),
        }
    }
}

/// "12.3 MB/s" style label.
fn human_rate(bytes_per_s: f64) -> String {
    const UNITS: [&str; 5] = ["B/s", "kB/s", "MB/s", "GB/s", "TB/s"];
    let mut value = bytes_per_s.max(0.0);
    let mut unit = 0;
    while value >= 1000.0 && unit < UNITS.len() - 1 {
        value /= 1000.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

/// Produce and fetch bytes/s as an SVG line chart. Draws only lines, rectangles and text elements
/// (no font measuring), so it is cheap and needs no fonts on the machine.
pub fn throughput_svg(series: &MetricsSeries, width: u32, height: u32, dark: bool) -> Result<String> {
    use plotters::prelude::*;
    for (field, value) in [("width", width), ("height", height)] {
        if !(CHART_SIDE_PX_MIN..=CHART_SIDE_PX_MAX).contains(&value) {
            return Err(Error::bad_input(
                field,
                format!("must be between {CHART_SIDE_PX_MIN} and {CHART_SIDE_PX_MAX} pixels, got {value}"),
            ));
        }
    }
    let (background, foreground, grid) = if dark {
        (RGBColor(24, 26, 32), RGBColor(220, 223, 228), RGBColor(60, 64, 72))
    } else {
        (WHITE, RGBColor(40, 44, 52), RGBColor(225, 228, 232))
    };
    let produce_colour = RGBColor(47, 128, 237);
    let fetch_colour = RGBColor(235, 120, 40);
    let mut svg = String::with_capacity(8 * 1024);
    {
        let draw_error = |e: DrawingAreaErrorKind<std::io::Error>| Error::Internal(format!("drawing the chart: {e}"));
        let root = SVGBackend::with_string(&mut svg, (width, height)).into_drawing_area();
        root.fill(&background).map_err(draw_error)?;
        let (w, h) = (width as i32, height as i32);
        let (left, right, top, bottom) = (8, w - 8, 24, h - 8);
        let max = series
            .produce_bytes_per_s
            .iter()
            .chain(series.fetch_bytes_per_s.iter())
            .copied()
            .fold(0.0f64, f64::max)
            .max(1.0);
        for step in 0..=4 {
            let y = bottom - (bottom - top) * step / 4;
            root.draw(&PathElement::new(vec![(left, y), (right, y)], grid.stroke_width(1))).map_err(draw_error)?;
        }
        let title = if series.available {
            format!(
                "produce {}   fetch {}   (max {})",
                human_rate(series.produce_bytes_per_s.last().copied().unwrap_or(0.0)),
                human_rate(series.fetch_bytes_per_s.last().copied().unwrap_or(0.0)),
                human_rate(max)
            )
        } else {
            "throughput: not available for this cluster".to_string()
        };
        root.draw(&Text::new(title, (left, 6), ("sans-serif", 12).into_font().color(&foreground)))
            .map_err(draw_error)?;
        let points = |values: &[f64]| -> Vec<(i32, i32)> {
            let n = SAMPLES_MAX.max(values.len());
            let start = n - values.len();
            values
                .iter()
                .enumerate()
                .map(|(i, v)| {
                    let x = left + ((right - left) as f64 * (start + i) as f64 / (n - 1).max(1) as f64) as i32;
                    let y = bottom - ((bottom - top) as f64 * (v / max).clamp(0.0, 1.0)) as i32;
                    (x, y)
                })
                .collect()
        };
        for (values, colour) in
            [(&series.produce_bytes_per_s, produce_colour), (&series.fetch_bytes_per_s, fetch_colour)]
        {
            if values.len() >= 2 {
                root.draw(&PathElement::new(points(values), colour.stroke_width(2))).map_err(draw_error)?;
            }
        }
        root.present().map_err(draw_error)?;
    }
    Ok(svg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chart_is_svg_and_bounds_are_checked() {
        let series = MetricsSeries {
            interval_ms: 1000,
            available: true,
            reason: None,
            produce_bytes_per_s: vec![0.0, 1000.0, 5000.0],
            fetch_bytes_per_s: vec![0.0, 500.0, 100.0],
            produce_records_per_s: vec![0.0, 10.0, 50.0],
            last_sample_ms: Some(1),
        };
        let svg = throughput_svg(&series, 400, 200, true).unwrap();
        assert!(svg.starts_with("<svg"), "{}", &svg[..60.min(svg.len())]);
        assert!(svg.contains("<polyline") || svg.contains("<path"));
        assert!(throughput_svg(&series, 10, 200, false).unwrap_err().to_string().starts_with("width:"));
        assert_eq!(human_rate(1_500_000.0), "1.5 MB/s");
    }
}
