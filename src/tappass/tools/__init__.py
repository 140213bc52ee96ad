"""Tool governance: what the agent may call, with which arguments, and proof of a decision.

Pure pieces (no I/O) live here, one concept per module: tool calls and definitions read
from OpenAI-shaped bodies (`calls`), allow/deny globs (`access`), argument constraints
(`constraints`), end-user scopes (`scopes`), the `email` flag (`email`), argument and result
scanners (`arguments`, `instructions`, `detectors`), definition pins (`pins`), capability
tokens (`capability`). The steps in `tappass.pipeline.steps` put them to work, and
`tappass.tools.gate` runs the same checks for one call outside a chat request (the decision
API, scenario files).
"""
