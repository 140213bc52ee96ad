"""Detectors: pure functions from text to findings, and the once-per-request scan.

A detector takes a normalised string (see `normalize`) and returns findings whose spans
are offsets into that string; `Scan` runs each detector at most once per text and maps the
spans back to the original text. Detectors do no I/O and keep no state, so `tappass scan`,
`tappass eval` and the tests call them directly.
"""
