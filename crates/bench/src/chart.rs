//! The PNG: one horizontal bar per metric, Oxbow/Kafka ratio on a log scale, with the goal marked.
//!
//! Text is drawn with ab_glyph from a TrueType file read at run time (Debian's fonts-dejavu-core
//! by default), so no fontconfig or freetype is linked.

use crate::report::{Goal, Report};
use anyhow::{bail, Context, Result};
use plotters::coord::ranged1d::SegmentValue;
use plotters::prelude::*;
use std::path::Path;
use std::sync::OnceLock;

const FONT_PATHS: &[&str] = &["/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", "/usr/share/fonts/TTF/DejaVuSans.ttf"];
/// Overrides the font file (any TrueType/OpenType font).
const FONT_ENV: &str = "OXBOW_BENCH_FONT";
const WIDTH_PX: u32 = 1200;
const ROW_PX: u32 = 44;

const MET: RGBColor = RGBColor(46, 160, 67);
const NOT_MET: RGBColor = RGBColor(207, 34, 46);
const NO_GOAL: RGBColor = RGBColor(130, 140, 150);

/// Registers the font once per process; plotters keeps it for the process's lifetime.
fn register_font() -> Result<()> {
    static REGISTERED: OnceLock<Result<(), String>> = OnceLock::new();
    let result = REGISTERED.get_or_init(|| {
        let candidates: Vec<String> = match std::env::var(FONT_ENV) {
            Ok(path) => vec![path],
            Err(_) => FONT_PATHS.iter().map(|path| path.to_string()).collect(),
        };
        let Some((path, bytes)) = candidates.iter().find_map(|path| std::fs::read(path).ok().map(|bytes| (path, bytes))) else {
            return Err(format!(
                "no font at {}: install Debian's fonts-dejavu-core (apt-get install fonts-dejavu-core) or set {FONT_ENV}",
                candidates.join(" or ")
            ));
        };
        // plotters wants 'static font bytes; one font per process, so leaking it is the point.
        let bytes: &'static [u8] = Box::leak(bytes.into_boxed_slice());
        plotters::style::register_font("sans-serif", FontStyle::Normal, bytes)
            .map_err(|_| format!("{path} is not a usable TrueType font"))
    });
    match result {
        Ok(()) => Ok(()),
        Err(message) => bail!("{message}"),
    }
}

pub fn draw(report: &Report, path: &Path) -> Result<()> {
    register_font()?;
    let rows: Vec<_> = report.metrics.iter().filter(|metric| metric.ratio.is_some()).collect();
    if rows.is_empty() {
        bail!("no ratios to draw (Kafka or Oxbow figures missing)");
    }
    let height_px = 140 + ROW_PX * rows.len() as u32;
    let root = BitMapBackend::new(path, (WIDTH_PX, height_px)).into_drawing_area();
    root.fill(&WHITE).context("drawing")?;
    let title = format!(
        "Oxbow / Apache Kafka {}  (green: goal met, red: not met, grey: no goal; | goal)",
        report.kafka_version.as_deref().unwrap_or("")
    );
    // Ratios span from start-up (~0.01) to throughput (~1-10); a log axis shows both.
    let lowest = rows
        .iter()
        .filter_map(|m| m.ratio)
        .chain(rows.iter().filter_map(|m| m.goal.map(Goal::value)))
        .fold(1.0f64, f64::min);
    let highest = rows
        .iter()
        .filter_map(|m| m.ratio)
        .chain(rows.iter().filter_map(|m| m.goal.map(Goal::value)))
        .fold(1.0f64, f64::max);
    let x_min = 10f64.powf((lowest.log10() - 0.3).floor());
    let x_max = 10f64.powf((highest.log10() + 0.3).ceil());
    let count = rows.len() as u32;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 22))
        .margin(20)
        .x_label_area_size(40)
        .y_label_area_size(300)
        // A segmented 0..n range has n + 1 segments (the end is a segment too): stop at count - 1.
        .build_cartesian_2d((x_min..x_max).log_scale(), (0u32..count - 1).into_segmented())
        .context("building the chart")?;
    // Rows are drawn bottom-up; put the first metric at the top.
    let label_of = |value: &SegmentValue<u32>| match value {
        SegmentValue::CenterOf(index) if *index < count => rows[(count - 1 - index) as usize].label.clone(),
        _ => String::new(),
    };
    chart
        .configure_mesh()
        .disable_y_mesh()
        .y_labels(rows.len())
        .y_label_formatter(&label_of)
        .x_desc("Oxbow / Kafka (log scale; 1 = parity)")
        .x_label_formatter(&|x| {
            if *x >= 1.0 {
                format!("{x:.0}x")
            } else {
                format!("{x}x")
            }
        })
        .label_style(("sans-serif", 15))
        .axis_desc_style(("sans-serif", 16))
        .draw()
        .context("drawing the axes")?;

    for (position, metric) in rows.iter().enumerate() {
        let row = count - 1 - position as u32;
        let ratio = metric.ratio.expect("filtered");
        let color = match metric.met {
            Some(true) => MET,
            Some(false) => NOT_MET,
            None => NO_GOAL,
        };
        let bar = Rectangle::new(
            [(x_min, SegmentValue::Exact(row)), (ratio.max(x_min), SegmentValue::Exact(row + 1))],
            color.mix(0.85).filled(),
        );
        let mut bar = bar;
        bar.set_margin(8, 8, 0, 0);
        chart.draw_series(std::iter::once(bar)).context("drawing a bar")?;
        chart
            .draw_series(std::iter::once(Text::new(
                crate::report::ratio_label(ratio),
                // Right of the bar and of its goal line, so neither hides the figure.
                (ratio.max(x_min).max(metric.goal.map_or(0.0, Goal::value)) * 1.08, SegmentValue::CenterOf(row)),
                ("sans-serif", 14).into_font().color(&BLACK),
            )))
            .context("drawing a label")?;
        if let Some(goal) = metric.goal {
            let line = PathElement::new(
                vec![(goal.value(), SegmentValue::Exact(row)), (goal.value(), SegmentValue::Exact(row + 1))],
                BLACK.stroke_width(3),
            );
            chart.draw_series(std::iter::once(line)).context("drawing a goal")?;
        }
    }
    let parity = PathElement::new(
        vec![(1.0, SegmentValue::Exact(0)), (1.0, SegmentValue::Last)],
        BLACK.mix(0.4).stroke_width(1),
    );
    chart.draw_series(std::iter::once(parity)).context("drawing parity")?;
    root.present().with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::broker::Flavor;
    use crate::load::{LatencyResult, ThroughputResult};
    use crate::report::{Phase, TargetReport};

    fn target(flavor: Flavor, scale: f64) -> TargetReport {
        let mut target = TargetReport::new(flavor);
        target.startup_ms = Some(3000.0 / scale.powi(4));
        target.rss_idle_bytes = Some((400e6 / scale.powi(3)) as u64);
        target.rss_load_peak_bytes = Some((600e6 / scale.powi(2)) as u64);
        for size in [100usize, 1024] {
            for acks in ["1", "all"] {
                let records_per_s = 300_000.0 * scale;
                let produce = ThroughputResult {
                    records: 1,
                    bytes: 1,
                    elapsed_s: 1.0,
                    records_per_s,
                    mb_per_s: records_per_s * size as f64 / 1e6,
                    generator_cpu_cores: 0.5,
                };
                target.produce.push(Phase::new(format!("{size}b-acks-{acks}"), Ok(produce), 0.5));
            }
            let consume = ThroughputResult {
                records: 1,
                bytes: 1,
                elapsed_s: 1.0,
                records_per_s: 1e6 * scale,
                mb_per_s: 100.0,
                generator_cpu_cores: 0.5,
            };
            target.consume.push(Phase::new(format!("{size}b"), Ok(consume), 0.5));
        }
        target.latency = Some(Ok(LatencyResult {
            rate_per_s: 5000,
            measured_records: 1,
            received_records: 1,
            p50_ms: 5.0 / scale,
            p99_ms: 15.0 / scale,
            p999_ms: 20.0 / scale,
            max_ms: 30.0,
            warmup_s: 1.0,
            warm: true,
            topic_ready_ms: None,
            broker_cpu_cores: None,
            per_second: Vec::new(),
            per_partition: Vec::new(),
        }));
        target.replication = Some(crate::report::tests::replication(scale));
        target
    }

    #[test]
    fn draws_a_chart_from_a_report() {
        if let Err(error) = register_font() {
            eprintln!("skipped: {error:#}");
            return;
        }
        let plan = crate::Plan::from_args(
            &<crate::BenchArgs as clap::FromArgMatches>::from_arg_matches(
                &<crate::BenchArgs as clap::Args>::augment_args(clap::Command::new("t"))
                    .get_matches_from(["t", "--quick"]),
            )
            .expect("valid args"),
        );
        let targets = vec![target(Flavor::Oxbow, 1.7), target(Flavor::Kafka, 1.0)];
        let report = Report::new(plan, Err("not measured".into()), targets, Some("4.x".into()));
        let dir = tempfile::tempdir().expect("temp dir");
        let path = std::env::var_os("OXBOW_BENCH_CHART_TEST_OUT")
            .map(std::path::PathBuf::from)
            .unwrap_or_else(|| dir.path().join("bench.png"));
        draw(&report, &path).expect("chart drawn");
        assert!(std::fs::metadata(&path).expect("png written").len() > 1_000);
        assert!(report.table().contains("NOT MET"));
    }
}
