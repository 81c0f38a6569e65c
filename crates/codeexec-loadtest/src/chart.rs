//! The latency chart: p50 (solid) and p95 (dashed) latency of each language against the number of
//! concurrent clients, as an SVG drawn by plotters. Text is left to the SVG viewer's fonts, so
//! drawing needs no font files on this machine.

use plotters::prelude::*;

use super::stats::StepStats;

const SIZE: (u32, u32) = (960, 600);
/// One color per language, told apart also in print (Tableau's first six).
const COLORS: [RGBColor; 6] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
];

/// A language's latency at one step. Steps are evenly spaced on the chart, which for
/// concurrencies 1, 2, 4, ... is a log scale.
struct Point {
    step: usize,
    p50: f64,
    p95: f64,
}

/// One language's line: a point per step that finished jobs.
fn points(steps: &[StepStats], language: &str) -> Vec<Point> {
    steps
        .iter()
        .enumerate()
        .filter_map(|(index, step)| {
            let latency = step.language(language)?.latency?;
            Some(Point {
                step: index,
                p50: latency.p50,
                p95: latency.p95,
            })
        })
        .collect()
}

/// The chart of `steps` for `languages`, as SVG text.
pub fn latency_chart(steps: &[StepStats], languages: &[String]) -> Result<String, String> {
    let mut svg = String::new();
    draw(&mut svg, steps, languages).map_err(|error| format!("cannot draw the chart: {error}"))?;
    Ok(svg)
}

fn draw(
    svg: &mut String,
    steps: &[StepStats],
    languages: &[String],
) -> Result<(), Box<dyn std::error::Error>> {
    let lines: Vec<(&String, Vec<Point>)> = languages
        .iter()
        .map(|language| (language, points(steps, language)))
        .collect();
    let latencies = || lines.iter().flat_map(|(_, line)| line.iter());
    let lowest = latencies().map(|point| point.p50).fold(f64::MAX, f64::min);
    let highest = latencies().map(|point| point.p95).fold(0.0, f64::max);
    // The log axis labels whole decades from its lower end up, so that end is a power of ten.
    let (lowest, highest) = if highest > 0.0 {
        let decade = 10f64.powf((lowest * 0.9).max(0.1).log10().floor());
        (decade, highest * 1.5)
    } else {
        (1.0, 1000.0)
    };
    // Ticks fall on whole steps; any between them stay unlabelled.
    let concurrency_of = |position: &f64| match steps.get(position.round() as usize) {
        Some(step) if (position - position.round()).abs() < 1e-6 => step.concurrency.to_string(),
        _ => String::new(),
    };

    let root = SVGBackend::with_string(svg, SIZE).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            "Hello world latency against concurrency (mixed workload)",
            ("sans-serif", 22),
        )
        .margin(18)
        .x_label_area_size(48)
        .y_label_area_size(70)
        .build_cartesian_2d(
            -0.4..(steps.len().max(1) as f64 - 0.6),
            (lowest..highest).log_scale(),
        )?;
    chart
        .configure_mesh()
        .label_style(("sans-serif", 14))
        .light_line_style(WHITE)
        .axis_desc_style(("sans-serif", 15))
        .x_desc("concurrent clients (solid: p50, dashed: p95)")
        .y_desc("latency, ms (log scale)")
        .x_labels(steps.len().max(2))
        .x_label_formatter(&concurrency_of)
        .y_labels(30)
        .y_label_formatter(&|ms| format!("{ms:.0}"))
        .draw()?;
    for (index, (language, line)) in lines.iter().enumerate() {
        let color = COLORS[index % COLORS.len()].to_rgba();
        let at = |index: usize, ms: f64| (index as f64, ms);
        let p50: Vec<_> = line.iter().map(|point| at(point.step, point.p50)).collect();
        let p95: Vec<_> = line.iter().map(|point| at(point.step, point.p95)).collect();
        chart
            .draw_series(LineSeries::new(p50.clone(), color.stroke_width(2)))?
            .label(language.as_str())
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], color.stroke_width(2)));
        chart.draw_series(
            p50.iter()
                .map(|point| Circle::new(*point, 3, color.filled())),
        )?;
        chart.draw_series(DashedLineSeries::new(p95, 6, 4, color.stroke_width(1)))?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .label_font(("sans-serif", 14))
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()?;
    root.present()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::StepRecord;
    use crate::stats::step_stats;
    use crate::stats::tests::finished;

    fn steps() -> Vec<StepStats> {
        [1, 2, 4]
            .into_iter()
            .map(|concurrency| {
                let slower = concurrency as f64 * 100.0;
                step_stats(&StepRecord {
                    concurrency,
                    languages: vec!["python".into(), "java".into()],
                    warmup_secs: 0.0,
                    window_secs: 2.0,
                    samples: vec![
                        finished("python", 30.0 + slower, 1.0, 20.0, 24.0),
                        finished("java", 900.0 + slower, 1.0, 100.0, 800.0),
                    ],
                })
            })
            .collect()
    }

    #[test]
    fn the_chart_is_svg_with_its_text_and_a_line_per_language() {
        let languages = vec!["python".to_string(), "java".to_string()];
        let svg = latency_chart(&steps(), &languages).unwrap();
        assert!(svg.starts_with("<svg"), "{}", &svg[..100]);
        // The SVG backend writes each text on a line of its own.
        for text in [
            "latency, ms",
            "concurrent clients",
            "\npython\n",
            "\njava\n",
            "\n4\n",
        ] {
            assert!(svg.contains(text), "{text} missing from the chart");
        }
        assert!(svg.matches("<polyline").count() >= 4, "lines missing");
    }

    #[test]
    fn a_chart_without_finished_jobs_still_draws() {
        let languages = vec!["ruby".to_string()];
        let svg = latency_chart(&steps(), &languages).unwrap();
        assert!(svg.contains("<text"));
    }
}
