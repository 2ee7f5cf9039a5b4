//! Outbound redaction on adversarial text: prints, for 100 KB of each input
//! that made the earlier redactor quadratic or worse, the median time of
//! `recagent_core::agent::redact::redact` over 7 runs, next to 100 KB of
//! ordinary prose, and the machine's load.
//!
//! ```sh
//! cargo run --release -p recagent-core --example bench_redact
//! ```

use std::time::Instant;

use recagent_core::agent::redact::redact;

const BYTES: usize = 100_000;
const RUNS: usize = 7;

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

fn main() {
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!("load average: {}", load.split_whitespace().take(3).collect::<Vec<_>>().join(" "));
    let prose = "Toy Story (1995) is a film I liked; call me at +1 (555) 123-4567 or mail jane@example.com. ";
    let inputs = [
        ("ordinary prose with identifiers", prose),
        ("years: \"1999 \" repeated", "1999 "),
        ("digits: \"1 \" repeated", "1 "),
        ("brackets: \"1)(\" repeated", "1)("),
        ("mixed: \"12 (3 \" repeated", "12 (3 "),
        ("URLs: \"://a\" repeated", "://a"),
        ("IBAN-like: \"AB12 \" repeated", "AB12 "),
        ("dots: \"a.\" repeated", "a."),
        ("at signs: \"x@y \" repeated", "x@y "),
    ];
    println!("{:<36} {:>10} {:>12}", "input (100 KB)", "median ms", "MB/s");
    for (name, unit) in inputs {
        let text = unit.repeat(BYTES / unit.len());
        let times: Vec<f64> = (0..RUNS)
            .map(|_| {
                let t = Instant::now();
                std::hint::black_box(redact(std::hint::black_box(&text)));
                t.elapsed().as_secs_f64() * 1000.0
            })
            .collect();
        let ms = median(times);
        println!("{name:<36} {ms:>10.2} {:>12.1}", text.len() as f64 / 1e6 / (ms / 1000.0));
    }
}
