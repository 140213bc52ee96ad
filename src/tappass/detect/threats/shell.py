"""Shell bleed: shell metacharacters and command chains in text that may reach a shell.

`detect_shell_bleed(text)` finds a chain operator (`;`, `&&`, `||`, `|`) or a command
substitution (`$( )`, backticks) that starts a command, redirections into sensitive paths,
here-documents fed to a shell, `${IFS}` obfuscation and fork bombs. Scores follow what the
command does: destroying data or the system 0.95, reaching the network or starting a shell
0.85, redirecting into a sensitive file 0.9, reading the system's identity 0.8. An `rm -rf` of a
relative path (`make clean && rm -rf build/`) scores 0.7: a tutorial, not an attack.

The caller decides which texts are bound for a tool; see the `detect_shell_bleed` step.
"""

from __future__ import annotations

from functools import cache

from tappass.detect.threats.rules import Rule, RuleSet, apply, rule, strongest_per_span
from tappass.pipeline.step import Finding

# a backtick counts only glued to a word or `=` (`x=`id``, `echo`whoami``): one after a
# space is far more often markdown inline code than a command substitution
_CHAIN = r"(?:;|&&|\|\||\$\(|(?<=[\w=\"'(])`)"
_DESTROY = (r"(?:sudo\s+)?(?:rm\s+-[a-z]*(?:rf|fr)[a-z]*\s+(?:--no-preserve-root\s+)?"
            r"(?:/|~|\*|\$HOME|/etc|/var|/usr|/home|/root|/boot)(?=[\s;&|`)'\"]|$)|mkfs(?:\.\w+)?\s|"
            r"dd\s+if=|shred\s|shutdown\b|reboot\b|halt\b|init\s+0\b|kill\s+-9\s+-?1\b|"
            r"chmod\s+-R\s+777\s+/)")
_NETWORK = (r"(?:sudo\s+)?(?:curl|wget|nc|ncat|netcat|socat|telnet|ssh|scp|rsync|ftp|tftp|"
            r"bash|sh|zsh|dash|ksh|python[0-9.]*\s+-c|perl\s+-e|ruby\s+-e|php\s+-r|"
            r"powershell|pwsh|base64\s+-d|crontab|useradd|passwd|chmod\s+\+x)\b")
_RECON = (r"(?:whoami|id|uname\s+-a|hostname|printenv|env|cat\s+/etc/(?:passwd|shadow|hosts)|"
          r"ls\s+-la?\s+/|ps\s+aux|ifconfig|ip\s+addr|history)(?=\s*(?:[;&|`)]|$))")
_SENSITIVE = (r"(?:/etc/(?:passwd|shadow|sudoers|crontab|hosts|profile|ld\.so\.preload|"
              r"rc\.local|cron\.\w+)|~?/?\.ssh/authorized_keys|~/\.(?:bashrc|profile|zshrc|"
              r"bash_profile)|/root/|/dev/sd[a-z]|/dev/nvme|/boot/|/var/spool/cron|"
              r"/proc/sys/)")


_OPERATORS = ";&|$`>"


@cache
def _anchored() -> tuple[Rule, ...]:
    """Rules whose match starts at an operator: tried only where one occurs. Command names
    are matched case-sensitively, as a shell runs them: `| NC |` is a table cell."""
    return (
        rule("destructive_command_chain", rf"{_CHAIN}\s*{_DESTROY}", 0.95,
             "a command chain that destroys data or stops the system", flags=0),
        rule("command_chain", rf"(?:{_CHAIN}|\|)\s*{_NETWORK}", 0.85,
             "a command chain that reaches the network or starts a shell", flags=0),
        rule("command_chain", rf"{_CHAIN}\s*{_RECON}", 0.8,
             "a command chain that reads the system's identity or environment", flags=0),
        rule("command_chain", r"(?:;|&&|\|\|)\s*(?:sudo\s+)?rm\s+-[a-z]*(?:rf|fr)", 0.7,
             "a command chain that deletes files recursively", flags=0),
        rule("command_substitution",
             r"\$\(\s*(?:curl|wget|cat|base64|echo|printf)\s[^)]{1,200}\)", 0.8,
             "a command substitution that pulls content into the command", flags=0),
        rule("sensitive_redirect", rf">>?\s*{_SENSITIVE}", 0.9,
             "output redirected into a sensitive system path"),
    )


@cache
def _rules() -> RuleSet:
    return RuleSet((
        rule("sensitive_redirect", rf"\btee\s+(?:-a\s+)?{_SENSITIVE}", 0.9,
             "output written into a sensitive system path", words=("tee",)),
        rule("heredoc_to_shell",
             r"\b(?:ba|z|da|k)?sh\s*(?:-s\s*)?<<-?\s*['\"]?[A-Za-z_]+['\"]?", 0.85,
             "a here-document fed to a shell", ("<<",)),
        rule("ifs_obfuscation", r"\$\{IFS\}|\$IFS\$\d", 0.85,
             "${IFS} used to hide spaces from a filter", ("$ifs", "${ifs"), flags=0),
        rule("fork_bomb", r":\s*\(\s*\)\s*\{\s*:\s*\|\s*:\s*&\s*\}\s*;\s*:", 0.95,
             "a fork bomb", ("{",)),
    ))


def _operator_positions(text: str) -> list[int]:
    positions: list[int] = []
    for char in _OPERATORS:
        at = text.find(char)
        while at >= 0:
            positions.append(at)
            at = text.find(char, at + 1)
    return positions


def _at_operators(text: str) -> list[Finding]:
    out: list[Finding] = []
    for at in _operator_positions(text):
        for item in _anchored():
            match = item.pattern.match(text, at)
            if match:
                out.append(Finding(item.type, at, match.end(), item.score, item.why))
    return out


def detect_shell_bleed(text: str) -> list[Finding]:
    """Shell command chains and metacharacter abuse in `text` (spans in `text`)."""
    if not any(char in text for char in _OPERATORS + "<{"):
        return []
    return strongest_per_span(_at_operators(text) + apply(_rules(), text))
