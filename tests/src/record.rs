//! The plugin's own record of the last phrase, read from its saved state.
//!
//! The plugin keeps what the player played and what it composed, measure by measure, and saves
//! it with the project (the persisted field `last-phrase` of nice-plug's JSON state). A measure
//! the composer finished too late is recorded as skipped. The tests compare this record with
//! what the host received: the notes that came out must be exactly the measures the plugin says
//! it played, and the silent measures exactly those it says it skipped.

use std::collections::BTreeMap;

use serde_json::Value;

/// A note inside one measure, in steps from its bar line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct MeasureNote {
    pub start_step: u32,
    /// Exclusive, at most 96.
    pub end_step: u32,
    pub pitch: u8,
}

/// What the plugin recorded for one measure of its clock.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RecordedMeasure {
    /// The player's notes.
    pub input: Vec<MeasureNote>,
    /// The plugin's notes (also kept when the measure was skipped).
    pub output: Vec<MeasureNote>,
    /// The measure came too late and was not played.
    pub output_skipped: bool,
}

/// The last phrase, by measure number of the plugin's clock.
pub type PhraseRecord = BTreeMap<i64, RecordedMeasure>;

/// Reads the last phrase from a saved state. Panics, naming what is missing, when the state
/// does not hold one.
pub fn last_phrase(state: &[u8]) -> PhraseRecord {
    let state: Value = serde_json::from_slice(json_of(state)).expect("the plugin's state is JSON");
    let field = state["fields"]["last-phrase"]
        .as_str()
        .expect("the state has a persisted field `last-phrase`");
    let phrase: Value = serde_json::from_str(field).expect("`last-phrase` holds JSON");
    let first_measure = phrase["first_measure"]
        .as_i64()
        .expect("the phrase has a first measure");
    let measures = phrase["measures"]
        .as_array()
        .expect("the phrase has a list of measures");
    measures
        .iter()
        .enumerate()
        .map(|(index, measure)| {
            let recorded = RecordedMeasure {
                input: notes(&measure["input"]),
                output: notes(&measure["output"]),
                output_skipped: measure["output_skipped"].as_bool().unwrap_or(false),
            };
            (first_measure + index as i64, recorded)
        })
        .collect()
}

/// nice-plug's CLAP state: the JSON's length as a little-endian u64, then the JSON.
fn json_of(state: &[u8]) -> &[u8] {
    match state.split_first_chunk::<8>() {
        Some((length, json)) if u64::from_le_bytes(*length) == json.len() as u64 => json,
        _ => state,
    }
}

fn notes(list: &Value) -> Vec<MeasureNote> {
    let mut notes: Vec<MeasureNote> = list
        .as_array()
        .map(|notes| {
            notes
                .iter()
                .map(|note| MeasureNote {
                    start_step: note["start_step"].as_u64().unwrap_or(0) as u32,
                    end_step: note["end_step"].as_u64().unwrap_or(0) as u32,
                    pitch: note["pitch"].as_u64().unwrap_or(0) as u8,
                })
                .collect()
        })
        .unwrap_or_default();
    notes.sort();
    notes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_phrase_is_read_from_nice_plugs_json_state() {
        let phrase = r#"{"first_measure":3,"tempo_bpm":120.0,"measures":[
            {"input":[{"start_step":6,"end_step":12,"pitch":60}],"output":[]},
            {"input":[],"output":[{"start_step":0,"end_step":96,"pitch":48},
                                   {"start_step":0,"end_step":24,"pitch":72}],
             "output_skipped":true}]}"#;
        let state = serde_json::json!({
            "version": "0.1.0",
            "params": {"mode": "answer"},
            "fields": {"last-phrase": phrase},
        });
        let json = state.to_string().into_bytes();
        let mut framed = (json.len() as u64).to_le_bytes().to_vec();
        framed.extend_from_slice(&json);
        assert_eq!(last_phrase(&json), last_phrase(&framed));
        let record = last_phrase(&framed);
        assert_eq!(record.keys().copied().collect::<Vec<_>>(), vec![3, 4]);
        assert_eq!(
            record[&3].input,
            vec![MeasureNote {
                start_step: 6,
                end_step: 12,
                pitch: 60
            }]
        );
        assert!(!record[&3].output_skipped);
        assert!(record[&4].output_skipped);
        // Sorted by start, then end: 0..24 before 0..96.
        assert_eq!(record[&4].output[0].pitch, 72);
    }
}
