"""TapPass: governance gateway for AI agents.

`import tappass` is the SDK surface and stays light: it never imports the web server,
a database driver or a detector. The gateway lives in `tappass.app` and `tappass.server`.
"""

from tappass._version import __version__

__all__ = ["__version__"]
