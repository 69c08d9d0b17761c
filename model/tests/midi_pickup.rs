//! Pickup detection against the Pickup column of the corpus's SOURCES.md, which was read off
//! the LilyPond scores (`\partial`), independently of the MIDI files.

use std::path::Path;

use continuo_model::midi_in::read_midi_file;
use continuo_model::pickup::detect_pickup;
use continuo_model::Grid;

const CORPUS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/corpus");

/// (file, pickup in beats) for every row of the SOURCES.md file table.
fn known_pickups() -> Vec<(String, f64)> {
    let sources = std::fs::read_to_string(format!("{CORPUS}/SOURCES.md"))
        .expect("the corpus's SOURCES.md is readable");
    let mut lines = sources.lines().skip_while(|l| !l.starts_with("| File |"));
    let header: Vec<&str> = lines
        .next()
        .expect("SOURCES.md has a file table")
        .split('|')
        .map(str::trim)
        .collect();
    let file_column = header
        .iter()
        .position(|&c| c == "File")
        .expect("a File column");
    let pickup_column = header
        .iter()
        .position(|&c| c == "Pickup (beats)")
        .expect("a Pickup (beats) column");
    lines
        .skip(1) // the |---| separator
        .take_while(|l| l.starts_with('|'))
        .map(|line| {
            let cells: Vec<&str> = line.split('|').map(str::trim).collect();
            let beats = cells[pickup_column]
                .parse()
                .unwrap_or_else(|_| panic!("a pickup in beats in {line}"));
            (cells[file_column].to_string(), beats)
        })
        .collect()
}

/// The MIDI files under the corpus, as paths relative to it.
fn corpus_midi_files() -> Vec<&'static str> {
    let mut files = Vec::new();
    for folder in ["bach", "other", "variants"] {
        let entries = std::fs::read_dir(Path::new(CORPUS).join(folder)).expect("corpus folder");
        for entry in entries {
            let name = entry.expect("a directory entry").file_name();
            let name = name.to_string_lossy();
            if name.ends_with(".mid") {
                files.push(&*format!("{folder}/{name}").leak());
            }
        }
    }
    files.sort();
    files
}

#[test]
fn detection_matches_the_sources_table() {
    let known = known_pickups();
    let mut table_files: Vec<&str> = known.iter().map(|(f, _)| f.as_str()).collect();
    table_files.sort();
    assert_eq!(
        table_files,
        corpus_midi_files(),
        "every corpus file has a row"
    );

    let mut found = 0;
    let mut missed = Vec::new();
    let mut false_pickups = Vec::new();
    let with_pickup = known.iter().filter(|(_, beats)| *beats > 0.0).count();
    for (file, beats) in &known {
        let score = read_midi_file(&Path::new(CORPUS).join(file), Grid::PAPER)
            .expect("corpus files are readable");
        let expected_steps = (beats * 24.0).round() as usize;
        let detected = detect_pickup(&score);
        println!("{file:45} known {expected_steps:3} detected {detected:3}");
        match (expected_steps, detected) {
            (0, 0) => {}
            (0, _) => false_pickups.push(file.clone()),
            (e, d) if e == d => found += 1,
            _ => missed.push(format!(
                "{file}: {expected_steps} steps, detected {detected}"
            )),
        }
    }
    println!(
        "pickups found {found} of {with_pickup}; false pickups {}; missed {missed:#?}",
        false_pickups.len()
    );
    assert_eq!(with_pickup, 11);
    assert!(false_pickups.is_empty(), "false pickups: {false_pickups:?}");
    assert!(
        found >= 8,
        "only {found} of {with_pickup} pickups found: {missed:#?}"
    );
}
