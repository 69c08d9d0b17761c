//! The editor (egui through nice-plug-egui): the phrase as a piano roll with a playhead, what
//! the plugin is doing, the controls, the model and its card, and MIDI export.
//!
//! It reads the phrase record and the engine's atomics and never touches the audio thread. File
//! dialogs are rfd's: through the desktop portal on Linux (no GTK needed; when no portal is
//! running the dialog does not open, and the path fields next to the buttons do the job).

use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use egui::{Align2, Color32, FontId, Pos2, Rect, Sense, Stroke, StrokeKind, Vec2};
use nice_plug::context::gui::GuiContext;
use nice_plug::prelude::*;
use nice_plug_egui::widgets::ParamSlider;
use nice_plug_egui::{
    create_egui_editor, EguiEditor, EguiEditorState, EguiNiceSettings, Frame, NiceEguiApp,
    RepaintNotifier,
};

use crate::clock::ClockSource;
use crate::engine::{Activity, EngineStatus};
use crate::model::{ModelNotice, ModelShelf, ModelSource};
use crate::params::ContinuoParams;
use crate::phrase::Phrase;

/// The editor's size in logical pixels.
pub const WIDTH: u32 = 980;
pub const HEIGHT: u32 = 600;
/// Measures of the phrase the piano roll shows at most (the newest ones).
const SHOWN_MEASURES: usize = 16;

const PLAYER_COLOUR: Color32 = Color32::from_rgb(86, 156, 214);
const PLUGIN_COLOUR: Color32 = Color32::from_rgb(230, 150, 60);
const SKIPPED_COLOUR: Color32 = Color32::from_rgb(110, 90, 70);
const WARNING_COLOUR: Color32 = Color32::from_rgb(240, 190, 80);
const ERROR_COLOUR: Color32 = Color32::from_rgb(240, 110, 100);

/// What the editor shares with the plugin.
pub struct EditorShared {
    pub params: Arc<ContinuoParams>,
    pub status: Arc<EngineStatus>,
    pub shelf: Arc<ModelShelf>,
}

/// The egui app.
pub struct ContinuoEditor {
    shared: EditorShared,
    /// Set in `build`; sets parameters with host undo and automation recording.
    gui: Option<GuiContext>,
    /// The path typed into the model field.
    typed_path: String,
    /// The path typed into the export field (for systems where no file dialog opens).
    export_path: String,
    /// The outcome of the last export or load, shown under the buttons.
    message: Arc<Mutex<Option<(String, bool)>>>,
}

/// Makes the editor.
pub fn create(
    shared: EditorShared,
    state: Arc<EguiEditorState>,
) -> Option<EguiEditor<ContinuoEditor>> {
    let settings = EguiNiceSettings::new().with_tile("Continuo");
    let app = ContinuoEditor {
        shared,
        gui: None,
        typed_path: String::new(),
        export_path: String::new(),
        message: Arc::new(Mutex::new(None)),
    };
    create_egui_editor(state, RepaintNotifier::new(), settings, app)
}

/// The default editor state.
pub fn default_state() -> Arc<EguiEditorState> {
    EguiEditorState::from_size(
        nice_plug::editor::dpi::LogicalSize::new(WIDTH as f32, HEIGHT as f32),
        1.0,
    )
}

impl NiceEguiApp for ContinuoEditor {
    fn build(
        &mut self,
        _egui_ctx: egui::Context,
        gui: GuiContext,
        _frame: &mut Frame,
    ) -> Result<(), nice_plug_egui::baseview::HandlerError> {
        self.gui = Some(gui);
        Ok(())
    }

    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut Frame) {
        // The playhead moves without any input event.
        ui.ctx().request_repaint_after(Duration::from_millis(33));
        let Some(gui) = self.gui.clone() else {
            return;
        };
        let setter = gui.param_setter();

        egui::Panel::top("model").show(ui, |ui| self.model_bar(ui));
        egui::Panel::left("controls")
            .exact_size(320.0)
            .show(ui, |ui| self.controls(ui, &setter));
        egui::CentralPanel::default().show(ui, |ui| {
            self.status_line(ui);
            let phrase = self.phrase_snapshot();
            self.piano_roll(ui, &phrase);
            self.energy_line(ui, &phrase);
        });
    }

    fn editor_closed(&mut self) {
        self.gui = None;
    }
}

impl ContinuoEditor {
    /// The model's name and card, its notice, and the buttons to change it.
    fn model_bar(&mut self, ui: &mut egui::Ui) {
        ui.horizontal(|ui| {
            ui.heading("Continuo");
            ui.separator();
            match self.shared.shelf.current() {
                Some(model) => {
                    let from = match &model.source {
                        ModelSource::BuiltIn => String::from("built-in"),
                        ModelSource::File(path) => path.display().to_string(),
                    };
                    ui.label(format!("Model: {}", model.summary()))
                        .on_hover_text(from);
                }
                None => {
                    ui.label("Model: none yet");
                }
            }
        });
        match self.shared.shelf.notice() {
            ModelNotice::None => {}
            ModelNotice::Loading(text) => {
                ui.label(text);
            }
            ModelNotice::Problem(text) => {
                ui.colored_label(WARNING_COLOUR, text);
            }
        }
        ui.horizontal(|ui| {
            if ui.button("Load model...").clicked() {
                self.pick_model_file();
            }
            if ui.button("Built-in model").clicked() {
                self.use_model(ModelSource::BuiltIn);
            }
            ui.label("or path:");
            ui.add(egui::TextEdit::singleline(&mut self.typed_path).desired_width(320.0));
            if ui.button("Load").clicked() && !self.typed_path.trim().is_empty() {
                let path = PathBuf::from(self.typed_path.trim());
                self.use_model(ModelSource::File(path));
            }
        });
        if let Some((text, ok)) = self.message.lock().ok().and_then(|m| m.clone()) {
            ui.colored_label(if ok { Color32::GRAY } else { ERROR_COLOUR }, text);
        }
    }

    /// Every parameter, as nice-plug-egui sliders (they set values through the host).
    fn controls(&mut self, ui: &mut egui::Ui, setter: &ParamSetter) {
        let params = self.shared.params.clone();
        egui::ScrollArea::vertical().show(ui, |ui| {
            egui::Grid::new("parameters")
                .num_columns(2)
                .spacing([8.0, 6.0])
                .show(ui, |ui| {
                    row(ui, "Mode", &params.mode, setter);
                    row(ui, "Density", &params.density, setter);
                    row(ui, "Ones (Fixed)", &params.ones, setter);
                    row(ui, "Length", &params.length, setter);
                    row(ui, "Seed", &params.seed, setter);
                    row(ui, "Velocity mode", &params.velocity_mode, setter);
                    row(ui, "Velocity", &params.velocity, setter);
                    row(ui, "Output channel", &params.channel, setter);
                    row(ui, "Pass-through", &params.pass_through, setter);
                    row(ui, "Preview voice", &params.preview, setter);
                    row(ui, "Follow margin", &params.follow_margin, setter);
                    row(ui, "Tempo w/o host", &params.fallback_tempo, setter);
                    row(ui, "Bypass", &params.bypass, setter);
                });
            ui.add_space(6.0);
            ui.small(
                "Seed 0 draws a new seed for every phrase. In Follow mode, notes struck inside \
                 the margin before a bar line are not heard by the model for that measure.",
            );
        });
    }

    /// What the plugin is doing, the clock, and the skipped measures.
    fn status_line(&self, ui: &mut egui::Ui) {
        let status = &self.shared.status;
        let activity = match status.activity() {
            Activity::Listening => "Listening",
            Activity::HearingCall => "Listening to your call",
            Activity::Thinking => "Thinking",
            Activity::Answering => "Answering",
            Activity::Following => "Following",
            Activity::Composing => "Composing",
            Activity::WaitingForTransport => "Compose waits for the host transport to play",
            Activity::Bypassed => "Bypassed",
        };
        let clock = match status.clock_source() {
            ClockSource::Host => format!("host transport, {:.1} bpm", status.tempo_bpm()),
            ClockSource::Free => format!(
                "own clock from your first note, {:.1} bpm",
                status.tempo_bpm()
            ),
            ClockSource::Waiting => String::from("own clock, waits for your first note"),
        };
        let skipped = status
            .skipped_measures
            .load(std::sync::atomic::Ordering::Relaxed);
        ui.horizontal(|ui| {
            ui.strong(activity);
            ui.separator();
            ui.label(clock);
            ui.separator();
            let text = format!("{skipped} measures skipped (not ready in time)");
            if skipped > 0 {
                ui.colored_label(WARNING_COLOUR, text);
            } else {
                ui.label(text);
            }
        });
        if !status.four_four.load(std::sync::atomic::Ordering::Relaxed) {
            ui.colored_label(
                WARNING_COLOUR,
                "The host is not in 4/4: Continuo still works in measures of 4 quarter notes, \
                 counted from the song start.",
            );
        }
    }

    /// The phrase: the player's notes and the plugin's in two colours, bar lines, playhead.
    fn piano_roll(&mut self, ui: &mut egui::Ui, phrase: &Phrase) {
        let size = Vec2::new(
            ui.available_width(),
            (ui.available_height() - 40.0).max(120.0),
        );
        let (response, painter) = ui.allocate_painter(size, Sense::hover());
        let area = response.rect;
        painter.rect_filled(area, 4.0, Color32::from_gray(24));

        let first_shown = phrase.measures.len().saturating_sub(SHOWN_MEASURES);
        let shown = (phrase.measures.len() - first_shown).max(4);
        let steps = (shown * 96) as f32;
        let rows = 72.0;
        let x_of = |step: f32| area.left() + step / steps * area.width();
        let y_of = |row: f32| area.bottom() - row / rows * area.height();

        // Octave lines at every C, bar lines, beat ticks.
        for octave in 0..=6 {
            let y = y_of(octave as f32 * 12.0);
            painter.line_segment(
                [Pos2::new(area.left(), y), Pos2::new(area.right(), y)],
                Stroke::new(1.0, Color32::from_gray(40)),
            );
            painter.text(
                Pos2::new(area.left() + 2.0, y - 1.0),
                Align2::LEFT_BOTTOM,
                format!("C{}", octave + 1),
                FontId::proportional(9.0),
                Color32::from_gray(90),
            );
        }
        for beat in 0..=(shown * 4) {
            let x = x_of(beat as f32 * 24.0);
            let grey = if beat % 4 == 0 { 90 } else { 45 };
            painter.line_segment(
                [Pos2::new(x, area.top()), Pos2::new(x, area.bottom())],
                Stroke::new(1.0, Color32::from_gray(grey)),
            );
        }

        for (shown_index, index) in (first_shown..phrase.measures.len()).enumerate() {
            let measure = &phrase.measures[index];
            let offset = (shown_index * 96) as f32;
            let plugin_colour = if measure.output_skipped {
                SKIPPED_COLOUR
            } else {
                PLUGIN_COLOUR
            };
            for (notes, colour) in [
                (&measure.output, plugin_colour),
                (&measure.input, PLAYER_COLOUR),
            ] {
                for note in notes.iter() {
                    let row = note.pitch.saturating_sub(24) as f32;
                    let rect = Rect::from_min_max(
                        Pos2::new(x_of(offset + note.start_step as f32), y_of(row + 1.0)),
                        Pos2::new(x_of(offset + note.end_step as f32) - 1.0, y_of(row)),
                    );
                    painter.rect_filled(rect, 1.0, colour);
                }
            }
        }

        if let Some(position) = self.shared.status.position_steps() {
            let step = position - ((phrase.first_measure + first_shown as i64) * 96) as f64;
            if (0.0..steps as f64).contains(&step) {
                let x = x_of(step as f32);
                painter.line_segment(
                    [Pos2::new(x, area.top()), Pos2::new(x, area.bottom())],
                    Stroke::new(2.0, Color32::WHITE),
                );
            }
        }
        painter.rect_stroke(
            area,
            4.0,
            Stroke::new(1.0, Color32::from_gray(70)),
            StrokeKind::Inside,
        );
        if phrase.is_empty() {
            painter.text(
                area.center(),
                Align2::CENTER_CENTER,
                "Play a phrase: Continuo answers on the next bar line after a silent beat.",
                FontId::proportional(14.0),
                Color32::from_gray(140),
            );
        }
        ui.horizontal(|ui| {
            ui.colored_label(PLAYER_COLOUR, "You");
            ui.colored_label(PLUGIN_COLOUR, "Continuo");
            ui.colored_label(SKIPPED_COLOUR, "Continuo, skipped (too late)");
            ui.separator();
            if ui.button("Export phrase as MIDI...").clicked() {
                self.export_phrase(None);
            }
            ui.label("or to:");
            ui.add(egui::TextEdit::singleline(&mut self.export_path).desired_width(160.0));
            if ui.button("Export").clicked() && !self.export_path.trim().is_empty() {
                self.export_phrase(Some(PathBuf::from(self.export_path.trim())));
            }
        });
    }

    /// The free energy of the measure under the playhead (or the latest one).
    fn energy_line(&self, ui: &mut egui::Ui, phrase: &Phrase) {
        let under_playhead = self.shared.status.position_steps().and_then(|position| {
            let index = (position / 96.0).floor() as i64 - phrase.first_measure;
            usize::try_from(index)
                .ok()
                .filter(|&index| index < phrase.measures.len())
        });
        let index = under_playhead.or(phrase.measures.len().checked_sub(1));
        let Some(measure) = index.map(|index| &phrase.measures[index]) else {
            ui.label("Free energy: no phrase yet.");
            return;
        };
        let show =
            |energy: Option<f32>| energy.map_or(String::from("-"), |energy| format!("{energy:.1}"));
        ui.label(format!(
            "Free energy of this measure under the model (lower is more Bach-like): \
             you {}, Continuo {}",
            show(measure.input_free_energy),
            show(measure.output_free_energy)
        ));
    }

    fn pick_model_file(&self) {
        let shelf = self.shared.shelf.clone();
        let model_path = self.shared.params.model_path.clone();
        let message = self.message.clone();
        run_dialog(move || {
            let picked = rfd::FileDialog::new()
                .set_title("Load a Continuo model")
                .add_filter("Continuo model (safetensors)", &["safetensors"])
                .pick_file();
            if let Some(path) = picked {
                load_model(&shelf, &model_path, &message, ModelSource::File(path));
            }
        });
    }

    fn use_model(&self, source: ModelSource) {
        load_model(
            &self.shared.shelf,
            &self.shared.params.model_path,
            &self.message,
            source,
        );
    }

    /// A copy of the last phrase, so that the lock is not held while drawing or writing (a
    /// poisoned lock shows an empty phrase).
    fn phrase_snapshot(&self) -> Phrase {
        self.shared
            .params
            .phrase
            .read()
            .map(|phrase| phrase.clone())
            .unwrap_or_default()
    }

    /// Writes the phrase to `path`, or to a file chosen in a dialog.
    fn export_phrase(&self, path: Option<PathBuf>) {
        let phrase = self.phrase_snapshot();
        let message = self.message.clone();
        let write = move |path: PathBuf| {
            let outcome = std::fs::write(&path, phrase.to_midi());
            let text = match outcome {
                Ok(()) => (format!("Wrote {}", path.display()), true),
                Err(error) => (
                    format!("Could not write {}: {error}", path.display()),
                    false,
                ),
            };
            if let Ok(mut message) = message.lock() {
                *message = Some(text);
            }
        };
        if let Some(path) = path {
            write(path);
            return;
        }
        run_dialog(move || {
            let picked = rfd::FileDialog::new()
                .set_title("Export the phrase as MIDI")
                .set_file_name("continuo-phrase.mid")
                .add_filter("MIDI file", &["mid"])
                .save_file();
            if let Some(path) = picked {
                write(path);
            }
        });
    }
}

/// A row of the parameter grid: the name, then the slider with its value.
fn row<P: Param>(ui: &mut egui::Ui, name: &str, param: &P, setter: &ParamSetter) {
    ui.label(name);
    ui.add(ParamSlider::for_param(param, setter).with_width(90.0));
    ui.end_row();
}

/// Loads a model in the background; on success the project remembers its path.
fn load_model(
    shelf: &Arc<ModelShelf>,
    model_path: &Arc<RwLock<Option<String>>>,
    message: &Arc<Mutex<Option<(String, bool)>>>,
    source: ModelSource,
) {
    let model_path = model_path.clone();
    let message = message.clone();
    let remembered = match &source {
        ModelSource::BuiltIn => None,
        ModelSource::File(path) => Some(path.display().to_string()),
    };
    shelf.load_in_background(source, ModelNotice::None, move |outcome| {
        let text = match outcome {
            Ok(()) => {
                if let Ok(mut path) = model_path.write() {
                    *path = remembered;
                }
                None
            }
            // The shelf's notice says why; nothing more to add.
            Err(_) => None,
        };
        if let Ok(mut message) = message.lock() {
            *message = text;
        }
    });
}

/// Runs a blocking file dialog without freezing the editor where the platform allows it.
fn run_dialog(dialog: impl FnOnce() + Send + 'static) {
    // NOTE: macOS only opens dialogs from the main thread, which is the editor's: the editor
    //       waits while the dialog is open there.
    if cfg!(target_os = "macos") {
        dialog();
    } else if let Err(error) = std::thread::Builder::new()
        .name(String::from("continuo-file-dialog"))
        .spawn(dialog)
    {
        nice_log!("Could not open a file dialog: {error}");
    }
}
