"""Threat detectors beyond prompt injection: shell bleed, privilege escalation, code
execution, exfiltration URLs and the contents of image and file parts.

Each is a pure function from a text (or a message part) to findings with type, span in the
text it was given, score and explanation; the steps in `tappass.pipeline.steps` decide which
texts to give them and what a score means for the request.
"""
