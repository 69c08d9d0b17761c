//! Continuo as a standalone program (JACK, or ALSA/CoreAudio/WASAPI through cpal), for trying it
//! without a host. `--help` lists the audio and MIDI options; `--backend dummy` runs without any
//! audio device (and without MIDI).

fn main() {
    nice_plug::nice_export_standalone::<continuo_plugin::Continuo>();
}
