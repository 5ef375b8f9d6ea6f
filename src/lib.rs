//! The `spikepipe` library behind the command line: the evaluation experiment of
//! `spikepipe report` as data ([`experiment`]). The binary (`src/main.rs`, `src/cli/`)
//! parses flags and renders what this computes.
#![deny(missing_docs)]

pub mod experiment;
